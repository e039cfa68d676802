"""`status [NAME...]`: per deployment, one screen: the stack, the tasks, the schedule and any override, the NAT
instance, a live probe of `/health`, and month-to-date cost next to the estimate and the budget.

Drift is not shown: detecting it is an asynchronous job that takes minutes (`aws cloudformation
detect-stack-drift`), not a status read.
"""

from __future__ import annotations

import urllib.request
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from .. import naming
from . import aws, plan, schedule

PROBE_SECONDS = 5


def run(args) -> int:
    stacks = [s for s in plan.stacks(args.file, Path(args.out), args.names) if s.is_deployment]
    print("\n\n".join(report(stack, probe=not args.no_probe) for stack in stacks))
    return 0


def report(stack, probe: bool = True) -> str:
    from .changeset import existing_status
    from .preflight import stack_outputs

    spec, now = stack.model.spec, datetime.now(timezone.utc)
    status = existing_status(stack.name, stack.region)
    lines = [f"{stack.name} ({spec.topology}, {stack.region})", f"  stack:     {status or 'not deployed'}"]
    if status is None or status == "REVIEW_IN_PROGRESS":
        return "\n".join(lines + [f"  deploy it: python -m compiler deploy {stack.name}"])
    k = schedule.knobs(stack)
    lines.append(f"  tasks:     {_tasks(stack, k)}")
    lines.append(f"  schedule:  {_schedule(stack, k, now)}")
    if k.nat_group:
        lines.append(f"  NAT:       {_nat(stack, k)}")
    outputs = stack_outputs(stack.name, stack.region)
    lines.append(f"  endpoint:  {outputs.get('EndpointUrl', '(no EndpointUrl output)')}")
    if not probe:
        lines.append("  health:    not probed (--no-probe)")
    elif "HealthUrl" in outputs:
        lines.append(f"  health:    {probe_health(outputs['HealthUrl'])}")
    else:
        lines.append("  health:    no HTTP health URL on this topology (the bridge's first call tells)")
    lines.append(f"  cost:      {_cost(stack, now.date())}")
    return "\n".join(lines)


def _tasks(stack, k) -> str:
    with aws.reported(f"describe the service of {stack.name}"):
        services = aws.client("ecs", stack.region).describe_services(cluster=k.cluster, services=[k.service])
    if not services["services"]:
        return f"service {k.service} not found"
    service = services["services"][0]
    return (f"{service.get('runningCount', 0)} running, {service.get('pendingCount', 0)} pending, "
            f"{service.get('desiredCount', 0)} desired ({service.get('status', '?')})")


def _schedule(stack, k, now: datetime) -> str:
    spec = stack.model.spec
    change = schedule.next_change(spec.schedule, now)
    if spec.on_demand is not None:
        window = "" if change is None else (f"; always on in its window {spec.schedule.active_hours} "
                                            f"({spec.schedule.timezone}), next {change[0]} "
                                            f"{schedule.local(spec.schedule, change[1])}")
        own = f"on demand ({_idle_check(stack)}){window}"
    elif change is None:
        own = "always on (no schedule)"
    else:
        own = (f"{'in' if change[0] == 'stop' else 'outside'} its window {spec.schedule.active_hours} "
               f"({spec.schedule.timezone}); next {change[0]} {schedule.local(spec.schedule, change[1])}")
    return own + _override(stack, k, now)


def _idle_check(stack) -> str:
    """Whether the idle check is on (it switches itself off once the tasks are stopped)."""
    rule = naming.idle_rule_name(stack.name)
    try:
        state = aws.client("events", stack.region).describe_rule(Name=rule)["State"]
    except Exception as exc:
        return f"idle rule {rule}: {aws.error_code(exc) or type(exc).__name__}"
    minutes = stack.model.spec.on_demand.idle_minutes
    return (f"stops after {minutes} idle minutes; idle check on" if state == "ENABLED" else
            "idle check off: stopped, the next connection starts a task")


def _override(stack, k, now: datetime) -> str:
    """What an earlier wake/sleep left: the capacity now against what the schedule wants, and the wake's end."""
    spec = stack.model.spec
    scaling = aws.client("application-autoscaling", stack.region)
    with aws.reported(f"read the scaling of {stack.name}"):
        targets = scaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[k.resource_id],
                                                    ScalableDimension="ecs:service:DesiredCount")["ScalableTargets"]
        actions = scaling.describe_scheduled_actions(ServiceNamespace="ecs", ResourceId=k.resource_id,
                                                     ScalableDimension="ecs:service:DesiredCount",
                                                     ScheduledActionNames=[schedule.WAKE_ENDS])["ScheduledActions"]
    if not targets:
        return "; scaling target not registered (it is created with the stack)"
    current = (targets[0]["MinCapacity"], targets[0]["MaxCapacity"])
    in_window = schedule.active(spec.schedule, now) and (spec.schedule is not None or spec.on_demand is None)
    wanted = (spec.task.min_count, spec.task.max_count) if in_window else schedule.resting(spec)
    if actions:
        end = _at(actions[0]["Schedule"])
        return f"; OVERRIDE: woken (wake), until {schedule.local(spec.schedule, end)}, then the schedule takes over"
    if current == wanted:
        return ""
    if current == schedule.resting(spec):
        start = schedule.next_start(spec.schedule, now)
        back = "until `wake`" if start is None else f"until the schedule's next start {schedule.local(spec.schedule, start)}"
        return f"; OVERRIDE: asleep (sleep), {back}"
    return f"; OVERRIDE: tasks {current[0]}..{current[1]} where the schedule wants {wanted[0]}..{wanted[1]}"


def _at(expression: str) -> datetime:
    return datetime.strptime(expression[3:-1], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)


def _nat(stack, k) -> str:
    with aws.reported(f"describe the NAT instance group of {stack.name}"):
        groups = aws.client("autoscaling", stack.region).describe_auto_scaling_groups(
            AutoScalingGroupNames=[k.nat_group])["AutoScalingGroups"]
    if not groups:
        return f"group {k.nat_group} not found"
    group = groups[0]
    instances = ", ".join(f"{i['InstanceId']} {i['LifecycleState']}" for i in group.get("Instances", [])) or "none"
    return f"{group['DesiredCapacity']} desired; instances: {instances}"


def probe_health(url: str) -> str:
    started = datetime.now(timezone.utc)
    try:
        with urllib.request.urlopen(url, timeout=PROBE_SECONDS) as response:
            elapsed = (datetime.now(timezone.utc) - started).total_seconds()
            return f"{url}: HTTP {response.status} in {elapsed * 1000:.0f} ms"
    except urllib.error.HTTPError as exc:
        return f"{url}: HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{url}: unreachable ({reason}); asleep outside its window, or still starting"


def _cost(stack, today: date) -> str:
    from .. import cost
    from ..naming import DEPLOYMENT_TAG

    spec = stack.model.spec
    estimate = f"estimate ${cost.estimate(spec).total:.2f}/month"
    budget = f", budget ${spec.alerts.monthly_budget_usd:.2f}" if spec.alerts.monthly_budget_usd else ""
    start = today.replace(day=1)
    try:
        answer = aws.client("ce", "us-east-1").get_cost_and_usage(  # Cost Explorer answers in us-east-1 only
            TimePeriod={"Start": start.isoformat(), "End": (today + timedelta(days=1)).isoformat()},
            Granularity="MONTHLY", Metrics=["UnblendedCost"],
            Filter={"Tags": {"Key": DEPLOYMENT_TAG, "Values": [stack.name]}})
    except Exception as exc:
        why = aws.error_code(exc) or type(exc).__name__
        return f"month-to-date unavailable from Cost Explorer ({why}); {estimate}{budget}"
    amounts = [r["Total"]["UnblendedCost"] for r in answer.get("ResultsByTime", []) if "UnblendedCost" in r.get("Total", {})]
    if not amounts:
        return (f"month-to-date: no data from Cost Explorer yet (it lags up to a day, and the {DEPLOYMENT_TAG} tag "
                f"must be activated as a cost allocation tag); {estimate}{budget}")
    spent = sum(float(a["Amount"]) for a in amounts)
    return f"month-to-date ${spent:.2f} (Cost Explorer, tag {DEPLOYMENT_TAG}); {estimate}{budget}"
