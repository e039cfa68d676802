"""What real AWS refuses (or leaves broken) on a first deploy, and moto does not model: checked as data in every
template the valid cases compile to (tests/cases/valid/*.yaml cover each topology and auth mode).

Each test names the review finding of issue 15 it keeps fixed.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from compiler import naming
from compiler.build import compile_config
from compiler.validation import load_config

VALID = Path(__file__).parent / "cases" / "valid"
CASES = sorted(VALID.glob("*.yaml"))


@cache
def templates(case: Path) -> dict[str, dict]:
    files, _ = compile_config(load_config(str(case)))
    return {name: json.loads(text) for name, text in files.items()
            if name.endswith(".json") and "Resources" in json.loads(text)}


def deployments(case: Path) -> dict[str, dict]:
    """The Deployment stacks of a case (the repository stack has no VPC)."""
    return {name: t for name, t in templates(case).items() if naming.VPC in t["Resources"]}


def all_deployments() -> list[tuple[str, dict]]:
    return [(f"{case.stem}/{name}", t) for case in CASES for name, t in deployments(case).items()]


def references(node) -> set[str]:
    """Logical IDs a property value refers to: Ref, Fn::GetAtt and the ${...} of Fn::Sub."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= references(item)
    elif isinstance(node, dict):
        if "Ref" in node and isinstance(node["Ref"], str):
            found.add(node["Ref"])
        if "Fn::GetAtt" in node:
            target = node["Fn::GetAtt"]
            found.add(target[0] if isinstance(target, list) else target.split(".")[0])
        if "Fn::Sub" in node:
            text = node["Fn::Sub"] if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"][0]
            found |= {name.split(".")[0] for name in _sub_names(text)}
        for value in node.values():
            found |= references(value)
    return found


def _sub_names(text: str) -> set[str]:
    import re

    return {m for m in re.findall(r"\$\{([^!}][^}]*)\}", text) if not m.startswith("AWS::")}


def dependencies(template: dict, logical_id: str) -> set[str]:
    """Everything CloudFormation creates before `logical_id`: DependsOn and references, transitively."""
    resources = template["Resources"]
    seen: set[str] = set()
    stack = [logical_id]
    while stack:
        resource = resources[stack.pop()]
        depends = resource.get("DependsOn", [])
        direct = ({depends} if isinstance(depends, str) else set(depends)) | references(resource.get("Properties", {}))
        for name in direct & set(resources) - seen:
            seen.add(name)
            stack.append(name)
    return seen


def internet_path(template: dict) -> set[str]:
    """The gateway attachment, the public default routes and the public subnets' route table associations."""
    resources = template["Resources"]
    public_table = naming.PUBLIC_ROUTE_TABLE
    return {naming.GATEWAY_ATTACHMENT} | {
        name for name, r in resources.items()
        if r["Type"] in ("AWS::EC2::Route", "AWS::EC2::SubnetRouteTableAssociation")
        and r["Properties"]["RouteTableId"] == {"Ref": public_table}}


# --- finding 3: public things start after the internet gateway is attached and routed -------------------------

def public_starters(template: dict) -> list[str]:
    """Resources that need the internet path when they start: internet-facing load balancers, services whose
    tasks get a public address, the NAT instance's group."""
    found = []
    for name, r in template["Resources"].items():
        p = r.get("Properties", {})
        if r["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer" and p.get("Scheme") == "internet-facing":
            found.append(name)
        if r["Type"] == "AWS::ECS::Service" and p["NetworkConfiguration"]["AwsvpcConfiguration"].get(
                "AssignPublicIp") == "ENABLED":
            found.append(name)
        if r["Type"] == "AWS::AutoScaling::AutoScalingGroup":
            found.append(name)
    return found


@pytest.mark.parametrize("name, template", all_deployments(), ids=[n for n, _ in all_deployments()])
def test_public_resources_start_after_the_internet_path_exists(name, template):
    starters = public_starters(template)
    assert starters or naming.SERVICE in template["Resources"]
    path = internet_path(template)
    assert naming.PUBLIC_ROUTE in path and len(path) >= 3
    for starter in starters:
        missing = path - dependencies(template, starter)
        assert not missing, f"{starter} may be created before {sorted(missing)}"


@pytest.mark.parametrize("name, template", [(n, t) for n, t in all_deployments() if "nat" in n],
                         ids=[n for n, _ in all_deployments() if "nat" in n])
def test_private_tasks_start_after_their_route_to_the_nat(name, template):
    needed = {naming.PRIVATE_ROUTE, naming.private_subnet_route_association(0), naming.NAT_GROUP}
    assert needed <= dependencies(template, naming.SERVICE)


# --- finding 6: deleting a stack does not fail on data it was meant to throw away ------------------------------

EMPTIERS = ("Custom::EmptyBucket", "Custom::AuthPage")  # custom resources that empty their Bucket on Delete


@pytest.mark.parametrize("name, template", all_deployments(), ids=[n for n, _ in all_deployments()])
def test_every_bucket_deleted_with_the_stack_is_emptied_first(name, template):
    resources = template["Resources"]
    emptied = {r["Properties"]["Bucket"]["Ref"]: logical_id for logical_id, r in resources.items()
               if r["Type"] in EMPTIERS}
    for logical_id, r in resources.items():
        if r["Type"] == "AWS::S3::Bucket" and r.get("DeletionPolicy", "Delete") == "Delete":
            assert logical_id in emptied, f"{logical_id} is deleted with the stack but nothing empties it"
    if naming.OUTPUT_BUCKET in resources:
        # The tasks write the audio: they are gone (deleted first) before the bucket is emptied.
        assert emptied[naming.OUTPUT_BUCKET] in dependencies(template, naming.SERVICE)


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_the_repository_says_what_deletion_does_with_its_images(case):
    for template in templates(case).values():
        for r in template["Resources"].values():
            if r["Type"] == "AWS::ECR::Repository":
                assert isinstance(r["Properties"].get("EmptyOnDelete"), bool)


# --- finding 4: no secret is resolved into a function's environment ---------------------------------------------

@pytest.mark.parametrize("name, template", all_deployments(), ids=[n for n, _ in all_deployments()])
def test_no_function_environment_resolves_a_secret(name, template):
    """`{{resolve:secretsmanager:...}}` in a Lambda environment becomes plain text that
    lambda:GetFunctionConfiguration shows, and stays stale after the secret changes."""
    for logical_id, r in template["Resources"].items():
        if r["Type"] == "AWS::Lambda::Function":
            assert "{{resolve:" not in json.dumps(r["Properties"].get("Environment", {})), logical_id
