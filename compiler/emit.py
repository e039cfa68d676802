"""Deterministic rendering and atomic writing of `generated/`.

The compiler owns the files it lists in `generated/manifest.json`: a rebuild replaces them, removes the ones
no longer produced, and never touches anything else in the folder. All new files are written to temporary
files first; only when every one is on disk are they renamed into place.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

MANIFEST = "manifest.json"


# `aws cloudformation deploy` sends a template of at most this many bytes inline; beyond, it needs --s3-bucket.
DEPLOY_TEMPLATE_LIMIT = 51_200


def render_json(data: object) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


TEMPLATE_WIDTH = 100  # columns of a rendered template line that holds a whole object or array


def render_template(data: object) -> str:
    """A template as deterministic JSON, indented by one space a level and without padding after ':'; an object
    or array that fits on its line within TEMPLATE_WIDTH columns (a Ref, a tag, a short list) stays on that
    line, larger ones take a line per member. The stacks stay reviewable line by line and under
    DEPLOY_TEMPLATE_LIMIT for as long as possible (a fifth smaller than one value per line)."""
    return _render(data, 0, 0) + "\n"


def _render(value: object, depth: int, taken: int) -> str:
    """`value` at indentation `depth`, its line already holding `taken` columns (indentation and key)."""
    flat = _compact(value)
    if not isinstance(value, (dict, list)) or not value or taken + len(flat) <= TEMPLATE_WIDTH:
        return flat
    inner = " " * (depth + 1)
    if isinstance(value, dict):
        members = []
        for key in sorted(value):
            prefix = f"{inner}{_compact(key)}:"
            members.append(prefix + _render(value[key], depth + 1, len(prefix)))
        return "{\n" + ",\n".join(members) + "\n" + " " * depth + "}"
    return "[\n" + ",\n".join(inner + _render(item, depth + 1, len(inner)) for item in value) + "\n" + " " * depth + "]"


def _compact(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def render_compact(data: object) -> str:
    """The same template on one line: for the few that would exceed DEPLOY_TEMPLATE_LIMIT indented."""
    return _compact(data) + "\n"


def stale_files(out_dir: Path, files: dict[str, str]) -> list[str]:
    """Names in `out_dir` that differ from `files`, are missing, or are owned but no longer produced."""
    stale = [name for name, text in sorted(files.items()) if read_text(out_dir / name) != text]
    stale += [name for name in sorted(owned(out_dir) - set(files))]
    return stale


def write_outputs(out_dir: Path, files: dict[str, str]) -> list[str]:
    """Write `files` (name -> text, including the manifest) atomically; returns the names that changed."""
    changed = stale_files(out_dir, files)
    obsolete = [name for name in changed if name not in files]
    out_dir.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, str]] = []
    try:
        for name in changed:
            if name in files:
                staged.append((_stage(out_dir, files[name]), name))
    except BaseException:
        for tmp, _ in staged:
            os.unlink(tmp)
        raise
    for tmp, name in staged:
        os.replace(tmp, out_dir / name)
    for name in obsolete:
        (out_dir / name).unlink(missing_ok=True)
    return changed


def manifest(files: dict[str, str]) -> str:
    return render_json({"generatedBy": "python -m compiler build", "doNotEdit": True,
                        "files": sorted(set(files) | {MANIFEST})})


def _stage(out_dir: Path, text: str) -> str:
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".tmp-", suffix=".part")
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o644)
    return tmp


def owned(out_dir: Path) -> set[str]:
    try:
        listed = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return set()
    if not isinstance(listed, list):  # a hand-edited manifest: a string is not a list of its characters
        return set()
    return {name for name in listed if isinstance(name, str) and "/" not in name and not name.startswith(".")}


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
