"""The static site of a `websocket` deployment's auth page: a private S3 bucket that only CloudFront reads (origin
access control), behind a distribution serving it over HTTPS with the managed security headers.

The bucket holds two objects the auth function writes at deploy time (index.html and config.json); nothing in
it is secret, so CloudFront serves it to anyone. allowedCidrs is enforced by the auth API, not here.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, Ref, Sub, Template, cloudfront, s3

from . import policies
from .output_bucket import private_bucket

SITE_BUCKET = "AuthPageBucket"
SITE_BUCKET_POLICY = "AuthPageBucketPolicy"
ORIGIN_ACCESS_CONTROL = "AuthPageOriginAccessControl"
DISTRIBUTION = "AuthPageDistribution"
ORIGIN_ID = "site"
MAX_NAME_PREFIX = 49  # + "-" + the longest region name (14) = the 64 an origin access control's name takes

# CloudFront's managed policies (the same IDs in every account).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"  # HSTS, nosniff, X-Frame-Options SAMEORIGIN, ...


@dataclass(frozen=True)
class StaticSite:
    bucket: s3.Bucket
    distribution: cloudfront.Distribution

    def origin(self) -> Sub:
        """https://<distribution domain>: what the browser sends as Origin, so what the API's CORS admits."""
        return Sub(f"https://${{{self.distribution.title}.DomainName}}")

    def url(self) -> Sub:
        return Sub(f"https://${{{self.distribution.title}.DomainName}}/")

    def publisher_access(self) -> dict:
        """What the function publishing the page needs: write and remove the bucket's objects, nothing else."""
        return policies.allow(["s3:PutObject", "s3:DeleteObject"], _objects(self.bucket))


def static_site(t: Template, deployment: str) -> StaticSite:
    bucket = t.add_resource(s3.Bucket(
        SITE_BUCKET,
        **private_bucket(),
        # The auth function removes the two objects when the stack is deleted, so the bucket goes empty.
        DeletionPolicy="Delete", UpdateReplacePolicy="Delete",
    ))
    access_control = t.add_resource(cloudfront.OriginAccessControl(
        ORIGIN_ACCESS_CONTROL,
        OriginAccessControlConfig=cloudfront.OriginAccessControlConfig(
            # Unique in the account (CloudFront is global), at most 64 characters: the stack's name and region.
            Name=Sub(f"{deployment[:MAX_NAME_PREFIX]}-${{AWS::Region}}"),
            OriginAccessControlOriginType="s3", SigningBehavior="always", SigningProtocol="sigv4"),
    ))
    distribution = t.add_resource(cloudfront.Distribution(
        DISTRIBUTION, DistributionConfig=_distribution_config(bucket, access_control)))
    cloudfront_reads = {
        "Sid": "CloudFrontReads", "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject", "Resource": _objects(bucket),
        "Condition": {"StringEquals": {"AWS:SourceArn": Sub(
            f"arn:${{AWS::Partition}}:cloudfront::${{AWS::AccountId}}:distribution/${{{distribution.title}}}")}}}
    t.add_resource(s3.BucketPolicy(SITE_BUCKET_POLICY, Bucket=Ref(bucket), PolicyDocument=policies.document(
        [cloudfront_reads, policies.tls_only(GetAtt(bucket, "Arn"), _objects(bucket))])))
    return StaticSite(bucket=bucket, distribution=distribution)


def _distribution_config(bucket: s3.Bucket,
                         access_control: cloudfront.OriginAccessControl) -> cloudfront.DistributionConfig:
    return cloudfront.DistributionConfig(
        Enabled=True, HttpVersion="http2and3", IPV6Enabled=True, PriceClass="PriceClass_100",
        DefaultRootObject="index.html",
        Origins=[cloudfront.Origin(
            Id=ORIGIN_ID, DomainName=GetAtt(bucket, "RegionalDomainName"),
            OriginAccessControlId=GetAtt(access_control, "Id"),
            S3OriginConfig=cloudfront.S3OriginConfig(OriginAccessIdentity=""))],  # "": OAC, not a legacy OAI
        # CachingOptimized follows the objects' Cache-Control within its 1 s minimum: the page is cached for its
        # max-age (5 minutes), config.json (no-cache) for a second. GET and HEAD only, the default.
        DefaultCacheBehavior=cloudfront.DefaultCacheBehavior(
            TargetOriginId=ORIGIN_ID, ViewerProtocolPolicy="redirect-to-https", Compress=True,
            CachePolicyId=CACHING_OPTIMIZED, ResponseHeadersPolicyId=SECURITY_HEADERS),
    )


def _objects(bucket: s3.Bucket) -> Sub:
    return Sub(f"${{{bucket.title}.Arn}}/*")
