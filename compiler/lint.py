"""cfn-lint in process: rules loaded once per process, results cached by template digest and cfn-lint version.

Only clean results are cached (a marker file per digest), so a cached template is one that linted clean with
this exact cfn-lint; anything else is linted again and its findings shown.

Importing cfn-lint and loading its rules takes about a second (sympy and networkx come with it), longer than
validating and compiling a whole file. `WarmLinter` therefore forks at the start of a build: the child imports
cfn-lint while the parent validates and compiles, then lints what the cache does not already vouch for.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import signal
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
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


Templates = dict[str, tuple[str, str]]  # file name -> (template JSON, region)


def lint_templates(templates: Templates, use_cache: bool = True) -> list[Finding]:
    """Lint every template in this process; returns every finding, sorted."""
    return _lint_and_cache(_uncached(templates, use_cache), use_cache)


class WarmLinter:
    """A forked child that imports cfn-lint now and lints later (see the module docstring). Use as a context
    manager; `lint` behaves like `lint_templates`."""

    def __enter__(self) -> WarmLinter:
        jobs_read, self._jobs = os.pipe()
        self._results, results_write = os.pipe()
        self._pid = os.fork()
        if self._pid == 0:  # the child: never returns
            os.close(self._jobs)
            os.close(self._results)
            _serve(jobs_read, results_write)
        os.close(jobs_read)
        os.close(results_write)
        return self

    def lint(self, templates: Templates, use_cache: bool = True) -> list[Finding]:
        pending = _uncached(templates, use_cache)
        if not pending:
            return []
        with os.fdopen(self._jobs, "wb") as jobs:
            self._jobs = -1
            pickle.dump((pending, use_cache), jobs)
        with os.fdopen(self._results, "rb") as results:
            self._results = -1
            outcome = pickle.load(results)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def __exit__(self, *exc_info) -> None:
        for fd in (self._jobs, self._results):
            if fd >= 0:
                os.close(fd)
        try:
            os.kill(self._pid, signal.SIGKILL)  # a no-op once it has answered and exited
        except ProcessLookupError:
            pass
        os.waitpid(self._pid, 0)


def _serve(jobs_read: int, results_write: int) -> None:
    code = 0
    try:
        _rules()  # the slow part, done while the parent works
        with os.fdopen(jobs_read, "rb") as jobs:
            pending, use_cache = pickle.load(jobs)
        try:
            outcome: object = _lint_and_cache(pending, use_cache)
        except Exception as exc:  # handed to the parent, which raises it there
            outcome = exc
        with os.fdopen(results_write, "wb") as results:
            pickle.dump(outcome, results)
    except BaseException:
        code = 1  # the parent closed the pipe (nothing to lint) or killed us
    finally:
        os._exit(code)


def _uncached(templates: Templates, use_cache: bool) -> Templates:
    return {name: job for name, job in templates.items() if not (use_cache and _marker(*job).exists())}


def _lint_and_cache(templates: Templates, use_cache: bool) -> list[Finding]:
    findings: list[Finding] = []
    for name, (text, region) in sorted(templates.items()):
        found = _lint_one(name, text, region)
        findings += found
        if use_cache and not any(f.fails for f in found):
            _mark_clean(_marker(text, region))
    return sorted(findings)


def _marker(text: str, region: str) -> Path:
    key = f"cfn-lint {_cfn_lint_version()}\0{region}\0{text}".encode()
    return cache_dir() / hashlib.sha256(key).hexdigest()


@cache
def _cfn_lint_version() -> str:
    """The installed cfn-lint's version, read from its dist-info without importing it (or importlib.metadata)."""
    package_dir = Path(find_spec("cfnlint").origin).parent
    dist_infos = sorted(package_dir.parent.glob("cfn_lint-*.dist-info"))
    return dist_infos[-1].name.removeprefix("cfn_lint-").removesuffix(".dist-info") if dist_infos else "unknown"


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
