"""cfn-lint in process: rules loaded once per process, results cached by template digest and cfn-lint version.

Only clean results are cached (a marker file per digest), so a cached template is one that linted clean with
this exact cfn-lint; anything else is linted again and its findings shown.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from pathlib import Path

FAILING_LEVELS = ("error", "warning")  # informational findings are shown but do not fail the build


@dataclass(frozen=True, order=True)
class Finding:
    template: str
    path: str
    rule: str
    level: str
    message: str

    def __str__(self) -> str:
        return f"{self.template}: {self.path}: {self.level} {self.rule}: {self.message}"

    @property
    def fails(self) -> bool:
        return self.level in FAILING_LEVELS


def cache_dir() -> Path:
    base = os.environ.get("MCPDEPLOY_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "mcpdeploy")
    return Path(base) / "lint"


def lint_templates(templates: dict[str, tuple[str, str]], use_cache: bool = True) -> list[Finding]:
    """Lint {file name: (template JSON, region)}; returns every finding, sorted."""
    findings: list[Finding] = []
    for name, (text, region) in sorted(templates.items()):
        marker = cache_dir() / _digest(text, region)
        if use_cache and marker.exists():
            continue
        found = _lint_one(name, text, region)
        findings += found
        if use_cache and not any(f.fails for f in found):
            _mark_clean(marker)
    return sorted(findings)


def _digest(text: str, region: str) -> str:
    key = f"cfn-lint {version('cfn-lint')}\0{region}\0{text}".encode()
    return hashlib.sha256(key).hexdigest()


def _mark_clean(marker: Path) -> None:
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        pass  # a cache that cannot be written only costs time


def _lint_one(name: str, text: str, region: str) -> list[Finding]:
    from cfnlint.config import ConfigMixIn
    from cfnlint.decode.decode import decode_str
    from cfnlint.runner import run_template_by_data

    template, errors = decode_str(text)
    matches = errors or list(run_template_by_data(template, ConfigMixIn(regions=[region]), _rules()))
    return [Finding(name, "/".join(map(str, m.path)) if m.path else f"line {m.linenumber}", m.rule.id,
                    _level(m.rule.id), m.message) for m in matches]


@cache
def _rules():
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    return Runner(ConfigMixIn(regions=["us-east-1"])).rules


def _level(rule_id: str) -> str:
    return {"E": "error", "W": "warning", "I": "informational"}.get(rule_id[:1], "error")
