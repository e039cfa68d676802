"""Rules that relate several fields or documents, checked after each document validated on its own.

Each rule is a small generator of diagnostics; `run` applies them all, so every problem is reported at once.
A path here is the YAML path (camelCase keys), the same one the user reads in the file.

Documents with schema errors are checked too (validation.salvage): a deployment rule reads one section of spec
(spec.task, spec.schedule, ...) besides required fields, and what it finds in a section that lost a value to an
error is dropped, since a default stands there in place of what the user wrote.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from server import tool_names

from . import cost, instance_types, model, naming
from .diagnostics import Diagnostic

if TYPE_CHECKING:
    from .validation import Config, Source


def run(config: Config) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for rule in FILE_RULES:
        found += rule(config)
    for source in config.deployments:
        for rule in DEPLOYMENT_RULES:
            found += [diagnostic for diagnostic in rule(source) if source.sure_of(diagnostic.path)]
        found += image_reference(config, source)
    return found


def unique_names(config: Config) -> Iterator[Diagnostic]:
    seen: dict[str, Source] = {}
    for source in sorted(config.repositories + config.deployments, key=lambda s: s.doc.index):
        name = source.model.metadata.name
        if name in seen:
            first = seen[name].doc.locate(("metadata", "name")).line
            yield source.doc.diagnostic(("metadata", "name"), f"name {name!r} is already used at line {first}; "
                                        "each document is a CloudFormation stack and needs its own name")
        seen.setdefault(name, source)


def image_reference(config: Config, source: Source) -> Iterator[Diagnostic]:
    spec = source.model.spec
    repository = config.repository(spec.image.repository)
    path = ("spec", "image", "repository")
    if repository is None and spec.image.repository in config.broken_repositories:
        return  # its own errors are reported where it is declared
    if repository is None:
        names = [s.model.metadata.name for s in config.repositories]
        close = difflib.get_close_matches(spec.image.repository, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else (f"; declared: {', '.join(names)}" if names else
                                                              "; declare one with kind: ImageRepository")
        yield source.doc.diagnostic(path, f"no ImageRepository named {spec.image.repository!r} in this file{hint}")
    elif repository.model.spec.region != spec.region:
        yield source.doc.diagnostic(path, f"ImageRepository {spec.image.repository!r} is in "
                                    f"{repository.model.spec.region}, this deployment in {spec.region}; stacks "
                                    "import the repository's exports, which only works within one region")
    if not model.image_tag_is_pinned(spec.image.tag):
        yield source.doc.diagnostic(("spec", "image", "tag"), f"tag {spec.image.tag!r} moves; pin a version so "
                                    "a stack update really changes what runs", warning=True)


def auth_page(source: Source) -> Iterator[Diagnostic]:
    auth = source.model.spec.auth
    if auth.auth_page is None:
        return
    path = ("spec", "auth", "authPage")
    if auth.mode != "tokens":
        yield source.doc.diagnostic(path, "the auth page issues personal tokens; set auth.mode: tokens",
                                    at_key=True)
    if not auth.auth_page.signup_code:
        yield source.doc.diagnostic(path + ("signupCode",), "anyone who finds the page and holds an ElevenLabs key "
                                    "can mint a token and run calls on this deployment's tasks", warning=True)


def task_size(source: Source) -> Iterator[Diagnostic]:
    task = source.model.spec.task
    allowed = model.FARGATE_MEMORY[task.cpu]
    if task.memory not in allowed:
        yield source.doc.diagnostic(("spec", "task", "memory"), f"Fargate does not offer {task.memory} MiB with "
                                    f"cpu {task.cpu} ({task.cpu / 1024:g} vCPU); allowed: {_ranges(allowed)} MiB")
    if task.max_count < task.min_count:
        yield source.doc.diagnostic(("spec", "task", "maxCount"), f"maxCount {task.max_count} is below minCount "
                                    f"{task.min_count}")
    if task.cpu_target_percent is not None and task.max_count == task.min_count:
        yield source.doc.diagnostic(("spec", "task", "cpuTargetPercent"), "has no effect while maxCount equals "
                                    "minCount; raise maxCount to let it scale", warning=True)


def log_retention(source: Source) -> Iterator[Diagnostic]:
    days = source.model.spec.logs.retention_days
    if days not in model.LOG_RETENTION_DAYS:
        nearest = min(model.LOG_RETENTION_DAYS, key=lambda allowed: (abs(allowed - days), allowed))
        yield source.doc.diagnostic(("spec", "logs", "retentionDays"), f"CloudWatch Logs does not keep logs for "
                                    f"{days} days; nearest allowed value: {nearest} (allowed: "
                                    f"{', '.join(map(str, model.LOG_RETENTION_DAYS))})")


def schedule_window(source: Source) -> Iterator[Diagnostic]:
    schedule = source.model.spec.schedule
    if schedule is None:
        return
    start, end = schedule.window()
    if start == end:
        yield source.doc.diagnostic(("spec", "schedule", "activeHours"), f"the window {schedule.active_hours} is "
                                    "empty; to run around the clock, remove the schedule")
    seen: set[str] = set()
    for index, day in enumerate(schedule.days):
        if day in seen:
            yield source.doc.diagnostic(("spec", "schedule", "days", index), f"{day} is listed twice")
        seen.add(day)


# Why on-demand is websocket only (docs/on-demand.md has the numbers).
ON_DEMAND_REFUSED = {
    "nat-instance": "on nat-instance a client's first request would have to wait for the NAT instance and then a "
                    "task to start (2-3 minutes), and an HTTP client gets an error, not a held request; use "
                    "topology websocket, whose bridge holds requests while a task starts, or a schedule",
    "alb": "the load balancer and its two public addresses cost ${alb_fixed:.2f} a month around the clock whatever "
           "the tasks do, so stopping the tasks saves little (python -m compiler cost shows it); use topology "
           "websocket, or a schedule",
}
RULE_NAME_LIMIT = 64  # EventBridge rule names; the idle rule is `<name>-idle`


def on_demand_topology(source: Source) -> Iterator[Diagnostic]:
    spec, name = source.model.spec, source.model.metadata.name
    if spec.on_demand is None:
        return
    if spec.topology in ON_DEMAND_REFUSED:
        reason = ON_DEMAND_REFUSED[spec.topology].format(alb_fixed=cost.alb_fixed_month())
        yield source.doc.diagnostic(("spec", "onDemand"), f"onDemand is offered on websocket only: {reason}",
                                    at_key=True)
    elif len(naming.idle_rule_name(name)) > RULE_NAME_LIMIT:
        yield source.doc.diagnostic(("metadata", "name"), f"with onDemand the name may have at most "
                                    f"{RULE_NAME_LIMIT - len(naming.idle_rule_name(''))} characters: the idle "
                                    f"check's EventBridge rule, {naming.idle_rule_name(name)!r}, would be longer "
                                    f"than {RULE_NAME_LIMIT}")


def alb_front_door(source: Source) -> Iterator[Diagnostic]:
    spec = source.model.spec
    if spec.topology != "alb":
        return
    options, path = spec.alb, ("spec", "alb")
    if options.certificate_arn is None and not options.allow_plain_http:
        yield source.doc.diagnostic(path, "an ALB needs certificateArn for HTTPS; to accept plain HTTP (the API "
                                    "key then crosses the internet in clear) set allowPlainHttp: true", at_key=True)
    if options.certificate_arn is None and options.allow_plain_http:
        yield source.doc.diagnostic(path + ("allowPlainHttp",), "plain HTTP: the API key and audio cross the "
                                    "internet unencrypted; add certificateArn for HTTPS", warning=True)
    if options.certificate_arn and options.allow_plain_http:
        yield source.doc.diagnostic(path + ("allowPlainHttp",), "ignored: with certificateArn, HTTP is "
                                    "redirected to HTTPS", warning=True)
    if options.certificate_arn and options.certificate_arn.split(":")[3] != spec.region:
        yield source.doc.diagnostic(path + ("certificateArn",), f"the certificate is in "
                                    f"{options.certificate_arn.split(':')[3]}; an ALB needs one from its own "
                                    f"region {spec.region}")


def nat_instance_type(source: Source) -> Iterator[Diagnostic]:
    spec = source.model.spec
    if spec.topology != "nat-instance":
        return
    problem = instance_types.problem(spec.nat_instance.instance_type, spec.region)
    if problem is not None:
        yield source.doc.diagnostic(("spec", "natInstance", "instanceType"), problem)


def budget_without_email(source: Source) -> Iterator[Diagnostic]:
    alerts = source.model.spec.alerts
    if alerts.monthly_budget_usd is not None and alerts.email is None:
        yield source.doc.diagnostic(("spec", "alerts", "monthlyBudgetUsd"), "without alerts.email nobody is "
                                    "notified when the budget is exceeded", warning=True)


# Regions where CloudFormation has no such resource type (cfn-lint 1.58's resource schemas; the test
# tests/compiler/test_checks_regions.py compares this table with the installed cfn-lint's).
UNAVAILABLE = {
    "AWS::Budgets::Budget": frozenset({
        "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-3", "ap-south-2", "ap-southeast-3", "ap-southeast-4",
        "ap-southeast-5", "ap-southeast-7", "ca-west-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
        "il-central-1", "me-central-1", "mx-central-1"}),
    "AWS::Lambda::Url": frozenset({
        "ap-east-2", "ap-south-2", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7", "ca-west-1", "eu-central-2",
        "il-central-1", "me-central-1", "mx-central-1"}),
}


def regional_resources(source: Source) -> Iterator[Diagnostic]:
    """Options whose resource CloudFormation does not offer in the deployment's region."""
    spec = source.model.spec
    if spec.alerts.monthly_budget_usd is not None and spec.region in UNAVAILABLE["AWS::Budgets::Budget"]:
        yield source.doc.diagnostic(("spec", "alerts", "monthlyBudgetUsd"), "CloudFormation has no "
                                    f"AWS::Budgets::Budget in {spec.region}; create the budget in the Billing "
                                    "console instead, or drop this option")
    if (spec.topology == "websocket" and spec.auth.auth_page is not None
            and spec.region in UNAVAILABLE["AWS::Lambda::Url"]):
        yield source.doc.diagnostic(("spec", "auth", "authPage"), "on websocket the auth page's API is a Lambda "
                                    f"function URL, which CloudFormation does not offer in {spec.region}; use "
                                    "another region or topology, or issue tokens with the CLI", at_key=True)


def tool_selection(source: Source) -> Iterator[Diagnostic]:
    tools, path = source.model.spec.tools, ("spec", "tools")
    if tools.allow is not None and tools.deny:
        yield source.doc.diagnostic(path + ("deny",), "give allow or deny, not both: allow already leaves out "
                                    "every tool it does not name", at_key=True)
    for key, names in (("allow", tools.allow or []), ("deny", tools.deny)):
        seen: set[str] = set()
        for index, name in enumerate(names):
            where = path + (key, index)
            if name in tool_names.NOT_OFFERED:
                yield source.doc.diagnostic(where, f"this server has no {name}: {tool_names.NOT_OFFERED[name]}")
            elif name not in tool_names.TOOL_NAMES:
                close = difflib.get_close_matches(name, tool_names.TOOL_NAMES, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"tools: {', '.join(tool_names.TOOL_NAMES)}"
                yield source.doc.diagnostic(where, f"the server has no tool {name!r}; {hint}")
            elif name in seen:
                yield source.doc.diagnostic(where, f"{name} is listed twice", warning=True)
            elif key == "allow" and name in tool_names.REACHES_THIRD_PARTIES and not tools.reach_third_parties:
                yield source.doc.diagnostic(where, f"{name} contacts third parties and is offered only with "
                                            "spec.tools.reachThirdParties: true")
            seen.add(name)
    if (tools.allow is not None or tools.deny) and not tools.exposed():
        yield source.doc.diagnostic(path, "this selection leaves no tool to offer", at_key=True)


def _ranges(values: tuple[int, ...]) -> str:
    if len(values) > 3:
        return f"{values[0]} to {values[-1]} in steps of {values[1] - values[0]}"
    return ", ".join(map(str, values))


FILE_RULES: list[Callable[[Config], Iterator[Diagnostic]]] = [unique_names]
DEPLOYMENT_RULES: list[Callable[[Source], Iterator[Diagnostic]]] = [
    auth_page, task_size, log_retention, schedule_window, on_demand_topology, alb_front_door, nat_instance_type,
    budget_without_email, regional_resources, tool_selection,
]
