"""What an update of a stack would do to each resource, decided offline from two templates.

`classify(old, new)` compares a deployed template with its successor, resource by resource:
- `add` / `remove`: the logical ID appears or disappears;
- `replace`: a create-only property changed (per the CloudFormation resource schemas cfn-lint ships), the type
  changed, or a create-only property refers (Ref, Fn::GetAtt, Fn::Sub) to a resource that is itself replaced;
- `modify`: anything else changed, including a property that refers to a replaced resource (its physical ID
  changes), a parameter whose value changed, or an attribute that changes on every update
  (`LatestVersionNumber` of a modified launch template).
Unchanged resources are left out. Nothing here calls AWS, imports cfn-lint, or knows about deployment.yaml:
only the schemas of the resource types that changed are read, once each.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path

ADD, MODIFY, REPLACE, REMOVE = "add", "modify", "replace", "remove"
# Attributes that take a new value whenever their resource is updated, not only when it is replaced.
VOLATILE_ATTRIBUTES = {("AWS::EC2::LaunchTemplate", "LatestVersionNumber"),
                       ("AWS::EC2::LaunchTemplate", "DefaultVersionNumber")}
DEFAULT_REGION = "us-east-1"
_MISSING = object()
_SUB_NAME = re.compile(r"\$\{([^!][^}]*)\}")


@dataclass(frozen=True)
class Change:
    logical_id: str
    type: str
    action: str  # ADD | MODIFY | REPLACE | REMOVE
    reasons: tuple[str, ...] = ()  # replace: why; modify: what changed
    retained: bool = False  # replaced or removed with Retain: the old resource (and its data) stays, detached
    custom_name: str | None = None  # replaced although it has this create-only name: CloudFormation refuses

    def __str__(self) -> str:
        because = f": {'; '.join(self.reasons)}" if self.reasons else ""
        return f"{self.action} {self.logical_id} ({self.type}){because}"


def classify(old: dict, new: dict, *, old_parameters: dict[str, str] | None = None,
             new_parameters: dict[str, str] | None = None, region: str = DEFAULT_REGION) -> list[Change]:
    """The changes an update from template `old` to template `new` makes, by logical ID. Parameter values are
    each template's defaults, overridden by `old_parameters` / `new_parameters` (the --parameter-overrides)."""
    before, after = old.get("Resources", {}), new.get("Resources", {})
    changed_parameters = _changed_parameters(old, new, old_parameters or {}, new_parameters or {})
    common = sorted(before.keys() & after.keys())
    unchanged = {name: _references(after[name]) for name in common if before[name] == after[name]}
    replaced: dict[str, list[str]] = {}
    modified: dict[str, list[str]] = {}
    for _ in range(len(common) + 1):  # replacements propagate through references until nothing new changes
        volatile = {(name, attribute) for name in modified for kind, attribute in VOLATILE_ATTRIBUTES
                    if after[name].get("Type") == kind}
        moved = _Moved(set(replaced), volatile, changed_parameters)
        next_replaced, next_modified = {}, {}
        for name in common:
            if name in unchanged and not any(map(moved.moves, unchanged[name])):
                continue  # the common case: no schema is read for it
            reasons = _replacement(before[name], after[name], moved, region)
            if reasons:
                next_replaced[name] = reasons
            else:
                what = _modification(before[name], after[name], moved)
                if what:
                    next_modified[name] = what
        settled = next_replaced.keys() == replaced.keys() and next_modified.keys() == modified.keys()
        replaced, modified = next_replaced, next_modified
        if settled:
            break
    changes = [Change(name, _type(after[name]), ADD) for name in after.keys() - before.keys()]
    changes += [Change(name, _type(before[name]), REMOVE, retained=before[name].get("DeletionPolicy") == "Retain")
                for name in before.keys() - after.keys()]
    changes += [Change(name, _type(after[name]), MODIFY, tuple(what)) for name, what in modified.items()]
    changes += [Change(name, _type(after[name]), REPLACE, tuple(reasons),
                       retained=after[name].get("UpdateReplacePolicy", before[name].get("UpdateReplacePolicy"))
                       == "Retain",
                       custom_name=_custom_name(after[name], region))
                for name, reasons in replaced.items()]
    return sorted(changes, key=lambda change: change.logical_id)


@dataclass(frozen=True)
class _Moved:
    """What takes a new value in this update: replaced resources (any Ref or attribute), (resource, attribute)
    pairs that change on update, and parameters."""
    resources: set[str]
    attributes: set[tuple[str, str]]
    parameters: set[str]

    def referenced_by(self, value) -> list[str]:
        return sorted({name for name in _references(value) if self.moves(name)})

    def moves(self, reference: str) -> bool:
        name, _, attribute = reference.partition(".")
        return name in self.resources or (name, attribute) in self.attributes or (
            not attribute and name in self.parameters)


def _replacement(old: dict, new: dict, moved: _Moved, region: str) -> list[str]:
    if _type(old) != _type(new):
        return [f"type changed from {_type(old)}"]
    reasons = []
    old_properties, new_properties = old.get("Properties", {}), new.get("Properties", {})
    pointers = [(pointer, "create-only") for pointer in create_only_properties(_type(new), region)]
    if not _conditions_rule_out_replacement(new):
        pointers += [(pointer, "may need replacement")
                     for pointer in create_only_properties(_type(new), region, conditional=True)]
    for pointer, kind in pointers:
        before, after = _at(old_properties, pointer), _at(new_properties, pointer)
        where = ".".join(pointer)
        if before != after:
            reasons.append(f"{where} changed ({kind})")
        elif after is not _MISSING and (names := moved.referenced_by(after)):
            reasons.append(f"{where} ({kind}) refers to {', '.join(names)}, which changes")
    return reasons


def _conditions_rule_out_replacement(resource: dict) -> bool:
    """Whether the condition of a type's conditionally create-only properties is known not to hold. An Auto
    Scaling group is replaced for them only under an AutoScalingReplacingUpdate with WillReplace (AWS's
    UpdatePolicy documentation); otherwise its instances are updated by its rolling update, or not at all."""
    if _type(resource) == "AWS::AutoScaling::AutoScalingGroup":
        return resource.get("UpdatePolicy", {}).get("AutoScalingReplacingUpdate", {}).get("WillReplace") is not True
    return False


def _modification(old: dict, new: dict, moved: _Moved) -> list[str]:
    old_properties, new_properties = old.get("Properties", {}), new.get("Properties", {})
    what = [key for key in sorted(old_properties.keys() | new_properties.keys())
            if old_properties.get(key, _MISSING) != new_properties.get(key, _MISSING)]
    what += [f"{key} (refers to {', '.join(names)})" for key in sorted(new_properties.keys() - set(what))
             if (names := moved.referenced_by(new_properties[key]))]
    what += [key for key in sorted((old.keys() | new.keys()) - {"Properties", "Type", "DependsOn"})
             if old.get(key) != new.get(key)]
    return what


def _changed_parameters(old: dict, new: dict, old_values: dict[str, str], new_values: dict[str, str]) -> set[str]:
    def values(template: dict, overrides: dict[str, str]) -> dict:
        return {name: overrides.get(name, spec.get("Default")) for name, spec in template.get("Parameters", {}).items()}

    before, after = values(old, old_values), values(new, new_values)
    return {name for name in after if before.get(name, _MISSING) != after[name]}


def _references(value) -> set[str]:
    """`Name` for each Ref and `Name.Attribute` for each Fn::GetAtt / ${Name.Attribute} inside `value`."""
    found: set[str] = set()
    if isinstance(value, dict):
        if len(value) == 1:
            [(function, argument)] = value.items()
            if function == "Ref" and isinstance(argument, str):
                return {argument}
            if function == "Fn::GetAtt":
                parts = argument if isinstance(argument, list) else str(argument).split(".", 1)
                return {".".join(str(part) for part in parts[:2])} | _references(parts[2:])
            if function == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], dict(
                    argument[1]) if len(argument) > 1 else {})
                names = {name for name in _SUB_NAME.findall(text) if name.split(".")[0] not in variables}
                return names | _references(variables)
        for item in value.values():
            found |= _references(item)
    elif isinstance(value, list):
        for item in value:
            found |= _references(item)
    return found


def _at(value, pointer: tuple[str, ...]):
    """The value at a schema pointer (`*` = every item of a list), or _MISSING."""
    for index, part in enumerate(pointer):
        if part == "*":
            if not isinstance(value, list):
                return _MISSING
            return [_at(item, pointer[index + 1:]) for item in value]
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _custom_name(resource: dict, region: str) -> str | None:
    """A create-only `...Name` property the template sets: replacing the resource would need a second resource of
    the same name, which CloudFormation refuses ("cannot update a stack when a custom-named resource requires
    replacing")."""
    properties = resource.get("Properties", {})
    for pointer in create_only_properties(_type(resource), region):
        if pointer[-1].endswith("Name") and "*" not in pointer and _at(properties, pointer) is not _MISSING:
            return ".".join(pointer)
    return None


def _type(resource: dict) -> str:
    return str(resource.get("Type", ""))


def create_only_properties(resource_type: str, region: str = DEFAULT_REGION,
                           conditional: bool = False) -> tuple[tuple[str, ...], ...]:
    """The create-only property paths of a resource type (`/properties/A/B` -> ('A', 'B')), from the schema
    cfn-lint bundles for that region; () for a type it does not know. `conditional`: the properties whose change
    may need a replacement, depending on the change (conditionalCreateOnlyProperties: a DynamoDB table's
    KeySchema), which are counted as replacements: a preview should rather warn once too often."""
    key = "conditionalCreateOnlyProperties" if conditional else "createOnlyProperties"
    return tuple(tuple(pointer.split("/")[2:]) for pointer in _schema(resource_type, region).get(key, [])
                 if pointer.startswith("/properties/"))


@cache
def _schema(resource_type: str, region: str) -> dict:
    schema_id = _schema_index(region).get(resource_type)
    if schema_id is None:
        return {}
    return json.loads((_schemas_dir() / "resources" / f"{schema_id}.json").read_text(encoding="utf-8"))


@cache
def _schema_index(region: str) -> dict[str, str]:
    providers = _schemas_dir() / "providers"
    path = providers / f"{region}.json"
    if not path.exists():
        path = providers / f"{DEFAULT_REGION}.json"
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _schemas_dir() -> Path:
    """cfn-lint's bundled schemas, found without importing cfn-lint (which takes most of a second)."""
    spec = find_spec("cfnlint")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("cfn-lint is needed to classify changes", name="cfnlint")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "schemas"
