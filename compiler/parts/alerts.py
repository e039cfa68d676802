"""Telling people when something is wrong: e-mail topic, CloudWatch alarms, a monthly cost budget.

Alarms are defined by the front door (it owns the metrics) as `AlarmSpec`s; this module only wires them.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import AWSHelperFn, Ref, Template, budgets, cloudwatch, sns

from .. import naming
from ..model import Alerts


@dataclass(frozen=True)
class AlarmSpec:
    logical_id: str
    description: str
    namespace: str
    metric: str
    dimensions: dict[str, AWSHelperFn | str]
    statistic: str
    period_seconds: int
    evaluation_periods: int
    threshold: float


def email_topic(t: Template, alerts: Alerts) -> sns.Topic | None:
    """An SNS topic with the e-mail subscribed (AWS mails a confirmation link once), or None without e-mail."""
    if alerts.email is None:
        return None
    topic = t.add_resource(sns.Topic(naming.ALERT_TOPIC))
    t.add_resource(sns.SubscriptionResource(
        naming.ALERT_SUBSCRIPTION, TopicArn=Ref(topic), Protocol="email", Endpoint=alerts.email))
    return topic


def alarms(t: Template, specs: list[AlarmSpec], topic: sns.Topic | None) -> list[cloudwatch.Alarm]:
    return [t.add_resource(_alarm(spec, topic)) for spec in specs]


def _alarm(spec: AlarmSpec, topic: sns.Topic | None) -> cloudwatch.Alarm:
    alarm = cloudwatch.Alarm(
        spec.logical_id,
        AlarmDescription=spec.description,
        Namespace=spec.namespace,
        MetricName=spec.metric,
        Dimensions=[cloudwatch.MetricDimension(Name=name, Value=value) for name, value in spec.dimensions.items()],
        Statistic=spec.statistic,
        Period=spec.period_seconds,
        EvaluationPeriods=spec.evaluation_periods,
        Threshold=spec.threshold,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        # Scaled to zero at night, the load balancer reports nothing: that is not an outage.
        TreatMissingData="notBreaching",
    )
    if topic is not None:
        alarm.AlarmActions = [Ref(topic)]
        alarm.OKActions = [Ref(topic)]
    return alarm


def budget(t: Template, alerts: Alerts) -> budgets.Budget | None:
    """An account-wide monthly cost budget (filtering by the deployment's tag needs that tag activated as a cost
    allocation tag first, which CloudFormation cannot do). CloudFormation names it: its subscribers are create-only,
    so a changed alerts.email replaces it, and CloudFormation refuses to replace a resource with a fixed name."""
    if alerts.monthly_budget_usd is None:
        return None
    budget_ = budgets.Budget(naming.BUDGET, Budget=budgets.BudgetData(
        BudgetType="COST",
        TimeUnit="MONTHLY",
        BudgetLimit=budgets.Spend(Amount=alerts.monthly_budget_usd, Unit="USD"),
    ))
    if alerts.email is not None:
        budget_.NotificationsWithSubscribers = [
            _budget_notification("ACTUAL", 80, alerts.email),
            _budget_notification("FORECASTED", 100, alerts.email),
        ]
    return t.add_resource(budget_)


def _budget_notification(kind: str, percent: float, email: str) -> budgets.NotificationWithSubscribers:
    return budgets.NotificationWithSubscribers(
        Notification=budgets.Notification(
            NotificationType=kind, ComparisonOperator="GREATER_THAN", Threshold=percent, ThresholdType="PERCENTAGE"),
        Subscribers=[budgets.Subscriber(SubscriptionType="EMAIL", Address=email)],
    )
