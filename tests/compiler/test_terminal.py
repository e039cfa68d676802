"""compiler/terminal.py writes to sys.stderr as it is when it prints, not as it was at import: output redirected
afterwards (contextlib.redirect_stderr, pytest's capsys, a mutation runner closing the first stderr) is caught."""

from __future__ import annotations

import contextlib
import io

from compiler import terminal
from compiler.diagnostics import Diagnostic


def test_diagnostics_go_to_the_current_stderr(tmp_path):
    source = tmp_path / "deployment.yaml"
    source.write_text("spec: {cpuu: 256}\n")
    caught = io.StringIO()
    with contextlib.redirect_stderr(caught):
        terminal.print_diagnostics([Diagnostic(str(source), 1, 8, "spec.cpuu", "unknown key 'cpuu'")])
    assert caught.getvalue() == (f"{source}:1:8: spec.cpuu: unknown key 'cpuu'\n"
                                 " 1 | spec: {cpuu: 256}\n"
                                 "   |        ^\n")
