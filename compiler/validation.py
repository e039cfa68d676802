"""Positioned documents -> validated models, with every problem of the file collected and raised once."""

from __future__ import annotations

import copy
import difflib
import types
import typing
from dataclasses import dataclass, field

from pydantic import BaseModel, ValidationError

from . import checks, model
from .diagnostics import ConfigError, Diagnostic, dotted
from .loader import Document, load_file

PATTERN_HINTS = {
    model.NAME_PATTERN: "a lower-case DNS label (a-z, 0-9 and '-', starting with a letter, at most 63 characters)",
    model.HOURS_PATTERN: "a window HH:MM-HH:MM in 24-hour time, e.g. 08:00-20:00",
    model.LABEL_KEY_PATTERN: "a label key (letters, digits, '.', '_', '-', '/', at most 63 characters)",
    model.EMAIL_PATTERN: "an e-mail address",
    model.DOMAIN_PATTERN: "a lower-case DNS name like mcp.example.com",
}


@dataclass(frozen=True)
class Source:
    """A validated document and the positioned text it came from.

    A document with schema errors still gets a model, `salvage`d, so that its other parts are cross-checked in
    the same run; `unsure` then names the sections (`spec.task`, ...) that lost a value to an error, about which
    the cross-field rules must say nothing (a default stands where the user's value was)."""

    doc: Document
    model: model.ImageRepository | model.Deployment
    unsure: frozenset[str] = frozenset()

    def sure_of(self, path: str) -> bool:
        """Whether `path` (dotted) lies outside every unsure section."""
        return not any(path == section or path.startswith((section + ".", section + "["))
                       for section in self.unsure)


@dataclass(frozen=True)
class Config:
    file: str
    repositories: list[Source]
    deployments: list[Source]
    warnings: list[Diagnostic]
    # ImageRepository documents too broken to model, by name: a reference to one is not also "no such repository"
    broken_repositories: set[str] = field(default_factory=set)

    def repository(self, name: str) -> Source | None:
        return next((s for s in self.repositories if s.model.metadata.name == name), None)


def load_config(path: str, display_name: str | None = None) -> Config:
    documents, diagnostics = load_file(path, display_name)
    sources: list[Source] = []
    broken: set[str] = set()
    for doc in documents:
        source, problems = validate_document(doc)
        diagnostics += problems
        if source is not None:
            sources.append(source)
        elif isinstance(doc.data, dict) and doc.data.get("kind") == "ImageRepository":
            broken.add(str((doc.data.get("metadata") or {}).get("name")))
    config = Config(
        file=display_name or path,
        repositories=[s for s in sources if isinstance(s.model, model.ImageRepository)],
        deployments=[s for s in sources if isinstance(s.model, model.Deployment)],
        warnings=[],
        broken_repositories=broken,
    )
    findings = diagnostics + checks.run(config)
    if any(not d.warning for d in findings):
        raise ConfigError(findings)
    config.warnings.extend(sorted(findings))
    return config


def validate_document(doc: Document) -> tuple[Source | None, list[Diagnostic]]:
    """The document's model and its schema errors; with errors, the salvaged model (or None) for the checks."""
    data = doc.data
    if not isinstance(data, dict):
        found = type(data).__name__ if data is not None else "nothing"
        return None, [doc.diagnostic((), f"expected a mapping with apiVersion, kind, metadata and spec; found {found}")]
    header = _header_problems(doc)
    if header:
        return None, header
    cls = model.KINDS[data["kind"]]
    try:
        return Source(doc, cls.model_validate(data)), []
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    return salvage(doc, cls, errors), [_diagnostic(doc, cls, error) for error in errors]


SALVAGE_ROUNDS = 5


def salvage(doc: Document, cls: type[BaseModel], errors: list[dict]) -> Source | None:
    """The document without every value that has an error, so that defaults stand in and the rest can be checked;
    None when a required value had one (the document is then only reported, not cross-checked)."""
    data, unsure = copy.deepcopy(doc.data), set()
    for _ in range(SALVAGE_ROUNDS):
        for error in errors:
            removed = _remove(data, _yaml_path(cls, tuple(error["loc"])))
            if removed is None or len(removed) < 2:  # spec or metadata itself, or the document
                return None
            unsure.add(dotted(removed[:2]))
        try:
            return Source(doc, cls.model_validate(data), frozenset(unsure))
        except ValidationError as exc:  # a required key just removed is now missing: its mapping goes next
            errors = exc.errors(include_url=False)
    return None


def _remove(data: dict, path: tuple) -> tuple | None:
    """Delete the innermost mapping key along `path` that `data` holds; returns that key's path."""
    for end in range(len(path), 0, -1):
        parent: object = data
        for part in path[:end - 1]:
            parent = parent.get(part) if isinstance(parent, dict) else (
                parent[part] if isinstance(parent, list) and isinstance(part, int) and part < len(parent) else None)
        if isinstance(parent, dict) and path[end - 1] in parent:
            del parent[path[end - 1]]
            return path[:end]
    return None


def _header_problems(doc: Document) -> list[Diagnostic]:
    data, problems = doc.data, []
    if data.get("apiVersion") != model.API_VERSION:
        found = data.get("apiVersion")
        message = (f"expected apiVersion {model.API_VERSION!r}, found {found!r}" if found else
                   f"missing key 'apiVersion' (expected {model.API_VERSION!r})")
        problems.append(doc.diagnostic(("apiVersion",), message))
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in model.KINDS:
        message = f"unknown kind {kind!r}; expected one of {', '.join(model.KINDS)}" if kind else "missing key 'kind'"
        problems.append(doc.diagnostic(("kind",), message + _did_you_mean(kind, model.KINDS)))
    return problems


def _diagnostic(doc: Document, cls: type[BaseModel], error: dict) -> Diagnostic:
    loc, kind, ctx = _yaml_path(cls, tuple(error["loc"])), error["type"], error.get("ctx", {})
    if loc and loc[-1] == "[key]":  # a mapping key failed (a label name): point at the key itself
        return doc.diagnostic(loc[:-1], f"{error['input']!r} is not {PATTERN_HINTS.get(ctx.get('pattern'), 'a valid key')}",
                              at_key=True)
    if kind == "string_type" and isinstance(error["input"], (int, float)) and not isinstance(error["input"], bool):
        return doc.diagnostic(loc, f"expected text, found the number {error['input']!r}; quote it so YAML keeps it "
                              "as written (e.g. \"1.10\")")
    if kind == "extra_forbidden":
        return doc.diagnostic(loc, _unknown_key_message(doc, cls, loc), at_key=True)
    if kind == "missing":
        return doc.diagnostic(loc, f"missing required key {loc[-1]!r}", at_key=True)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        found = ctx.get("tag")
        message = f"unknown topology {found!r}" if found else "missing required key 'topology'"
        message += f"; expected one of {', '.join(model.TOPOLOGIES)}" + _did_you_mean(found, model.TOPOLOGIES)
        return doc.diagnostic(loc + ("topology",), message)
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        switch_on = error["input"] is True and loc and isinstance(loc[-1], str)
        hint = f"; `{loc[-1]}: {{}}` turns it on with every default" if switch_on else ""
        return doc.diagnostic(loc, f"expected a mapping, found {error['input']!r}{hint}")
    if kind == "string_pattern_mismatch":
        hint = PATTERN_HINTS.get(ctx.get("pattern"), f"text matching {ctx.get('pattern')}")
        return doc.diagnostic(loc, f"{error['input']!r} is not {hint}")
    if kind == "literal_error":
        found = error["input"]
        return doc.diagnostic(loc, f"{found!r} is not allowed; expected {ctx.get('expected')}"
                              + _did_you_mean(found, _literal_values(cls, loc, _topology(doc))))
    message = error["msg"].removeprefix("Value error, ")
    if kind not in ("value_error",) and not isinstance(error["input"], (dict, list)):
        message += f" (found {error['input']!r})"
    return doc.diagnostic(loc, message)


def _unknown_key_message(doc: Document, cls: type[BaseModel], loc: tuple) -> str:
    key = loc[-1]
    topology = _topology(doc)
    owner = next((t for t, k in model.TOPOLOGY_OPTION_KEYS.items() if k == key), None)
    if owner and loc[:-1] == ("spec",) and owner != topology:
        return f"{key!r} options apply to topology {owner!r}, but this deployment's topology is {topology!r}"
    known = _keys_at(cls, loc[:-1], topology)
    return f"unknown key {key!r}" + _did_you_mean(key, known)


def _did_you_mean(word: object, choices) -> str:
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _topology(doc: Document) -> object:
    spec = doc.data.get("spec")
    return spec.get("topology") if isinstance(spec, dict) else None


def _literal_values(cls: type[BaseModel], path: tuple, topology: object) -> list[str]:
    """The values a Literal field at `path` allows, from the model itself."""
    return [str(value) for value in typing.get_args(_unwrap(_annotation_at(cls, path, topology)))]


def _yaml_path(cls: type[BaseModel], loc: tuple) -> tuple:
    """pydantic's location without the tag it inserts after a discriminated union (`spec.alb.task` -> `spec.task`)."""
    path: list = []
    target: object = cls
    for part in loc:
        member = _union_member(target, part)
        if member is not None:
            target = member
            continue
        path.append(part)
        target = _step(target, part) if target is not None else None
    return tuple(path)


def _annotation_at(cls: type[BaseModel], path: tuple, topology: object) -> object:
    """The type at `path` (a YAML path: the union member is chosen by `topology`), or None."""
    target: object = cls
    for part in path:
        target = _step(_union_member(target, topology) or target, part)
        if target is None:
            return None
    return _union_member(target, topology) or target


def _keys_at(cls: type[BaseModel], path: tuple, topology: object) -> list[str]:
    """The YAML keys a model accepts at `path`."""
    target = _unwrap(_annotation_at(cls, path, topology))
    if isinstance(target, type) and issubclass(target, BaseModel):
        return [info.alias or name for name, info in target.model_fields.items()]
    return []


def _step(target: object, part: object) -> object:
    target = _unwrap(target)
    if isinstance(target, type) and issubclass(target, BaseModel):
        for name, info in target.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    args = typing.get_args(target)
    if typing.get_origin(target) is list and args:
        return args[0]
    if typing.get_origin(target) is dict and len(args) == 2:
        return args[1]
    return None


def _union_member(target: object, tag: object) -> object:
    """The member of a discriminated union (on `topology`) that `tag` selects, if `target` is one."""
    for member in _members(_unwrap(target)):
        field = getattr(_unwrap(member), "model_fields", {}).get("topology")
        if field is not None and tag in typing.get_args(field.annotation):
            return _unwrap(member)
    return None


def _unwrap(target: object) -> object:
    while True:
        origin = typing.get_origin(target)
        if origin is typing.Annotated:
            target = typing.get_args(target)[0]
        elif origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(target):
            rest = [a for a in typing.get_args(target) if a is not type(None)]
            target = rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]
        else:
            return target


def _members(target: object) -> tuple:
    return typing.get_args(target) if typing.get_origin(target) in (typing.Union, types.UnionType) else ()
