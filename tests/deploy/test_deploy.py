"""Every stack in generated/ deployed with the real AWS CLI into moto on loopback, then checked through the
service APIs (tests/deploy/checks.py), the way a user deploys it: `aws cloudformation deploy` (README).

Deviations forced by moto 5.2.5, each reported in the test summary:
- The ImageRepository stacks are created with `create-stack`, because `deploy` drops their exports in moto;
  `test_repository_stack_deploys_as_the_readme_says` deploys them with `deploy` too, separately.
- Deployment stacks are deployed from a rewritten copy (moto_compat.py): imports resolved from the real
  exports, the certificate swapped for one imported into moto's ACM, the IPv6 intrinsics moto lacks computed.
- Resource types moto accepts without creating anything (moto_compat.SKIPPED_BY_MOTO) are listed as skipped,
  never counted as checked. A resource of any other type that moto did not create fails the test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.validation import load_config
from tests.deploy import moto_compat
from tests.deploy.checks import CHECKS, Stack
from tests.deploy.conftest import REPORT
from tests.localaws import MotoServer, aws

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "generated"
CONFIG = load_config(str(ROOT / "deployment.yaml"))
REPOSITORIES = [source.model for source in CONFIG.repositories]
DEPLOYMENTS = [source.model for source in CONFIG.deployments]

pytestmark = pytest.mark.timeout(600)


def test_generated_holds_exactly_the_stacks_of_deployment_yaml():
    listed = json.loads((GENERATED / "manifest.json").read_text())["files"]
    templates = {name for name in listed if name.endswith(".json") and not name.endswith(".parameters.json")
                 and name != "manifest.json"}
    assert templates == {f"{doc.metadata.name}.json" for doc in REPOSITORIES + DEPLOYMENTS}


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    """One moto for the module, with every ImageRepository stack created and a certificate in each region."""
    with MotoServer() as server:
        cert, key = moto_compat.self_signed_certificate(tmp_path_factory.mktemp("tls"), "mcp.example.com")
        server.certificates = {}
        server.exports = {}
        for region in sorted({doc.spec.region for doc in REPOSITORIES + DEPLOYMENTS}):
            server.certificates[region] = aws(server.endpoint, "acm", "import-certificate", "--certificate",
                                              f"fileb://{cert}", "--private-key", f"fileb://{key}",
                                              region=region).json["CertificateArn"]
        for repo in REPOSITORIES:
            name, region = repo.metadata.name, repo.spec.region
            aws(server.endpoint, "cloudformation", "create-stack", "--stack-name", name, "--template-body",
                f"file://{GENERATED / f'{name}.json'}", region=region)
            exports = aws(server.endpoint, "cloudformation", "list-exports", region=region).json["Exports"]
            server.exports.update({export["Name"]: export["Value"] for export in exports})
            REPORT.append(f"{name}: created with create-stack (moto's deploy drops exports)")
        yield server


@pytest.mark.parametrize("repo", REPOSITORIES, ids=lambda repo: repo.metadata.name)
def test_repository_stack_deploys_as_the_readme_says(repo, tmp_path):
    name, region = repo.metadata.name, repo.spec.region
    with MotoServer() as server:
        # --capabilities as the README says: the stack may hold the API Gateway logging role (moto does not ask).
        result = aws(server.endpoint, "cloudformation", "deploy", "--region", region, "--stack-name", name,
                     "--template-file", str(GENERATED / f"{name}.json"), "--capabilities", "CAPABILITY_IAM",
                     region=region, check=False)
        assert result.returncode == 0, result.stderr
        stack = _stack(server.endpoint, region, name, json.loads((GENERATED / f"{name}.json").read_text()), {})
        checked, skipped, uninspected = _check_resources(stack)
    assert checked, "nothing was checked"
    REPORT.append(f"{name} (aws cloudformation deploy): checked {checked}; moto skipped {skipped or 'nothing'}; "
                  f"not inspected {uninspected or 'nothing'}")


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda deployment: deployment.metadata.name)
def test_deployment_stack_deploys_and_its_resources_exist(deployment, moto, tmp_path):
    name, region = deployment.metadata.name, deployment.spec.region
    template = json.loads((GENERATED / f"{name}.json").read_text())
    rewrite = moto_compat.for_moto(template, moto.exports, moto.certificates[region])
    deployed = tmp_path / f"{name}.json"
    deployed.write_text(json.dumps(rewrite.template))
    parameters_file = GENERATED / f"{name}.parameters.json"

    result = aws(moto.endpoint, "cloudformation", "deploy", "--region", region, "--stack-name", name,
                 "--template-file", str(deployed), "--parameter-overrides", f"file://{parameters_file}",
                 "--capabilities", "CAPABILITY_IAM", region=region, check=False)
    assert result.returncode == 0, result.stderr
    status = aws(moto.endpoint, "cloudformation", "describe-stacks", "--stack-name", name,
                 region=region).json["Stacks"][0]["StackStatus"]
    assert status == "CREATE_COMPLETE"

    parameters = dict(item.split("=", 1) for item in json.loads(parameters_file.read_text()))
    checked, skipped, uninspected = _check_resources(_stack(moto.endpoint, region, name, rewrite.template,
                                                            parameters))
    assert checked, "nothing was checked"
    REPORT.append(f"{name} (aws cloudformation deploy of a rewritten copy): checked {checked}; "
                  f"moto skipped {skipped or 'nothing'}; not inspected {uninspected or 'nothing'}; "
                  f"rewrites: {sorted(set(rewrite.changes)) or 'none'}")


def _stack(endpoint: str, region: str, name: str, template: dict, parameters: dict[str, str]) -> Stack:
    summaries = aws(endpoint, "cloudformation", "list-stack-resources", "--stack-name", name,
                    region=region).json["StackResourceSummaries"]
    physical = {s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries
                if s.get("LogicalResourceId") and s.get("PhysicalResourceId")}
    return Stack(endpoint, region, template, physical, parameters)


def _check_resources(stack: Stack) -> tuple[list[str], list[str], list[str]]:
    """Run the check of every resource; returns the resource types checked, skipped by moto, not inspected."""
    checked, skipped, uninspected = set(), set(), set()
    for logical_id, resource in sorted(stack.template["Resources"].items()):
        kind = resource["Type"]
        if kind not in CHECKS:
            if logical_id in stack.physical:
                uninspected.add(kind)
            else:
                assert kind in moto_compat.SKIPPED_BY_MOTO, f"moto did not create {logical_id} ({kind})"
                skipped.add(kind)
            continue
        properties = stack.resolve(resource.get("Properties", {}))
        try:
            CHECKS[kind](stack, stack.physical.get(logical_id), properties)
        except Exception as exc:
            raise AssertionError(f"{logical_id} ({kind}): {type(exc).__name__}: {exc}") from exc
        checked.add(kind)
    return sorted(checked), sorted(skipped), sorted(uninspected)


TOKEN_DEPLOYMENTS = [d for d in DEPLOYMENTS if d.spec.auth.mode == "tokens"]


@pytest.mark.parametrize("deployment", TOKEN_DEPLOYMENTS, ids=lambda deployment: deployment.metadata.name)
def test_deleting_the_stack_keeps_the_tokens_table(deployment, moto, tmp_path):
    """DeletionPolicy Retain as CloudFormation applies it on stack deletion, for the tokens table exactly as
    generated (deployed alone: moto 5.2.5 cannot delete the whole stack, it deletes the VPC before what is in it;
    and it deletes a resource an update removes whatever its policy, so the update case is covered offline by
    tests/test_updates.py). The table keeps its rows and its deletion protection."""
    name, region = f"{deployment.metadata.name}-retained", deployment.spec.region
    resource = json.loads((GENERATED / f"{deployment.metadata.name}.json").read_text())["Resources"]["TokensTable"]
    deployed = tmp_path / "template.json"
    deployed.write_text(json.dumps({"Resources": {"TokensTable": resource}}))
    aws(moto.endpoint, "cloudformation", "deploy", "--stack-name", name, "--template-file", str(deployed),
        region=region)
    table = _stack(moto.endpoint, region, name, {}, {}).physical["TokensTable"]
    aws(moto.endpoint, "dynamodb", "put-item", "--table-name", table, "--item", '{"hash": {"S": "abc"}}',
        region=region)
    aws(moto.endpoint, "cloudformation", "delete-stack", "--stack-name", name, region=region)
    aws(moto.endpoint, "cloudformation", "wait", "stack-delete-complete", "--stack-name", name, region=region)
    described = aws(moto.endpoint, "dynamodb", "describe-table", "--table-name", table, region=region).json["Table"]
    assert described["DeletionProtectionEnabled"] is True
    item = aws(moto.endpoint, "dynamodb", "get-item", "--table-name", table, "--key", '{"hash": {"S": "abc"}}',
               region=region).json
    assert item["Item"] == {"hash": {"S": "abc"}}
