"""`deploy` into moto: preflight refusals, every stack of the repo's file through `deploy --yes` with its
preview and events, "no changes" on a second run, and a failing stack's root cause."""

from __future__ import annotations

import json

from compiler.ops.aws import AWS_PROBLEM
from compiler.validation import load_config
from tests.ops.conftest import ROOT, cli

CONFIG = load_config(str(ROOT / "deployment.yaml"))
REPOSITORY = CONFIG.repositories[0].model.metadata.name
DEPLOYMENTS = [source.model for source in CONFIG.deployments]


def _resources(name: str) -> dict:
    return json.loads((ROOT / "generated" / f"{name}.json").read_text())["Resources"]


def test_a_missing_repository_or_image_is_refused_before_any_stack_changes(moto):
    moto.reset()
    first = cli(moto, "deploy", "--yes")
    assert first.returncode == AWS_PROBLEM, first.stderr
    assert f"the ECR repository {REPOSITORY} does not exist yet" in first.stderr
    assert f"python -m compiler deploy {REPOSITORY}" in first.stderr
    assert moto.stacks() == {}

    repository = cli(moto, "deploy", "--yes", REPOSITORY)
    assert repository.returncode == 0, repository.stderr
    assert moto.stacks() == {REPOSITORY: "CREATE_COMPLETE"}

    deployment = DEPLOYMENTS[0]
    refused = cli(moto, "deploy", "--yes", deployment.metadata.name)
    assert refused.returncode == AWS_PROBLEM
    tag, platform = deployment.spec.image.tag, {"arm64": "linux/arm64", "x86_64": "linux/amd64"}[
        deployment.spec.task.architecture]
    assert f"image tag {tag} is not in the ECR repository {REPOSITORY}" in refused.stderr
    assert f"docker buildx build --platform {platform} --provenance=false -t $REPOSITORY:{tag} --push ." in refused.stderr
    assert moto.stacks() == {REPOSITORY: "CREATE_COMPLETE"}, "a refused deploy changed a stack"


def test_deploy_yes_deploys_every_stack_with_preview_and_events_then_reports_no_changes(moto):
    moto.reset()
    assert cli(moto, "deploy", "--yes", REPOSITORY).returncode == 0  # the repository first, as preflight says
    for tag in {deployment.spec.image.tag for deployment in DEPLOYMENTS}:
        moto.push_image(REPOSITORY, tag)

    result = cli(moto, "deploy", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"{REPOSITORY}: no changes" in out
    for deployment in DEPLOYMENTS:
        name = deployment.metadata.name
        resources = _resources(name)
        assert f"{name} (us-east-1): new stack, {len(resources)} resource changes" in out
        for logical_id, resource in resources.items():
            assert f"+ add           {logical_id:<36} {resource['Type']}" in out, logical_id
            assert f"{logical_id:<36} {resource['Type']:<40} CREATE_COMPLETE" in out, logical_id
        assert f"{name}: CREATE_COMPLETE" in out
        assert f"{name}: ElevenLabs key empty" in out
    assert out.index("voice-alb: CREATE_COMPLETE") < out.index("voice-nat: CREATE_COMPLETE")
    assert moto.stacks() == {REPOSITORY: "CREATE_COMPLETE",
                             **{d.metadata.name: "CREATE_COMPLETE" for d in DEPLOYMENTS}}
    assert "endpoint: " in out and "read -rs ELEVENLABS_API_KEY" in out and "claude mcp add" in out

    events = {d.metadata.name: len(moto.client("cloudformation").describe_stack_events(
        StackName=d.metadata.name)["StackEvents"]) for d in DEPLOYMENTS}
    again = cli(moto, "deploy", "--yes")
    assert again.returncode == 0, again.stderr
    for name in [REPOSITORY, *events]:
        assert f"{name}: no changes" in again.stdout
    assert "CREATE_COMPLETE" not in again.stdout and "UPDATE" not in again.stdout
    assert events == {name: len(moto.client("cloudformation").describe_stack_events(StackName=name)["StackEvents"])
                      for name in events}, "an unchanged deploy executed something"


def test_a_stack_that_fails_to_create_prints_its_root_cause(moto):
    moto.reset()
    assert cli(moto, "deploy", "--yes", REPOSITORY).returncode == 0
    deployment = DEPLOYMENTS[0]
    name = deployment.metadata.name
    moto.push_image(REPOSITORY, deployment.spec.image.tag)
    log_group = _resources(name)["LogGroup"]["Properties"]["LogGroupName"]
    moto.client("logs").create_log_group(logGroupName=log_group)  # left over from an earlier stack, say

    result = cli(moto, "deploy", "--yes", name)
    assert result.returncode == AWS_PROBLEM
    assert f"{name} failed: ROLLBACK_COMPLETE" in result.stderr
    assert "root cause: LogGroup (AWS::Logs::LogGroup) CREATE_FAILED: ResourceAlreadyExistsException" \
        in result.stderr, result.stderr
    assert f"python -m compiler destroy {name}" in result.stderr


def _in_a_terminal(moto, *args: str, answer: str) -> tuple[int, str]:
    """Run the CLI on a pseudo-terminal (stdin and stdout are a TTY), answering its question with `answer`."""
    import os
    import pty
    import subprocess
    import sys

    from tests.localaws import aws_env
    from tests.ops.conftest import REGION

    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "compiler", *args], cwd=ROOT, env=aws_env(moto.endpoint, REGION),
                               stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    output, answered = b"", False
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        output += chunk
        if not answered and b"[y/N]" in output:
            os.write(controller, answer.encode() + b"\n")
            answered = True
    os.close(controller)
    return process.wait(60), output.decode()


def test_on_a_terminal_deploy_asks_and_shows_live_progress(moto):
    moto.reset()
    assert cli(moto, "deploy", "--yes", REPOSITORY).returncode == 0
    deployment = DEPLOYMENTS[0]
    name, total = deployment.metadata.name, len(_resources(deployment.metadata.name))
    moto.push_image(REPOSITORY, deployment.spec.image.tag)

    code, output = _in_a_terminal(moto, "deploy", name, answer="n")
    assert code == 2, output
    assert f"+ add           LoadBalancer" in output and f"Deploy these changes to {name}? [y/N]" in output
    assert f"{name}: not deployed (change set deleted)" in output
    assert name not in moto.stacks(), "a declined first deploy left its empty stack behind"

    code, output = _in_a_terminal(moto, "deploy", name, answer="y")
    assert code == 0, output
    assert f"\r\x1b[K{name}: {total}/{total} resources, 0:0" in output  # the redrawn progress line
    import re

    following = output.split("[y/N]")[1].split(f"{name}: CREATE_COMPLETE")[0]
    assert not re.search(r"\n  \d+:\d\d \w+ +AWS::", following), "a terminal got the plain line of each event"
    assert moto.stacks()[name] == "CREATE_COMPLETE"


def test_a_stale_generated_folder_is_refused_before_any_aws_call(moto, tmp_path):
    moto.reset()
    edited = tmp_path / "deployment.yaml"
    edited.write_text((ROOT / "deployment.yaml").read_text().replace("retentionDays: 7", "retentionDays: 14", 1))
    result = cli(moto, "deploy", "--yes", "-f", str(edited))
    assert result.returncode == 2
    assert f"generated/ is out of date with {edited}: run python -m compiler build first" in result.stderr
    assert moto.stacks() == {}


def test_missing_credentials_stop_the_preflight_with_the_aws_exit_code(moto):
    import subprocess
    import sys

    from tests.localaws import aws_env

    env = {key: value for key, value in aws_env(moto.endpoint, "us-east-1").items()
           if key not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    env["AWS_EC2_METADATA_DISABLED"] = "true"  # no instance-metadata lookup: nothing leaves loopback
    result = subprocess.run([sys.executable, "-m", "compiler", "deploy", "--yes"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == AWS_PROBLEM
    assert "error: AWS: check the AWS credentials for us-east-1 (configure them as for the AWS CLI): " \
           "Unable to locate credentials" in result.stderr


def test_an_update_is_previewed_resource_by_resource_and_applied(moto, tmp_path):
    moto.reset()
    assert cli(moto, "deploy", "--yes", REPOSITORY).returncode == 0
    deployment = DEPLOYMENTS[0]
    name = deployment.metadata.name
    moto.push_image(REPOSITORY, deployment.spec.image.tag)
    assert cli(moto, "deploy", "--yes", name).returncode == 0

    edited, out = tmp_path / "deployment.yaml", tmp_path / "generated"
    text = (ROOT / "deployment.yaml").read_text()
    assert text.count("retentionDays: 7") >= 1 and text.index("retentionDays: 7") < text.index(f"name: {DEPLOYMENTS[1].metadata.name}")
    edited.write_text(text.replace("retentionDays: 7", "retentionDays: 14", 1))  # the first deployment's logs
    built = cli(moto, "build", "-f", str(edited), "-o", str(out))
    assert built.returncode == 0, built.stderr

    result = cli(moto, "deploy", "--yes", "-f", str(edited), "-o", str(out), name)
    assert result.returncode == 0, result.stderr
    assert f"{name} (us-east-1): update, 1 resource change\n" in result.stdout
    assert "  ~ modify        LogGroup" in result.stdout
    assert f"{name}: UPDATE_COMPLETE" in result.stdout
    # moto 5.2.5 does not apply a log group's new retention on update; the stack holds the new template
    deployed = moto.client("cloudformation").get_template(StackName=name)["TemplateBody"]
    deployed = deployed if isinstance(deployed, dict) else json.loads(deployed)
    assert deployed["Resources"]["LogGroup"]["Properties"]["RetentionInDays"] == 14
