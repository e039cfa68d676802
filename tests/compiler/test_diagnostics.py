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


PLAIN_HTTP = "spec.alb.allowPlainHttp: warning: plain HTTP: the API key and audio cross the internet unencrypted; " \
             "add certificateArn for HTTPS"
# The valid cases draw these warnings and no others: a rule that fires where it should not (a false warning
# beside no error) shows here, since a valid file has no .expected of its own.
VALID_WARNINGS = {
    "alb-tokens": [f"alb-tokens.yaml:14:25: {PLAIN_HTTP}"],
    "minimal": [f"minimal.yaml:14:25: {PLAIN_HTTP}"],
    "nat-authpage": ["nat-authpage.yaml:18:28: spec.auth.authPage.signupCode: warning: anyone who finds the page and "
                     "holds an ElevenLabs key can mint a token and run calls on this deployment's tasks"],
}
VALID = sorted((Path(__file__).parent.parent / "cases" / "valid").glob("*.yaml"))


@pytest.mark.parametrize("case", VALID, ids=[c.stem for c in VALID])
def test_valid_case_draws_exactly_its_warnings(case: Path):
    config = load_config(str(case), display_name=case.name)
    assert [str(w) for w in config.warnings] == VALID_WARNINGS.get(case.stem, [])


ON_DEMAND_CASE = Path(__file__).parent.parent / "cases" / "valid" / "websocket-on-demand.yaml"


@pytest.mark.parametrize("length, refused", [(59, False), (60, True)])
def test_on_demand_names_may_have_59_characters(tmp_path: Path, length: int, refused: bool):
    """The idle rule `<name>-idle` may have 64 characters, EventBridge's limit: 59 for the name, no fewer."""
    name = ("od-" + "x" * 60)[:length]
    path = tmp_path / "deployment.yaml"
    path.write_text(ON_DEMAND_CASE.read_text().replace("{name: ws-on-demand}", f"{{name: {name}}}"))
    if not refused:
        load_config(str(path))
        return
    with pytest.raises(ConfigError) as raised:
        load_config(str(path))
    assert [d.message for d in raised.value.diagnostics] == [
        f"with onDemand the name may have at most 59 characters: the idle check's EventBridge rule, '{name}-idle', "
        "would be longer than 64"]
