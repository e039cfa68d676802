"""E9001: what reaches the internet from the moment it is created waits for the internet gateway.

CloudFormation creates resources in parallel unless one refers to another. AWS's DependsOn documentation
("When a DependsOn attribute is required") names the resources that must declare a dependency on the VPC's
gateway attachment: internet-facing load balancers, Auto Scaling groups and EC2 instances with public IPs, among
others. Without it, `CreateLoadBalancer` intermittently fails with "VPC ... has no internet gateway", and an
instance or Fargate task with a public IP boots before it has a route out: a NAT instance cannot signal its
CreationPolicy, a task cannot pull its image from ECR.

Checked, when the template creates a VPCGatewayAttachment with an internet gateway:
- an Elastic Load Balancing load balancer whose Scheme is not `internal` depends on the attachment;
- an ECS service with `AssignPublicIp: ENABLED`, an Auto Scaling group whose launch template gives the primary
  interface a public IP, and an EC2 instance with a public IP also depend on a public default route (0.0.0.0/0
  to the internet gateway) and, for a service, on the route table association of every subnet it runs in.
Dependencies count transitively, through DependsOn, Ref, Fn::GetAtt and Fn::Sub.
"""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from ._template import as_list, dependencies, properties, referenced, resources

LOAD_BALANCERS = ("AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::ElasticLoadBalancing::LoadBalancer")
GATEWAY_ATTACHMENT = "AWS::EC2::VPCGatewayAttachment"


class PublicResourcesWaitForTheGateway(CloudFormationLintRule):
    id = "E9001"
    shortdesc = "Internet-facing resources depend on the gateway attachment and the public route"
    description = __doc__.split("\n\n", 1)[1]
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html"
    tags = ["mcpdeploy", "networking"]

    def match(self, cfn) -> list[RuleMatch]:
        attachments = {name for name, r in resources(cfn, GATEWAY_ATTACHMENT) if properties(r).get("InternetGatewayId")}
        if not attachments:
            return []
        gateways = {referenced(properties(r)["InternetGatewayId"]) for _, r in resources(cfn, GATEWAY_ATTACHMENT)
                    if properties(r).get("InternetGatewayId")}
        public_routes = {name for name, r in resources(cfn, "AWS::EC2::Route")
                         if properties(r).get("DestinationCidrBlock") == "0.0.0.0/0"
                         and referenced(properties(r).get("GatewayId")) in gateways}
        matches = []
        for name, resource in resources(cfn, *LOAD_BALANCERS):
            if properties(resource).get("Scheme", "internet-facing") != "internal":
                matches += self._require(cfn, name, "an internet-facing load balancer", attachments, set())
        for name, resource in self._public_ip_resources(cfn):
            associations = self._subnet_associations(cfn, resource)
            matches += self._require(cfn, name, "a resource with a public IP", attachments, public_routes, associations)
        return matches

    def _require(self, cfn, name: str, what: str, attachments: set[str], routes: set[str],
                 associations: set[str] = frozenset()) -> list[RuleMatch]:
        found = dependencies(cfn, name)
        missing = []
        if not found & attachments:
            missing.append(f"the internet gateway attachment ({', '.join(sorted(attachments))})")
        if routes and not found & routes:
            missing.append(f"the public default route ({', '.join(sorted(routes))})")
        if associations - found:
            missing.append(f"its subnets' route table associations ({', '.join(sorted(associations - found))})")
        if not missing:
            return []
        return [RuleMatch(["Resources", name], f"{name} is {what} but does not depend on " + " or ".join(missing)
                          + ": CloudFormation may create it first, and AWS refuses or strands it without a way "
                          "out (add DependsOn; see the DependsOn documentation, 'When a DependsOn attribute is "
                          "required')")]

    @staticmethod
    def _public_ip_resources(cfn):
        for name, resource in resources(cfn, "AWS::ECS::Service"):
            vpc = (properties(resource).get("NetworkConfiguration") or {}).get("AwsvpcConfiguration") or {}
            if vpc.get("AssignPublicIp") == "ENABLED":
                yield name, resource
        templates = {name: (properties(r).get("LaunchTemplateData") or {})
                     for name, r in resources(cfn, "AWS::EC2::LaunchTemplate")}
        for name, resource in resources(cfn, "AWS::AutoScaling::AutoScalingGroup"):
            launch = properties(resource).get("LaunchTemplate") or {}
            data = templates.get(referenced(launch.get("LaunchTemplateId")), {})
            if _public_primary_interface(data.get("NetworkInterfaces")):
                yield name, resource
        for name, resource in resources(cfn, "AWS::EC2::Instance"):
            if _public_primary_interface(properties(resource).get("NetworkInterfaces")):
                yield name, resource

    @staticmethod
    def _subnet_associations(cfn, resource: dict) -> set[str]:
        vpc = (properties(resource).get("NetworkConfiguration") or {}).get("AwsvpcConfiguration") or {}
        subnets = {referenced(s) for s in as_list(vpc.get("Subnets") or [])} - {None}
        return {name for name, r in resources(cfn, "AWS::EC2::SubnetRouteTableAssociation")
                if referenced(properties(r).get("SubnetId")) in subnets}


def _public_primary_interface(interfaces) -> bool:
    for interface in as_list(interfaces or []):
        if isinstance(interface, dict) and str(interface.get("DeviceIndex", 0)) == "0":
            return interface.get("AssociatePublicIpAddress") in (True, "true", "True")
    return False
