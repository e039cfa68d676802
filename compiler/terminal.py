"""How the command line shows diagnostics: each error with its source line and a caret under the column (as
compilers do), colour only on a terminal and never when NO_COLOR is set (no-color.org), and counts in words.

Standard library only: an unchanged rebuild prints its recorded warnings through here.
"""

from __future__ import annotations

import os
import re
import sys
from typing import TextIO

from .diagnostics import Diagnostic

BOLD, RED, YELLOW, GREEN, CYAN = "1", "31", "33", "32", "36"
LOCATION = re.compile(r"^(?P<where>[^\n]*?:\d+:\d+:)(?P<path> [^ :]+:)?(?P<kind> warning:)?(?P<message>.*)$", re.S)


def colour_on(stream: TextIO) -> bool:
    """Colour for a terminal, unless NO_COLOR is set (to anything but the empty string) or TERM is dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, *codes: str, stream: TextIO | None = None) -> str:
    return f"\033[{';'.join(codes)}m{text}\033[0m" if codes and colour_on(stream or sys.stderr) else text


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def diagnostic_line(text: str, stream: TextIO | None = None) -> str:
    """A formatted diagnostic (`file:line:col: path: [warning:] message`) with its location in bold and the
    word warning in yellow; unchanged without colour."""
    found, stream = LOCATION.match(text), stream or sys.stderr
    if not found or not colour_on(stream):
        return text
    kind = paint(found["kind"], BOLD, YELLOW, stream=stream) if found["kind"] else ""
    return (paint(found["where"], BOLD, stream=stream) + (found["path"] or "") + kind + found["message"])


def excerpt(diagnostic: Diagnostic, lines: list[str] | None, stream: TextIO | None = None) -> list[str]:
    """The source line of `diagnostic` and a caret under its column, in the shape rustc uses:

         13 |   task: {cpuu: 256}
            |          ^
    """
    if not lines or not 1 <= diagnostic.line <= len(lines):
        return []
    source = lines[diagnostic.line - 1].rstrip("\r\n")
    if not source.strip() or not source.replace("\t", " ").isprintable() or "\ufffd" in source:
        return []  # nothing to point at (an empty line, binary junk)
    number = str(diagnostic.line)
    gutter = " " * len(number)
    # Tabs stay tabs under the line, so the caret lands under the column however wide the terminal draws them.
    lead = "".join("\t" if char == "\t" else " " for char in source[:max(diagnostic.column - 1, 0)])
    caret = paint("^", BOLD, YELLOW if diagnostic.warning else RED, stream=stream)
    bar = paint("|", BOLD, CYAN, stream=stream)
    return [f" {paint(number, BOLD, CYAN, stream=stream)} {bar} {source}", f" {gutter} {bar} {lead}{caret}"]


def print_diagnostics(diagnostics, stream: TextIO | None = None) -> None:
    """Every diagnostic in order; errors with their source excerpt (the files are read once, and only for that).
    `stream` defaults to sys.stderr as it is at the call, not at import (pytest's capsys, redirect_stderr)."""
    stream = stream or sys.stderr
    sources: dict[str, list[str] | None] = {}
    for diagnostic in sorted(diagnostics):
        print(diagnostic_line(str(diagnostic), stream), file=stream)
        if diagnostic.warning:
            continue
        if diagnostic.file not in sources:
            sources[diagnostic.file] = _read_lines(diagnostic.file)
        for line in excerpt(diagnostic, sources[diagnostic.file], stream):
            print(line, file=stream)


def _read_lines(path: str) -> list[str] | None:
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            return fh.read().split("\n")  # text mode reads \r\n and \r as \n, line breaks as YAML counts them
    except OSError:
        return None
