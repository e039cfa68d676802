"""The pipeline: deployment.yaml -> validated config -> templates -> lint -> files in generated/."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import docs, emit
from .diagnostics import ConfigError, Diagnostic
from .lint import Finding, WarmLinter
from .validation import Config, load_config


@dataclass
class BuildResult:
    files: dict[str, str]
    warnings: list[Diagnostic]
    lint: list[Finding] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    stacks: int = 0  # templates compiled: one CloudFormation stack each
    # what deploying this build over the previous one (in the output folder) loses: said once, never recorded
    update_warnings: list[Diagnostic] = field(default_factory=list)

    @property
    def lint_failed(self) -> bool:
        return any(f.fails for f in self.lint)


def compile_config(config: Config) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """All output files (name -> text) and the templates among them (name -> (text, region))."""
    from .parts import checkov
    from .topologies import TOPOLOGIES, build_repository  # troposphere is only needed from here on

    files: dict[str, str] = {}
    templates: dict[str, tuple[str, str]] = {}
    too_big: list[Diagnostic] = []
    for source in config.repositories:
        repo = source.model
        name = f"{repo.metadata.name}.json"
        users = [d.model for d in config.deployments if d.model.spec.image.repository == repo.metadata.name]
        files[name] = emit.render_template(checkov.annotate(build_repository(
            repo, [d.spec.image.tag for d in users], serves_websocket=any(d.spec.topology == "websocket"
                                                                            for d in users)).to_dict()))
        templates[name] = (files[name], repo.spec.region)
    for source in config.deployments:
        deployment = source.model
        repository = config.repository(deployment.spec.image.repository).model
        template = TOPOLOGIES[deployment.spec.topology](deployment, repository)
        name, body = f"{deployment.metadata.name}.json", checkov.annotate(template.to_dict())
        files[name] = _deployable_text(config, source, name, body)
        templates[name] = (files[name], deployment.spec.region)
        too_big += _deployable_size(source, name, files[name])
        files[f"{deployment.metadata.name}.parameters.json"] = emit.render_json(parameter_overrides(deployment))
        files[f"{deployment.metadata.name}.md"] = docs.render(deployment, repository, body)
    if too_big:
        raise ConfigError(too_big)
    files[emit.MANIFEST] = emit.manifest(files)
    return files, templates


def _deployable_text(config: Config, source, name: str, body: dict) -> str:
    """Indented for review; on one line when indentation alone would take it over the deploy limit."""
    text = emit.render_template(body)
    size = len(text.encode())
    if size <= emit.DEPLOY_TEMPLATE_LIMIT:
        return text
    compact = emit.render_compact(body)
    if len(compact.encode()) <= emit.DEPLOY_TEMPLATE_LIMIT:
        config.warnings.append(source.doc.diagnostic(
            ("metadata", "name"), f"{name} is written on one line: indented it would be {size:,} bytes, over the "
            f"{emit.DEPLOY_TEMPLATE_LIMIT:,} `aws cloudformation deploy` sends without --s3-bucket; "
            "`python -m compiler diff` still compares it resource by resource", warning=True))
    return compact


def _deployable_size(source, name: str, text: str) -> list[Diagnostic]:
    size = len(text.encode())
    if size <= emit.DEPLOY_TEMPLATE_LIMIT:
        return []
    return [source.doc.diagnostic(("metadata", "name"), f"{name} would be {size:,} bytes; `aws cloudformation "
                                  f"deploy` takes at most {emit.DEPLOY_TEMPLATE_LIMIT:,} without --s3-bucket. "
                                  "Turn off an option of this deployment (authPage, alerts, onDemand) or split it")]


def parameter_overrides(deployment) -> list[str]:
    """`aws cloudformation deploy --parameter-overrides file://...` takes a JSON list of Key=Value strings."""
    return [f"ImageTag={deployment.spec.image.tag}"]


def build(source: str, out_dir: Path, linter: WarmLinter, *, check: bool = False, display_name: str | None = None,
          use_cache: bool = True) -> BuildResult:
    """Validate, compile and lint; then write `out_dir` (or, with `check`, only compare it). Raises ConfigError."""
    config = load_config(source, display_name)
    files, templates = compile_config(config)
    result = BuildResult(files=files, warnings=config.warnings, stacks=len(templates))
    result.lint = linter.lint(templates, use_cache=use_cache)
    if result.lint_failed:
        return result
    stale = emit.stale_files(out_dir, files)
    if stale:  # compared with what is there before it is overwritten
        from . import updates

        result.update_warnings = updates.warnings(config, out_dir, files)
    result.changed = stale if check else emit.write_outputs(out_dir, files)
    return result
