"""The compiler and the server agree: the environment every compiled task definition gives the container is one
the server's own configuration loader accepts, on the port the container maps, draining before ECS kills it."""

import json
import re
from pathlib import Path

import pytest

from server.config import load_settings

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


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_server_accepts_the_environment_the_template_gives_it(path):
    template = json.loads(path.read_text())
    found = list(containers(template))
    assert found, "a template with a task definition must define a container"
    for container in found:
        environment = {item["Name"]: resolve(item["Value"]) for item in container.get("Environment", [])}
        secret_names = {item["Name"] for item in container.get("Secrets", [])}
        assert {"MCP_SERVER_API_KEY", "ELEVENLABS_API_KEY"} <= secret_names
        environment |= {"MCP_SERVER_API_KEY": "k" * 48, "ELEVENLABS_API_KEY": ""}  # as generated, before set
        settings = load_settings(environment)
        assert [m["ContainerPort"] for m in container["PortMappings"]] == [settings.port]
        drain = settings.drain_seconds
        assert drain < container["StopTimeout"], "the server must finish draining before ECS sends SIGKILL"
