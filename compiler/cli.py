"""Command line: compile (`build`, `validate`, `cost`, `diff`, ...) and operate (`deploy`, `status`, `logs`, ...).

Compiling: `build [--check]`, `validate`, `cost`, `schema`, `explain`, `diff`, `tokens`; operating (compiler/ops/,
imported only when one runs): `deploy`, `status`, `logs`, `wake`, `sleep`, `destroy`.

The same command line is `mcpdeploy` (the console script) and `python -m compiler`. Exit codes are `ExitCode`,
listed by --help."""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path
from typing import NoReturn

from . import terminal
from .diagnostics import CommandError, ConfigError, ExitCode


COMPILER_LIBRARIES = ("ruamel", "troposphere", "cfnlint", "tzdata")  # the `compiler` extra


def run(prog: str = "mcpdeploy") -> NoReturn:
    """The `mcpdeploy` command and `python -m compiler`. A run is a short-lived process, so the cyclic garbage
    collector stays off: collecting costs about a tenth of a cold build (the forked lint workers inherit the
    setting), and `gc.freeze()` before exiting spares the interpreter's final collection."""
    gc.disable()
    code = main(prog=prog)
    gc.freeze()
    sys.exit(code)


def main(argv: list[str] | None = None, prog: str = "python -m compiler") -> int:
    args = _parse(_parser(prog, sys.argv[1:] if argv is None else argv), argv)
    try:
        return args.run(args)
    except ConfigError as exc:
        terminal.print_diagnostics(exc.diagnostics)
        errors = sum(not d.warning for d in exc.diagnostics)
        untouched = f"; {args.out}/ was not changed" if args.run is _build else ""
        print(terminal.paint(f"{terminal.plural(errors, 'error')} in {args.file}{untouched}", terminal.BOLD,
                             terminal.RED), file=sys.stderr)
        return ExitCode.INVALID_CONFIG
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
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


COMPILING_COMMANDS = ("build", "validate", "cost", "schema", "explain", "diff", "tokens")


def _parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """argparse, except that an unknown option is reported with the usage of its command, not the top level's."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        args.command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


class _Version(argparse.Action):
    """--version, looking the version up only when asked (importlib.metadata costs more than a cached build)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("mcpdeploy")
        except PackageNotFoundError:
            found = "unknown (not installed: pip install -e .)"
        print(f"mcpdeploy {found}")
        parser.exit()


def _parser(prog: str = "python -m compiler", argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; the operating commands (deploy, status, ...) are left out when `argv` runs a compiling command,
    so a build does not pay for defining them (help and unknown commands still list them all)."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0], epilog=EXIT_CODES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action=_Version)
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
    cost.add_argument("--busy-hours-per-month", type=float, default=20.0, metavar="HOURS",
                      help="on demand: hours a month in which clients use the server (default: %(default)s)")
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
    if not argv or next((a for a in argv if not a.startswith("-")), None) not in COMPILING_COMMANDS:
        from .ops.commands import add_parsers as add_operating_parsers

        add_operating_parsers(commands)
    for command in commands.choices.values():
        command.set_defaults(command_parser=command)
    return parser


EXIT_CODES = "exit codes:\n" + "\n".join(f"  {code.value}  {code.meaning}" for code in ExitCode)


def _add_file_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--file", default="deployment.yaml", help="the deployment file (default: %(default)s)")


def _build(args: argparse.Namespace) -> int:
    from . import buildcache
    from .lint import WarmLinter

    started = time.perf_counter()
    out_dir = Path(args.out)
    build_key = None if args.no_cache else buildcache.key(args.file, args.file)
    recorded = buildcache.lookup(build_key, out_dir)
    if recorded is not None:  # nothing that shapes the output changed, and the output is intact
        for warning in recorded.warnings:
            print(terminal.diagnostic_line(warning), file=sys.stderr)
        print(_summary(out_dir, recorded.stacks, len(recorded.warnings), [], [], started))
        return ExitCode.OK

    with WarmLinter() as linter:  # forked first, so cfn-lint loads while everything else imports and compiles
        from .build import build

        result = build(args.file, out_dir, linter, check=args.check, use_cache=not args.no_cache)
    terminal.print_diagnostics(result.warnings + result.update_warnings)
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
    buildcache.store(build_key, out_dir, result.files, [str(w) for w in sorted(result.warnings)], result.stacks)
    written = [] if args.check else [name for name in result.changed if name in result.files]
    removed = [] if args.check else [name for name in result.changed if name not in result.files]
    for name in written:
        print(f"wrote {out_dir / name}")
    for name in removed:
        print(f"removed {out_dir / name}")
    print(_summary(out_dir, result.stacks, len(result.warnings), written, removed, started))
    return ExitCode.OK


def _summary(out_dir: Path, stacks: int, warnings: int, written: list[str], removed: list[str],
             started: float) -> str:
    """The closing line: "4 stacks, 1 warning: 3 files written, 1 removed in 0.61 s" or "... is up to date"."""
    counts = f"{terminal.plural(stacks, 'stack')}, {terminal.plural(warnings, 'warning')}"
    seconds = time.perf_counter() - started
    if not written and not removed:
        return f"{out_dir}/ is up to date: {counts} ({seconds:.2f} s)"
    if written and removed:
        changes = f"{terminal.plural(len(written), 'file')} written, {len(removed)} removed"
    else:
        changes = f"{terminal.plural(len(written or removed), 'file')} {'written' if written else 'removed'}"
    done = terminal.paint(changes, terminal.BOLD, terminal.GREEN, stream=sys.stdout)
    return f"{counts}: {done} in {seconds:.2f} s"


def _validate(args: argparse.Namespace) -> int:
    from .validation import load_config

    config = load_config(args.file)
    terminal.print_diagnostics(config.warnings)
    print(f"{args.file}: {len(config.deployments)} deployment(s), {len(config.repositories)} image repositor"
          f"{'y' if len(config.repositories) == 1 else 'ies'}: valid")
    return ExitCode.OK


def _cost(args: argparse.Namespace) -> int:
    from .cost import CostError, Traffic, report

    if args.requests < 0 or args.response_kb <= 0 or not 0 <= args.busy_hours_per_month <= 730:
        print("error: --requests must be >= 0, --response-kb > 0 and --busy-hours-per-month 0 to 730",
              file=sys.stderr)
        return ExitCode.USAGE
    try:
        print(report(args.file, args.deployment, Traffic(requests=args.requests, response_kb=args.response_kb,
                                                         busy_hours=args.busy_hours_per_month)))
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
