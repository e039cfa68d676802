"""Updates that never lose data (issue 22): what each edit of deployment.yaml does to the deployed resources,
decided offline from the create-only properties of cfn-lint's resource schemas (compiler/changes.py), and the
positioned warnings `build` and `diff` give before a deploy loses something (compiler/updates.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compiler import changes, emit, naming, updates
from compiler.build import compile_config
from compiler.validation import load_config

ROOT = Path(__file__).resolve().parents[1]
REPO_FILE = (ROOT / "deployment.yaml").read_text()
GOLDEN_TEMPLATES = sorted(path for path in [*ROOT.glob("tests/cases/valid/*/*.json"), *ROOT.glob("generated/*.json")]
                          if path.name != "manifest.json" and not path.name.endswith(".parameters.json"))
AUTH_PAGE = """\
    authPage:                   # the server serves /auth (AuthPageUrl output): a user pastes an ElevenLabs
      signupCode: true          #   key and gets a token; the page asks for this generated code first
      tokenDays: 90             # tokens the page issues expire after this many days
      attemptsPerHour: 10       # sign-ups one client address may try per hour (per task)
"""


def templates(path: Path) -> dict:
    return json.loads(path.read_text())


# --- retained state ------------------------------------------------------------------------------------------
USER_DATA = {naming.TOKENS_TABLE, naming.SERVER_SECRET, naming.SIGNUP_CODE_SECRET}
STATEFUL_TYPES = {"AWS::DynamoDB::Table", "AWS::SecretsManager::Secret", "AWS::S3::Bucket"}


@pytest.mark.parametrize("path", GOLDEN_TEMPLATES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_stateful_resource_has_its_policies_chosen_on_purpose(path):
    """Tables, secrets and buckets name both policies; what users cannot recreate is Retain (the disposable ones,
    connections, audio links and the republished auth page, say why next to the code)."""
    for logical_id, resource in templates(path)["Resources"].items():
        if resource["Type"] not in STATEFUL_TYPES:
            continue
        expected = "Retain" if logical_id in USER_DATA else "Delete"
        assert (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")) == (expected, expected), (
            logical_id)
        if resource["Type"] == "AWS::DynamoDB::Table" and logical_id in USER_DATA:
            assert resource["Properties"]["DeletionProtectionEnabled"] is True


@pytest.mark.parametrize("path", GOLDEN_TEMPLATES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_parameter_is_in_the_parameters_file(path):
    """`aws cloudformation deploy` keeps the previous value of a parameter it is not given: every parameter the
    compiler decides must be in <stack>.parameters.json, or a changed default never arrives (the NAT AMI did)."""
    parameters = templates(path).get("Parameters", {})
    overrides_file = path.with_name(path.name.replace(".json", ".parameters.json"))
    given = {item.split("=", 1)[0] for item in json.loads(overrides_file.read_text())} if overrides_file.exists() \
        else set()
    assert set(parameters) <= given | set(), f"{path.name}: {sorted(set(parameters) - given)} not in the file"


# --- the classifier on small templates ------------------------------------------------------------------------
def table(**properties) -> dict:
    return {"Type": "AWS::DynamoDB::Table", "Properties": {"BillingMode": "PAY_PER_REQUEST", **properties}}


def test_a_create_only_change_replaces_and_the_replacement_propagates_through_references():
    old = {"Resources": {
        "Group": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "a", "VpcId": "vpc-1"}},
        "Rule": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
            "GroupId": {"Fn::GetAtt": ["Group", "GroupId"]}, "IpProtocol": "tcp"}},
        "Endpoint": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {
            "VpcId": "vpc-1", "ServiceName": "s3", "SecurityGroupIds": [{"Ref": "Group"}]}},
        "Untouched": table()}}
    new = json.loads(json.dumps(old))
    new["Resources"]["Group"]["Properties"]["GroupDescription"] = "b"
    found = {change.logical_id: change for change in changes.classify(old, new)}
    assert set(found) == {"Group", "Rule", "Endpoint"}
    assert (found["Group"].action, found["Group"].reasons) == ("replace", ("GroupDescription changed (create-only)",))
    # the ingress rule's GroupId is create-only: a new group means a new rule
    assert (found["Rule"].action, found["Rule"].reasons) == (
        "replace", ("GroupId (create-only) refers to Group.GroupId, which changes",))
    assert (found["Endpoint"].action, found["Endpoint"].reasons) == (
        "modify", ("SecurityGroupIds (refers to Group)",))


def test_a_replaced_or_removed_resource_says_whether_retain_keeps_it():
    old = {"Resources": {"Kept": {**table(KeySchema=[1]), "UpdateReplacePolicy": "Retain"},
                         "Gone": {**table(), "DeletionPolicy": "Retain"}, "Lost": table()}}
    new = {"Resources": {"Kept": {**table(KeySchema=[2]), "UpdateReplacePolicy": "Retain"}}}
    assert changes.classify(old, new) == [
        changes.Change("Gone", "AWS::DynamoDB::Table", "remove", retained=True),
        changes.Change("Kept", "AWS::DynamoDB::Table", "replace", ("KeySchema changed (may need replacement)",),
                       retained=True),
        changes.Change("Lost", "AWS::DynamoDB::Table", "remove")]


def test_a_fixed_name_on_a_replaced_resource_is_named():
    """Finding 4: CloudFormation refuses to replace a resource whose name the template fixes."""
    def budget(email: str) -> dict:
        return {"Resources": {"MonthlyBudget": {"Type": "AWS::Budgets::Budget", "Properties": {
            "Budget": {"BudgetName": "x-monthly", "BudgetType": "COST", "TimeUnit": "MONTHLY"},
            "NotificationsWithSubscribers": [{"Subscribers": [{"SubscriptionType": "EMAIL", "Address": email}]}]}}}}

    [change] = changes.classify(budget("a@example.com"), budget("b@example.com"))
    assert (change.action, change.custom_name) == ("replace", "Budget.BudgetName")


def test_the_schemas_are_read_without_importing_cfn_lint():
    code = ("import sys, json; from compiler import changes; "
            "print(changes.create_only_properties('AWS::Budgets::Budget')); "
            "assert not any(m.startswith('cfnlint') for m in sys.modules), 'cfn-lint imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "('Budget', 'BudgetName')" in result.stdout and "('NotificationsWithSubscribers',)" in result.stdout


# --- edits of the repo's deployment.yaml ----------------------------------------------------------------------
def edited(edits: list[tuple[str, str, str]]) -> str:
    """The repo's deployment.yaml with each (stack, old, new) replaced once inside that stack's document."""
    documents = REPO_FILE.split("\n---\n")
    for stack, old, new in edits:
        [index] = [i for i, doc in enumerate(documents) if f"\n  name: {stack} " in doc]
        assert old in documents[index], (stack, old)
        documents[index] = documents[index].replace(old, new, 1)
    return "\n---\n".join(documents)


@pytest.fixture(scope="module")
def built_repo(tmp_path_factory):
    """The repo's deployment.yaml compiled into a folder: the deployed state every edit is compared with."""
    folder = tmp_path_factory.mktemp("deployed")
    source = folder / "deployment.yaml"
    source.write_text(REPO_FILE)
    files, _ = compile_config(load_config(str(source)))
    emit.write_outputs(folder / "generated", files)
    return folder / "generated"


EDITS = {
    # name: (edits, {stack: {action: logical IDs}},
    #        [(warned path, (stack, text of the line it stands on), words the warning must hold)])
    "schedule": ([("voice-alb", '"08:00-20:00"', '"07:00-20:00"')],
                 {"voice-alb": {"modify": "ScalableTarget"}}, []),
    "task size": ([("voice-alb", "cpu: 256 ", "cpu: 512 "), ("voice-alb", "memory: 512 ", "memory: 1024 ")],
                  {"voice-alb": {"replace": "TaskDefinition", "modify": "Service"}}, []),
    "architecture": ([("voice-alb", "architecture: arm64", "architecture: x86_64")],
                  {"voice-alb": {"replace": "TaskDefinition", "modify": "Service"}}, []),
    "spot": ([("voice-alb", "spot: true ", "spot: false ")],
             {"voice-alb": {"modify": "ClusterCapacityProviders Service"}}, []),
    "tokens to api-key": (
        [("voice-nat", "    mode: tokens\n", "    mode: api-key\n"), ("voice-nat", AUTH_PAGE, "")],
        {"voice-nat": {"remove": "SignupCodeSecret TokensTable", "replace": "TaskDefinition",
                       "modify": "ExecutionRole Service TaskRole"}},
        [("spec.auth.mode", ("voice-nat", "mode: api-key"), "TokensTable", "every issued token and every user's stored ElevenLabs key",
          "DeletionPolicy Retain"),
         ("spec.auth.authPage", ("voice-nat", "  auth:"), "SignupCodeSecret", "the sign-up code you handed out")]),
    "api-key to tokens": ([("voice-alb", "mode: api-key ", "mode: tokens ")],
                          {"voice-alb": {"add": "TokensTable", "replace": "TaskDefinition",
                                         "modify": "Service TaskRole"}}, []),
    "auth page off": ([("voice-nat", AUTH_PAGE, "")],
                      # the table's TTL purged the page's attempt counts: it goes with the page (in place)
                      {"voice-nat": {"remove": "SignupCodeSecret", "replace": "TaskDefinition",
                                     "modify": "ExecutionRole Service TaskRole TokensTable"}},
                      [("spec.auth.authPage", ("voice-nat", "  auth:"), "SignupCodeSecret",
                        "the sign-up code you handed out")]),
    "auth page on": ([("voice-ws", "mode: api-key ", "mode: tokens\n    authPage: {signupCode: true} ")],
                     {"voice-ws": {
                         "add": "AuthApiFunction AuthApiInvokePermission AuthApiLogGroup AuthApiRole AuthApiUrl "
                                "AuthApiUrlPermission AuthPage AuthPageBucket AuthPageBucketPolicy "
                                "AuthPageDistribution AuthPageOriginAccessControl SignupCodeSecret TokensTable",
                         "replace": "TaskDefinition",
                         "modify": "AuthorizerFunction AuthorizerRole DynamoDbGatewayEndpoint Service TaskRole"}},
                     []),
    "allowedCidrs": ([("voice-nat", "allowedCidrs: [] ", "allowedCidrs: [203.0.113.0/24] ")],
                     {"voice-nat": {"add": "CidrAuthorizer CidrAuthorizerFunction CidrAuthorizerInvokePermission "
                                           "CidrAuthorizerLogGroup CidrAuthorizerRole",
                                    "modify": "HttpApiDefaultRoute"}}, []),
    # the budget and the subscription are replaced (subscribers and endpoint are create-only): harmless now that
    # CloudFormation names the budget (finding 4)
    "alerts email": ([("voice-nat", "email: ops@example.com", "email: oncall@example.com")],
                     {"voice-nat": {"replace": "AlertEmailSubscription MonthlyBudget"}}, []),
    "NAT instance type": ([("voice-nat", "instanceType: t4g.nano", "instanceType: t3.nano")],
                          {"voice-nat": {"modify": "NatAutoScalingGroup NatLaunchTemplate"}},
                          [("spec.natInstance", ("voice-nat", "natInstance:"), "replaces the NAT instance",
                            "egress stops")]),
    "image tag": ([("voice-alb", 'tag: "0.1.0"', 'tag: "0.2.0"')],
                  # the repository's lifecycle policy shields the tags in use: the new tag joins it
                  {"voice-alb": {"replace": "TaskDefinition", "modify": "Service"},
                   "elevenlabs-mcp": {"modify": "Repository"}}, []),
    "rename": ([("voice-alb", "name: voice-alb ", "name: voice-api ")], {},
               [("metadata.name", ("voice-api", "name: voice-api"), "stack voice-alb is no longer built", "keeps running and billing",
                 "renamed to voice-api", "empty tokens table", "delete-stack", "--stack-name voice-alb")]),
}
TOPOLOGY_CHANGE = [("voice-ws", "topology: websocket", "topology: nat-instance"),
                   ("voice-ws", "  websocket:\n", "  natInstance:\n"),
                   # onDemand is websocket only: commented out with the topology change
                   ("voice-ws", "  onDemand:", "  # onDemand:"), ("voice-ws", "    idleMinutes:", "    # idleMinutes:")]


def classified(built_repo: Path, text: str, tmp_path: Path):
    source = tmp_path / "deployment.yaml"
    source.write_text(text)
    config = load_config(str(source))
    files, _ = compile_config(config)
    stacks = {name.removesuffix(".json"): found for name, (_, found) in
              updates.stack_changes(config, built_repo, files).items()}
    return stacks, updates.warnings(config, built_repo, files)


@pytest.mark.parametrize("name", EDITS)
def test_each_edit_is_classified_per_resource_and_every_loss_is_warned(name, built_repo, tmp_path):
    edits, expected, expected_warnings = EDITS[name]
    stacks, warnings = classified(built_repo, edited(edits), tmp_path)
    actual = {}
    for stack, found in stacks.items():
        by_action: dict[str, list[str]] = {}
        for change in found:
            by_action.setdefault(change.action, []).append(change.logical_id)
        actual[stack] = {action: " ".join(sorted(ids)) for action, ids in by_action.items()}
    assert actual == {stack: {action: " ".join(sorted(ids.split())) for action, ids in by_action.items()}
                      for stack, by_action in expected.items()}
    # nothing CloudFormation would refuse to replace (a fixed BudgetName made the e-mail edit fail: finding 4)
    assert [change for found in stacks.values() for change in found if change.custom_name] == []
    assert len(warnings) == len(expected_warnings), "\n".join(map(str, warnings))
    for warning, (path, where, *words) in zip(sorted(warnings, key=lambda w: w.path), sorted(expected_warnings)):
        assert warning.warning and warning.path == path and all(word in warning.message for word in words), (
            str(warning))
        stack, marker = where
        assert warning.line == line_of(edited(edits), stack, marker), str(warning)


def line_of(text: str, stack: str, marker: str) -> int:
    """The number of the first line holding `marker` in the document of `stack`."""
    lines = text.splitlines()
    first = next(number for number, line in enumerate(lines) if line.startswith(f"  name: {stack} "))
    while not lines[first].startswith("---") and first > 0:
        first -= 1
    return next(number for number, line in enumerate(lines[first:], first + 1) if marker in line)


def test_a_topology_change_warns_that_the_endpoint_goes(built_repo, tmp_path):
    stacks, warnings = classified(built_repo, edited(TOPOLOGY_CHANGE), tmp_path)
    found = {change.logical_id: change.action for change in stacks["voice-ws"]}
    assert (found[naming.WEBSOCKET_API], found[naming.HTTP_API]) == ("remove", "add")
    assert (found[naming.CONNECTIONS_TABLE], found[naming.OUTPUT_BUCKET]) == ("remove", "remove")
    assert naming.SERVER_SECRET not in found and naming.LOG_GROUP not in found  # the key and logs stay
    said = {warning.message.split("deploying this deletes ")[1].split(" ")[0]: warning.message
            for warning in warnings if warning.path == "spec.topology"}
    assert len(warnings) == len(said) == 3
    assert "the endpoint URL every client is configured with" in said[naming.WEBSOCKET_API]
    assert "every open connection" in said[naming.CONNECTIONS_TABLE]
    assert "audio download links" in said[naming.OUTPUT_BUCKET]


def test_build_and_diff_warn_on_the_edited_line_and_a_rebuild_does_not_repeat_it(tmp_path):
    """Through the real commands: `build` compares with generated/ before overwriting it."""
    shutil.copy(ROOT / "deployment.yaml", tmp_path / "deployment.yaml")
    shutil.copytree(ROOT / "generated", tmp_path / "generated")
    text = edited([("voice-nat", "    mode: tokens\n", "    mode: api-key\n"), ("voice-nat", AUTH_PAGE, "")])
    (tmp_path / "deployment.yaml").write_text(text)
    mode_line = next(number for number, line in enumerate(text.splitlines(), 1) if "mode: api-key\n" in line + "\n"
                     and number > text[:text.index("name: voice-nat")].count("\n"))
    env = {**os.environ, "MCPDEPLOY_CACHE_DIR": str(tmp_path / "cache")}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "compiler", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)

    preview = run("diff")
    assert preview.returncode == 1, preview.stderr
    assert "    - remove resource TokensTable (AWS::DynamoDB::Table)" in preview.stdout
    assert f"deployment.yaml:{mode_line}:11: spec.auth.mode: warning: TokensTable" in preview.stdout
    first = run("build")
    assert first.returncode == 0, first.stderr
    assert f"deployment.yaml:{mode_line}:11: spec.auth.mode: warning: TokensTable (AWS::DynamoDB::Table) leaves " \
           "the stack, with every issued token" in first.stderr
    second = run("build")
    assert second.returncode == 0 and "up to date" in second.stdout
    assert "TokensTable" not in second.stderr  # said once, before the overwrite; not replayed from the cache
