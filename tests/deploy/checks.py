"""Per resource type: look the deployed resource up through its service API and compare it with the template.

Each check gets the resource's template properties with `Ref`s to other resources already replaced by their
physical IDs (`Stack.resolve`), and fails when the resource is missing or differs. Types without a check
here are reported as "created, not inspected"; types moto skips are reported as such (moto_compat).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import boto3

from tests.localaws import TEST_CREDENTIALS


@dataclass
class Stack:
    endpoint: str
    region: str
    template: dict          # the template as deployed (after moto_compat)
    physical: dict[str, str]  # logical ID -> physical ID, from list-stack-resources
    parameters: dict[str, str]

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])

    def resolve(self, value):
        """Ref / GetAtt X.GroupId|Arn|Name of this stack's resources -> physical IDs; parameters -> values."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if isinstance(value, dict):
            if set(value) == {"Ref"}:
                name = value["Ref"]
                return self.physical.get(name, self.parameters.get(name, value))
            if set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][1] in ("GroupId", "Arn", "Name"):
                return self.physical.get(value["Fn::GetAtt"][0], value)
            return {key: self.resolve(item) for key, item in value.items()}
        return value


Check = Callable[[Stack, str, dict], None]  # (stack, physical ID, resolved properties)


def _vpc(stack: Stack, vpc_id: str, props: dict) -> None:
    [vpc] = stack.client("ec2").describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    assert vpc["CidrBlock"] == props["CidrBlock"]


def _subnet(stack: Stack, subnet_id: str, props: dict) -> None:
    [subnet] = stack.client("ec2").describe_subnets(SubnetIds=[subnet_id])["Subnets"]
    assert (subnet["CidrBlock"], subnet["VpcId"]) == (props["CidrBlock"], props["VpcId"])


def _security_group(stack: Stack, group_id: str, props: dict) -> None:
    [group] = stack.client("ec2").describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    assert group["VpcId"] == props["VpcId"]
    expected = {(rule["IpProtocol"], rule.get("FromPort"), rule.get("ToPort"))
                for rule in props.get("SecurityGroupIngress", [])}
    actual = {(rule["IpProtocol"], rule.get("FromPort"), rule.get("ToPort")) for rule in group["IpPermissions"]}
    assert expected <= actual, f"ingress {expected - actual} missing"


def _ingress(stack: Stack, _physical: str, props: dict) -> None:
    [group] = stack.client("ec2").describe_security_groups(GroupIds=[props["GroupId"]])["SecurityGroups"]
    sources = {(rule["FromPort"], pair["GroupId"]) for rule in group["IpPermissions"]
               for pair in rule.get("UserIdGroupPairs", [])}
    assert (props["FromPort"], props["SourceSecurityGroupId"]) in sources


def _route_table(stack: Stack, table_id: str, props: dict) -> None:
    [table] = stack.client("ec2").describe_route_tables(RouteTableIds=[table_id])["RouteTables"]
    assert table["VpcId"] == props["VpcId"]


def _route(stack: Stack, _physical: str, props: dict) -> None:
    [table] = stack.client("ec2").describe_route_tables(RouteTableIds=[props["RouteTableId"]])["RouteTables"]
    target = props.get("GatewayId") or props.get("NetworkInterfaceId") or props.get("InstanceId")
    routes = {(route.get("DestinationCidrBlock") or route.get("DestinationIpv6CidrBlock"),
               route.get("GatewayId") or route.get("NetworkInterfaceId") or route.get("InstanceId"))
              for route in table["Routes"]}
    destination = props.get("DestinationCidrBlock")
    if destination is None:  # moto 5.2.5 stores a CloudFormation IPv6 route without its destination
        destination = None if (None, target) in routes else props.get("DestinationIpv6CidrBlock")
    assert (destination, target) in routes, f"no route to {destination} via {target} in {routes}"


def _internet_gateway(stack: Stack, gateway_id: str, _props: dict) -> None:
    [gateway] = stack.client("ec2").describe_internet_gateways(InternetGatewayIds=[gateway_id])["InternetGateways"]
    assert gateway["Attachments"], "the internet gateway is attached to no VPC"


def _cluster(stack: Stack, name: str, _props: dict) -> None:
    [cluster] = stack.client("ecs").describe_clusters(clusters=[name])["clusters"]
    assert cluster["status"] == "ACTIVE"


def _service(stack: Stack, arn: str, props: dict) -> None:
    [service] = stack.client("ecs").describe_services(cluster=props["Cluster"], services=[arn])["services"]
    assert service["taskDefinition"] == props["TaskDefinition"], (service["taskDefinition"], props["TaskDefinition"])
    assert service["status"] == "ACTIVE"
    # moto 5.2.5 drops LoadBalancers, capacity providers and the network configuration of a CloudFormation
    # service, so those cannot be compared here.


def _task_definition(stack: Stack, arn: str, props: dict) -> None:
    definition = stack.client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
    names = [container["name"] for container in definition["containerDefinitions"]]
    assert names == [container["Name"] for container in props["ContainerDefinitions"]]
    tag = stack.parameters.get("ImageTag")
    if tag:  # the image the deployment pins, from the repository the stack imports
        assert all(container["image"].endswith(f":{tag}") for container in definition["containerDefinitions"])


def _load_balancer(stack: Stack, arn: str, props: dict) -> None:
    [balancer] = stack.client("elbv2").describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]
    assert balancer["Scheme"] == props["Scheme"]
    assert len(balancer["AvailabilityZones"]) == len(props["Subnets"])


def _target_group(stack: Stack, arn: str, props: dict) -> None:
    [group] = stack.client("elbv2").describe_target_groups(TargetGroupArns=[arn])["TargetGroups"]
    assert (group["Port"], group["HealthCheckPath"], group["TargetType"]) == (
        props["Port"], props["HealthCheckPath"], props["TargetType"])


def _listener(stack: Stack, arn: str, props: dict) -> None:
    [listener] = stack.client("elbv2").describe_listeners(ListenerArns=[arn])["Listeners"]
    assert (listener["Port"], listener["Protocol"]) == (props["Port"], props["Protocol"])
    certificates = [c["CertificateArn"] for c in listener.get("Certificates", [])]
    assert certificates == [c["CertificateArn"] for c in props.get("Certificates", [])]


def _role(stack: Stack, name: str, props: dict) -> None:
    role = stack.client("iam").get_role(RoleName=name)["Role"]
    principals = [s["Principal"] for s in role["AssumeRolePolicyDocument"]["Statement"]]
    assert principals == [s["Principal"] for s in props["AssumeRolePolicyDocument"]["Statement"]]


def _log_group(stack: Stack, name: str, props: dict) -> None:
    groups = stack.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    [group] = [g for g in groups if g["logGroupName"] == name]
    assert group.get("retentionInDays") == props.get("RetentionInDays")


def _repository(stack: Stack, name: str, props: dict) -> None:
    [repository] = stack.client("ecr").describe_repositories(repositoryNames=[name])["repositories"]
    # moto keeps the tag mutability but drops the scan setting and the lifecycle policy of CloudFormation.
    assert repository["imageTagMutability"] == props.get("ImageTagMutability", "MUTABLE")


def _topic(stack: Stack, arn: str, _props: dict) -> None:
    assert stack.client("sns").get_topic_attributes(TopicArn=arn)["Attributes"]["TopicArn"] == arn


def _function(stack: Stack, name: str, props: dict) -> None:
    configuration = stack.client("lambda").get_function(FunctionName=name)["Configuration"]
    assert configuration["FunctionName"] == name


def _permission(stack: Stack, _physical: str | None, props: dict) -> None:
    """moto reports no physical ID for a Lambda permission: find it in the function's resource policy."""
    policy = json.loads(stack.client("lambda").get_policy(FunctionName=props["FunctionName"])["Policy"])
    principals = {json.dumps(statement["Principal"]) for statement in policy["Statement"]}
    assert any(props["Principal"] in principal for principal in principals), principals


def _table(stack: Stack, name: str, props: dict) -> None:
    table = stack.client("dynamodb").describe_table(TableName=name)["Table"]
    assert table["TableName"] == name
    assert table["DeletionProtectionEnabled"] == props.get("DeletionProtectionEnabled", False)


def _bucket(stack: Stack, name: str, _props: dict) -> None:
    stack.client("s3").head_bucket(Bucket=name)


def _auto_scaling_group(stack: Stack, name: str, props: dict) -> None:
    [group] = stack.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
        "AutoScalingGroups"]
    assert (group["MinSize"], group["MaxSize"]) == (int(props["MinSize"]), int(props["MaxSize"]))


def _scheduled_action(stack: Stack, _physical: str | None, props: dict) -> None:
    """moto reports no physical ID for a scheduled action: find it on its group."""
    actions = stack.client("autoscaling").describe_scheduled_actions(
        AutoScalingGroupName=props["AutoScalingGroupName"])["ScheduledUpdateGroupActions"]
    assert (props["Recurrence"], props["DesiredCapacity"]) in {(a.get("Recurrence"), a.get("DesiredCapacity"))
                                                               for a in actions}, actions


def _launch_template(stack: Stack, template_id: str, _props: dict) -> None:
    stack.client("ec2").describe_launch_templates(LaunchTemplateIds=[template_id])


def _network_interface(stack: Stack, eni_id: str, props: dict) -> None:
    [eni] = stack.client("ec2").describe_network_interfaces(NetworkInterfaceIds=[eni_id])["NetworkInterfaces"]
    assert eni["SubnetId"] == props["SubnetId"]


CHECKS: dict[str, Check] = {
    "AWS::EC2::VPC": _vpc,
    "AWS::EC2::Subnet": _subnet,
    "AWS::EC2::SecurityGroup": _security_group,
    "AWS::EC2::SecurityGroupIngress": _ingress,
    "AWS::EC2::RouteTable": _route_table,
    "AWS::EC2::Route": _route,
    "AWS::EC2::InternetGateway": _internet_gateway,
    "AWS::EC2::LaunchTemplate": _launch_template,
    "AWS::EC2::NetworkInterface": _network_interface,
    "AWS::ECS::Cluster": _cluster,
    "AWS::ECS::Service": _service,
    "AWS::ECS::TaskDefinition": _task_definition,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _load_balancer,
    "AWS::ElasticLoadBalancingV2::TargetGroup": _target_group,
    "AWS::ElasticLoadBalancingV2::Listener": _listener,
    "AWS::IAM::Role": _role,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::ECR::Repository": _repository,
    "AWS::SNS::Topic": _topic,
    "AWS::Lambda::Function": _function,
    "AWS::DynamoDB::Table": _table,
    "AWS::S3::Bucket": _bucket,
    "AWS::Lambda::Permission": _permission,
    "AWS::AutoScaling::AutoScalingGroup": _auto_scaling_group,
    "AWS::AutoScaling::ScheduledAction": _scheduled_action,
}
