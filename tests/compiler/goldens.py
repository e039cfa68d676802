"""Golden files: compared as data with a readable diff; rewritten only with `pytest --update-goldens`."""

from __future__ import annotations

import difflib
import json
from pathlib import Path


def check_text(path: Path, actual: str, update: bool) -> None:
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"missing golden {path}; run pytest --update-goldens and review the new file"
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                            str(path), "actual"))
        raise AssertionError(f"output differs from {path} (pytest --update-goldens rewrites it):\n{diff}")


def check_json(path: Path, actual_text: str, update: bool) -> None:
    """Compare as data (key order and whitespace do not matter); show the difference as pretty JSON."""
    if update or not path.exists():
        check_text(path, actual_text, update)
        return
    expected, actual = json.loads(path.read_text(encoding="utf-8")), json.loads(actual_text)
    if expected != actual:
        pretty = [json.dumps(x, indent=2, sort_keys=True).splitlines(True) for x in (expected, actual)]
        diff = "".join(difflib.unified_diff(*pretty, str(path), "actual"))
        raise AssertionError(f"template differs from {path} (pytest --update-goldens rewrites it):\n{diff}")
