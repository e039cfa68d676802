"""On-demand tasks of a `websocket` deployment (spec.onDemand): zero tasks until a client connects.

One function, run from the server image (compiler/parts/on_demand.py), with two jobs:

- wake ({"wake": true}), invoked asynchronously by the $connect authorizer for every admitted connection: a
  service running no task gets MIN_COUNT; a running one is left alone (never lowered, never raised above
  MIN_COUNT, so connections arriving together start the same tasks, not one each). The connection counts as
  activity, and the idle check is switched on.
- idle check (any other event: the `<deployment>-idle` EventBridge rule, every 5 minutes): after IDLE_SECONDS
  without a message (the relay notes them in the connections table, at most once a minute) the service goes to
  zero and the rule switches itself off until the next wake. Tasks a schedule's window or `compiler wake --for`
  holds up (the scalable target's MinCapacity above zero) are left alone.
"""

from __future__ import annotations

import functools
import json
import os
import time

ACTIVITY_ROW = "active"  # the connections table's row the relay and the wake update


def handler(event, context):
    result = wake() if isinstance(event, dict) and event.get("wake") else check()
    print(json.dumps(result))
    return result


def wake() -> dict:
    note_activity()
    client("events").enable_rule(Name=os.environ["IDLE_RULE"])
    desired = service()["desiredCount"]
    if desired > 0:
        return {"event": "wake", "desiredCount": desired, "changed": False}
    set_desired(int(os.environ["MIN_COUNT"]))
    return {"event": "wake", "desiredCount": int(os.environ["MIN_COUNT"]), "changed": True}


def check(now: float | None = None) -> dict:
    now = time.time() if now is None else now
    idle = now - last_activity()
    desired = service()["desiredCount"]
    result = {"event": "idle-check", "desiredCount": desired, "idleSeconds": int(idle)}
    if desired > 0 and held_up():
        return {**result, "changed": False, "reason": "the schedule or a wake --for holds the tasks up"}
    if desired > 0 and idle < float(os.environ["IDLE_SECONDS"]):
        return {**result, "changed": False}
    if desired > 0:
        set_desired(0)
    client("events").disable_rule(Name=os.environ["IDLE_RULE"])
    return {**result, "desiredCount": 0, "changed": desired > 0}


def service() -> dict:
    found = client("ecs").describe_services(cluster=os.environ["CLUSTER"], services=[os.environ["SERVICE"]])
    return found["services"][0]


def set_desired(count: int) -> None:
    client("ecs").update_service(cluster=os.environ["CLUSTER"], service=os.environ["SERVICE"], desiredCount=count)


def held_up() -> bool:
    """Whether the service's scalable target keeps at least one task (a schedule's window, a `wake --for`)."""
    targets = client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="ecs", ScalableDimension="ecs:service:DesiredCount",
        ResourceIds=[f"service/{os.environ['CLUSTER']}/{os.environ['SERVICE']}"])["ScalableTargets"]
    return any(target["MinCapacity"] > 0 for target in targets)


def note_activity() -> None:
    table().put_item(Item={"id": ACTIVITY_ROW, "at": int(time.time())})


def last_activity() -> float:
    row = table().get_item(Key={"id": ACTIVITY_ROW}, ConsistentRead=True).get("Item") or {}
    return float(row.get("at", 0))


@functools.cache
def table():
    import boto3

    return boto3.resource("dynamodb").Table(os.environ["CONNECTIONS_TABLE"])


@functools.cache
def client(service_name: str):
    import boto3

    return boto3.client(service_name)
