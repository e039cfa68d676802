"""The task count: an Application Auto Scaling target with optional active hours and CPU target tracking.

With a schedule, two scheduled actions open and close the window each listed day (capacity 0 outside).
Without one, the count stays between minCount and maxCount around the clock. On demand (spec.onDemand) the
target's minimum is 0 outside the window (always, without a schedule) and its maximum stays maxCount: the
on-demand function sets the desired count between them (parts/on_demand.py), and a window's close leaves the
tasks running until they are idle. No RoleARN: Application Auto
Scaling then uses its ECS service-linked role, created on first use.
"""

from __future__ import annotations

from troposphere import GetAtt, Join, Ref, Template, ecs
from troposphere import applicationautoscaling as aas

from .. import naming
from ..model import DAYS, Schedule, Task
from .ecs import Cluster

SCALE_IN_COOLDOWN_SECONDS = 300
SCALE_OUT_COOLDOWN_SECONDS = 60


def scaling(t: Template, task: Task, schedule: Schedule | None, cluster: Cluster,
            service: ecs.Service, on_demand: bool = False) -> aas.ScalableTarget:
    target = aas.ScalableTarget(
        naming.SCALABLE_TARGET,
        ServiceNamespace="ecs",
        ScalableDimension="ecs:service:DesiredCount",
        ResourceId=Join("/", ["service", Ref(cluster.cluster), GetAtt(service, "Name")]),
        MinCapacity=0 if schedule or on_demand else task.min_count,
        MaxCapacity=task.max_count,
    )
    if schedule is not None:
        target.ScheduledActions = scheduled_actions(task, schedule, on_demand)
    t.add_resource(target)
    if task.cpu_target_percent is not None:
        cpu_target_tracking(t, target, task.cpu_target_percent)
    return target


def scheduled_actions(task: Task, schedule: Schedule, on_demand: bool = False) -> list[aas.ScheduledAction]:
    start, end = schedule.window()
    days = [day for day in DAYS if day in schedule.days]  # week order, whatever order the file lists
    # A window that crosses midnight (22:00-02:00) closes on the day after each day it opens.
    end_days = _next_days(days) if end <= start else days
    return [
        _action("scale-out-at-window-start", cron(start, days), schedule.timezone, task.min_count, task.max_count),
        _action("scale-in-at-window-end", cron(end, end_days), schedule.timezone, 0,
                task.max_count if on_demand else 0),
    ]


def cron(minute_of_day: int, days: list[str]) -> str:
    """Application Auto Scaling's 6-field cron: minutes hours day-of-month month day-of-week year."""
    hours, minutes = divmod(minute_of_day, 60)
    return f"cron({minutes} {hours} ? * {','.join(days)} *)"


def _next_days(days: list[str]) -> list[str]:
    following = [DAYS[(DAYS.index(day) + 1) % len(DAYS)] for day in days]
    return [day for day in DAYS if day in following]


def _action(name: str, schedule: str, timezone: str, minimum: int, maximum: int) -> aas.ScheduledAction:
    return aas.ScheduledAction(
        ScheduledActionName=name, Schedule=schedule, Timezone=timezone,
        ScalableTargetAction=aas.ScalableTargetAction(MinCapacity=minimum, MaxCapacity=maximum))


def cpu_target_tracking(t: Template, target: aas.ScalableTarget, percent: int) -> aas.ScalingPolicy:
    return t.add_resource(aas.ScalingPolicy(
        naming.CPU_SCALING_POLICY,
        PolicyName="cpu-target-tracking",
        PolicyType="TargetTrackingScaling",
        ScalingTargetId=Ref(target),
        TargetTrackingScalingPolicyConfiguration=aas.TargetTrackingScalingPolicyConfiguration(
            PredefinedMetricSpecification=aas.PredefinedMetricSpecification(
                PredefinedMetricType="ECSServiceAverageCPUUtilization"),
            TargetValue=float(percent),
            ScaleInCooldown=SCALE_IN_COOLDOWN_SECONDS,
            ScaleOutCooldown=SCALE_OUT_COOLDOWN_SECONDS,
        ),
    ))
