"""IAM policy documents as plain data: the one place that spells the policy language's version and the statement
shapes several parts share (an Allow, a service's trust, a bucket's TLS-only rule)."""

from __future__ import annotations

from collections.abc import Iterable

from troposphere import Ref

VERSION = "2012-10-17"


def document(statements: Iterable[dict]) -> dict:
    return {"Version": VERSION, "Statement": list(statements)}


def allow(actions: list[str] | str, resource) -> dict:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


def service_trust(service: str, *, same_account: bool = True) -> dict:
    """A role's trust policy for an AWS service; with `same_account`, only on behalf of this account (the
    aws:SourceAccount condition against the confused deputy)."""
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if same_account:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": Ref("AWS::AccountId")}}
    return document([statement])


def tls_only(*resources) -> dict:
    """A bucket policy statement refusing every request made without TLS."""
    return {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": list(resources),
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
