"""The one seam to AWS: boto3 clients made the way the AWS CLI makes them.

Credentials and region come from boto3's default chain, the AWS CLI's own rules (environment, `AWS_PROFILE`,
~/.aws/config and credentials, SSO, instance roles); a stack's region comes from deployment.yaml. An endpoint
override works as in the AWS CLI: `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_<SERVICE>`), which boto3 honours
itself; the tests point it at a local moto server.

Every AWS failure becomes `AwsProblem`, which the commands report in one line with exit code `AWS_PROBLEM`.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import cache

from ..diagnostics import ExitCode

AWS_PROBLEM = ExitCode.AWS_ERROR  # credentials, permissions, a service error, a refused preflight


class AwsProblem(Exception):
    """An AWS call failed, or AWS is not in the state a command needs; the message says what to do."""


@cache
def session(region: str | None = None):
    import boto3

    return boto3.session.Session(region_name=region)


def client(service: str, region: str | None = None):
    return _client(service, region)


@cache
def _client(service: str, region: str | None):
    from botocore.config import Config

    return session(region).client(service, config=Config(retries={"mode": "standard", "max_attempts": 5}))


def error_code(exc: Exception) -> str:
    """The AWS error code of a ClientError ('' for anything else)."""
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


@contextmanager
def reported(what: str):
    """Turn botocore's errors raised inside into `AwsProblem(what: message)`."""
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    try:
        yield
    except ClientError as exc:
        raise AwsProblem(f"{what}: {exc.response.get('Error', {}).get('Message') or exc}") from None
    except (BotoCoreError, ResponseParserError) as exc:
        raise AwsProblem(f"{what}: {exc}") from None
