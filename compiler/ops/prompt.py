"""Asking before a change: only a person at a terminal can say yes; without one, `--yes` must."""

from __future__ import annotations

import sys

from ..diagnostics import ExitCode

DECLINED = ExitCode.USAGE  # the exit code when nobody said yes


def confirm(question: str, expected: str | None = None) -> bool:
    """True when the answer is yes (or, given `expected`, exactly that text); False without a terminal."""
    if not sys.stdin.isatty():
        print("stdin is not a terminal, so nobody can confirm: pass --yes to go ahead without asking", file=sys.stderr)
        return False
    answer = input(question).strip()
    return answer == expected if expected is not None else answer.lower() in ("y", "yes")
