"""Follow a stack operation: its events as they come, a live progress line on a terminal, the root cause when
it fails.

On a TTY one line is redrawn (resources done of total, elapsed time, the latest event) and only failures are
printed in full; otherwise (CI logs) every event is one plain line. The root cause of a failure is the first
resource that failed for a reason of its own, not the cascade of "cancelled" resources and the stack's summary.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

from . import aws

POLL_SECONDS = 3.0
CASCADE = ("cancelled", "canceled", "Resource creation cancelled", "Resource update cancelled",
           "The following resource(s) failed")
STACK_TYPE = "AWS::CloudFormation::Stack"


@dataclass
class Outcome:
    status: str
    failed: dict | None = None   # the root-cause event, when the operation failed

    @property
    def ok(self) -> bool:
        return self.status.endswith("_COMPLETE") and "ROLLBACK" not in self.status and "FAILED" not in self.status


def last_event_id(name: str, region: str) -> str | None:
    """The newest event's id, so following starts after it (None for a stack without events)."""
    cf = aws.client("cloudformation", region)
    try:
        events = cf.describe_stack_events(StackName=name)["StackEvents"]
    except Exception as exc:
        if aws.error_code(exc) == "ValidationError":
            return None
        with aws.reported(f"read the events of {name}"):
            raise
    return events[0]["EventId"] if events else None


def follow(name: str, region: str, after: str | None, total: int, out=None, stack_id: str | None = None) -> Outcome:
    """Print the events newer than `after` until the stack settles; `total` resources make the progress."""
    out = out or sys.stdout
    live = out.isatty()
    cf = aws.client("cloudformation", region)
    started, seen, done, failures = time.monotonic(), set(), set(), []
    while True:
        with aws.reported(f"read the events of {name}"):
            new = _new_events(cf, stack_id or name, after, seen)
        for event in new:
            seen.add(event["EventId"])
            status = event["ResourceStatus"]
            if event["ResourceType"] != STACK_TYPE and (status.endswith("_COMPLETE") or status.endswith("_FAILED")):
                done.add(event["LogicalResourceId"])
            if status.endswith("_FAILED"):
                failures.append(event)
            line = _line(event, time.monotonic() - started)
            if live:
                if status.endswith("_FAILED"):
                    out.write("\r\033[K" + line + "\n")
            else:
                out.write(line + "\n")
        if live:
            latest = f"{new[-1]['LogicalResourceId']} {new[-1]['ResourceStatus']}" if new else ""
            out.write(f"\r\033[K{name}: {min(len(done), total)}/{total} resources, {_clock(time.monotonic() - started)}"
                      f" elapsed  {latest}")
        out.flush()
        status = _stack_status(cf, stack_id or name)
        if status is None or not status.endswith("_IN_PROGRESS"):
            if live:
                out.write("\n")
            outcome = Outcome(status or "DELETE_COMPLETE")
            if not outcome.ok:
                outcome.failed = root_cause(failures)
            return outcome
        time.sleep(POLL_SECONDS)


def _new_events(cf, stack: str, after: str | None, seen: set) -> list[dict]:
    """Events newer than `after`, oldest first (describe_stack_events pages newest first)."""
    fresh: list[dict] = []
    token = None
    while True:
        page = cf.describe_stack_events(StackName=stack, **({"NextToken": token} if token else {}))
        for event in page["StackEvents"]:
            if event["EventId"] == after or event["EventId"] in seen:
                return list(reversed(fresh))
            fresh.append(event)
        token = page.get("NextToken")
        if not token:
            return list(reversed(fresh))


def _stack_status(cf, stack: str) -> str | None:
    try:
        return cf.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    except Exception as exc:
        if aws.error_code(exc) == "ValidationError":
            return None
        with aws.reported(f"describe stack {stack}"):
            raise


def root_cause(failures: list[dict]) -> dict | None:
    """The first failure with a reason of its own; the stack's own failure event only when there is no other."""
    own = [e for e in failures if e["ResourceType"] != STACK_TYPE
           and not any(marker in (e.get("ResourceStatusReason") or "") for marker in CASCADE)]
    return (own or failures or [None])[0]


def _line(event: dict, elapsed: float) -> str:
    reason = event.get("ResourceStatusReason")
    return (f"  {_clock(elapsed)} {event['LogicalResourceId']:<36} {event['ResourceType']:<40} "
            f"{event['ResourceStatus']}{f'  {reason}' if reason else ''}")


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}:{seconds:02d}"


def explain_failure(name: str, outcome: Outcome) -> str:
    failed = outcome.failed
    if failed is None:
        cause = f"{name} ended in {outcome.status} (no failed resource in its events)"
    else:
        cause = (f"{failed['LogicalResourceId']} ({failed['ResourceType']}) {failed['ResourceStatus']}: "
                 f"{failed.get('ResourceStatusReason') or 'no reason given'}")
    if outcome.status == "DELETE_FAILED":
        advice = (f"remove or empty what blocks the deletion (named above), then `python -m compiler destroy {name}` "
                  "again; the resources already deleted stay deleted")
    elif outcome.status == "ROLLBACK_COMPLETE":
        advice = (f"the stack was rolled back and holds nothing: fix the cause, run `python -m compiler destroy {name}`, "
                  "then deploy again")
    else:
        advice = "fix the cause and deploy again (CloudFormation rolled the stack back to its last working state)"
    return f"{name} failed: {outcome.status}\n  root cause: {cause}\n  what to do: {advice}"
