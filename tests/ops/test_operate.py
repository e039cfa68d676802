"""`status`, `logs`, `wake`, `sleep` and `destroy` against every stack of the repo's file deployed into moto
by `deploy --yes`; each command's output is checked against what the service APIs say."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from compiler.ops import schedule
from compiler.ops.aws import AWS_PROBLEM
from tests.localaws import free_port
from tests.ops.conftest import cli
from tests.ops.test_deploy_command import DEPLOYMENTS, REPOSITORY

BY_NAME = {d.metadata.name: d for d in DEPLOYMENTS}
NAT = next(d.metadata.name for d in DEPLOYMENTS if d.spec.topology == "nat-instance")
WS = next(d.metadata.name for d in DEPLOYMENTS if d.spec.topology == "websocket")


@pytest.fixture(scope="module")
def deployed(moto):
    moto.reset()
    assert cli(moto, "deploy", "--yes", REPOSITORY).returncode == 0
    for tag in {d.spec.image.tag for d in DEPLOYMENTS}:
        moto.push_image(REPOSITORY, tag)
    result = cli(moto, "deploy", "--yes")
    assert result.returncode == 0, result.stderr
    return moto


def _outputs(moto, name):
    stack = moto.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def _service(moto, name):
    outputs = _outputs(moto, name)
    return moto.client("ecs").describe_services(cluster=outputs["ClusterName"],
                                                services=[outputs["ServiceName"]])["services"][0]


def test_status_shows_stack_tasks_schedule_nat_and_cost_of_every_deployment(deployed):
    result = cli(deployed, "status", "--no-probe")
    assert result.returncode == 0, result.stderr
    now = datetime.now(timezone.utc)
    for name, deployment in BY_NAME.items():
        section = result.stdout.split(f"{name} ({deployment.spec.topology}, us-east-1)")[1].split("\n\n")[0]
        service = _service(deployed, name)
        assert "stack:     CREATE_COMPLETE" in section
        assert (f"tasks:     {service['runningCount']} running, {service['pendingCount']} pending, "
                f"{service['desiredCount']} desired") in section
        if deployment.spec.schedule is not None:
            kind, when = schedule.next_change(deployment.spec.schedule, now)
            assert f"next {kind} {schedule.local(deployment.spec.schedule, when)}" in section
        else:  # the repo's websocket deployment runs on demand
            assert "schedule:  on demand (stops after 30 idle minutes; idle check on)" in section
        assert f"endpoint:  {_outputs(deployed, name)['EndpointUrl']}" in section
        assert "month-to-date: no data from Cost Explorer yet" in section  # moto's Cost Explorer tracks nothing
        assert "estimate $" in section
        assert ("NAT:" in section) == (name == NAT)


def test_status_without_cost_explorer_still_reports_the_rest(deployed):
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: Cost Explorer is unreachable
    result = cli(deployed, "status", NAT, "--no-probe", env={"AWS_ENDPOINT_URL_COST_EXPLORER": closed})
    assert result.returncode == 0, result.stderr
    assert "month-to-date unavailable from Cost Explorer (EndpointConnectionError)" in result.stdout
    assert "budget $15.00" in result.stdout and "stack:     CREATE_COMPLETE" in result.stdout


def test_the_health_probe_reports_status_and_unreachable(tmp_path):
    import http.server
    import threading

    from compiler.ops.status import probe_health

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/health" else 503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        assert probe_health(f"{base}/health").startswith(f"{base}/health: HTTP 200 in ")
        assert probe_health(f"{base}/other") == f"{base}/other: HTTP 503"
    finally:
        server.shutdown()
    closed = f"http://127.0.0.1:{free_port()}/health"
    assert probe_health(closed).startswith(f"{closed}: unreachable (")


def test_wake_then_sleep_turn_tasks_and_nat_on_and_off_and_status_shows_the_override(deployed):
    deployment = BY_NAME[NAT]
    outputs = _outputs(deployed, NAT)
    resource_id = f"service/{outputs['ClusterName']}/{outputs['ServiceName']}"
    scaling, groups = deployed.client("application-autoscaling"), deployed.client("autoscaling")

    woken = cli(deployed, "wake", NAT, "--for", "2h")
    assert woken.returncode == 0, woken.stderr
    assert f"{NAT}: awake now (1 task(s) and its NAT instance) until " in woken.stdout
    assert _service(deployed, NAT)["desiredCount"] == max(deployment.spec.task.min_count, 1)
    [target] = scaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource_id])["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, deployment.spec.task.max_count)
    [group] = groups.describe_auto_scaling_groups(AutoScalingGroupNames=[outputs["NatAutoScalingGroupName"]])[
        "AutoScalingGroups"]
    assert group["DesiredCapacity"] == 1
    [end] = scaling.describe_scheduled_actions(ServiceNamespace="ecs", ResourceId=resource_id,
                                               ScheduledActionNames=[schedule.WAKE_ENDS])["ScheduledActions"]
    ends = datetime.strptime(end["Schedule"], "at(%Y-%m-%dT%H:%M:%S)").replace(tzinfo=timezone.utc)
    assert abs((ends - datetime.now(timezone.utc)).total_seconds() - 7200) < 120
    status = cli(deployed, "status", NAT, "--no-probe")
    assert f"OVERRIDE: woken (wake), until {schedule.local(deployment.spec.schedule, ends)}" in status.stdout

    slept = cli(deployed, "sleep", NAT)
    assert slept.returncode == 0, slept.stderr
    assert f"{NAT}: asleep now (0 tasks and its NAT instance); the schedule starts it again " in slept.stdout
    assert _service(deployed, NAT)["desiredCount"] == 0
    [target] = scaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource_id])["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 0)
    [group] = groups.describe_auto_scaling_groups(AutoScalingGroupNames=[outputs["NatAutoScalingGroupName"]])[
        "AutoScalingGroups"]
    assert group["DesiredCapacity"] == 0
    assert not scaling.describe_scheduled_actions(ServiceNamespace="ecs", ResourceId=resource_id,
                                                  ScheduledActionNames=[schedule.WAKE_ENDS])["ScheduledActions"]
    status = cli(deployed, "status", NAT, "--no-probe")
    if schedule.active(deployment.spec.schedule, datetime.now(timezone.utc)):
        assert "OVERRIDE: asleep (sleep), until the schedule's next start" in status.stdout
    else:  # outside the window asleep is what the schedule wants: no override to show
        assert "OVERRIDE" not in status.stdout


def test_on_demand_wake_switches_the_idle_check_on_and_sleep_leaves_room_for_a_connection(deployed):
    deployment = BY_NAME[WS]
    assert deployment.spec.on_demand is not None and deployment.spec.schedule is None
    outputs = _outputs(deployed, WS)
    resource_id = f"service/{outputs['ClusterName']}/{outputs['ServiceName']}"
    scaling, events = deployed.client("application-autoscaling"), deployed.client("events")
    events.disable_rule(Name=f"{WS}-idle")  # as the idle check leaves it once the tasks are stopped

    status = cli(deployed, "status", WS, "--no-probe")
    assert "schedule:  on demand (idle check off: stopped, the next connection starts a task)" in status.stdout
    woken = cli(deployed, "wake", WS, "--for", "1h")
    assert woken.returncode == 0, woken.stderr
    assert "then it stops after 30 idle minutes (on demand)" in woken.stdout
    assert events.describe_rule(Name=f"{WS}-idle")["State"] == "ENABLED"
    [end] = scaling.describe_scheduled_actions(ServiceNamespace="ecs", ResourceId=resource_id,
                                               ScheduledActionNames=[schedule.WAKE_ENDS])["ScheduledActions"]
    assert end["ScalableTargetAction"] == {"MinCapacity": 0, "MaxCapacity": deployment.spec.task.max_count}

    slept = cli(deployed, "sleep", WS)
    assert slept.returncode == 0, slept.stderr
    assert f"{WS}: asleep now (0 tasks); the next client connection starts it" in slept.stdout
    assert _service(deployed, WS)["desiredCount"] == 0
    [target] = scaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource_id])["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, deployment.spec.task.max_count)
    assert "OVERRIDE" not in cli(deployed, "status", WS, "--no-probe").stdout


def test_logs_merge_the_server_and_relay_in_time_order(deployed):
    logs = deployed.client("logs")
    now = int(time.time() * 1000)
    server = f"/mcpdeploy/{WS}"
    groups = [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix=f"/mcpdeploy/{WS}")["logGroups"]]
    relay = next(g for g in groups if "relay" in g)
    logs.create_log_stream(logGroupName=server, logStreamName="s")
    logs.create_log_stream(logGroupName=relay, logStreamName="r")
    logs.put_log_events(logGroupName=server, logStreamName="s", logEvents=[
        {"timestamp": now - 3000, "message": "server started"}, {"timestamp": now - 1000, "message": "tools/call ok"}])
    logs.put_log_events(logGroupName=relay, logStreamName="r", logEvents=[
        {"timestamp": now - 7200_000, "message": "too old"}, {"timestamp": now - 2000, "message": "relay: connect\n"}])

    result = cli(deployed, "logs", WS, "--since", "1h")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line[20:].split(maxsplit=1) for line in lines] == [
        ["server", "server started"], ["relay", "relay: connect"], ["server", "tools/call ok"]]


def test_logs_follow_prints_new_lines_until_interrupted(deployed):
    import signal
    import subprocess
    import sys

    from tests.localaws import aws_env
    from tests.ops.conftest import REGION, ROOT

    logs, group = deployed.client("logs"), f"/mcpdeploy/{WS}"
    logs.create_log_stream(logGroupName=group, logStreamName="follow")
    process = subprocess.Popen([sys.executable, "-m", "compiler", "logs", WS, "--since", "5m", "--follow"], cwd=ROOT,
                               env=aws_env(deployed.endpoint, REGION), stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(4)  # the first read is done: what comes now can only arrive through following
        logs.put_log_events(logGroupName=group, logStreamName="follow",
                            logEvents=[{"timestamp": int(time.time() * 1000), "message": "arrived later"}])
        deadline = time.monotonic() + 30
        line = ""
        while "arrived later" not in line and time.monotonic() < deadline:
            line = process.stdout.readline()
        assert "server     arrived later" in line
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 130


def test_destroy_asks_refuses_a_repository_in_use_and_goes_in_reverse_order(deployed):
    names = [*BY_NAME, REPOSITORY]
    asked = cli(deployed, "destroy", *BY_NAME)
    assert asked.returncode == 2 and "pass --yes" in asked.stderr
    assert set(deployed.stacks()) == set(names)

    in_use = cli(deployed, "destroy", "--yes", REPOSITORY)
    assert in_use.returncode == 2
    assert f"{REPOSITORY} holds the image of {', '.join(BY_NAME)}, still deployed" in in_use.stderr

    # moto cannot delete a VPC stack (moto_changesets.py): the first deployment stack fails, with its root cause
    result = cli(deployed, "destroy", "--yes", *names)
    out = result.stdout
    said = [out.index(f"{name} (us-east-1, CREATE_COMPLETE): deleting it deletes") for name in [*reversed(BY_NAME), REPOSITORY]]
    assert said == sorted(said), "not listed in reverse dependency order"
    assert f"log group /mcpdeploy/{NAT}" in out
    assert "TokensTable (every issued token)" in out and "(the server key and your ElevenLabs key)" in out
    assert f"ECR repository {REPOSITORY} and every image in it" in out
    last = names[-2]
    assert result.returncode == AWS_PROBLEM
    assert f"{last} failed: DELETE_FAILED" in result.stderr
    assert "root cause: Vpc (AWS::EC2::VPC) DELETE_FAILED: " in result.stderr and "has dependencies" in result.stderr
    assert f"then `python -m compiler destroy {last}` again" in result.stderr
    assert deployed.stacks()[last] == "DELETE_FAILED"
    assert all(deployed.stacks()[name] == "CREATE_COMPLETE" for name in names[:-2] + [REPOSITORY]), \
        "destroy went on after a failure"


def test_destroy_empties_and_deletes_the_repository_stack(moto):
    moto.reset()
    assert cli(moto, "deploy", "--yes", REPOSITORY).returncode == 0
    moto.push_image(REPOSITORY, "0.1.0")
    result = cli(moto, "destroy", "--yes", REPOSITORY)
    assert result.returncode == 0, result.stderr
    assert f"ECR repository {REPOSITORY} and every image in it" in result.stdout
    assert f"{REPOSITORY}: deleted 1 image(s) from the repository" in result.stdout
    assert f"{REPOSITORY}: DELETE_COMPLETE" in result.stdout
    assert moto.stacks() == {}
    # moto 5.2.5 does not delete an ECR repository with its stack; the images destroy deleted itself are gone
    assert not moto.client("ecr").list_images(repositoryName=REPOSITORY)["imageIds"]

