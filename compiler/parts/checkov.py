"""Why each finding of checkov (the security scanner users run on templates) is accepted: one table, keyed by
check id, written into the Metadata of every resource it applies to (`checkov: {skip: [{id, comment}]}`), so a
scan of any generated template shows 0 failed checks and every skipped one says its trade-off in one line.

A skip applies to the resource types listed and, when it has one, only where `when(logical_id, resource)` holds
(a choice the user made, such as `immutableTags: false`, is explained only where it was made). A check not
listed here that fails is a finding to fix; tests/test_checkov.py runs checkov over every template.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .. import naming

KMS_KEY = "encrypted at rest with an AWS key; a KMS key ($1/month each) would dominate a $5 deployment"


@dataclass(frozen=True)
class Skip:
    check: str
    types: tuple[str, ...]
    comment: str
    when: Callable[[str, dict], bool] = lambda name, resource: True


def _props(resource: dict) -> dict:
    return resource.get("Properties") or {}


def _plain_http(_, resource) -> bool:
    return _props(resource).get("Protocol") == "HTTP"


def _open_port_80(_, resource) -> bool:
    return any(rule.get("CidrIp") == "0.0.0.0/0" and rule.get("FromPort", 0) <= 80 <= rule.get("ToPort", 65535)
               for rule in _props(resource).get("SecurityGroupIngress") or [])


def _lambda_vpc_access(_, resource) -> bool:
    return "ec2:CreateNetworkInterface" in str(_props(resource).get("Policies"))


def _public_launch_template(_, resource) -> bool:
    interfaces = (_props(resource).get("LaunchTemplateData") or {}).get("NetworkInterfaces") or []
    return any(i.get("AssociatePublicIpAddress") is True for i in interfaces)


LAMBDA, LOG_GROUP, BUCKET = "AWS::Lambda::Function", "AWS::Logs::LogGroup", "AWS::S3::Bucket"
DISTRIBUTION, REPOSITORY, TABLE = "AWS::CloudFront::Distribution", "AWS::ECR::Repository", "AWS::DynamoDB::Table"

SKIPS = (
    # Encryption with a customer managed key: everything here is encrypted at rest already.
    Skip("CKV_AWS_119", (TABLE,), KMS_KEY),
    Skip("CKV_AWS_136", (REPOSITORY,), KMS_KEY),
    Skip("CKV_AWS_149", ("AWS::SecretsManager::Secret",), KMS_KEY),
    Skip("CKV_AWS_158", (LOG_GROUP,), KMS_KEY),
    Skip("CKV_AWS_173", (LAMBDA,), "no secret in the environment (rule E9002); encrypted at rest with an AWS key"),
    Skip("CKV_AWS_26", ("AWS::SNS::Topic",), "alarm notifications carry no secret; CloudWatch alarms cannot publish "
         "to a topic under the AWS managed SNS key, and a KMS key costs $1/month"),
    # Logging and monitoring that would cost more than the deployment.
    Skip("CKV_AWS_65", ("AWS::ECS::Cluster",), "Container Insights bills per-task metrics, dollars a month; the "
         "service's own logs and the alarms cover a one-task service"),
    Skip("CKV_AWS_91", ("AWS::ElasticLoadBalancingV2::LoadBalancer",), "the server logs every request to "
         "CloudWatch; ALB access logs need a bucket and a policy for the ELB account"),
    Skip("CKV_AWS_86", (DISTRIBUTION,), "a static two-file page; the auth API logs every sign-up attempt"),
    Skip("CKV_AWS_18", (BUCKET,), "disposable contents, read only through CloudFront or presigned URLs; access logs "
         "would need another bucket"),
    Skip("CKV_AWS_21", (BUCKET,), "disposable contents (a regenerated page, one-day outputs): versions would only "
         "keep deleted objects and stop the bucket emptying on delete"),
    Skip("CKV_AWS_68", (DISTRIBUTION,), "a web ACL costs $5/month plus rules; the page is static and the API it "
         "calls limits sign-ups per address"),
    # Lambda settings that do not fit synchronous, small functions.
    Skip("CKV_AWS_116", (LAMBDA,), "invoked synchronously only (API Gateway, Function URL, CloudFormation); a DLQ "
         "serves async invocations", when=lambda name, _: name != naming.ON_DEMAND_FUNCTION),
    Skip("CKV_AWS_116", (LAMBDA,), "a lost wake or idle check is redone by the next connection or check",
         when=lambda name, _: name == naming.ON_DEMAND_FUNCTION),
    Skip("CKV_AWS_115", (LAMBDA,), "reserved concurrency is taken from the account's pool (10 on new accounts); "
         "API Gateway throttling caps calls",
         when=lambda _, r: "ReservedConcurrentExecutions" not in _props(r)),
    Skip("CKV_AWS_117", (LAMBDA,), "calls only AWS APIs; inside the VPC it would need a NAT or endpoints (about "
         "$7/month each)", when=lambda _, r: "VpcConfig" not in _props(r)),
    Skip("CKV_AWS_258", ("AWS::Lambda::Url",), "the auth page's public sign-up API: a browser cannot sign IAM "
         "requests; it checks a sign-up code, the ElevenLabs key and a per-address limit itself",
         when=lambda _, r: _props(r).get("AuthType") == "NONE"),
    Skip("CKV_AWS_111", ("AWS::IAM::Role",), "Lambda's VPC network-interface actions, on * as AWS documents them "
         "(AWSLambdaVPCAccessExecutionRole); see rule E9005", when=_lambda_vpc_access),
    # Front doors.
    Skip("CKV_AWS_2", ("AWS::ElasticLoadBalancingV2::Listener",), "port 80 redirects to HTTPS, or serves plain HTTP "
         "only with alb.allowPlainHttp: true, which the build warns about", when=_plain_http),
    Skip("CKV_AWS_103", ("AWS::ElasticLoadBalancingV2::Listener",), "a plain HTTP listener has no TLS policy: it "
         "redirects to HTTPS (or alb.allowPlainHttp: true, warned about)", when=_plain_http),
    Skip("CKV_AWS_260", ("AWS::EC2::SecurityGroup",), "port 80 open for the redirect to HTTPS (or "
         "allowPlainHttp); auth.allowedCidrs narrows it", when=_open_port_80),
    Skip("CKV_AWS_174", (DISTRIBUTION,), "the *.cloudfront.net certificate, whose TLS floor CloudFront fixes; "
         "a custom domain would allow TLSv1.2_2021",
         when=lambda _, r: ((_props(r).get("DistributionConfig") or {}).get("ViewerCertificate") or {
             "CloudFrontDefaultCertificate": True}).get("CloudFrontDefaultCertificate") is True),
    Skip("CKV_AWS_88", ("AWS::EC2::LaunchTemplate",), "the NAT instance: its public IP is the tasks' way out",
         when=_public_launch_template),
    # Choices the user made in deployment.yaml.
    Skip("CKV_AWS_51", (REPOSITORY,), "spec.immutableTags: false: a pushed tag can be replaced (set it to true to "
         "refuse)", when=lambda _, r: _props(r).get("ImageTagMutability") != "IMMUTABLE"),
    Skip("CKV_AWS_163", (REPOSITORY,), "spec.scanOnPush: false in deployment.yaml",
         when=lambda _, r: (_props(r).get("ImageScanningConfiguration") or {}).get("ScanOnPush") is not True),
    Skip("CKV_AWS_28", (TABLE,), "connection rows live as long as a WebSocket connection (2 h at most): "
         "nothing to recover (the tokens table has point-in-time recovery)",
         when=lambda _, r: (_props(r).get("PointInTimeRecoverySpecification") or {}).get(
             "PointInTimeRecoveryEnabled") is not True),
)


def annotate(body: dict) -> dict:
    """Write each resource's applicable skips into its Metadata (in place; returns `body`)."""
    for name, resource in (body.get("Resources") or {}).items():
        skips = [{"id": s.check, "comment": s.comment} for s in SKIPS
                 if resource.get("Type") in s.types and s.when(name, resource)]
        if skips:
            resource.setdefault("Metadata", {})["checkov"] = {"skip": skips}
    return body
