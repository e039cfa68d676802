"""Diagnostics: positioned problems, collected and raised once.

Every user-facing problem is a `Diagnostic` with a 1-based line and column, the dotted path of the offending
value in the document (`spec.task.memory`), and a message. Problems are collected for a whole file and reported
together, sorted by position, like a compiler does.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of `python -m compiler` (documented in the README)."""

    OK = 0
    INVALID_CONFIG = 1
    DIFFERENCES = 1  # `diff` found something a build would change (like `git diff --exit-code`)
    USAGE = 2
    LINT_FAILED = 3
    STALE = 4
    IO_ERROR = 5


@dataclass(frozen=True, order=True)
class Diagnostic:
    file: str
    line: int
    column: int
    path: str
    message: str
    warning: bool = False

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}:"
        what = f" {self.path}:" if self.path else ""
        kind = " warning:" if self.warning else ""
        return f"{where}{what}{kind} {self.message}"


class ConfigError(Exception):
    """Raised once with every error diagnostic found in a file."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(diagnostics)
        super().__init__("\n".join(map(str, self.diagnostics)))


def dotted(path: tuple) -> str:
    """`('spec', 'auth', 'allowedCidrs', 1)` -> `spec.auth.allowedCidrs[1]`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
