"""The S3 bucket for audio too large for a WebSocket message: private, encrypted, TLS only, emptied daily.

The server uploads the audio and returns a presigned link (MCP_OUTPUT_BUCKET); links live minutes, objects a day.
"""

from __future__ import annotations

from troposphere import GetAtt, Ref, Sub, Template, s3

from .. import naming
from . import policies

EXPIRY_DAYS = 1


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
        # Objects expire within a day; a bucket still holding some makes the stack deletion fail, not lose data.
        DeletionPolicy="Delete", UpdateReplacePolicy="Delete",
    ))
    t.add_resource(s3.BucketPolicy(naming.OUTPUT_BUCKET_POLICY, Bucket=Ref(bucket_), PolicyDocument=policies.document(
        [policies.tls_only(GetAtt(bucket_, "Arn"), _objects(bucket_))])))
    return bucket_


def server_access(bucket_: s3.Bucket) -> dict:
    """Write the audio and read it back (a presigned GET is signed with the task role's own permission)."""
    return policies.allow(["s3:PutObject", "s3:GetObject"], _objects(bucket_))


def _objects(bucket_: s3.Bucket) -> Sub:
    return Sub(f"${{{bucket_.title}.Arn}}/*")
