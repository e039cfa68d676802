"""E9003: a NAT instance's security groups let the translated replies back into the VPC.

Security groups are stateful per network interface. On a NAT instance with a second, static interface (the
private route table's target, so the route survives the instance being replaced), a task's request arrives on
one interface and, once translated, the reply to the task leaves through the primary interface, which never saw
the connection start: to that interface's group the reply is new outbound traffic to the task's ephemeral port.
A group that allows only, say, TCP 443 out drops it and the task's calls time out. So the groups of the NAT's
primary interface must allow egress of all TCP (at least ports 1024-65535, the ephemeral range) to the VPC:
its CIDR (or a wider one), or a security group. A group without any egress rule allows everything out.

A NAT instance here is an EC2 instance or an Auto Scaling group's launch template whose primary interface has a
public IP, in a template that routes 0.0.0.0/0 to an instance or a network interface; and any instance a route
targets. Its groups are those of its primary interface (or the instance's/launch template's security groups).
"""

from __future__ import annotations

import ipaddress

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from ._template import as_list, properties, referenced, resources

EPHEMERAL = (1024, 65535)


class NatAdmitsReturnPath(CloudFormationLintRule):
    id = "E9003"
    shortdesc = "A NAT instance's security group allows the replies back to the VPC"
    description = __doc__.split("\n\n", 1)[1]
    source_url = "https://docs.aws.amazon.com/vpc/latest/userguide/work-with-nat-instances.html"
    tags = ["mcpdeploy", "networking"]

    def match(self, cfn) -> list[RuleMatch]:
        routes = [properties(r) for _, r in resources(cfn, "AWS::EC2::Route")
                  if properties(r).get("DestinationCidrBlock") == "0.0.0.0/0"]
        routed_instances = {referenced(r.get("InstanceId")) for r in routes} - {None}
        if not routed_instances and not any(r.get("NetworkInterfaceId") for r in routes):
            return []
        vpc_cidrs = [p.get("CidrBlock") for p in map(properties, dict(resources(cfn, "AWS::EC2::VPC")).values())]
        matches = []
        for name, groups in _nat_hosts(cfn, routed_instances):
            for group in sorted(groups):
                if not _admits_return_path(cfn, group, vpc_cidrs):
                    matches.append(RuleMatch(
                        ["Resources", group], f"{group} is the security group of NAT instance {name} but allows no "
                        f"TCP {EPHEMERAL[0]}-{EPHEMERAL[1]} egress to the VPC: the translated replies leave through "
                        "the primary interface, which never saw the connection start, and are dropped (allow all TCP "
                        "to the VPC CIDR)"))
        return matches


def _nat_hosts(cfn, routed_instances: set[str]):
    """(name, logical ids of the primary interface's security groups) of every NAT instance or NAT group."""
    templates = {name: properties(r).get("LaunchTemplateData") or {}
                 for name, r in resources(cfn, "AWS::EC2::LaunchTemplate")}
    for name, resource in resources(cfn, "AWS::AutoScaling::AutoScalingGroup"):
        template = referenced((properties(resource).get("LaunchTemplate") or {}).get("LaunchTemplateId"))
        data = templates.get(template) or {}
        primary = _primary(data.get("NetworkInterfaces"))
        if primary.get("AssociatePublicIpAddress") in (True, "true"):
            yield name, _groups(primary.get("Groups")) or _groups(data.get("SecurityGroupIds"))
    for name, resource in resources(cfn, "AWS::EC2::Instance"):
        props = properties(resource)
        primary = _primary(props.get("NetworkInterfaces"))
        if name in routed_instances or primary.get("AssociatePublicIpAddress") in (True, "true"):
            yield name, _groups(primary.get("GroupSet")) or _groups(props.get("SecurityGroupIds"))


def _primary(interfaces) -> dict:
    for interface in as_list(interfaces or []):
        if isinstance(interface, dict) and str(interface.get("DeviceIndex", 0)) == "0":
            return interface
    return {}


def _groups(value) -> set[str]:
    return {referenced(item) for item in as_list(value or [])} - {None}


def _admits_return_path(cfn, group: str, vpc_cidrs: list) -> bool:
    resource = (cfn.template.get("Resources") or {}).get(group) or {}
    if resource.get("Type") != "AWS::EC2::SecurityGroup":
        return True  # a group from outside the template: nothing to check here
    inline = properties(resource).get("SecurityGroupEgress")
    separate = [properties(r) for _, r in resources(cfn, "AWS::EC2::SecurityGroupEgress")
                if referenced(properties(r).get("GroupId")) == group]
    if inline is None and not separate:
        return True  # no egress rule at all: AWS adds allow-all
    return any(_covers(rule, vpc_cidrs) for rule in [*as_list(inline or []), *separate] if isinstance(rule, dict))


def _covers(rule: dict, vpc_cidrs: list) -> bool:
    protocol = str(rule.get("IpProtocol"))
    if protocol not in ("-1", "tcp", "6"):
        return False
    if protocol in ("tcp", "6"):
        try:
            if int(rule.get("FromPort")) > EPHEMERAL[0] or int(rule.get("ToPort")) < EPHEMERAL[1]:
                return False
        except (TypeError, ValueError):
            return False
    if rule.get("DestinationSecurityGroupId"):
        return True
    cidr = rule.get("CidrIp")
    if isinstance(cidr, dict):  # {"Fn::GetAtt": [Vpc, CidrBlock]}
        getatt = cidr.get("Fn::GetAtt")
        return isinstance(getatt, list) and len(getatt) == 2 and getatt[1] == "CidrBlock"
    if not isinstance(cidr, str):
        return False
    try:
        network = ipaddress.ip_network(cidr, strict=False)
        return all(isinstance(v, str) and ipaddress.ip_network(v, strict=False).subnet_of(network) for v in vpc_cidrs)
    except (ValueError, TypeError):
        return False
