"""botocore's exceptions as one-line messages and exit codes: the one place commands that call AWS turn them into
`CommandError`s (exit 7, AWS_ERROR; a stack that does not exist is exit 6, UNKNOWN_NAME).

Use it around a command's AWS calls:

    try:
        ...
    except (BotoCoreError, ClientError) as exc:
        raise aws_errors.command_error(exc, region) from None
"""

from __future__ import annotations

from .diagnostics import CommandError, ExitCode

CREDENTIALS_HOW = ("configure them as for the AWS CLI: `aws configure`, AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                   "AWS_SECRET_ACCESS_KEY")
REFUSED_CREDENTIALS = {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException",
                       "SignatureDoesNotMatch", "InvalidSignatureException", "AuthFailure"}


def command_error(exc: Exception, region: str | None = None) -> CommandError:
    from botocore import exceptions

    if isinstance(exc, exceptions.NoRegionError):
        return CommandError("no AWS region: pass --region, or set AWS_REGION (or a region in ~/.aws/config)",
                            ExitCode.AWS_ERROR)
    if isinstance(exc, (exceptions.NoCredentialsError, exceptions.PartialCredentialsError)):
        return CommandError(f"no AWS credentials: {CREDENTIALS_HOW}", ExitCode.AWS_ERROR)
    if isinstance(exc, exceptions.ProfileNotFound):
        return CommandError(f"{exc}: check AWS_PROFILE and ~/.aws/config", ExitCode.AWS_ERROR)
    if isinstance(exc, exceptions.EndpointConnectionError):
        return CommandError(f"cannot reach AWS: {exc}", ExitCode.AWS_ERROR)
    if isinstance(exc, exceptions.ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "?"), error.get("Message", str(exc))
        if code in REFUSED_CREDENTIALS:
            return CommandError(f"AWS refused the credentials ({code}: {message}); {CREDENTIALS_HOW}",
                                ExitCode.AWS_ERROR)
        if code == "ValidationError" and "does not exist" in message:  # CloudFormation's answer for a stack
            where = f" in {region}" if region else ""
            return CommandError(f"{message}{where}", ExitCode.UNKNOWN_NAME)
        if "AccessDenied" in code or code == "UnauthorizedOperation":
            return CommandError(f"access denied: {message}", ExitCode.AWS_ERROR)
        return CommandError(f"AWS: {code}: {message}", ExitCode.AWS_ERROR)
    return CommandError(f"AWS: {exc}", ExitCode.AWS_ERROR)
