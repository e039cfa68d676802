"""docs/auth.md's "Rotating the sign-up code", run as written (bash and the real AWS CLI) against moto, for a stack
of each topology carrying the outputs its compiled template has; then the old code is refused where the page
runs: by the server's check in a task started after the rotation (alb, nat-instance: ECS injects the secret's
current value at task start), and by a warm auth API instance 60 s later (websocket)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from server.authpage import aws_lambda, core
from tests.authpage_lambda.conftest import SIGNUP_CODE, Clock, url_event
from tests.fakes import FAKE_API_KEY
from tests.localaws import aws_env

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = {  # a compiled template with an auth page and a sign-up code, per topology
    "alb": ROOT / "tests/cases/valid/alb-authpage/alb-authpage.json",
    "nat-instance": ROOT / "generated/voice-nat.json",
    "websocket": ROOT / "tests/cases/valid/websocket-authpage/ws-signup.json",
}
GOOD = {"elevenlabsKey": FAKE_API_KEY, "name": "Rota", "signupCode": SIGNUP_CODE}


def documented_rotation() -> str:
    section = (ROOT / "docs/auth.md").read_text().split("### Rotating the sign-up code", 1)[1]
    return section.split("```sh\n", 1)[1].split("\n```", 1)[0]


def outputs_read(script: str) -> set[str]:
    return set(re.findall(r"\$\(output (\w+)\)", script))


def stand_in_stack(endpoint: str, topology: str, secret_arn: str) -> str:
    """A moto stack named like the topology, with the real template's outputs the rotation reads, pointing at a
    real (moto) secret, cluster and service."""
    outputs = json.loads(TEMPLATES[topology].read_text())["Outputs"]
    script = documented_rotation()
    assert outputs_read(script) <= set(outputs), f"the rotation reads outputs a {topology} stack lacks"
    ecs = boto3.client("ecs")
    ecs.create_cluster(clusterName=f"{topology}-cluster")
    ecs.register_task_definition(family=topology, containerDefinitions=[{"name": "s", "image": "i", "memory": 512}])
    ecs.create_service(cluster=f"{topology}-cluster", serviceName=f"{topology}-svc", taskDefinition=topology,
                       desiredCount=1)
    command = outputs["SignupCodeCommand"]["Value"]["Fn::Sub"]
    command = command if isinstance(command, str) else command[0]
    command = re.sub(r"\$\{AWS::Region\}", "us-east-1", command)
    command = re.sub(r"\$\{[A-Za-z]+\}", secret_arn, command)  # the secret's Ref, however the template names it
    values = {"SignupCodeCommand": command, "ClusterName": f"{topology}-cluster", "ServiceName": f"{topology}-svc"}
    template = {"Resources": {"Nothing": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
                "Outputs": {key: {"Value": values[key]} for key in outputs_read(script)}}
    boto3.client("cloudformation").create_stack(StackName=f"rotate-{topology}", TemplateBody=json.dumps(template))
    return f"rotate-{topology}"


def run_documented_rotation(endpoint: str, stack: str) -> str:
    script = re.sub(r"^STACK=\S+", f"STACK={stack}", documented_rotation(), count=1)
    env = {**aws_env(endpoint, "us-east-1"), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[-1]  # the last command prints the new code


@pytest.mark.parametrize("topology", sorted(TEMPLATES))
def test_the_documented_rotation_replaces_the_code_on_every_topology(topology, moto, aws, make_api, monkeypatch):
    clock = Clock()
    warm = make_api(clock=clock, MCP_AUTH_PAGE_ATTEMPTS_PER_HOUR="100")  # websocket: an instance already serving
    assert warm.signup(url_event(GOOD))["statusCode"] == 200

    new_code = run_documented_rotation(moto.endpoint, stand_in_stack(moto.endpoint, topology, aws["secret_arn"]))

    current = boto3.client("secretsmanager").get_secret_value(SecretId=aws["secret_arn"])["SecretString"]
    assert new_code == current and re.fullmatch(r"[A-Za-z0-9]{24}", new_code) and new_code != SIGNUP_CODE
    if topology == "websocket":
        clock.now += aws_lambda.SIGNUP_CODE_CACHE_SECONDS
        old = warm.signup(url_event(GOOD))
        assert old["statusCode"] == 403 and json.loads(old["body"])["error"] == "wrong_signup_code"
        assert warm.signup(url_event({**GOOD, "signupCode": new_code}))["statusCode"] == 200
    else:
        # A task the forced deployment starts gets the secret's current value as MCP_SIGNUP_CODE.
        with pytest.raises(core.SignupError):
            core.check_signup_code(SIGNUP_CODE, current)
        core.check_signup_code(new_code, current)
