"""generated/<name>.md: the diagram comes from the template's own references, the deploy steps are complete and in
order, every client is covered, and the cost section is the cost module's estimate."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from compiler import build, cost, docs
from compiler.validation import load_config

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT / "generated"
CONFIG = load_config(str(ROOT / "deployment.yaml"))
SMALL = {"Resources": {
    "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
    "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
}}
NODE = re.compile(r"^\s+(\w+)[\[(]")
ARROW = re.compile(r"\s+(?:-->|-\.->|--[^->]+-->|-\.[^.]+\.->)\s+")
CASES = ROOT / "tests" / "cases" / "valid"


def diagram_of(markdown: str) -> str:
    return markdown.split("```mermaid\n", 1)[1].split("\n```", 1)[0]


def parse(diagram: str) -> tuple[set[str], set[tuple[str, str]]]:
    """Node IDs and (from, to) pairs of a flowchart whose edges may be chains (a --> b --> c) with labels."""
    nodes, edges = set(), set()
    for line in diagram.splitlines()[1:]:
        if ARROW.search(line):
            chain = ARROW.split(line.strip())
            edges |= set(zip(chain, chain[1:]))
        elif (match := NODE.match(line)) and not line.strip().startswith("subgraph"):
            nodes.add(match.group(1))
    return nodes, edges


def _documented() -> list[tuple[str, object, dict, str]]:
    """(id, deployment, template, markdown) of generated/ and of every valid case's goldens."""
    found = []
    for config_file, folder in [(ROOT / "deployment.yaml", GENERATED),
                                *((case, case.with_suffix("")) for case in sorted(CASES.glob("*.yaml")))]:
        for source in load_config(str(config_file)).deployments:
            name = source.model.metadata.name
            if (folder / f"{name}.md").exists():
                found.append((f"{folder.name}/{name}", source.model, json.loads((folder / f"{name}.json").read_text()),
                              (folder / f"{name}.md").read_text()))
    return found


DOCUMENTED = _documented()


@pytest.mark.parametrize("case", DOCUMENTED, ids=lambda case: case[0])
def test_the_diagram_is_the_request_path_in_about_a_dozen_nodes(case):
    _, deployment, template, markdown = case
    resources = template["Resources"]
    nodes, edges = parse(diagram_of(markdown))
    assert 5 <= len(nodes) <= 14, sorted(nodes)
    path = ["client", *(["bridge"] if deployment.spec.topology == "websocket" else []), "front", "auth",
            *(["relay"] if "RelayFunction" in resources else []), "tasks",
            *(["nat"] if "NatAutoScalingGroup" in resources else []), "elevenlabs"]
    assert set(zip(path, path[1:])) <= edges, f"the request path {' -> '.join(path)} is not drawn"
    assert all(a in nodes and b in nodes for a, b in edges), "an edge to an undeclared node"
    for logical_id, node in [("TokensTable", "tokens"), ("ConnectionsTable", "connections"),
                             ("OutputBucket", "bucket"), ("AuthPageDistribution", "page")]:
        assert (node in nodes) == (logical_id in resources), node
    assert ("schedule" in nodes) == (deployment.spec.schedule is not None)


@pytest.mark.parametrize("case", DOCUMENTED, ids=lambda case: case[0])
def test_every_resource_is_listed_below_the_diagram(case):
    _, _, template, markdown = case
    listing = markdown.split("```", 2)[2].split("## Deploy", 1)[0]  # after the diagram's closing fence
    assert f"All {len(template['Resources'])} resources of the stack:" in listing
    for logical_id, resource in template["Resources"].items():
        assert f"| `{logical_id}` | `{resource['Type']}` |" in listing, logical_id


GENERATED_DOCS = [source.model for source in CONFIG.deployments
                  if (GENERATED / f"{source.model.metadata.name}.md").exists()]


@pytest.mark.parametrize("deployment", GENERATED_DOCS, ids=lambda d: d.metadata.name)
def test_generated_docs_deploy_in_order_and_connect_every_client(deployment):
    name, region = deployment.metadata.name, deployment.spec.region
    repo = deployment.spec.image.repository
    text = (GENERATED / f"{name}.md").read_text()
    steps = [f"--stack-name {repo} --template-file generated/{repo}.json", "docker login",
             f":{deployment.spec.image.tag} --push", f"--stack-name {name} --template-file generated/{name}.json",
             f"file://generated/{name}.parameters.json", "SetElevenLabsKeyCommand"]
    positions = [text.find(step) for step in steps]
    assert -1 not in positions and positions == sorted(positions), dict(zip(steps, positions))
    assert f"--region {region}" in text
    connect = text.split("## Connect", 1)[1].split("## Cost", 1)[0]
    for client in ("Claude Code", "Cursor", "Claude Desktop", "MCP Inspector"):
        assert client in connect


@pytest.mark.parametrize("deployment", GENERATED_DOCS, ids=lambda d: d.metadata.name)
def test_generated_docs_cost_is_the_estimate(deployment):
    text = (GENERATED / f"{deployment.metadata.name}.md").read_text()
    total = cost.estimate(deployment.spec).total
    assert f"about ${total:.2f} a month" in text and f"**{total:.2f}**" in text


def test_every_deployment_gets_docs_and_they_are_up_to_date():
    files, _ = build.compile_config(CONFIG)
    for source in CONFIG.deployments:
        name = f"{source.model.metadata.name}.md"
        assert name in files
        assert files[name] == (GENERATED / name).read_text(), "run: python -m compiler build"


def test_stacks_without_http_endpoints_point_clients_at_their_outputs():
    outputs = {"ClaudeCodeCommand": {"Value": "x", "Description": "Adds the server to Claude Code."},
               "CursorConfig": {"Value": "x"}, "ClaudeDesktopConfig": {"Value": "x"}, "TokenCommand": {"Value": "x"}}
    lines = "\n".join(docs.connect("voice-ws", "eu-central-1", {"Resources": {}, "Outputs": outputs}))
    assert "OutputKey=='ClaudeCodeCommand'" in lines and "OutputKey=='ClaudeDesktopConfig'" in lines
    assert "--region eu-central-1 --stack-name voice-ws" in lines and "MCP Inspector" in lines
    assert "claude mcp add --transport http" not in lines


def test_named_iam_needs_the_named_capability():
    named = {"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "x"}}}}
    assert docs.capabilities(named) == "CAPABILITY_NAMED_IAM"
    assert docs.capabilities(SMALL) == "CAPABILITY_IAM"


def test_tokens_deployments_tell_users_to_issue_a_token_not_to_read_the_server_key():
    text = (ROOT / "tests" / "cases" / "valid" / "alb-tokens" / "alb-tokens.md").read_text()
    connect = text.split("## Connect", 1)[1].split("## Cost", 1)[0]
    assert "python -m compiler tokens issue alb-tokens" in connect
    assert "MCP_SERVER_API_KEY" not in connect


@pytest.mark.parametrize("case, signup_code", [("alb-authpage", True), ("nat-authpage", False)])
def test_auth_page_docs_name_the_outputs_the_template_has(case, signup_code):
    folder = ROOT / "tests" / "cases" / "valid" / case
    text = (folder / f"{case}.md").read_text()
    outputs = json.loads((folder / f"{case}.json").read_text())["Outputs"]
    section = text.split("## Auth page", 1)[1].split("## Cost", 1)[0]
    assert "OutputKey=='AuthPageUrl'" in section and "AuthPageUrl" in outputs
    assert ("OutputKey=='SignupCodeCommand'" in section) == ("SignupCodeCommand" in outputs) == signup_code
    assert ("anyone who finds the page" in section) == (not signup_code)
    (source,) = load_config(str(folder.with_suffix(".yaml"))).deployments
    page = source.model.spec.auth.auth_page
    assert f"expire after {page.token_days} days" in section and f"try {page.attempts_per_hour} sign-ups" in section


def test_docs_without_an_auth_page_have_no_auth_page_section():
    for path in [*GENERATED.glob("*.md"), *(ROOT / "tests" / "cases" / "valid").glob("*/*.md")]:
        template = path.with_suffix(".json")
        has_page = "AuthPageUrl" in json.loads(template.read_text()).get("Outputs", {})
        assert ("## Auth page" in path.read_text()) == has_page, path


def test_readme_and_auth_docs_cover_every_mode():
    readme = (ROOT / "README.md").read_text()
    auth_modes = readme.split("## Auth modes", 1)[1].split("\n## ", 1)[0]
    for mode in ("mode: api-key", "mode: tokens", "authPage", "allowedCidrs", "docs/auth.md", "docs/websocket.md"):
        assert mode in auth_modes, mode
    assert "reserved" not in readme.split("## deployment.yaml", 1)[1].split("\n## ", 1)[0]
    guide = (ROOT / "docs" / "auth.md").read_text()
    for topic in ("### Threat model", "### Rotating the sign-up code", "within 60 s", "force-new-deployment",
                  "never logged", "compare_digest"):
        assert topic in guide, topic


def test_alb_with_a_domain_says_how_to_point_it_at_the_load_balancer():
    """The deploy order has the DNS step, after the stack (whose outputs it reads) and before the key."""
    text = (GENERATED / "voice-alb.md").read_text()
    steps = re.findall(r"^(\d)\. (.*)$", text, re.M)
    assert [title.split(" ")[0] for _, title in steps] == ["The", "Build", "This", "Point", "Your"]
    assert [number for number, _ in steps] == ["1", "2", "3", "4", "5"]
    assert "echo \"mcp.example.com. 300 IN CNAME $LB_NAME.\"" in text
    outputs = json.loads((GENERATED / "voice-alb.json").read_text())["Outputs"]
    assert outputs["LoadBalancerDnsName"]["Value"] == {"Fn::GetAtt": ["LoadBalancer", "DNSName"]}
    assert outputs["LoadBalancerHostedZoneId"]["Value"] == {"Fn::GetAtt": ["LoadBalancer", "CanonicalHostedZoneID"]}
    for name in ("voice-nat", "voice-ws"):  # no load balancer, no DNS step
        assert "Point `" not in (GENERATED / f"{name}.md").read_text()


def test_the_dns_step_creates_the_records_it_describes(moto):
    """voice-alb.md's DNS commands, run as written with bash and the real AWS CLI against moto: a stack with the
    template's outputs and the domain's hosted zone; the CNAME line and the alias records are then exact."""
    from tests.localaws import aws, aws_env

    moto.reset()
    block = (GENERATED / "voice-alb.md").read_text().split("4. Point", 1)[1].split("```sh\n", 1)[1]
    script = "\n".join(line.removeprefix("   ") for line in block.split("```", 1)[0].splitlines())
    zone = aws(moto.endpoint, "route53", "create-hosted-zone", "--name", "example.com", "--caller-reference",
               "docs-test").json["HostedZone"]["Id"].split("/")[-1]
    balancer, balancer_zone = "voice-alb-123456789.us-east-1.elb.amazonaws.com", "Z35SXDOTRQ7X7K"
    aws(moto.endpoint, "cloudformation", "create-stack", "--stack-name", "voice-alb", "--template-body", json.dumps({
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"LoadBalancerDnsName": {"Value": balancer}, "LoadBalancerHostedZoneId": {"Value": balancer_zone}}}))
    result = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script.replace("<the zone's ID>", zone)],
                            env=aws_env(moto.endpoint, "us-east-1"), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"mcp.example.com. 300 IN CNAME {balancer}."
    records = aws(moto.endpoint, "route53", "list-resource-record-sets", "--hosted-zone-id", zone).json
    aliases = {r["Type"]: r["AliasTarget"] for r in records["ResourceRecordSets"] if r["Name"] == "mcp.example.com."}
    expected = {"HostedZoneId": balancer_zone, "DNSName": f"dualstack.{balancer}", "EvaluateTargetHealth": False}
    assert set(aliases) == {"A", "AAAA"}  # the repo's alb admits IPv6 clients: dual-stack
    assert all({key: alias[key].rstrip(".") if key == "DNSName" else alias[key] for key in expected} == expected
               for alias in aliases.values())
