"""Invalid inputs under tests/cases/invalid/ and the exact diagnostics each must produce (golden .expected files)."""

from pathlib import Path

import pytest

from compiler.diagnostics import ConfigError
from compiler.validation import load_config

from .goldens import check_text

CASES = sorted((Path(__file__).parent.parent / "cases" / "invalid").glob("*.yaml"))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_invalid_case_reports_every_problem(case: Path, update_goldens: bool):
    with pytest.raises(ConfigError) as raised:
        load_config(str(case), display_name=case.name)
    lines = [str(d) for d in raised.value.diagnostics]
    assert lines == sorted(lines, key=lambda line: _position(line)), "diagnostics must be sorted by position"
    check_text(case.with_suffix(".expected"), "\n".join(lines) + "\n", update_goldens)


def _position(line: str) -> tuple[int, int]:
    _, row, column = line.split(":", 3)[:3]
    return int(row), int(column)
