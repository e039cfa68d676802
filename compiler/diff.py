"""`python -m compiler diff`: what a build would change in generated/, resource by resource.

Compiles deployment.yaml (without linting or writing anything) and compares each output file with the one on
disk. Templates are compared as data: each changed resource with what an update does to it (compiler/changes.py:
added, modified, replaced with the reason, removed) and each changed property path with its old and new value
(long strings as the changed part, multi-line ones as a line diff; nothing is cut); the same for parameters and
outputs. Other files are reported as added, removed or changed. Then the warnings of compiler/updates.py: what
deploying the change would lose.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path

from . import changes, emit, updates
from .build import compile_config
from .diagnostics import Diagnostic
from .validation import load_config

SECTIONS = (("Parameters", "parameter"), ("Outputs", "output"))
SHORT_VALUE = 70  # a longer string is shown as its changed part, with CONTEXT characters around it
CONTEXT = 24
SYMBOLS = {changes.ADD: "+", changes.REMOVE: "-", changes.MODIFY: "~", changes.REPLACE: "!"}
ACTIONS = {changes.ADD: "add", changes.REMOVE: "remove", changes.MODIFY: "modify", changes.REPLACE: "REPLACE"}


@dataclass
class Report:
    lines: list[str]
    warnings: list[Diagnostic] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.lines)

    def __str__(self) -> str:
        return "\n".join(self.lines + [str(warning) for warning in sorted(self.warnings)])


def report(file: str, out_dir: Path) -> Report:
    config = load_config(file)
    files, _ = compile_config(config)
    stale = emit.stale_files(out_dir, files)
    if not stale:
        return Report([])
    lines = [line for name in stale for line in file_changes(out_dir / name, files.get(name))]
    return Report(lines, updates.warnings(config, out_dir, files))


def diff(file: str, out_dir: Path) -> str:
    result = report(file, out_dir)
    return str(result) if result.changed else f"no changes: {out_dir}/ is up to date"


def file_changes(path: Path, new_text: str | None) -> list[str]:
    old_text = emit.read_text(path)
    if new_text is None:
        return [f"- {path} (no longer produced: a build removes it)"]
    old, new = _template(old_text), _template(new_text)
    if old_text is not None and (old is None or new is None):
        return [f"~ {path}"]
    if new is None:
        return [f"+ {path}"]
    header = f"+ {path} (new stack)" if old is None else f"~ {path}"
    return [header, *template_changes(old or {}, new)]


def template_changes(old: dict, new: dict) -> list[str]:
    lines = []
    before, after = old.get("Resources", {}), new.get("Resources", {})
    for change in changes.classify(old, new):
        name = change.logical_id
        because = f": {'; '.join(change.reasons)}" if change.action == changes.REPLACE else ""
        lines.append(f"    {SYMBOLS[change.action]} {ACTIONS[change.action]} resource {name} ({change.type}){because}")
        if name in before and name in after:
            lines += [f"        {line}" for line in value_changes(before[name], after[name])]
            lines += [f"        Properties.{reason}: takes a new value" for reason in change.reasons
                      if change.action == changes.MODIFY and "(refers to " in reason]
    for section, label in SECTIONS:
        before, after = old.get(section, {}), new.get(section, {})
        for key in sorted(before.keys() | after.keys()):
            if key not in before:
                lines.append(f"    + {label} {key}")
            elif key not in after:
                lines.append(f"    - {label} {key}")
            elif before[key] != after[key]:
                lines.append(f"    ~ {label} {key}")
                lines += [f"        {change}" for change in value_changes(before[key], after[key])]
    for key in sorted((old.keys() | new.keys()) - {"Resources", *(section for section, _ in SECTIONS)}):
        if old and old.get(key) != new.get(key):  # (a new stack's description and format version are no news)
            lines.append(f"    ~ {key}")
            lines += [f"        {change}" for change in value_changes(old.get(key), new.get(key))]
    return lines


def value_changes(old, new, path: str = "") -> list[str]:
    """Each differing leaf (or added/removed key or list item) as `path: old -> new`, nothing cut."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(old.keys() | new.keys()):
            child = f"{path}.{key}" if path else key
            if key not in old:
                found.append(f"{child}: added {_json(new[key])}")
            elif key not in new:
                found.append(f"{child}: removed (was {_json(old[key])})")
            else:
                found += value_changes(old[key], new[key], child)
        return found
    if isinstance(old, list) and isinstance(new, list):
        return _list_changes(old, new, path)
    if old == new:
        return []
    where = path or "(value)"
    if isinstance(old, str) and isinstance(new, str):
        return _text_changes(old, new, where)
    return [f"{where}: {_json(old)} -> {_json(new)}"]


def _list_changes(old: list, new: list, path: str) -> list[str]:
    """Items matched as a sequence (like diff does with lines), so an insertion shows as one added item."""
    if len(old) == len(new):
        return [line for index, (a, b) in enumerate(zip(old, new)) for line in value_changes(a, b, f"{path}[{index}]")]
    found = []
    matcher = difflib.SequenceMatcher(a=[_json(item) for item in old], b=[_json(item) for item in new],
                                      autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "replace" and i2 - i1 == j2 - j1:
            found += [line for offset in range(i2 - i1)
                      for line in value_changes(old[i1 + offset], new[j1 + offset], f"{path}[{j1 + offset}]")]
        elif tag != "equal":
            found += [f"{path}[{i}]: removed (was {_json(old[i])})" for i in range(i1, i2)]
            found += [f"{path}[{j}]: added {_json(new[j])}" for j in range(j1, j2)]
    return found


def _text_changes(old: str, new: str, where: str) -> list[str]:
    if "\n" in old or "\n" in new:  # scripts, inline code: a line diff
        lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=1))[2:]
        if lines:
            return [f"{where}: text changed:", *(f"  {line}" for line in lines)]
    if max(len(old), len(new)) <= SHORT_VALUE:
        return [f"{where}: {_json(old)} -> {_json(new)}"]
    prefix = len(_common_prefix(old, new))
    suffix = len(_common_prefix(old[prefix:][::-1], new[prefix:][::-1]))
    start = max(prefix - CONTEXT, 0)

    def part(text: str) -> str:
        end = len(text) - suffix
        shown = text[start:min(end + CONTEXT, len(text))]
        return ("..." if start else "") + shown + ("..." if end + CONTEXT < len(text) else "")

    return [f"{where}: {_json(part(old))} -> {_json(part(new))} (the changed part of a {len(new)}-character value)"]


def _common_prefix(a: str, b: str) -> str:
    size = 0
    for x, y in zip(a, b):
        if x != y:
            break
        size += 1
    return a[:size]


def _template(text: str | None) -> dict | None:
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) and "Resources" in data else None


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
