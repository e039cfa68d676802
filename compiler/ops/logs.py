"""`logs NAME [--since 1h] [--follow]`: the server's logs merged with the relay, authorizer and access logs the
topology has, and the NAT instance's boot output, newest last, one line each: `TIME SOURCE MESSAGE`."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

from . import aws, plan, schedule

FOLLOW_SECONDS = 2.0
# The stack's log groups by logical ID, with the short name shown on each line (others show their own ID).
SOURCES = {"LogGroup": "server", "RelayLogGroup": "relay", "AuthorizerLogGroup": "authorizer",
           "CidrAuthorizerLogGroup": "authorizer", "HttpApiAccessLogGroup": "access",
           "WebSocketAccessLogGroup": "access"}


def run(args) -> int:
    stack = plan.one(args.file, Path(args.out), args.name)
    since = int((time.time() - schedule.parse_duration(args.since).total_seconds()) * 1000)
    groups = log_groups(stack)
    seen: set[str] = set()
    lines = [*_events(stack, groups, since, seen), *_nat_boot(stack)]
    for line in sorted(lines):
        print(line[1])
    while args.follow:
        time.sleep(FOLLOW_SECONDS)
        fresh = _events(stack, groups, since, seen)
        for line in sorted(fresh):
            print(line[1], flush=True)
        if fresh:
            since = max(line[0] for line in fresh) - 1000  # events may land a little late
    return 0


def log_groups(stack) -> dict[str, str]:
    """Log group name -> source label, from the deployed stack's resources."""
    cf = aws.client("cloudformation", stack.region)
    with aws.reported(f"list the resources of {stack.name}"):
        pages = cf.get_paginator("list_stack_resources").paginate(StackName=stack.name)
        summaries = [s for page in pages for s in page["StackResourceSummaries"]]
    return {s["PhysicalResourceId"]: SOURCES.get(s["LogicalResourceId"], s["LogicalResourceId"])
            for s in summaries if s["ResourceType"] == "AWS::Logs::LogGroup" and s.get("PhysicalResourceId")}


def _events(stack, groups: dict[str, str], since: int, seen: set[str]) -> list[tuple[int, str]]:
    logs = aws.client("logs", stack.region)
    found = []
    for group, source in groups.items():
        with aws.reported(f"read the log group {group}"):
            pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=since)
            for page in pages:
                for event in page["events"]:
                    if event["eventId"] in seen:
                        continue
                    seen.add(event["eventId"])
                    found.append((event["timestamp"], _line(event["timestamp"], source, event["message"])))
    return found


def _nat_boot(stack) -> list[tuple[int, str]]:
    """The NAT instance's boot script output (its console), where the topology has one."""
    k = schedule.knobs(stack)
    if not k.nat_group:
        return []
    with aws.reported(f"read the NAT instance of {stack.name}"):
        groups = aws.client("autoscaling", stack.region).describe_auto_scaling_groups(
            AutoScalingGroupNames=[k.nat_group])["AutoScalingGroups"]
        found = []
        for instance in (groups[0].get("Instances", []) if groups else []):
            console = aws.client("ec2", stack.region).get_console_output(InstanceId=instance["InstanceId"], Latest=True)
            stamp = console.get("Timestamp") or datetime.now(timezone.utc)
            millis = int(stamp.timestamp() * 1000)
            text = _decode(console.get("Output") or "")
            found += [(millis, _line(millis, f"nat {instance['InstanceId']}", line)) for line in text.splitlines()
                      if line.strip()]
    return found


def _decode(output: str) -> str:
    import base64
    import binascii

    try:  # the API returns it base64-encoded; botocore does not decode it
        return base64.b64decode(output, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return output


def _line(millis: int, source: str, message: str) -> str:
    stamp = datetime.fromtimestamp(millis / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return f"{stamp} {source:<10} {' '.join(message.splitlines()).strip()}"
