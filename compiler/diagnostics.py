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
    INVALID_CONFIG = 1  # deployment.yaml is invalid or unreadable
    DIFFERENCES = 1  # `diff` found something a build would change (like `git diff --exit-code`)
    USAGE = 2  # the command line is wrong (argparse's own code)
    LINT_FAILED = 3  # cfn-lint found a problem in a compiled template: a compiler bug
    STALE = 4  # build --check: generated/ is out of date
    IO_ERROR = 5  # the output could not be written
    UNKNOWN_NAME = 6  # a deployment, stack or token named on the command line does not exist
    AWS_ERROR = 7  # AWS could not be asked or refused: no credentials or region, access denied, an AWS error

    @property
    def meaning(self) -> str:
        return EXIT_CODE_MEANINGS[self]


EXIT_CODE_MEANINGS = {
    ExitCode.OK: "ok",
    ExitCode.INVALID_CONFIG: "invalid or unreadable deployment file; for diff: a build would change something",
    ExitCode.USAGE: "usage error",
    ExitCode.LINT_FAILED: "cfn-lint found a problem in a compiled template (a compiler bug)",
    ExitCode.STALE: "build --check: generated/ is out of date",
    ExitCode.IO_ERROR: "the output could not be written",
    ExitCode.UNKNOWN_NAME: "no deployment, stack or token of that name",
    ExitCode.AWS_ERROR: "AWS problem (credentials, region, permissions, an AWS error)",
}


class CommandError(Exception):
    """A problem a command reports in one line (`error: ...`) and ends with `code`."""

    def __init__(self, message: str, code: ExitCode = ExitCode.USAGE):
        super().__init__(message)
        self.code = code


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
