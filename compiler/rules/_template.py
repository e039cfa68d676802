"""What the project rules read from a template: resources by type, references and transitive dependencies.

Plain data helpers over the decoded template (cfn-lint's `Template`), kept apart so each rule module reads as
the AWS fact it encodes. The dependency graph is cfn-lint's own (Ref, Fn::GetAtt, Fn::Sub and DependsOn edges,
from the resource that refers to the one referred to), built once per template by cfn-lint anyway.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import networkx


def resources(cfn, *types: str) -> Iterator[tuple[str, dict]]:
    """(logical id, resource) of every resource of one of `types`, in template order."""
    for name, resource in (cfn.template.get("Resources") or {}).items():
        if isinstance(resource, dict) and resource.get("Type") in types:
            yield name, resource


def properties(resource: dict) -> dict:
    found = resource.get("Properties")
    return found if isinstance(found, dict) else {}


def dependencies(cfn, name: str) -> set[str]:
    """Every resource `name` waits for before CloudFormation creates it (transitively)."""
    graph = cfn.graph.graph
    return set(networkx.descendants(graph, name)) if name in graph else set()


def referenced(value: Any) -> str | None:
    """The logical id a {"Ref": X} or {"Fn::GetAtt": [X, ...]} names; None for anything else."""
    if isinstance(value, dict) and len(value) == 1:
        if isinstance(value.get("Ref"), str):
            return value["Ref"]
        getatt = value.get("Fn::GetAtt")
        if isinstance(getatt, list) and getatt and isinstance(getatt[0], str):
            return getatt[0]
        if isinstance(getatt, str):
            return getatt.split(".", 1)[0]
    return None


def strings(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """(path, text) of every string inside `value`."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, (*path, index))


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]
