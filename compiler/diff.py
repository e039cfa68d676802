"""`python -m compiler diff`: what a build would change in generated/, resource by resource.

Compiles deployment.yaml (without linting or writing anything) and compares each output file with the one on
disk. Templates are compared as data: resources added or removed (logical ID and type) and, for changed
resources, each changed property path with its old and new value; the same for parameters and outputs.
Other files are reported as added, removed or changed.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import emit
from .build import compile_config
from .validation import load_config

SECTIONS = (("Resources", "resource"), ("Parameters", "parameter"), ("Outputs", "output"))
MAX_VALUE = 70


def diff(file: str, out_dir: Path) -> str:
    files, _ = compile_config(load_config(file))
    changed = emit.stale_files(out_dir, files)
    if not changed:
        return f"no changes: {out_dir}/ is up to date"
    return "\n".join(line for name in changed for line in file_changes(out_dir / name, files.get(name)))


def file_changes(path: Path, new_text: str | None) -> list[str]:
    old_text = path.read_text(encoding="utf-8") if path.exists() else None
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
    for section, label in SECTIONS:
        before, after = old.get(section, {}), new.get(section, {})
        for key in sorted(before.keys() | after.keys()):
            if key not in before:
                lines.append(f"    + {label} {key}{_type(after[key])}")
            elif key not in after:
                lines.append(f"    - {label} {key}{_type(before[key])}")
            elif before[key] != after[key]:
                lines.append(f"    ~ {label} {key}{_type(after[key])}")
                lines += [f"        {change}" for change in value_changes(before[key], after[key])]
    for key in sorted((old.keys() | new.keys()) - {section for section, _ in SECTIONS}):
        if old.get(key) != new.get(key):
            lines.append(f"    ~ {key}")
    return lines


def value_changes(old, new, path: str = "") -> list[str]:
    """Each differing leaf (or added/removed key) as `path: old -> new`."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes = []
        for key in sorted(old.keys() | new.keys()):
            child = f"{path}.{key}" if path else key
            if key not in old:
                changes.append(f"{child}: added {_short(new[key])}")
            elif key not in new:
                changes.append(f"{child}: removed (was {_short(old[key])})")
            else:
                changes += value_changes(old[key], new[key], child)
        return changes
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [change for index, (a, b) in enumerate(zip(old, new))
                for change in value_changes(a, b, f"{path}[{index}]")]
    return [] if old == new else [f"{path or '(value)'}: {_short(old)} -> {_short(new)}"]


def _template(text: str | None) -> dict | None:
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) and "Resources" in data else None


def _type(entry) -> str:
    return f" ({entry['Type']})" if isinstance(entry, dict) and isinstance(entry.get("Type"), str) else ""


def _short(value) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 3] + "..."
