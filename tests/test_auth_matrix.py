"""Every topology x auth mode x allow-list either compiles to templates that lint clean with cfn-lint, or is
refused with a positioned error (file:line:col) that says why. Nothing here decides which combinations are
built: the compiler does; the table of what happened is printed (pytest -s shows it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from compiler.build import compile_config
from compiler.diagnostics import ConfigError
from compiler.lint import lint_templates
from compiler.validation import load_config

TOPOLOGIES = ("alb", "nat-instance", "websocket")
AUTH_MODES = {
    "api-key": {"mode": "api-key"},
    "tokens": {"mode": "tokens"},
    "tokens+authPage": {"mode": "tokens", "authPage": {}},
    "api-key+authPage": {"mode": "api-key", "authPage": {}},
}
ALLOWED_CIDRS = {"everyone": [], "one-ipv4-block": ["203.0.113.0/24"]}
POSITIONED = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<column>\d+): (?P<path>spec\.[\w.\[\]]+): (?P<message>.+)$")
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0f8e2c1a-1111-2222-3333-444455556666"
FRONT_DOOR = {  # what each topology needs besides auth; alb: HTTPS on a domain of its own
    "alb": f"  alb:\n    certificateArn: {CERTIFICATE}\n    domainName: mcp.example.com\n",
    "nat-instance": "",
    "websocket": "",
}


@dataclass(frozen=True)
class Combination:
    topology: str
    auth: str
    cidrs: str

    @property
    def name(self) -> str:  # a stack name: letters, digits and hyphens
        return re.sub(r"[^a-z0-9-]", "-", f"{self.topology}-{self.auth}-{self.cidrs}".lower())

    def document(self) -> str:
        auth = AUTH_MODES[self.auth]
        lines = [f"    mode: {auth['mode']}", f"    allowedCidrs: [{', '.join(ALLOWED_CIDRS[self.cidrs])}]"]
        if "authPage" in auth:
            lines.append("    authPage: {}")
        return "\n".join([
            "apiVersion: mcpdeploy/v1alpha1", "kind: ImageRepository", "metadata: {name: images}",
            "spec: {region: us-east-1}", "---",
            "apiVersion: mcpdeploy/v1alpha1", "kind: Deployment", f"metadata: {{name: {self.name}}}", "spec:",
            "  region: us-east-1", f"  topology: {self.topology}", "  image: {repository: images, tag: \"1.0.0\"}",
            FRONT_DOOR[self.topology] + "  auth:", *lines, ""])


COMBINATIONS = [Combination(t, a, c) for t in TOPOLOGIES for a in AUTH_MODES for c in ALLOWED_CIDRS]


@dataclass
class Outcome:
    refusals: list[str]  # the error diagnostics, as printed
    templates: dict[str, tuple[str, str]]  # compiled: file name -> (template, region)
    findings: list[str]  # failing cfn-lint findings of those templates


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[Combination, Outcome]:
    folder: Path = tmp_path_factory.mktemp("matrix")
    found: dict[Combination, Outcome] = {}
    for combination in COMBINATIONS:
        path = folder / f"{combination.name}.yaml"
        path.write_text(combination.document())
        try:
            _, templates = compile_config(load_config(str(path)))
        except ConfigError as refused:
            found[combination] = Outcome([str(d) for d in refused.diagnostics if not d.warning], {}, [])
        else:
            found[combination] = Outcome([], {f"{combination.name}/{name}": body for name, body in templates.items()},
                                         [])
    everything = {name: body for outcome in found.values() for name, body in outcome.templates.items()}
    findings = [finding for finding in lint_templates(everything, use_cache=False) if finding.fails]  # one run
    for outcome in found.values():
        outcome.findings = [str(f) for f in findings if f.template in outcome.templates]
    _print_table(found)
    return found


def _print_table(found: dict[Combination, Outcome]) -> None:
    rows = [f"| {c.topology} | {c.auth} | {c.cidrs} | "
            + ("compiles, lint clean" if not o.refusals and not o.findings else
               f"lint findings: {len(o.findings)}" if o.findings else
               "refused: " + "; ".join(r.split(": ", 2)[-1] for r in o.refusals)) + " |"
            for c, o in found.items()]
    print("\n".join(["", "| topology | auth | allowedCidrs | result |", "|---|---|---|---|", *rows]))


@pytest.mark.parametrize("combination", COMBINATIONS, ids=lambda c: c.name)
def test_compiles_clean_or_is_refused_with_a_positioned_reason(outcomes, combination):
    outcome = outcomes[combination]
    if outcome.refusals:
        assert not outcome.templates
        for refusal in outcome.refusals:
            where = POSITIONED.match(refusal)
            assert where, f"not positioned: {refusal}"
            assert where["file"].endswith(f"{combination.name}.yaml") and int(where["line"]) > 5, refusal
            assert where["path"].startswith("spec.auth"), refusal  # the auth setting is what is refused
            assert len(where["message"]) > 20, refusal  # a reason, not a bare "invalid"
    else:
        assert {name.split("/", 1)[1] for name in outcome.templates} == {"images.json", f"{combination.name}.json"}
        assert outcome.findings == []


def test_auth_page_with_api_key_is_refused_everywhere(outcomes):
    """The one refusal: the page issues tokens."""
    for combination, outcome in outcomes.items():
        if combination.auth == "api-key+authPage":
            assert any("auth.mode: tokens" in refusal for refusal in outcome.refusals), combination


def test_every_mode_that_makes_sense_compiles_on_every_topology(outcomes):
    built = {(c.topology, c.auth) for c, o in outcomes.items() if not o.refusals}
    assert built == {(t, a) for t in ("alb", "nat-instance", "websocket")
                     for a in ("api-key", "tokens", "tokens+authPage")}
