"""One stack's change set: create it, wait for it, and show it resource by resource.

The preview shows CloudFormation's own verdict per resource (its `Action` and `Replacement` fields), with
replacements and removals of data stores (tables, buckets, log groups, secrets, image repositories) standing
out, since those lose data. `offline_changes` is the one place where a classification computed from the old
and new templates (without AWS) joins the preview.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from . import aws

NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
POLL_SECONDS = 2.0

# Resource types whose replacement or removal loses data.
DATA_STORES = {
    "AWS::DynamoDB::Table": "DynamoDB table", "AWS::S3::Bucket": "S3 bucket", "AWS::Logs::LogGroup": "log group",
    "AWS::SecretsManager::Secret": "secret", "AWS::ECR::Repository": "ECR repository",
}


@dataclass
class Change:
    action: str          # add | modify | replace | maybe-replace | remove | import | dynamic
    logical_id: str
    resource_type: str
    detail: str = ""     # what changed (property names), or the offline classifier's word

    @property
    def data_store(self) -> str | None:
        return DATA_STORES.get(self.resource_type)

    @property
    def loses_data(self) -> bool:
        return self.data_store is not None and self.action in ("replace", "maybe-replace", "remove")


@dataclass
class ChangeSet:
    stack: str
    region: str
    id: str
    kind: str                       # CREATE | UPDATE
    changes: list[Change]

    @property
    def empty(self) -> bool:
        return not self.changes


def existing_status(name: str, region: str) -> str | None:
    """The stack's status, or None when there is none (or only a deleted one)."""
    cf = aws.client("cloudformation", region)
    try:
        return cf.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
    except Exception as exc:
        if aws.error_code(exc) == "ValidationError" and "does not exist" in str(exc):
            return None
        with aws.reported(f"describe stack {name}"):
            raise


def create(stack, status: str | None) -> ChangeSet:
    """Create the change set for `stack` (a plan.Stack) and wait until CloudFormation has computed it."""
    if status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED"):
        raise aws.AwsProblem(f"{stack.name} is in {status} (a failed first create or delete): remove it with "
                             f"`python -m compiler destroy {stack.name}`, then deploy again")
    if status and status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
        raise aws.AwsProblem(f"{stack.name} is busy ({status}); wait for it to finish (`status {stack.name}`)")
    kind = "CREATE" if status in (None, "REVIEW_IN_PROGRESS") else "UPDATE"
    cf = aws.client("cloudformation", stack.region)
    options = dict(StackName=stack.name, ChangeSetName=f"mcpdeploy-{time.strftime('%Y%m%d-%H%M%S')}",
                   TemplateBody=stack.body, ChangeSetType=kind, Capabilities=stack.capabilities(),
                   Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(stack.parameters.items())],
                   Description="python -m compiler deploy")
    with aws.reported(f"create a change set for {stack.name}"):
        change_set_id = cf.create_change_set(**options)["Id"]
        described = _wait(cf, change_set_id)
    if described["Status"] == "FAILED":
        reason = described.get("StatusReason", "")
        if any(marker in reason for marker in NO_CHANGES):
            with aws.reported(f"delete the empty change set of {stack.name}"):
                cf.delete_change_set(ChangeSetName=change_set_id)
            return ChangeSet(stack.name, stack.region, change_set_id, kind, [])
        raise aws.AwsProblem(f"CloudFormation refused the change set of {stack.name}: {reason}")
    changes = [_change(item["ResourceChange"]) for item in described["Changes"] if item.get("Type") == "Resource"]
    offline = offline_changes(stack, kind)
    if offline:
        _merge(changes, offline)
    return ChangeSet(stack.name, stack.region, change_set_id, kind, changes)


def _wait(cf, change_set_id: str) -> dict:
    while True:
        described = cf.describe_change_set(ChangeSetName=change_set_id)
        if described["Status"] in ("CREATE_COMPLETE", "FAILED"):
            changes, token = list(described.get("Changes", [])), described.get("NextToken")
            while token:
                page = cf.describe_change_set(ChangeSetName=change_set_id, NextToken=token)
                changes += page.get("Changes", [])
                token = page.get("NextToken")
            return {**described, "Changes": changes}
        time.sleep(POLL_SECONDS)


def _change(resource: dict) -> Change:
    action = {"Add": "add", "Modify": "modify", "Remove": "remove", "Import": "import",
              "Dynamic": "dynamic"}.get(resource.get("Action", ""), resource.get("Action", "?").lower())
    replacement = resource.get("Replacement")
    if action == "modify" and replacement == "True":
        action = "replace"
    elif action == "modify" and replacement == "Conditional":
        action = "maybe-replace"
    names = sorted({d.get("Target", {}).get("Name") for d in resource.get("Details", [])} - {None})
    return Change(action, resource["LogicalResourceId"], resource["ResourceType"], ", ".join(names))


def offline_changes(stack, kind: str) -> list[Change] | None:
    """The offline classification of this update (deployed template -> new template), to join the preview.

    The single call site for compiler/changes.py (being written: old template dict, new template dict ->
    changes); until it lands, CloudFormation's own Replacement field is the whole story."""
    return None


def _merge(changes: list[Change], offline: list[Change]) -> None:
    by_id = {change.logical_id: change for change in offline}
    for change in changes:
        extra = by_id.get(change.logical_id)
        if extra and extra.detail and extra.detail not in change.detail:
            change.detail = f"{change.detail}; {extra.detail}" if change.detail else extra.detail


SYMBOLS = {"add": "+", "modify": "~", "replace": "!", "maybe-replace": "?", "remove": "-", "import": ">",
           "dynamic": "~"}


def render(change_set: ChangeSet) -> str:
    """The preview: one line per resource, data-losing lines flagged, and a one-line tally."""
    lines = [f"{change_set.stack} ({change_set.region}): {'new stack' if change_set.kind == 'CREATE' else 'update'}, "
             f"{len(change_set.changes)} resource change{'s' if len(change_set.changes) != 1 else ''}"]
    order = list(SYMBOLS)
    for change in sorted(change_set.changes, key=lambda c: (order.index(c.action) if c.action in order else 99,
                                                             c.logical_id)):
        flag = f"  <-- DATA: this {change.data_store} and what it holds go" if change.loses_data else ""
        detail = f" ({change.detail})" if change.detail else ""
        lines.append(f"  {SYMBOLS.get(change.action, '*')} {change.action:<13} {change.logical_id:<36} "
                     f"{change.resource_type}{detail}{flag}")
    counts = {}
    for change in change_set.changes:
        counts[change.action] = counts.get(change.action, 0) + 1
    lines.append("  " + ", ".join(f"{counts[a]} {a}" for a in order if a in counts))
    losing = [c.logical_id for c in change_set.changes if c.loses_data]
    if losing:
        lines.append(f"  WARNING: {', '.join(losing)} will be replaced or removed, with the data they hold")
    return "\n".join(lines)


def execute(change_set: ChangeSet) -> None:
    with aws.reported(f"execute the change set of {change_set.stack}"):
        aws.client("cloudformation", change_set.region).execute_change_set(ChangeSetName=change_set.id)


def discard(change_set: ChangeSet) -> None:
    """Drop a change set the user declined (and the empty stack a CREATE change set left behind)."""
    cf = aws.client("cloudformation", change_set.region)
    with aws.reported(f"delete the change set of {change_set.stack}"):
        cf.delete_change_set(ChangeSetName=change_set.id)
        if change_set.kind == "CREATE" and existing_status(change_set.stack, change_set.region) == "REVIEW_IN_PROGRESS":
            cf.delete_stack(StackName=change_set.stack)
