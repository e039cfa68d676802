"""A VPC with public subnets (no NAT gateway) and the security group of the tasks.

Region-independent: availability zones come from Fn::GetAZs, IPv6 blocks from Amazon's pool.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import Cidr, GetAtt, GetAZs, Ref, Select, Template, ec2

from .. import naming
from . import server

VPC_CIDR = "10.0.0.0/16"
SUBNET_CIDRS = ("10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24")
PRIVATE_SUBNET_CIDRS = ("10.0.16.0/24", "10.0.17.0/24")
HTTPS = 443


@dataclass(frozen=True)
class Network:
    vpc: ec2.VPC
    subnets: list[ec2.Subnet]
    cidr: str = VPC_CIDR
    # What anything with a public address needs before it starts (a DependsOn list): the gateway attached, the
    # public default routes and each public subnet's association with their table. CloudFormation does not see
    # that dependency through references, and a load balancer or task created before it fails or has no egress.
    internet_path: tuple[str, ...] = ()


def public_vpc(t: Template, az_count: int = 2, ipv6: bool = False) -> Network:
    """Subnets routed to an internet gateway; with ipv6, each also gets a /64 so a dual-stack ALB can use it."""
    vpc = t.add_resource(ec2.VPC(naming.VPC, CidrBlock=VPC_CIDR, EnableDnsSupport=True, EnableDnsHostnames=True))
    ipv6_block = t.add_resource(ec2.VPCCidrBlock(
        naming.VPC_IPV6_BLOCK, VpcId=Ref(vpc), AmazonProvidedIpv6CidrBlock=True)) if ipv6 else None
    gateway = t.add_resource(ec2.InternetGateway(naming.INTERNET_GATEWAY))
    attachment = t.add_resource(ec2.VPCGatewayAttachment(
        naming.GATEWAY_ATTACHMENT, VpcId=Ref(vpc), InternetGatewayId=Ref(gateway)))
    routes = t.add_resource(ec2.RouteTable(naming.PUBLIC_ROUTE_TABLE, VpcId=Ref(vpc)))
    t.add_resource(ec2.Route(naming.PUBLIC_ROUTE, RouteTableId=Ref(routes), DestinationCidrBlock="0.0.0.0/0",
                             GatewayId=Ref(gateway), DependsOn=[attachment.title]))
    if ipv6_block is not None:
        t.add_resource(ec2.Route(naming.PUBLIC_ROUTE_IPV6, RouteTableId=Ref(routes), DestinationIpv6CidrBlock="::/0",
                                 GatewayId=Ref(gateway), DependsOn=[attachment.title]))
    subnets = [_public_subnet(t, vpc, index, az_count, ipv6_block) for index in range(az_count)]
    associations = [t.add_resource(ec2.SubnetRouteTableAssociation(
        naming.public_subnet_route_association(index), SubnetId=Ref(subnet), RouteTableId=Ref(routes)))
        for index, subnet in enumerate(subnets)]
    public_routes = [naming.PUBLIC_ROUTE] + ([naming.PUBLIC_ROUTE_IPV6] if ipv6_block is not None else [])
    return Network(vpc=vpc, subnets=subnets, internet_path=(
        attachment.title, *public_routes, *(association.title for association in associations)))


def _public_subnet(t: Template, vpc: ec2.VPC, index: int, count: int,
                   ipv6_block: ec2.VPCCidrBlock | None) -> ec2.Subnet:
    # Tasks get their public IPv4 from ECS (AssignPublicIp), so nothing else launched here gets one.
    subnet = ec2.Subnet(naming.public_subnet(index), VpcId=Ref(vpc), CidrBlock=SUBNET_CIDRS[index],
                        AvailabilityZone=Select(index, GetAZs("")), MapPublicIpOnLaunch=False)
    if ipv6_block is not None:
        vpc_ipv6 = Select(0, GetAtt(vpc, "Ipv6CidrBlocks"))
        subnet.Ipv6CidrBlock = Select(index, Cidr(vpc_ipv6, count, 64))
        subnet.DependsOn = [ipv6_block.title]
    return t.add_resource(subnet)


def private_subnets(t: Template, network: Network, nat_interface: ec2.NetworkInterface,
                    count: int = 1) -> list[ec2.Subnet]:
    """Subnets without internet gateway: their default route targets the NAT's static network interface
    (not an instance ID, which breaks once the instance has two interfaces). The first shares the zone of the
    first public subnet, where the NAT runs, so task traffic to it crosses no zone boundary."""
    routes = t.add_resource(ec2.RouteTable(naming.PRIVATE_ROUTE_TABLE, VpcId=Ref(network.vpc)))
    t.add_resource(ec2.Route(naming.PRIVATE_ROUTE, RouteTableId=Ref(routes), DestinationCidrBlock="0.0.0.0/0",
                             NetworkInterfaceId=Ref(nat_interface)))
    subnets = []
    for index in range(count):
        subnet = t.add_resource(ec2.Subnet(
            naming.private_subnet(index), VpcId=Ref(network.vpc), CidrBlock=PRIVATE_SUBNET_CIDRS[index],
            AvailabilityZone=Select(index, GetAZs("")), MapPublicIpOnLaunch=False))
        t.add_resource(ec2.SubnetRouteTableAssociation(
            naming.private_subnet_route_association(index), SubnetId=Ref(subnet), RouteTableId=Ref(routes)))
        subnets.append(subnet)
    return subnets


def task_security_group(t: Template, network: Network) -> ec2.SecurityGroup:
    """Tasks talk HTTPS out (ElevenLabs, ECR and its S3 layers, Secrets Manager, CloudWatch Logs); ingress is the
    front door's. DNS needs no rule: security groups do not filter traffic to the VPC's Route 53 Resolver."""
    return t.add_resource(ec2.SecurityGroup(
        naming.TASK_SECURITY_GROUP,
        GroupDescription="MCP server tasks",
        VpcId=Ref(network.vpc),
        SecurityGroupEgress=[ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=HTTPS, ToPort=HTTPS, CidrIp="0.0.0.0/0",
            Description="HTTPS to ElevenLabs and AWS APIs")],
    ))


def to_tasks(tasks: ec2.SecurityGroup, description: str) -> ec2.SecurityGroupRule:
    """A front door's egress rule: the tasks' server port."""
    return ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=server.PORT, ToPort=server.PORT,
                                 DestinationSecurityGroupId=GetAtt(tasks, "GroupId"), Description=description)


def admit_to_tasks(t: Template, logical_id: str, tasks: ec2.SecurityGroup, source: ec2.SecurityGroup,
                   description: str) -> ec2.SecurityGroupIngress:
    """The tasks admit `source` on their server port. A separate resource: inline, each group would reference
    the other (a circular dependency)."""
    return t.add_resource(ec2.SecurityGroupIngress(
        logical_id, GroupId=GetAtt(tasks, "GroupId"), SourceSecurityGroupId=GetAtt(source, "GroupId"),
        IpProtocol="tcp", FromPort=server.PORT, ToPort=server.PORT, Description=description))
