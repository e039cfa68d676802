"""The compiler and the server agree: the environment every compiled task definition gives the container is one
the server's own configuration loader accepts, on the port the container maps, draining before ECS kills it."""

import json
import re
from pathlib import Path

import anyio
import httpx
import pytest

from server.config import load_settings
from tests.fakes.elevenlabs_api import FAKE_API_KEY, FakeElevenLabs
from tests.localaws import TEST_CREDENTIALS, MotoServer
from tests.server.harness import ServerProcess, call_tool, mcp_client, texts
from tests.tokens_stack import create_tokens_stack

ROOT = Path(__file__).parents[1]
TEMPLATES = sorted(p for p in [*ROOT.glob("generated/*.json"), *ROOT.glob("tests/cases/valid/*/*.json")]
                   if "TaskDefinition" in p.read_text())


def resolve(value):
    """A plausible deploy-time value for an intrinsic function, enough for the server's checks."""
    if isinstance(value, str):
        return value
    (function, argument), = value.items()
    if function == "Fn::Join":
        separator, parts = argument
        return separator.join(resolve(part) for part in parts)
    if function == "Fn::GetAtt":
        resource, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
        if attribute == "DNSName":
            return f"{resource.lower()}-1234567890.us-east-1.elb.amazonaws.com"
        return f"{resource.lower()}-{attribute.lower()}"
    if function == "Ref":
        return "us-east-1" if argument == "AWS::Region" else f"{argument.lower()}-1a2b3c"
    if function == "Fn::Sub":
        text = argument if isinstance(argument, str) else argument[0]
        return re.sub(r"\$\{([^}]+)\}", lambda m: m.group(1).replace(".", "-").replace("::", "-").lower(), text)
    raise AssertionError(f"the contract test does not know how to resolve {function}")


def containers(template):
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::ECS::TaskDefinition":
            yield from resource["Properties"]["ContainerDefinitions"]


def task_memory(template) -> int:
    (memory,) = {int(r["Properties"]["Memory"]) for r in template["Resources"].values()
                 if r["Type"] == "AWS::ECS::TaskDefinition"}
    return memory


def auth_page_templates():
    """The auth page's variants, compiled in memory: every way the alb topology sets MCP_PUBLIC_URL, and
    nat-instance with and without a sign-up code."""
    from compiler.model import Deployment, ImageRepository
    from compiler.topologies import TOPOLOGIES

    cert = "arn:aws:acm:us-east-1:123456789012:certificate/0f8e2c1a-1111-2222-3333-444455556666"
    variants = {
        "alb-domain": ("alb", {"alb": {"certificateArn": cert, "domainName": "mcp.example.com"}}, {}),
        "alb-certificate-only": ("alb", {"alb": {"certificateArn": cert}}, {"allowedCidrs": ["203.0.113.0/24"]}),
        "alb-plain-http": ("alb", {"alb": {"allowPlainHttp": True}}, {}),
        "nat-instance-code": ("nat-instance", {}, {"allowedCidrs": ["203.0.113.0/24"]}),
        "nat-instance-no-code": ("nat-instance", {}, {"authPage": {"signupCode": False}}),
    }
    repository = ImageRepository.model_validate({"apiVersion": "mcpdeploy/v1alpha1", "kind": "ImageRepository",
                                                 "metadata": {"name": "images"}, "spec": {"region": "us-east-1"}})
    for name, (topology, options, auth) in variants.items():
        spec = {"region": "us-east-1", "topology": topology, "image": {"repository": "images", "tag": "1.0.0"},
                "auth": {"mode": "tokens", "authPage": {}, **auth}, **options}
        deployment = Deployment.model_validate({"apiVersion": "mcpdeploy/v1alpha1", "kind": "Deployment",
                                                "metadata": {"name": name}, "spec": spec})
        yield pytest.param(TOPOLOGIES[topology](deployment, repository).to_dict(), id=f"in-memory/{name}")


def check_environment(template: dict) -> list:
    """Load every container's environment with the server's own loader; the settings of each."""
    found = list(containers(template))
    assert found, "a template with a task definition must define a container"
    loaded = []
    for container in found:
        environment = {item["Name"]: resolve(item["Value"]) for item in container.get("Environment", [])}
        secret_names = {item["Name"] for item in container.get("Secrets", [])}
        assert {"MCP_SERVER_API_KEY", "ELEVENLABS_API_KEY"} <= secret_names
        environment |= {"MCP_SERVER_API_KEY": "k" * 48, "ELEVENLABS_API_KEY": ""}  # as generated, before set
        if "MCP_SIGNUP_CODE" in secret_names:
            environment["MCP_SIGNUP_CODE"] = "c" * 24
        settings = load_settings(environment)
        assert [m["ContainerPort"] for m in container["PortMappings"]] == [settings.port]
        drain = settings.drain_seconds
        assert drain < container["StopTimeout"], "the server must finish draining before ECS sends SIGKILL"
        assert settings.auth_page == ("MCP_AUTH_PAGE" in environment)
        assert settings.memory_mib == task_memory(template), "the input memory budget is sized from the task's"
        loaded.append(settings)
    return loaded


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_server_accepts_the_environment_the_template_gives_it(path):
    check_environment(json.loads(path.read_text()))


@pytest.mark.parametrize("template", list(auth_page_templates()))
def test_the_server_accepts_every_auth_page_environment(template):
    (settings,) = check_environment(template)
    assert settings.auth_page and settings.auth_mode == "tokens" and settings.tokens_table
    has_code = "SignupCodeCommand" in template["Outputs"]
    assert bool(settings.signup_code.get_secret_value()) == has_code
    assert settings.deployment_name == template["Description"].split()[2].rstrip(":")
    public_url = settings.public_url
    assert public_url == "" or public_url.startswith(("https://", "http://"))


def test_goldens_cover_the_auth_page_on_both_server_topologies():
    pages = {json.loads(p.read_text())["Description"].split(":")[1] for p in TEMPLATES
             if '"MCP_AUTH_PAGE"' in p.read_text()}
    assert any("Load Balancer" in d for d in pages) and any("HTTP API" in d for d in pages), pages


def test_a_compiled_auth_page_environment_issues_a_token_that_works(tmp_path):
    """The nat-authpage golden's environment, as ECS would give it (intrinsics resolved, the sign-up code secret
    absent since that case has none), runs `python -m server` as a real process: the page signs a user up against
    the fake ElevenLabs API and moto DynamoDB, and the connection URL it answers, on MCP_PUBLIC_URL's origin,
    works with the MCP client. Only the listen address and where AWS and ElevenLabs are differ from the template."""
    template = json.loads((ROOT / "tests/cases/valid/nat-authpage/nat-authpage.json").read_text())
    (container,) = containers(template)
    compiled = {item["Name"]: resolve(item["Value"]) for item in container["Environment"]}
    assert {item["Name"] for item in container["Secrets"]} == {"MCP_SERVER_API_KEY", "ELEVENLABS_API_KEY"}
    with FakeElevenLabs(port=0) as fake, MotoServer() as moto:
        table = create_tokens_stack(moto.endpoint, "nat-authpage")["TokensTable"]
        server = ServerProcess(tmp_path, {
            **compiled, "MCP_TOKENS_TABLE": table, "ELEVENLABS_API_KEY": "", "ELEVENLABS_BASE_URL": fake.url,
            "AWS_ENDPOINT_URL": moto.endpoint, "AWS_DEFAULT_REGION": "us-east-1", **TEST_CREDENTIALS,
        })
        server.env["MCP_PORT"] = str(server.port)  # the template's 8080 may be taken here
        server.start()
        try:
            config = httpx.get(f"{server.base_url}/auth/config.json", timeout=10).json()
            assert config["signupCode"] is False and config["deployment"] == "nat-authpage"
            assert config["tokenDays"] == int(compiled["MCP_AUTH_PAGE_TOKEN_DAYS"])
            answer = httpx.post(f"{server.base_url}/auth/token", timeout=30,
                                json={"elevenlabsKey": FAKE_API_KEY, "name": "alice", "signupCode": ""})
            assert answer.status_code == 200, answer.text
            connection_url = answer.json()["connectionUrl"]
            assert connection_url.startswith(compiled["MCP_PUBLIC_URL"] + "/mcp?key=mcpt_")

            async def list_tools():
                local = connection_url.replace(compiled["MCP_PUBLIC_URL"], server.base_url)  # no API Gateway here
                async with mcp_client(local, headers={}) as client:
                    return await client.list_tools()

            assert len(anyio.run(list_tools).tools) > 10
        finally:
            server.terminate()


def compiled_tools_environment(topology: str, tools: dict) -> dict[str, str]:
    """The server container's environment of a deployment with this spec.tools, compiled in memory through
    load-time validation (the checks) and the topology, intrinsics resolved as ECS would."""
    from compiler.model import Deployment, ImageRepository
    from compiler.topologies import TOPOLOGIES

    repository = ImageRepository.model_validate({"apiVersion": "mcpdeploy/v1alpha1", "kind": "ImageRepository",
                                                 "metadata": {"name": "images"}, "spec": {"region": "us-east-1"}})
    options = {"alb": {"allowPlainHttp": True}} if topology == "alb" else {}
    deployment = Deployment.model_validate({
        "apiVersion": "mcpdeploy/v1alpha1", "kind": "Deployment", "metadata": {"name": "tools"},
        "spec": {"region": "us-east-1", "topology": topology, "image": {"repository": "images", "tag": "1.0.0"},
                 "tools": tools, **options}})
    (container,) = containers(TOPOLOGIES[topology](deployment, repository).to_dict())
    return {item["Name"]: resolve(item["Value"]) for item in container["Environment"]}


TOOL_SELECTIONS = {
    "allow": ("alb", {"allow": ["list_models", "check_subscription"]}),
    "deny": ("nat-instance", {"deny": ["voice_clone", "text_to_voice", "create_voice_from_preview"]}),
    "default": ("websocket", {}),
    "third-parties": ("alb", {"deny": ["voice_clone"], "reachThirdParties": True}),
}
TOOLS_VARIABLES = {"allow": "MCP_TOOLS_ALLOW", "deny": "MCP_TOOLS_DENY", "reachThirdParties": "MCP_TOOLS_REACH_THIRD_PARTIES"}


@pytest.mark.parametrize("selection", TOOL_SELECTIONS)
def test_a_compiled_tool_selection_is_what_a_real_client_sees_and_can_call(tmp_path, selection):
    """spec.tools, compiled into the task definition's environment, run as `python -m server`: tools/list shows
    exactly the deployment's tools, in both protocol eras, and a tool left out cannot be called."""
    from compiler.model import Tools
    from server.tool_names import REACHES_THIRD_PARTIES, TOOL_NAMES

    topology, tools = TOOL_SELECTIONS[selection]
    compiled = compiled_tools_environment(topology, tools)
    expected = Tools.model_validate(tools).exposed()
    assert {key for key in compiled if key.startswith("MCP_TOOLS_")} == {TOOLS_VARIABLES[key] for key in tools}
    keep = {key: value for key, value in compiled.items() if key.startswith(("MCP_TOOLS_", "MCP_AUTH_MODE"))}
    with FakeElevenLabs(port=0) as fake:
        server = ServerProcess(tmp_path, {**keep, "ELEVENLABS_API_KEY": FAKE_API_KEY,
                                          "ELEVENLABS_BASE_URL": fake.url})
        server.start()
        try:
            async def listed(mode):
                async with mcp_client(server.mcp_url, mode=mode) as client:
                    return [tool.name for tool in (await client.list_tools()).tools]

            for mode in ("legacy", "auto"):
                assert sorted(anyio.run(listed, mode)) == sorted(expected), mode
            left_out = [name for name in TOOL_NAMES if name not in expected]
            for name in left_out[:2]:
                result = call_tool(server, name, {})
                assert result.is_error and "unknown tool" in texts(result).lower(), texts(result)
            offered = call_tool(server, "list_models" if "list_models" in expected else expected[0], {})
            assert not offered.is_error or "unknown tool" not in texts(offered).lower()
        finally:
            server.terminate()
    if selection == "default":
        assert set(expected) == set(TOOL_NAMES) - REACHES_THIRD_PARTIES  # every tool but the opt-in ones
    if selection == "third-parties":
        assert REACHES_THIRD_PARTIES <= set(expected) and "voice_clone" not in expected
