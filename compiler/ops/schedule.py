"""`wake NAME [--for 2h]` and `sleep NAME`: run a deployment now outside its schedule, or stop it now.

The schedule lives in the stack (compiler/parts/schedule.py): an Application Auto Scaling target whose two
scheduled actions set the task count to minCount..maxCount when the window opens and 0 when it closes, and on
nat-instance two scheduled actions of the NAT instance's Auto Scaling group. An override changes the same
knobs now (the scalable target's capacity, the service's desired count, the NAT group's size) and leaves the
schedule's actions alone, so the next scheduled action takes over again. `wake --for` adds one one-time action
on each (`mcpdeploy-wake-ends`) that puts back what the schedule wants at that moment.

On demand (spec.onDemand) the count at rest is 0..maxCount, not 0..0, so a connection can still start a task
(server/websocket/on_demand.py): `sleep` stops the tasks and leaves that; `wake` also switches the idle check
on, so the tasks stop once idle after the wake ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from .. import naming
from . import aws, plan

WAKE_ENDS = "mcpdeploy-wake-ends"
DURATION = re.compile(r"^(\d+)([mhd])$")
UNITS = {"m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    match = DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise plan.PlanError(f"{text!r} is not a duration such as 30m, 2h or 1d")
    return timedelta(seconds=int(match.group(1)) * UNITS[match.group(2)])


# --- the schedule's own clock --------------------------------------------------------------------------------

@dataclass
class Window:
    start: datetime
    end: datetime


def windows(schedule, around: datetime) -> list[Window]:
    """The schedule's windows from two days before `around` to eight days after, in its time zone."""
    zone = ZoneInfo(schedule.timezone)
    start_minute, end_minute = schedule.window()
    length = (end_minute - start_minute) % 1440 or 1440
    local = around.astimezone(zone)
    found = []
    for offset in range(-2, 9):
        day = (local + timedelta(days=offset)).date()
        if day.strftime("%a").upper() not in schedule.days:
            continue
        start = datetime(day.year, day.month, day.day, start_minute // 60, start_minute % 60, tzinfo=zone)
        found.append(Window(start, start + timedelta(minutes=length)))
    return found


def active(schedule, at: datetime) -> bool:
    return schedule is None or any(w.start <= at < w.end for w in windows(schedule, at))


def next_change(schedule, at: datetime) -> tuple[str, datetime] | None:
    """('start' | 'stop', when) of the schedule's next action after `at`; None without a schedule."""
    if schedule is None:
        return None
    for window in windows(schedule, at):
        if window.start <= at < window.end:
            return "stop", window.end
    return "start", min(w.start for w in windows(schedule, at) if w.start > at)


def next_start(schedule, at: datetime) -> datetime | None:
    """When the schedule next starts the tasks after `at` (None without a schedule)."""
    change = next_change(schedule, at)
    if change is None or change[0] == "start":
        return change and change[1]
    return next_change(schedule, change[1] + timedelta(seconds=1))[1]


def local(schedule, when: datetime) -> str:
    zone = ZoneInfo(schedule.timezone) if schedule else timezone.utc
    return when.astimezone(zone).strftime(f"%a %Y-%m-%d %H:%M {zone.key if hasattr(zone, 'key') else 'UTC'}")


# --- the knobs -----------------------------------------------------------------------------------------------

@dataclass
class Knobs:
    cluster: str
    service: str
    nat_group: str | None

    @property
    def resource_id(self) -> str:
        return f"service/{self.cluster}/{self.service}"


def knobs(stack) -> Knobs:
    from .preflight import stack_outputs

    outputs = stack_outputs(stack.name, stack.region)
    missing = [key for key in ("ClusterName", "ServiceName") if key not in outputs]
    if missing:
        raise aws.AwsProblem(f"{stack.name} has no {' or '.join(missing)} output: is it deployed? "
                             f"(`python -m compiler deploy {stack.name}`)")
    return Knobs(outputs["ClusterName"], outputs["ServiceName"], outputs.get("NatAutoScalingGroupName"))


def set_tasks(stack, k: Knobs, minimum: int, maximum: int) -> None:
    scaling = aws.client("application-autoscaling", stack.region)
    with aws.reported(f"set the task count of {stack.name}"):
        scaling.register_scalable_target(ServiceNamespace="ecs", ResourceId=k.resource_id,
                                         ScalableDimension="ecs:service:DesiredCount",
                                         MinCapacity=minimum, MaxCapacity=maximum)
        aws.client("ecs", stack.region).update_service(cluster=k.cluster, service=k.service, desiredCount=minimum)


def resting(spec) -> tuple[int, int]:
    """The scalable target's (min, max) outside the schedule's window (always, without one, on demand)."""
    return (0, spec.task.max_count) if spec.on_demand is not None else (0, 0)


def idle_check_on(stack) -> None:
    if stack.model.spec.on_demand is not None:
        with aws.reported(f"switch on the idle check of {stack.name}"):
            aws.client("events", stack.region).enable_rule(Name=naming.idle_rule_name(stack.name))


def set_nat(stack, k: Knobs, size: int) -> None:
    if k.nat_group:
        with aws.reported(f"set the NAT instance group of {stack.name}"):
            aws.client("autoscaling", stack.region).update_auto_scaling_group(
                AutoScalingGroupName=k.nat_group, MinSize=size, MaxSize=size, DesiredCapacity=size)


def clear_wake_end(stack, k: Knobs) -> None:
    scaling = aws.client("application-autoscaling", stack.region)
    for call in (lambda: scaling.delete_scheduled_action(ServiceNamespace="ecs", ScheduledActionName=WAKE_ENDS,
                                                         ResourceId=k.resource_id,
                                                         ScalableDimension="ecs:service:DesiredCount"),
                 lambda: k.nat_group and aws.client("autoscaling", stack.region).delete_scheduled_action(
                     AutoScalingGroupName=k.nat_group, ScheduledActionName=WAKE_ENDS)):
        try:
            call()
        except Exception as exc:
            if aws.error_code(exc) not in ("ObjectNotFoundException", "ValidationError"):
                with aws.reported(f"remove the earlier wake's end from {stack.name}"):
                    raise


def wake(args) -> int:
    stack = plan.one(args.file, Path(args.out), args.name)
    spec = stack.model.spec
    length = parse_duration(args.duration)
    k = knobs(stack)
    now = datetime.now(timezone.utc)
    until = now + length
    clear_wake_end(stack, k)
    set_nat(stack, k, 1)
    set_tasks(stack, k, max(spec.task.min_count, 1), max(spec.task.max_count, 1))
    idle_check_on(stack)
    on_demand = spec.on_demand
    awake_then = active(spec.schedule, until) and (spec.schedule is not None or on_demand is None)
    minimum, maximum = (spec.task.min_count, spec.task.max_count) if awake_then else resting(spec)
    when = until.strftime("%Y-%m-%dT%H:%M:%S")
    with aws.reported(f"schedule the end of the wake of {stack.name}"):
        aws.client("application-autoscaling", stack.region).put_scheduled_action(
            ServiceNamespace="ecs", ScheduledActionName=WAKE_ENDS, ResourceId=k.resource_id,
            ScalableDimension="ecs:service:DesiredCount", Schedule=f"at({when})", Timezone="UTC",
            ScalableTargetAction={"MinCapacity": minimum, "MaxCapacity": maximum})
        if k.nat_group:
            size = 1 if awake_then else 0
            aws.client("autoscaling", stack.region).put_scheduled_update_group_action(
                AutoScalingGroupName=k.nat_group, ScheduledActionName=WAKE_ENDS, StartTime=until,
                MinSize=size, MaxSize=size, DesiredCapacity=size)
    nat = " and its NAT instance" if k.nat_group else ""
    then = ("the schedule keeps it running" if awake_then else
            f"it stops after {on_demand.idle_minutes} idle minutes" if on_demand else "it sleeps again")
    print(f"{stack.name}: awake now ({max(spec.task.min_count, 1)} task(s){nat}) until {local(spec.schedule, until)}; "
          f"then {then} ({_regime(spec)})")
    return 0


def _regime(spec) -> str:
    if spec.schedule is not None:
        return "the schedule takes over"
    return "on demand" if spec.on_demand is not None else "always on: no schedule"


def sleep(args) -> int:
    stack = plan.one(args.file, Path(args.out), args.name)
    spec = stack.model.spec
    k = knobs(stack)
    clear_wake_end(stack, k)
    set_tasks(stack, k, *resting(spec))
    set_nat(stack, k, 0)
    nat = " and its NAT instance" if k.nat_group else ""
    start = next_start(spec.schedule, datetime.now(timezone.utc))
    then = ("no schedule brings it back: `wake` does" if start is None else
            f"the schedule starts it again {local(spec.schedule, start)}")
    if spec.on_demand is not None:
        by_schedule = "" if start is None else f", or the schedule {local(spec.schedule, start)}"
        then = f"the next client connection starts it{by_schedule}"
    print(f"{stack.name}: asleep now (0 tasks{nat}); {then}")
    return 0
