"""What the deploy smoke test has to change for moto 5.2.5, each change named so the test can report it.

moto evaluates CloudFormation itself, and misses a few things real CloudFormation does. Only those are
rewritten, in a copy of the template; the generated file is never touched:

- `Fn::ImportValue`: a stack created through a change set (`aws cloudformation deploy`) never sees the
  exports of other stacks in moto, so imports are replaced by the values `list-exports` reports (which also
  proves that every import names a real export of the stacks deployed before).
- ACM certificate ARNs: moto refuses an HTTPS listener whose certificate it does not hold, so the ARN from
  deployment.yaml is replaced by a self-signed certificate imported into moto's ACM.
- `Fn::GetAtt [<VPC>, Ipv6CidrBlocks]` and `Fn::Cidr`: moto implements neither (nor AWS::EC2::VPCCidrBlock),
  so the VPC's IPv6 block becomes a documentation prefix and `Fn::Cidr` is computed here.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

DOCUMENTATION_IPV6_BLOCK = "2001:db8:1234:1a00::/56"  # RFC 3849

# Resource types moto 5.2.5 reports CREATE_COMPLETE for without creating anything (REFERENCE.md, and seen
# here: SNS subscriptions, VPC CIDR blocks, cluster capacity provider associations, the API Gateway account,
# S3 bucket policies).
SKIPPED_BY_MOTO = frozenset({
    "AWS::ApplicationAutoScaling::ScalableTarget", "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::Scheduler::Schedule", "AWS::Scheduler::ScheduleGroup",
    "AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Authorizer", "AWS::ApiGatewayV2::Deployment",
    "AWS::ApiGatewayV2::Integration", "AWS::ApiGatewayV2::IntegrationResponse", "AWS::ApiGatewayV2::Route",
    "AWS::ApiGatewayV2::RouteResponse", "AWS::ApiGatewayV2::Stage", "AWS::ApiGatewayV2::VpcLink",
    "AWS::ServiceDiscovery::PrivateDnsNamespace", "AWS::ServiceDiscovery::Service",
    "AWS::SecretsManager::Secret", "AWS::CloudFront::Distribution", "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudWatch::Alarm", "AWS::Budgets::Budget", "AWS::WAFv2::WebACL", "AWS::EC2::VPCCidrBlock",
    "AWS::ECS::ClusterCapacityProviderAssociations", "AWS::SNS::Subscription", "AWS::ApiGateway::Account",
    "AWS::S3::BucketPolicy",
})


@dataclass
class Rewrite:
    """The template moto can deploy, and what was changed to get it (for the test report)."""

    template: dict
    changes: list[str] = field(default_factory=list)


def for_moto(template: dict, exports: dict[str, str] | None, certificate_arn: str) -> Rewrite:
    """The rewritten copy; `exports=None` leaves Fn::ImportValue for moto to resolve (tests/ops' change sets)."""
    rewrite = Rewrite(template={})
    rewrite.template = _rewrite(template, exports, certificate_arn, rewrite.changes)
    return rewrite


def _rewrite(node, exports: dict[str, str], certificate_arn: str, changes: list[str]):
    if isinstance(node, list):
        return [_rewrite(item, exports, certificate_arn, changes) for item in node]
    if isinstance(node, str) and node.startswith("arn:aws:acm:"):
        changes.append(f"certificate {node} -> self-signed certificate imported into moto's ACM")
        return certificate_arn
    if not isinstance(node, dict):
        return node
    if set(node) == {"Fn::ImportValue"} and isinstance(node["Fn::ImportValue"], str) and exports is not None:
        name = node["Fn::ImportValue"]
        assert name in exports, f"Fn::ImportValue {name!r}: no stack deployed before exports it"
        changes.append(f"Fn::ImportValue {name} -> {exports[name]}")
        return exports[name]
    if set(node) == {"Fn::GetAtt"} and node["Fn::GetAtt"][1:] == ["Ipv6CidrBlocks"]:
        changes.append(f"Fn::GetAtt {node['Fn::GetAtt'][0]}.Ipv6CidrBlocks -> [{DOCUMENTATION_IPV6_BLOCK}]")
        return [DOCUMENTATION_IPV6_BLOCK]
    if set(node) == {"Fn::Cidr"}:
        block, count, bits = (_rewrite(arg, exports, certificate_arn, changes) for arg in node["Fn::Cidr"])
        changes.append("Fn::Cidr computed by the test")
        return _cidr(_select(block), int(count), int(bits))
    return {key: _rewrite(value, exports, certificate_arn, changes) for key, value in node.items()}


def _select(value):
    """Resolve an Fn::Select over a list the rewrite already made literal."""
    if isinstance(value, dict) and set(value) == {"Fn::Select"}:
        index, items = value["Fn::Select"]
        return items[int(index)]
    return value


def _cidr(block: str, count: int, host_bits: int) -> list[str]:
    network = ipaddress.ip_network(block)
    subnets = network.subnets(new_prefix=network.max_prefixlen - host_bits)
    return [str(subnet) for _, subnet in zip(range(count), subnets)]


def self_signed_certificate(directory: Path, domain: str) -> tuple[Path, Path]:
    """A throw-away certificate and key (PEM files) for moto's `acm import-certificate`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "certificate.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
