"""Which stacks a command acts on, in dependency order, as `generated/` holds them.

The repository stacks come first (deployment stacks import their exports), then the deployments, in file
order; `destroy` walks the same list backwards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


class PlanError(Exception):
    """A usage problem: a generated/ folder that does not match deployment.yaml, a name of the wrong kind."""


class UnknownName(PlanError):
    """A stack named on the command line is not in the deployment file (exit UNKNOWN_NAME)."""


@dataclass
class Stack:
    name: str
    region: str
    model: object                       # compiler.model.Deployment or ImageRepository
    template_path: Path
    parameters: dict[str, str] = field(default_factory=dict)
    repository: str | None = None       # a deployment's ImageRepository stack

    @property
    def is_deployment(self) -> bool:
        return self.repository is not None

    @property
    def template(self) -> dict:
        return json.loads(read_template(self.template_path))

    @property
    def body(self) -> str:
        return read_template(self.template_path)

    def capabilities(self) -> list[str]:
        from ..docs import capabilities

        return [capabilities(self.template)] if self.is_deployment else []


def read_template(path: Path) -> str:
    """The template text sent to CloudFormation (the tests put their moto stand-in's rewrite here)."""
    return path.read_text(encoding="utf-8")


def stacks(file: str, out_dir: Path, names: list[str] | None = None) -> list[Stack]:
    """The stacks of `file` named by `names` (all when empty) with the repository stacks they need, in order."""
    from ..validation import load_config

    config = load_config(file)
    everything: list[Stack] = []
    for source in config.repositories:
        doc = source.model
        everything.append(Stack(doc.metadata.name, doc.spec.region, doc, out_dir / f"{doc.metadata.name}.json"))
    for source in config.deployments:
        doc = source.model
        name = doc.metadata.name
        parameters_file = out_dir / f"{name}.parameters.json"
        parameters = dict(item.split("=", 1) for item in json.loads(parameters_file.read_text(encoding="utf-8")))
        everything.append(Stack(name, doc.spec.region, doc, out_dir / f"{name}.json", parameters,
                                repository=doc.spec.image.repository))
    if not names:
        return everything
    known = {stack.name: stack for stack in everything}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UnknownName(f"no stack named {', '.join(unknown)} in {file} (known: {', '.join(known)})")
    wanted = set(names) | {known[name].repository for name in names if known[name].repository}
    return [stack for stack in everything if stack.name in wanted]


def one(file: str, out_dir: Path, name: str, deployment: bool = True) -> Stack:
    [stack] = [s for s in stacks(file, out_dir, [name]) if s.name == name]
    if deployment and not stack.is_deployment:
        raise PlanError(f"{name} is an ImageRepository; this command takes a Deployment's name")
    return stack


def check_fresh(file: str, out_dir: Path) -> None:
    """Refuse a generated/ that `build` would change: what is deployed must be what deployment.yaml says."""
    import argparse

    from ..cli import _build
    from ..diagnostics import ExitCode

    code = _build(argparse.Namespace(file=file, out=str(out_dir), check=True, no_cache=False))
    if code == ExitCode.STALE:
        raise PlanError(f"{out_dir}/ is out of date with {file}: run python -m compiler build first "
                        "(deploy never deploys templates that do not match the file)")
    if code != ExitCode.OK:
        raise PlanError(f"{file} does not build (exit {code}); fix it first")
