"""The deploy smoke test's report: per stack, what was checked, what moto skipped, what the test rewrote."""

from __future__ import annotations

REPORT: list[str] = []


def pytest_terminal_summary(terminalreporter) -> None:
    if REPORT:
        terminalreporter.section("deploy smoke test (moto)")
        for line in REPORT:
            terminalreporter.write_line(line)
