"""`python -m compiler explain spec.schedule`: a field's documentation from the models, like `kubectl explain`.

Paths are the camelCase keys of deployment.yaml. They start at a Deployment unless the first part names a
kind (`ImageRepository.spec.keepImages`). Under a Deployment's `spec`, the fields of every topology are
listed, each topology's own options marked with the topology that accepts them.
"""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from . import model


KIND_SUMMARIES = {
    "Deployment": "One CloudFormation stack that runs the ElevenLabs MCP server in one topology.",
    "ImageRepository": "One CloudFormation stack: the shared ECR repository the deployments pull the image from.",
}


class ExplainError(Exception):
    """A path that names no field."""


@dataclass(frozen=True)
class Field:
    name: str  # camelCase, as in deployment.yaml
    info: FieldInfo
    topology: str | None = None  # set for options only one topology accepts


def explain(path: str) -> str:
    parts = [part for part in path.strip().split(".") if part]
    kind = "Deployment"
    if parts and parts[0].lower() in {k.lower() for k in model.KINDS}:
        kind = next(k for k in model.KINDS if k.lower() == parts.pop(0).lower())
    current: type | None = model.KINDS[kind]
    field: Field | None = None
    for depth, part in enumerate(parts):
        fields = _fields(current)
        if not fields:
            raise ExplainError(f"{'.'.join(parts[:depth])} <{_type_name(field.info.annotation)}> has no fields, "
                               f"so no {part!r}")
        if part not in fields:
            close = difflib.get_close_matches(part, fields, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; fields: {', '.join(fields)}"
            where = ".".join(parts[:depth]) or kind
            raise ExplainError(f"{where} has no field {part!r}{hint}")
        field = fields[part]
        current = _model_of(field.info.annotation)
    return _render(kind, ".".join(parts), field, current)


def _fields(current) -> dict[str, Field]:
    """camelCase name -> Field of a model, or of all spec variants of a union of models."""
    if current is None:
        return {}
    variants = typing.get_args(current) if typing.get_origin(current) in (typing.Union, types.UnionType) else (current,)
    fields: dict[str, Field] = {}
    for variant in variants:
        topology = _topology_of(variant) if len(variants) > 1 else None
        for name, info in variant.model_fields.items():
            if name == "topology" and topology:
                fields["topology"] = Field("topology", FieldInfo(annotation=typing.Literal[model.TOPOLOGIES],
                                                                 description=model.TOPOLOGY_HELP))
                continue
            alias = info.alias or name
            shared = all(name in v.model_fields for v in variants)
            fields.setdefault(alias, Field(alias, info, None if shared else topology))
    return fields


def _topology_of(variant: type[BaseModel]) -> str | None:
    annotation = variant.model_fields.get("topology")
    return typing.get_args(annotation.annotation)[0] if annotation else None


def _model_of(annotation):
    """The model (or union of models) a field holds, through Optional, Annotated and lists."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _model_of(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        models = [a for a in (_model_of(arg) for arg in typing.get_args(annotation)) if a is not None]
        if len(models) == 1:
            return models[0]
        return typing.Union[tuple(models)] if models else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _type_name(annotation) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(arg) for arg in args if arg is not type(None)]
        return " | ".join(names)
    if origin is typing.Literal:
        return "one of " + ", ".join(str(arg) for arg in args)
    if origin is list:
        return f"[]{_type_name(args[0])}"
    if origin is dict:
        return f"map[{_type_name(args[0])}]{_type_name(args[1])}"
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _constraints(info: FieldInfo) -> list[str]:
    found = []
    for item in info.metadata:
        for key in ("ge", "gt", "le", "lt", "min_length", "max_length", "pattern"):
            value = getattr(item, key, None)
            if value is not None:
                found.append(f"{key}={value}")
    return found


def _summary(field: Field) -> str:
    info = field.info
    if info.is_required():
        flag = " -required-"
    elif info.default_factory is not None:
        flag = f" (default: {_yaml(info.default_factory())})"
    elif info.default not in (None, PydanticUndefined):
        flag = f" (default: {_yaml(info.default)})"
    else:
        flag = ""
    only = f" [topology: {field.topology}]" if field.topology else ""
    return f"{field.name} <{_type_name(info.annotation)}>{flag}{only}"


def _description(field: Field) -> str:
    """The field's own description, else the docstring of the model it holds."""
    held = _model_of(field.info.annotation)
    fallback = held.__doc__ if isinstance(held, type) and held.__doc__ and "Usage docs" not in held.__doc__ else None
    return " ".join((field.info.description or fallback or "(no description)").split())


def _yaml(value) -> str:
    if isinstance(value, BaseModel):
        return "{...}"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _render(kind: str, path: str, field: Field | None, current) -> str:
    lines = [f"KIND:     {kind}", f"VERSION:  {model.API_VERSION}", ""]
    if field is not None:
        lines += [f"FIELD:    {path} <{_type_name(field.info.annotation)}>", ""]
        description = _description(field)
        if field.topology:
            description += f" Only with topology: {field.topology}."
        lines += ["DESCRIPTION:", f"    {description}"]
        details = _constraints(field.info)
        if details:
            lines += [f"    Constraints: {', '.join(details)}."]
        lines += ["", f"SYNOPSIS: {_summary(field)}", ""]
    else:
        lines += ["DESCRIPTION:", f"    {KIND_SUMMARIES[kind]}", ""]
    fields = _fields(current)
    if fields:
        lines.append("FIELDS:")
        for child in fields.values():
            lines.append(f"  {_summary(child)}")
            lines.append(f"    {_description(child)}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
