"""Command line: `python -m compiler build [--check]`, `validate`, `cost`, `schema`, `explain`, `diff`, `tokens`.

Exit codes are `ExitCode`."""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path
from typing import NoReturn

from .diagnostics import ConfigError, ExitCode


COMPILER_LIBRARIES = ("ruamel", "troposphere", "cfnlint", "tzdata")  # the `compiler` extra


def run() -> NoReturn:
    """The `mcpdeploy` command and `python -m compiler`. A run is a short-lived process, so the cyclic garbage
    collector stays off: collecting costs about a tenth of a cold build (the forked lint workers inherit the
    setting), and `gc.freeze()` before exiting spares the interpreter's final collection."""
    gc.disable()
    code = main()
    gc.freeze()
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except ConfigError as exc:
        _print_all(exc.diagnostics)
        errors = sum(not d.warning for d in exc.diagnostics)
        untouched = f"; {args.out}/ was not changed" if args.run is _build else ""
        print(f"{errors} error{'s' if errors != 1 else ''} in {args.file}{untouched}", file=sys.stderr)
        return ExitCode.INVALID_CONFIG
    except OSError as exc:
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return ExitCode.IO_ERROR
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in COMPILER_LIBRARIES:
            print(f"error: the compiler needs {exc.name}: install it with "
                  "python -m pip install 'mcpdeploy[compiler]' (or '.[dev]' in a checkout)", file=sys.stderr)
            return ExitCode.USAGE
        raise


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m compiler", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    build = commands.add_parser("build", help="validate, compile and lint deployment.yaml into generated/")
    _add_file_option(build)
    build.add_argument("-o", "--out", default="generated", help="output folder (default: generated)")
    build.add_argument("--check", action="store_true", help="write nothing; exit 4 if generated/ is out of date")
    build.add_argument("--no-cache", action="store_true", help="lint every template again")
    build.set_defaults(run=_build)

    validate = commands.add_parser("validate", help="check deployment.yaml only (no templates, no lint)")
    _add_file_option(validate)
    validate.set_defaults(run=_validate)

    cost = commands.add_parser("cost", help="itemized monthly cost estimate, topology comparison, traffic growth")
    _add_file_option(cost)
    cost.add_argument("deployment", nargs="?", help="metadata.name of one deployment (default: all)")
    cost.add_argument("--requests", type=int, default=20_000, help="MCP requests per month (default: %(default)s)")
    cost.add_argument("--response-kb", type=float, default=40.0, help="average response size (default: %(default)s)")
    cost.set_defaults(run=_cost)

    schema = commands.add_parser("schema", help="write the JSON Schema of deployment.yaml (for editors)")
    schema.add_argument("-o", "--out", help="where to write it (default: compiler/deployment.schema.json)")
    schema.set_defaults(run=_schema)

    explain = commands.add_parser("explain", help="document a field, e.g. spec.schedule (like kubectl explain)")
    explain.add_argument("field", help="a dotted path such as spec.task.cpu or ImageRepository.spec")
    explain.set_defaults(run=_explain)

    diff = commands.add_parser("diff", help="what a build would change in generated/, resource by resource, and "
                               "what deploying it would replace or lose; exit 1 when anything would change")
    _add_file_option(diff)
    diff.add_argument("-o", "--out", default="generated", help="output folder to compare (default: generated)")
    diff.set_defaults(run=_diff)

    from .tokens import add_parser as add_tokens_parser

    add_tokens_parser(commands)
    return parser


def _add_file_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--file", default="deployment.yaml", help="the deployment file (default: %(default)s)")


def _build(args: argparse.Namespace) -> int:
    from . import buildcache
    from .lint import WarmLinter

    out_dir = Path(args.out)
    build_key = None if args.no_cache else buildcache.key(args.file, args.file)
    recorded_warnings = buildcache.lookup(build_key, out_dir)
    if recorded_warnings is not None:  # nothing that shapes the output changed, and the output is intact
        for warning in recorded_warnings:
            print(warning, file=sys.stderr)
        print(f"{out_dir}/ is up to date")
        return ExitCode.OK

    with WarmLinter() as linter:  # forked first, so cfn-lint loads while everything else imports and compiles
        from .build import build

        result = build(args.file, out_dir, linter, check=args.check, use_cache=not args.no_cache)
    _print_all(result.warnings + result.update_warnings)
    for finding in result.lint:
        print(f"{out_dir / finding.template}: {finding.path}: cfn-lint {finding.level} {finding.rule}: "
              f"{finding.message}", file=sys.stderr)
    if result.lint_failed:
        print("cfn-lint found problems in the compiled templates (a compiler bug: please report it); "
              "nothing was written", file=sys.stderr)
        return ExitCode.LINT_FAILED
    if args.check and result.changed:
        for name in result.changed:
            print(f"stale: {out_dir / name}", file=sys.stderr)
        print(f"{out_dir}/ is out of date: run python -m compiler build", file=sys.stderr)
        return ExitCode.STALE
    buildcache.store(build_key, out_dir, result.files, [str(w) for w in sorted(result.warnings)])
    for name in [] if args.check else result.changed:
        print(f"wrote {out_dir / name}")
    if not result.changed:
        print(f"{out_dir}/ is up to date")
    return ExitCode.OK


def _validate(args: argparse.Namespace) -> int:
    from .validation import load_config

    config = load_config(args.file)
    _print_all(config.warnings)
    print(f"{args.file}: {len(config.deployments)} deployment(s), {len(config.repositories)} image repositor"
          f"{'y' if len(config.repositories) == 1 else 'ies'}: valid")
    return ExitCode.OK


def _cost(args: argparse.Namespace) -> int:
    from .cost import CostError, Traffic, report

    if args.requests < 0 or args.response_kb <= 0:
        print("error: --requests must be >= 0 and --response-kb > 0", file=sys.stderr)
        return ExitCode.USAGE
    try:
        print(report(args.file, args.deployment, Traffic(requests=args.requests, response_kb=args.response_kb)))
    except CostError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.INVALID_CONFIG
    return ExitCode.OK


def _schema(args: argparse.Namespace) -> int:
    from .schema import write_schema

    print(f"wrote {write_schema(Path(args.out) if args.out else None)}")
    return ExitCode.OK


def _explain(args: argparse.Namespace) -> int:
    from .explain import ExplainError, explain

    try:
        print(explain(args.field))
    except ExplainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    return ExitCode.OK


def _diff(args: argparse.Namespace) -> int:
    from .diff import report

    result = report(args.file, Path(args.out))
    if not result.changed:
        print(f"no changes: {args.out}/ is up to date")
        return ExitCode.OK
    print(result)
    return ExitCode.DIFFERENCES


def _print_all(diagnostics) -> None:
    for diagnostic in sorted(diagnostics):
        print(diagnostic, file=sys.stderr)
