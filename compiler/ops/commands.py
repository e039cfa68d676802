"""The operating commands' arguments; each command's module (and boto3) is imported only when it runs."""

from __future__ import annotations

import argparse
import importlib
import sys


def add_parsers(commands) -> None:
    deploy = commands.add_parser("deploy", help="deploy stacks in dependency order: preview, confirm, follow")
    deploy.add_argument("names", nargs="*", metavar="NAME", help="stacks to deploy (default: all of the file; a "
                        "deployment brings its repository stack)")
    deploy.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _file_and_out(deploy, "deploy")

    status = commands.add_parser("status", help="a deployment's stack, tasks, schedule, NAT, health and cost")
    status.add_argument("names", nargs="*", metavar="NAME", help="deployments (default: all of the file)")
    status.add_argument("--no-probe", action="store_true", help="do not call the endpoint's /health")
    _file_and_out(status, "status")

    logs = commands.add_parser("logs", help="the server's logs merged with the relay, authorizer and NAT logs")
    logs.add_argument("name", metavar="NAME")
    logs.add_argument("--since", default="1h", help="how far back: 30m, 2h, 1d (default: %(default)s)")
    logs.add_argument("--follow", action="store_true", help="keep printing new lines until interrupted")
    _file_and_out(logs, "logs")

    wake = commands.add_parser("wake", help="run the deployment now, outside its schedule")
    wake.add_argument("name", metavar="NAME")
    wake.add_argument("--for", dest="duration", default="2h", help="how long before the schedule takes over "
                      "again: 30m, 2h (default: %(default)s)")
    _file_and_out(wake, "wake")

    sleep = commands.add_parser("sleep", help="stop the deployment's tasks and NAT instance now")
    sleep.add_argument("name", metavar="NAME")
    _file_and_out(sleep, "sleep")

    destroy = commands.add_parser("destroy", help="delete stacks (deployments before their repository), "
                                  "saying what data goes with them")
    destroy.add_argument("names", nargs="+", metavar="NAME")
    destroy.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _file_and_out(destroy, "destroy")


MODULES = {"deploy": "deploy", "status": "status", "logs": "logs", "wake": "schedule", "sleep": "schedule",
           "destroy": "destroy"}


def _file_and_out(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument("-f", "--file", default="deployment.yaml", help="the deployment file (default: %(default)s)")
    parser.add_argument("-o", "--out", default="generated", help="the generated folder (default: %(default)s)")
    parser.set_defaults(run=_runner(command))


def _runner(command: str):
    def run(args: argparse.Namespace) -> int:
        module = importlib.import_module(f"{__package__}.{MODULES[command]}")
        from ..diagnostics import ExitCode
        from .aws import AWS_PROBLEM, AwsProblem
        from .plan import PlanError, UnknownName

        try:
            return getattr(module, command if MODULES[command] == "schedule" else "run")(args)
        except PlanError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return ExitCode.UNKNOWN_NAME if isinstance(exc, UnknownName) else ExitCode.USAGE
        except AwsProblem as exc:
            print(f"error: AWS: {exc}", file=sys.stderr)
            return AWS_PROBLEM
    return run
