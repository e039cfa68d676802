"""On demand, end to end: the SDK's MCP client -> stdio bridge -> WebSocket API emulator -> real authorizer
(which invokes the on-demand function through a Lambda stand-in) and relay -> a real server process, which a
Fargate stand-in starts when the service's desired count in moto (ECS) becomes 1 and stops at 0."""

from __future__ import annotations

import anyio
import pytest

from server.websocket import on_demand
from tests.server.harness import SERVER_KEY, ServerProcess
from tests.websocket.chain import apply_environment, bridged_client, emulator, handler_environment, moto_client
from tests.websocket.conftest import server_settings
from tests.websocket.on_demand_stand_ins import (CLUSTER, SERVICE, FargateStandIn, LambdaStandIn,
                                                 desired_count, environment, on_demand_stack, rule_state)

pytestmark = pytest.mark.timeout(180)
IDLE_SECONDS = 15  # idleMinutes, shortened (the relay notes activity at most once a minute: the start counts)


@pytest.fixture
def stack(table, fake, monkeypatch, tmp_path):
    """moto with the deployment's resources, the Lambda stand-in, and a task the Fargate stand-in runs on demand."""
    on_demand_stack(table)
    task = ServerProcess(tmp_path, server_settings(fake))
    with LambdaStandIn() as functions:
        apply_environment(monkeypatch, {**handler_environment(table, task.port),
                                        **environment(table, functions.endpoint, IDLE_SECONDS)})
        on_demand.client.cache_clear()
        on_demand.table.cache_clear()
        with FargateStandIn(table, task) as fargate:
            yield functions, fargate


def test_a_call_with_no_task_running_waits_for_one_and_idleness_stops_it(stack, table, tmp_path):
    functions, fargate = stack
    assert desired_count(table) == 0 and not fargate.running

    async def scenario(url):
        async with bridged_client(url, SERVER_KEY, tmp_path / "bridge.err") as client:
            return await client.call_tool("list_models", {})

    with emulator() as api:
        models = anyio.run(scenario, api.url)
    assert not models.is_error  # no error reached the MCP client
    log = (tmp_path / "bridge.err").read_text()
    assert "a server task is starting" in log  # it was held and sent again
    assert fargate.starts == 1 and desired_count(table) == 1 and rule_state(table) == "ENABLED"

    functions.wait()
    assert functions.idle_check()["StatusCode"] == 200 and desired_count(table) == 1  # activity is recent
    early = functions.results[-1]
    assert early["changed"] is False and early["idleSeconds"] < IDLE_SECONDS
    anyio.run(anyio.sleep, IDLE_SECONDS - early["idleSeconds"] + 1.5)
    functions.idle_check()
    assert functions.results[-1]["changed"] is True and functions.results[-1]["idleSeconds"] >= IDLE_SECONDS
    assert desired_count(table) == 0 and rule_state(table) == "DISABLED"
    assert fargate.wait_until(running=False) and fargate.stops == 1


def test_two_bridges_connecting_at_once_start_one_task(stack, table, tmp_path):
    functions, fargate = stack

    async def one(url, index, results):
        async with bridged_client(url, SERVER_KEY, tmp_path / f"bridge{index}.err") as client:
            results.append(await client.call_tool("list_models", {}))

    async def scenario(url):
        results = []
        async with anyio.create_task_group() as group:
            group.start_soon(one, url, 1, results)
            group.start_soon(one, url, 2, results)
        return results

    with emulator() as api:
        results = anyio.run(scenario, api.url)
    functions.wait()
    assert len(results) == 2 and not any(result.is_error for result in results)
    wakes = [result for result in functions.results if result["event"] == "wake"]
    assert len(wakes) == 2  # each connection asked
    assert fargate.starts == 1 and fargate.highest_desired == 1 and desired_count(table) == 1


def test_a_schedule_window_holding_the_tasks_up_is_left_alone(stack, table):
    functions, fargate = stack
    functions.run({"wake": True})
    assert fargate.wait_until(running=True)
    moto_client("application-autoscaling", table).register_scalable_target(
        ServiceNamespace="ecs", ResourceId=f"service/{CLUSTER}/{SERVICE}", ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=1, MaxCapacity=1)
    result = on_demand.check(now=2e9)  # long idle
    assert result["changed"] is False and "holds the tasks up" in result["reason"] and desired_count(table) == 1
