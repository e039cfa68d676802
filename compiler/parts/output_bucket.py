"""The S3 bucket for audio too large for a WebSocket message: private, encrypted, TLS only, emptied daily, and
emptied when the stack is deleted (its objects are disposable; CloudFormation refuses to delete a bucket that
still holds some).

The server uploads the audio and returns a presigned link (MCP_OUTPUT_BUCKET); links live minutes, objects a day.
"""

from __future__ import annotations

from troposphere import GetAtt, Ref, Sub, Template, cloudformation, s3

from .. import naming
from ..model import Logs
from . import lambdas, lifecycle, policies

EXPIRY_DAYS = 1
EMPTY_TIMEOUT_SECONDS = 60  # a day of audio at most: a few thousand objects, deleted 1,000 per call


def private_bucket() -> dict:
    """Bucket properties every bucket here shares: encrypted, never public, no ACLs."""
    return dict(
        BucketEncryption=s3.BucketEncryption(ServerSideEncryptionConfiguration=[s3.ServerSideEncryptionRule(
            ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256"))]),
        PublicAccessBlockConfiguration=s3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True),
        OwnershipControls=s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(
            ObjectOwnership="BucketOwnerEnforced")]),
    )


def bucket(t: Template) -> s3.Bucket:
    bucket_ = t.add_resource(s3.Bucket(
        naming.OUTPUT_BUCKET,
        **private_bucket(),
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=[s3.LifecycleRule(
            Id="expire-audio", Status="Enabled", ExpirationInDays=EXPIRY_DAYS,
            AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=1))]),
        # Emptied first on stack deletion (emptied_on_delete): the audio is disposable.
        DeletionPolicy="Delete", UpdateReplacePolicy="Delete",
    ))
    t.add_resource(s3.BucketPolicy(naming.OUTPUT_BUCKET_POLICY, Bucket=Ref(bucket_), PolicyDocument=policies.document(
        [policies.tls_only(GetAtt(bucket_, "Arn"), _objects(bucket_))])))
    return bucket_


class EmptyBucket(cloudformation.CustomResource):
    resource_type = "Custom::EmptyBucket"
    props = {**cloudformation.CustomResource.props, "Bucket": (str, True)}


def emptied_on_delete(t: Template, deployment: str, bucket_: s3.Bucket, logs: Logs) -> EmptyBucket:
    """A custom resource whose deletion empties the bucket (server/websocket/empty_bucket.py). Whatever writes to
    the bucket must depend on it, so that on deletion the writers are gone before it empties the bucket, and the
    bucket (which it references) is deleted after it."""
    log_group = lambdas.log_group(t, naming.OUTPUT_BUCKET_EMPTIER + "Logs",
                                  naming.websocket_log_group_name(deployment, "empty-bucket"), logs)
    role = lambdas.role(t, naming.OUTPUT_BUCKET_EMPTIER + "Role", log_group, [
        policies.allow("s3:ListBucket", GetAtt(bucket_, "Arn")),
        policies.allow("s3:DeleteObject", _objects(bucket_))])
    function = lambdas.function(t, lambdas.InlineFunction(
        naming.OUTPUT_BUCKET_EMPTIER + "Function", "websocket/empty_bucket.py",
        "Empties the audio bucket when the stack is deleted", environment={},
        timeout_seconds=EMPTY_TIMEOUT_SECONDS, memory_mb=128), role=role, log_group=log_group)
    return t.add_resource(EmptyBucket(naming.OUTPUT_BUCKET_EMPTIER, ServiceToken=GetAtt(function, "Arn"),
                                      ServiceTimeout=EMPTY_TIMEOUT_SECONDS + 30, Bucket=Ref(bucket_),
                                      Metadata=lifecycle.empties_on_delete(bucket_.title)))


def server_access(bucket_: s3.Bucket) -> dict:
    """Write the audio and read it back (a presigned GET is signed with the task role's own permission)."""
    return policies.allow(["s3:PutObject", "s3:GetObject"], _objects(bucket_))


def _objects(bucket_: s3.Bucket) -> Sub:
    return Sub(f"${{{bucket_.title}.Arn}}/*")
