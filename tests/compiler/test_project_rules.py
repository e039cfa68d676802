"""The project's cfn-lint rules (compiler/rules/): each refuses a small template that breaks it and passes one
that meets it, through the same lint the build runs."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

import pytest

from compiler import lint
from compiler.rules._template import as_list


def project_findings(template: dict) -> list[lint.Finding]:
    findings = lint.lint_templates({"t.json": (json.dumps(template), "us-east-1")}, use_cache=False)
    return [f for f in findings if f.rule.startswith("E9")]


def rules_of(template: dict) -> list[tuple[str, str]]:
    return sorted({(f.rule, f.path.split("/")[1]) for f in project_findings(template)})


def ref(name):
    return {"Ref": name}


def getatt(name, attribute):
    return {"Fn::GetAtt": [name, attribute]}


# --- a small public network, shared by the networking rules ------------------------------------------------------
NETWORK = {
    "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
    "Gateway": {"Type": "AWS::EC2::InternetGateway"},
    "Attachment": {"Type": "AWS::EC2::VPCGatewayAttachment",
                   "Properties": {"VpcId": ref("Vpc"), "InternetGatewayId": ref("Gateway")}},
    "PublicRoutes": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": ref("Vpc")}},
    "PublicRoute": {"Type": "AWS::EC2::Route", "DependsOn": ["Attachment"],
                    "Properties": {"RouteTableId": ref("PublicRoutes"), "DestinationCidrBlock": "0.0.0.0/0",
                                   "GatewayId": ref("Gateway")}},
    "SubnetA": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": ref("Vpc"), "CidrBlock": "10.0.0.0/24",
                                                           "AvailabilityZone": "us-east-1a"}},
    "SubnetB": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": ref("Vpc"), "CidrBlock": "10.0.1.0/24",
                                                           "AvailabilityZone": "us-east-1b"}},
    "SubnetAAssociation": {"Type": "AWS::EC2::SubnetRouteTableAssociation",
                           "Properties": {"SubnetId": ref("SubnetA"), "RouteTableId": ref("PublicRoutes")}},
    "SubnetBAssociation": {"Type": "AWS::EC2::SubnetRouteTableAssociation",
                           "Properties": {"SubnetId": ref("SubnetB"), "RouteTableId": ref("PublicRoutes")}},
    "Group": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "g", "VpcId": ref("Vpc")}},
}


def template(**resources) -> dict:
    return {"Resources": {**copy.deepcopy(NETWORK), **resources}}


# --- E9001 -------------------------------------------------------------------------------------------------------
def load_balancer(**extra) -> dict:
    return {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", **extra,
            "Properties": {"Subnets": [ref("SubnetA"), ref("SubnetB")], "SecurityGroups": [ref("Group")]}}


def public_service(**extra) -> dict:
    return {"Type": "AWS::ECS::Service", **extra, "Properties": {
        "Cluster": "c", "TaskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/t:1",
        "LaunchType": "FARGATE", "DesiredCount": 1,
        "NetworkConfiguration": {"AwsvpcConfiguration": {
            "AssignPublicIp": "ENABLED", "Subnets": [ref("SubnetA"), ref("SubnetB")],
            "SecurityGroups": [ref("Group")]}}}}


def test_e9001_internet_facing_load_balancer_waits_for_the_gateway_attachment():
    assert rules_of(template(LoadBalancer=load_balancer())) == [("E9001", "LoadBalancer")]
    assert rules_of(template(LoadBalancer=load_balancer(DependsOn=["Attachment"]))) == []
    internal = load_balancer()
    internal["Properties"]["Scheme"] = "internal"
    assert rules_of(template(LoadBalancer=internal)) == []


def test_e9001_public_ip_service_waits_for_the_route_and_its_subnets_associations():
    assert rules_of(template(Service=public_service())) == [("E9001", "Service")]
    only_route = public_service(DependsOn=["PublicRoute"])  # the route brings the attachment, not the associations
    assert "associations (SubnetAAssociation, SubnetBAssociation)" in project_findings(
        template(Service=only_route))[0].message
    assert rules_of(template(Service=public_service(
        DependsOn=["PublicRoute", "SubnetAAssociation", "SubnetBAssociation"]))) == []


def test_e9001_public_nat_group_waits_for_the_route():
    launch = {"Type": "AWS::EC2::LaunchTemplate", "Properties": {"LaunchTemplateData": {
        "ImageId": "ami-12345678", "NetworkInterfaces": [
            {"DeviceIndex": 0, "AssociatePublicIpAddress": True, "Groups": [getatt("Group", "GroupId")]}]}}}
    group = {"Type": "AWS::AutoScaling::AutoScalingGroup", "Properties": {
        "MinSize": "0", "MaxSize": "1", "VPCZoneIdentifier": [ref("SubnetA")],
        "LaunchTemplate": {"LaunchTemplateId": ref("Launch"), "Version": getatt("Launch", "LatestVersionNumber")}}}
    assert rules_of(template(Launch=launch, Nat=group)) == [("E9001", "Nat")]
    assert rules_of(template(Launch=launch, Nat={**group, "DependsOn": ["PublicRoute"]})) == []


# --- E9002 -------------------------------------------------------------------------------------------------------
SECRET = "{{resolve:secretsmanager:arn:aws:secretsmanager:us-east-1:123456789012:secret:s:SecretString:key}}"


def function(environment: dict) -> dict:
    return {"Type": "AWS::Lambda::Function", "Properties": {
        "Role": "arn:aws:iam::123456789012:role/r", "Runtime": "python3.12", "Handler": "index.handler",
        "Code": {"ZipFile": "def handler(e, c): pass"}, "Environment": {"Variables": environment}}}


def test_e9002_no_secret_resolved_into_a_lambda_environment_or_an_output():
    broken = {"Resources": {"Function": function({"KEY": {"Fn::Sub": SECRET}})},
              "Outputs": {"Key": {"Value": SECRET}}}
    assert rules_of(broken) == [("E9002", "Function"), ("E9002", "Key")]
    fixed = {"Resources": {"Function": function({"KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:"
                                                                    "secret:s"})}}
    assert rules_of(fixed) == []


def test_e9002_allows_a_write_only_password_property():
    database = {"Type": "AWS::RDS::DBInstance", "DeletionPolicy": "Snapshot", "UpdateReplacePolicy": "Snapshot",
                "Properties": {"Engine": "postgres", "DBInstanceClass": "db.t4g.micro", "AllocatedStorage": "20",
                               "MasterUsername": "admin", "MasterUserPassword": SECRET}}
    assert rules_of({"Resources": {"Database": database}}) == []


# --- E9003 -------------------------------------------------------------------------------------------------------
def nat(egress: list[dict]) -> dict:
    resources = {
        "Launch": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {"LaunchTemplateData": {
            "ImageId": "ami-12345678", "NetworkInterfaces": [
                {"DeviceIndex": 0, "AssociatePublicIpAddress": True, "Groups": [getatt("NatGroup", "GroupId")]}]}}},
        "Nat": {"Type": "AWS::AutoScaling::AutoScalingGroup", "DependsOn": ["PublicRoute"], "Properties": {
            "MinSize": "0", "MaxSize": "1", "VPCZoneIdentifier": [ref("SubnetA")],
            "LaunchTemplate": {"LaunchTemplateId": ref("Launch"),
                               "Version": getatt("Launch", "LatestVersionNumber")}}},
        "NatGroup": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupDescription": "nat", "VpcId": ref("Vpc"), "SecurityGroupEgress": egress}},
        "NatInterface": {"Type": "AWS::EC2::NetworkInterface", "Properties": {
            "SubnetId": ref("SubnetA"), "SourceDestCheck": False, "GroupSet": [getatt("NatGroup", "GroupId")]}},
        "PrivateRoutes": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": ref("Vpc")}},
        "PrivateRoute": {"Type": "AWS::EC2::Route", "Properties": {
            "RouteTableId": ref("PrivateRoutes"), "DestinationCidrBlock": "0.0.0.0/0",
            "NetworkInterfaceId": ref("NatInterface")}},
    }
    return template(**resources)


HTTPS_OUT = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}


def test_e9003_nat_group_allows_the_replies_back_to_the_vpc():
    assert rules_of(nat([HTTPS_OUT])) == [("E9003", "NatGroup")]
    assert rules_of(nat([HTTPS_OUT, {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535,
                                     "CidrIp": "10.0.0.0/16"}])) == []
    assert rules_of(nat([HTTPS_OUT, {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535,
                                     "CidrIp": getatt("Vpc", "CidrBlock")}])) == []
    assert rules_of(nat([HTTPS_OUT, {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535,
                                     "CidrIp": "10.0.0.0/24"}])) == [("E9003", "NatGroup")], "not the whole VPC"


def test_e9003_counts_a_separate_egress_resource():
    template_ = nat([HTTPS_OUT])
    template_["Resources"]["ReturnPath"] = {"Type": "AWS::EC2::SecurityGroupEgress", "Properties": {
        "GroupId": getatt("NatGroup", "GroupId"), "IpProtocol": "-1", "CidrIp": "10.0.0.0/16"}}
    assert rules_of(template_) == []


# --- E9004 -------------------------------------------------------------------------------------------------------
EMPTIER = {"Type": "Custom::EmptyBucket", "Metadata": {"mcpdeploy:emptiesOnDelete": ["Bucket"]},
           "Properties": {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f",
                          "Bucket": ref("Bucket")}}


def bucket(policy: str | None = "Delete") -> dict:
    found = {"Type": "AWS::S3::Bucket"}
    if policy:
        found.update(DeletionPolicy=policy, UpdateReplacePolicy=policy)
    return found


def test_e9004_a_bucket_deleted_with_the_stack_is_emptied_by_a_declared_custom_resource():
    assert rules_of({"Resources": {"Bucket": bucket()}}) == [("E9004", "Bucket")]
    assert rules_of({"Resources": {"Bucket": bucket(None)}}) == [("E9004", "Bucket")], "Delete is the default"
    assert rules_of({"Resources": {"Bucket": bucket(), "Emptier": EMPTIER}}) == []
    assert rules_of({"Resources": {"Bucket": bucket("Retain")}}) == []


def test_e9004_the_emptier_must_depend_on_the_bucket():
    unrelated = copy.deepcopy(EMPTIER)
    unrelated["Properties"]["Bucket"] = "some-other-bucket"  # deleted in parallel with the bucket: too late
    assert rules_of({"Resources": {"Bucket": bucket(), "Emptier": unrelated}}) == [("E9004", "Bucket")]


def test_e9004_a_repository_deleted_with_the_stack_empties_itself():
    repository = {"Type": "AWS::ECR::Repository"}
    assert rules_of({"Resources": {"Repository": repository}}) == [("E9004", "Repository")]
    assert rules_of({"Resources": {"Repository": {**repository, "Properties": {"EmptyOnDelete": True}}}}) == []
    assert rules_of({"Resources": {"Repository": {**repository, "DeletionPolicy": "Retain",
                                                  "UpdateReplacePolicy": "Retain"}}}) == []


# --- E9005 -------------------------------------------------------------------------------------------------------
def role(*statements: dict) -> dict:
    return {"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "Policies": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17",
                                                             "Statement": list(statements)}}]}}}}


def test_e9005_star_resource_only_for_actions_that_take_no_resource():
    assert rules_of(role({"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"})) == []
    assert rules_of(role({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"})) == [("E9005", "Role")]
    assert rules_of(role({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})) == [("E9005", "Role")]
    assert rules_of(role({"Effect": "Allow", "Action": "s3:GetObject",
                          "Resource": "arn:aws:s3:::bucket/*"})) == []
    assert rules_of(role({"Effect": "Deny", "Action": "s3:*", "Resource": "*"})) == []


def test_e9005_checks_standalone_policies_too():
    policy = {"Type": "AWS::IAM::Policy", "Properties": {"PolicyName": "p", "Roles": ["r"], "PolicyDocument": {
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}}}
    assert rules_of({"Resources": {"Policy": policy}}) == [("E9005", "Policy")]


def test_every_allowed_star_action_has_a_reason():
    from compiler.rules.iam_star_resource import ALLOWED_ON_STAR

    assert ALLOWED_ON_STAR and all(len(reason) > 20 for reason in ALLOWED_ON_STAR.values())


@functools.cache
def authorization_reference() -> dict:
    import cfnlint

    return json.loads((Path(cfnlint.__file__).parent / "data/AdditionalSpecs/Policies.json").read_text())


def resource_types(action: str) -> list[str] | None:
    """The resource types the Service Authorization Reference lists for `action` (cfn-lint's copy); None if unknown."""
    service, name = action.split(":")
    entry = authorization_reference().get(service, {}).get("Actions", {}).get(name.lower())
    return None if entry is None else entry.get("Resources", [])


def test_star_only_actions_take_no_resource_in_the_service_authorization_reference():
    from compiler.rules.iam_star_resource import DOCUMENTED_STAR, STAR_ONLY

    assert {action: resource_types(action) for action in STAR_ONLY} == {action: [] for action in STAR_ONLY}
    # the documented exceptions are scopable in principle: that is why they are listed apart, with AWS's reason
    assert all(resource_types(action) for action in DOCUMENTED_STAR)


ROOT = Path(__file__).resolve().parents[2]


def scoped_actions(path: Path):
    """(file, role, action) of every Allow in an IAM resource's policies that names resources instead of "*"."""
    template = json.loads(path.read_text())
    for name, resource in (template.get("Resources") or {}).items():
        properties = resource.get("Properties", {}) if resource.get("Type", "").startswith("AWS::IAM::") else {}
        documents = [p.get("PolicyDocument") for p in properties.get("Policies", [])]
        documents.append(properties.get("PolicyDocument"))
        for statement in (s for d in documents if d for s in d["Statement"] if s["Effect"] == "Allow"):
            if "*" not in as_list(statement["Resource"]):
                yield from ((path.name, name, action) for action in as_list(statement["Action"]))


def test_every_action_scoped_to_resources_takes_a_resource_type():
    """An action with no resource type granted on an ARN matches nothing: AccessDenied at run time, which no
    deploy reveals (e.g. application-autoscaling:DescribeScalableTargets on the scalable target's ARN)."""
    paths = [*ROOT.glob("generated/*.json"), *ROOT.glob("tests/cases/valid/*/*.json")]
    scoped = [found for path in paths if "Resources" in json.loads(path.read_text()) for found in scoped_actions(path)]
    assert len(scoped) > 100  # every role of every topology
    assert [found for found in scoped if not resource_types(found[2])] == []


# --- the rules run in the lint step, and their code is in the cache key -----------------------------------------
def test_the_project_rules_run_in_the_build_lint():
    findings = lint.lint_templates({"t.json": (json.dumps({"Resources": {"Bucket": bucket()}}), "us-east-1")},
                                   use_cache=False)
    assert [(f.rule, f.fails) for f in findings if f.rule.startswith("E9")] == [("E9004", True)]


def test_the_lint_cache_key_covers_the_project_rules(monkeypatch):
    before = lint._marker("{}", "us-east-1")
    monkeypatch.setattr(lint, "_project_rules_digest", lambda: "another rule set")
    assert lint._marker("{}", "us-east-1") != before


@pytest.mark.parametrize("rule_id", ["E9001", "E9002", "E9003", "E9004", "E9005"])
def test_each_rule_is_loaded_once_with_an_explanation(rule_id):
    rule = lint._rules()[rule_id]
    assert rule.shortdesc and len(rule.description) > 200 and rule.source_url.startswith("https://docs.aws")


def test_a_template_breaking_a_project_rule_fails_the_build_with_exit_3_and_the_reason(tmp_path, monkeypatch,
                                                                                       capsys):
    """Through the command itself: the compiler emits a secret into an output, the build refuses to write."""
    from troposphere import Output

    from compiler import cli, topologies

    original = topologies.TOPOLOGIES["alb"]

    def leaky(deployment, repository):
        template = original(deployment, repository)
        template.add_output(Output("Leak", Value=SECRET))
        return template

    monkeypatch.setitem(topologies.TOPOLOGIES, "alb", leaky)
    monkeypatch.setenv("MCPDEPLOY_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out"
    case = Path(__file__).parents[1] / "cases" / "valid" / "minimal.yaml"
    code = cli.main(["build", "-f", str(case), "-o", str(out), "--no-cache"])
    stderr = capsys.readouterr().err
    assert code == 3 and not out.exists()
    assert "E9002" in stderr and "Outputs/Leak" in stderr and "anyone allowed to describe it" in stderr, stderr


# --- what each rule tells the user: the resource, what is missing and the AWS reason ----------------------------
AFTER_DEPENDS = (": CloudFormation may create it first, and AWS refuses or strands it without a way out (add DependsOn; "
                 "see the DependsOn documentation, 'When a DependsOn attribute is required')")
SECRET_REASON = (" resolves a secret into a value AWS shows to anyone allowed to describe it (and that goes stale when "
                 "the secret rotates): read the secret at run time instead (ECS Secrets, or the SDK at cold start)")
MESSAGES = [
    (template(LoadBalancer=load_balancer()), "Resources/LoadBalancer",
     "LoadBalancer is an internet-facing load balancer but does not depend on the internet gateway attachment "
     "(Attachment)" + AFTER_DEPENDS),
    (template(Service=public_service()), "Resources/Service",
     "Service is a resource with a public IP but does not depend on the internet gateway attachment (Attachment) or "
     "the public default route (PublicRoute) or its subnets' route table associations (SubnetAAssociation, "
     "SubnetBAssociation)" + AFTER_DEPENDS),
    ({"Resources": {"Function": function({"KEY": {"Fn::Sub": SECRET}})}},
     "Resources/Function/Properties/Environment/Variables/KEY/Fn::Sub",
     "Resources/Function/Properties/Environment/Variables/KEY/Fn::Sub" + SECRET_REASON),
    (nat([HTTPS_OUT]), "Resources/NatGroup",
     "NatGroup is the security group of NAT instance Nat but allows no TCP 1024-65535 egress to the VPC: the "
     "translated replies leave through the primary interface, which never saw the connection start, and are "
     "dropped (allow all TCP to the VPC CIDR)"),
    ({"Resources": {"Bucket": bucket()}}, "Resources/Bucket",
     "bucket Bucket is deleted with the stack but nothing empties it first: the delete fails while it holds objects. "
     "Add a custom resource that depends on it and lists it in Metadata mcpdeploy:emptiesOnDelete (see the rule's "
     "documentation), or set DeletionPolicy Retain"),
    ({"Resources": {"Repository": {"Type": "AWS::ECR::Repository"}}}, "Resources/Repository",
     "repository Repository is deleted with the stack but EmptyOnDelete is not true: the delete fails while it holds "
     "images. Set EmptyOnDelete: true, or DeletionPolicy Retain to keep the images"),
    (role({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}),
     "Resources/Role/Properties/Policies/0/PolicyDocument/Statement/0",
     's3:GetObject is granted on Resource "*" but AWS lets it be scoped to resources: name them (or, if the Service '
     "Authorization Reference lists no resource type for it, add it to compiler/rules/iam_star_resource.py with the "
     "reason)"),
    (role({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
     "Resources/Role/Properties/Policies/0/PolicyDocument/Statement/0",
     'NotAction on Resource "*" allows nearly everything everywhere'),
]


@pytest.mark.parametrize("broken, path, message", MESSAGES, ids=[m[1].split("/")[1] for m in MESSAGES])
def test_each_finding_names_the_resource_what_is_missing_and_the_aws_reason(broken, path, message):
    assert [(f.path, f.message) for f in project_findings(broken)] == [(path, message)]


# --- the branches each rule takes on shapes the build's own templates do not use (yet) --------------------------
def ec2_nat(*, routed: bool = True, public: object = True, groups_key: str = "GroupSet", egress=None) -> dict:
    """A NAT instance as a plain EC2 instance, the private default route pointing at it (or not)."""
    interface = {"DeviceIndex": "0", "SubnetId": ref("SubnetA"), "AssociatePublicIpAddress": public}
    instance = {"Type": "AWS::EC2::Instance", "DependsOn": ["PublicRoute"],
                "Properties": {"ImageId": "ami-12345678", "SourceDestCheck": False}}
    if groups_key == "GroupSet":
        interface["GroupSet"] = [getatt("NatGroup", "GroupId")]
    else:
        instance["Properties"]["SecurityGroupIds"] = [getatt("NatGroup", "GroupId")]
    instance["Properties"]["NetworkInterfaces"] = [interface]
    resources = {
        "Nat": instance,
        "NatGroup": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupDescription": "nat", "VpcId": ref("Vpc"), "SecurityGroupEgress": egress or [HTTPS_OUT]}},
        "PrivateRoutes": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": ref("Vpc")}},
    }
    if routed:
        resources["PrivateRoute"] = {"Type": "AWS::EC2::Route", "Properties": {
            "RouteTableId": ref("PrivateRoutes"), "DestinationCidrBlock": "0.0.0.0/0", "InstanceId": ref("Nat")}}
    return template(**resources)


@pytest.mark.parametrize("groups_key", ["GroupSet", "SecurityGroupIds"])
def test_e9003_an_ec2_instance_the_route_targets_is_a_nat_instance(groups_key):
    assert rules_of(ec2_nat(groups_key=groups_key)) == [("E9003", "NatGroup")]
    assert rules_of(ec2_nat(routed=True, public=False, groups_key=groups_key)) == [("E9003", "NatGroup")]


def test_e9003_a_public_instance_is_no_nat_without_a_default_route_to_an_instance_or_interface():
    assert rules_of(ec2_nat(routed=False)) == []


def test_e9003_public_ip_written_as_text_counts():
    assert rules_of(ec2_nat(routed=False, public="true")) == []  # still no route: not a NAT
    launch_group = nat([HTTPS_OUT])
    launch_group["Resources"]["Launch"]["Properties"]["LaunchTemplateData"]["NetworkInterfaces"][0][
        "AssociatePublicIpAddress"] = "true"
    assert rules_of(launch_group) == [("E9003", "NatGroup")]


def test_e9003_launch_template_groups_outside_the_interface_count():
    template_ = nat([HTTPS_OUT])
    data = template_["Resources"]["Launch"]["Properties"]["LaunchTemplateData"]
    del data["NetworkInterfaces"][0]["Groups"]
    data["SecurityGroupIds"] = [getatt("NatGroup", "GroupId")]
    assert rules_of(template_) == [("E9003", "NatGroup")]


@pytest.mark.parametrize("rule, covers", [
    ({"IpProtocol": "6", "FromPort": 1024, "ToPort": 65535, "CidrIp": "10.0.0.0/16"}, True),   # TCP by number
    ({"IpProtocol": "6", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/16"}, False),     # ... its ports count
    ({"IpProtocol": "-1", "CidrIp": "10.0.0.0/8"}, True),                                       # all traffic, wider
    ({"IpProtocol": "udp", "FromPort": 0, "ToPort": 65535, "CidrIp": "10.0.0.0/16"}, False),
    ({"IpProtocol": "tcp", "FromPort": 2000, "ToPort": 65535, "CidrIp": "10.0.0.0/16"}, False),  # not all ephemeral
    ({"IpProtocol": "tcp", "FromPort": 1024, "ToPort": 60000, "CidrIp": "10.0.0.0/16"}, False),
    ({"IpProtocol": "tcp", "FromPort": "any", "ToPort": 65535, "CidrIp": "10.0.0.0/16"}, False),
    ({"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "DestinationSecurityGroupId": ref("Group")}, True),
    ({"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "CidrIp": "10.0.0.5/8"}, True),      # host bits set
    ({"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "CidrIp": "nonsense"}, False),
    ({"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "CidrIp": 42}, False),
    ({"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "CidrIp": {"Fn::GetAtt": ["Vpc", "CidrBlock", "x"]}}, False),
    ({"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "CidrIp": {"Fn::GetAtt": ["Vpc", "CidrBlockAssociations"]}},
     False),
])
def test_e9003_which_egress_rules_let_the_replies_back(rule, covers):
    assert rules_of(nat([HTTPS_OUT, rule])) == ([] if covers else [("E9003", "NatGroup")])


def test_e9003_a_vpc_cidr_with_host_bits_is_read_as_its_network():
    template_ = nat([HTTPS_OUT, {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "CidrIp": "10.0.0.0/16"}])
    template_["Resources"]["Vpc"]["Properties"]["CidrBlock"] = "10.0.0.7/16"
    assert rules_of(template_) == []


def test_e9003_a_group_without_egress_rules_or_from_outside_the_template_is_not_checked():
    no_rules = nat([HTTPS_OUT])
    del no_rules["Resources"]["NatGroup"]["Properties"]["SecurityGroupEgress"]
    assert rules_of(no_rules) == []
    outside = nat([HTTPS_OUT])
    outside["Parameters"] = {"NatGroupId": {"Type": "AWS::EC2::SecurityGroup::Id"}}
    outside["Resources"]["Launch"]["Properties"]["LaunchTemplateData"]["NetworkInterfaces"][0]["Groups"] = [
        ref("NatGroupId")]
    assert rules_of(outside) == []


def test_the_primary_interface_is_device_0_written_either_way_or_the_only_one():
    for index in (0, "0", None):
        template_ = ec2_nat(routed=False)
        del template_["Resources"]["Nat"]["DependsOn"]
        interface = template_["Resources"]["Nat"]["Properties"]["NetworkInterfaces"][0]
        if index is None:
            del interface["DeviceIndex"]
        else:
            interface["DeviceIndex"] = index
        assert rules_of(template_) == [("E9001", "Nat")], index  # public, no dependency on the attachment
        template_["Resources"]["Nat"]["Properties"]["NetworkInterfaces"].insert(0, {"DeviceIndex": 1,
                                                                                   "SubnetId": ref("SubnetB")})
        assert rules_of(template_) == [("E9001", "Nat")], index


def test_e9001_a_public_ec2_instance_waits_for_the_gateway_and_the_route():
    template_ = ec2_nat(routed=False)
    del template_["Resources"]["Nat"]["DependsOn"]
    assert rules_of(template_) == [("E9001", "Nat")]
    for public in ("true", "True", True):
        template_["Resources"]["Nat"]["Properties"]["NetworkInterfaces"][0]["AssociatePublicIpAddress"] = public
        assert rules_of(template_) == [("E9001", "Nat")], public
    template_["Resources"]["Nat"]["Properties"]["NetworkInterfaces"][0]["AssociatePublicIpAddress"] = False
    assert rules_of(template_) == []
    del template_["Resources"]["Nat"]["Properties"]["NetworkInterfaces"]
    assert rules_of(template_) == []


def test_e9001_every_offender_is_reported_and_every_attachment_and_route_named():
    template_ = template(LoadBalancer=load_balancer(), Other=load_balancer(), Service=public_service())
    template_["Resources"]["Attachment2"] = copy.deepcopy(template_["Resources"]["Attachment"])
    template_["Resources"]["PublicRoute2"] = copy.deepcopy(template_["Resources"]["PublicRoute"])
    found = {f.path.split("/")[1]: f.message for f in project_findings(template_)}
    assert sorted(found) == ["LoadBalancer", "Other", "Service"]
    assert "attachment (Attachment, Attachment2)" in found["Service"]
    assert "default route (PublicRoute, PublicRoute2)" in found["Service"]


def test_e9001_a_launch_template_from_outside_the_template_is_not_read():
    group = {"Type": "AWS::AutoScaling::AutoScalingGroup", "Properties": {
        "MinSize": "0", "MaxSize": "1", "VPCZoneIdentifier": [ref("SubnetA")],
        "LaunchTemplate": {"LaunchTemplateId": "lt-0123456789abcdef0", "Version": "1"}}}
    assert rules_of(template(Nat=group)) == []


def test_e9002_every_section_is_searched_and_lists_inside_values_too():
    joined = {"Fn::Join": ["", ["prefix-", SECRET]]}
    assert [f.path for f in project_findings({"Resources": {"Bucket": bucket("Retain")},
                                              "Outputs": {"Key": {"Value": joined}}})] == [
        "Outputs/Key/Value/Fn::Join/1/1"]
    for section, body in [("Parameters", {"P": {"Type": "String", "Default": SECRET}}),
                          ("Metadata", {"Note": SECRET}), ("Mappings", {"M": {"K": {"V": SECRET}}}),
                          ("Conditions", {"C": {"Fn::Equals": [SECRET, "x"]}})]:
        findings = project_findings({section: body, "Resources": {"Bucket": bucket("Retain")}})
        assert [f.rule for f in findings] == ["E9002"] and findings[0].path.startswith(section), section


def test_e9002_only_a_resources_own_property_can_be_write_only():
    database = {"Type": "AWS::RDS::DBInstance", "DeletionPolicy": "Snapshot", "UpdateReplacePolicy": "Snapshot",
                "Properties": {"Engine": "postgres", "DBInstanceClass": "db.t4g.micro", "AllocatedStorage": "20",
                               "MasterUsername": "admin", "ManageMasterUserPassword": True}}
    leak = {"Resources": {"Database": database},
            "Metadata": {"Database": {"Properties": {"MasterUserPassword": SECRET}}}}
    assert [f.path for f in project_findings(leak)] == ["Metadata/Database/Properties/MasterUserPassword"]


def test_e9004_a_cloudformation_custom_resource_can_empty_a_bucket_too():
    emptier = {**copy.deepcopy(EMPTIER), "Type": "AWS::CloudFormation::CustomResource"}
    assert rules_of({"Resources": {"Bucket": bucket(), "Emptier": emptier}}) == []
    not_custom = {**copy.deepcopy(EMPTIER), "Type": "AWS::SNS::Topic"}
    assert rules_of({"Resources": {"Bucket": bucket(), "Emptier": not_custom}}) == [("E9004", "Bucket")]


def test_e9004_every_resource_is_read_whatever_comes_first():
    resources = {"Topic": {"Type": "AWS::SNS::Topic"}, "Odd": {"Type": 5}, "Bucket": bucket(), "Emptier": EMPTIER}
    assert rules_of({"Resources": resources}) == []


def test_e9004_empty_on_delete_written_as_text_counts():
    repository = {"Type": "AWS::ECR::Repository", "Properties": {"EmptyOnDelete": "true"}}
    assert rules_of({"Resources": {"Repository": repository}}) == []


def test_e9005_every_statement_and_every_policy_is_checked():
    deny_first = role({"Effect": "Deny", "Action": "s3:*", "Resource": "*"},
                      {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
                      {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
                      {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"})
    assert [f.path.rsplit("/", 1)[1] for f in project_findings(deny_first)] == ["2", "3"]
    two = role({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    two["Resources"]["Role"]["Properties"]["Policies"].append(copy.deepcopy(
        two["Resources"]["Role"]["Properties"]["Policies"][0]))
    two["Resources"]["Policy"] = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}}}
    assert [f.path for f in project_findings(two)] == [
        "Resources/Policy/Properties/PolicyDocument/Statement/0",
        "Resources/Role/Properties/Policies/0/PolicyDocument/Statement/0",
        "Resources/Role/Properties/Policies/1/PolicyDocument/Statement/0"]


def test_a_getatt_names_its_resource_in_either_form():
    from compiler.rules._template import referenced

    assert referenced({"Fn::GetAtt": ["Db", "Endpoint.Address"]}) == "Db"
    assert referenced({"Fn::GetAtt": "Db.Endpoint.Address"}) == "Db"
    assert referenced({"Fn::GetAtt": []}) is None
    assert referenced({"Fn::GetAtt": [{"Ref": "Name"}, "Arn"]}) is None
    assert referenced({"Ref": "Db", "Other": 1}) is None


def test_e9003_the_nat_groups_are_those_of_its_primary_interface_device_0_or_unnumbered():
    allow_all = {"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}
    template_ = ec2_nat()
    template_["Resources"]["OpenGroup"] = {"Type": "AWS::EC2::SecurityGroup", "Properties": {
        "GroupDescription": "open", "VpcId": ref("Vpc"), "SecurityGroupEgress": [allow_all]}}
    interfaces = template_["Resources"]["Nat"]["Properties"]["NetworkInterfaces"]
    interfaces.insert(0, {"DeviceIndex": "1", "SubnetId": ref("SubnetB"), "GroupSet": [getatt("OpenGroup", "GroupId")]})
    assert rules_of(template_) == [("E9003", "NatGroup")]  # the restricted primary, not the open secondary
    del interfaces[1]["DeviceIndex"]
    assert rules_of(template_) == [("E9003", "NatGroup")]  # an interface without DeviceIndex is device 0


def test_e9003_in_a_nat_template_every_public_instance_is_checked_too():
    template_ = ec2_nat(egress=[{"IpProtocol": "-1", "CidrIp": "10.0.0.0/16"}])  # the routed NAT is fine
    for public, flagged in ((True, True), ("true", True), (False, False)):
        other = copy.deepcopy(template_)
        other["Resources"]["Bastion"] = copy.deepcopy(other["Resources"]["Nat"])
        interface = other["Resources"]["Bastion"]["Properties"]["NetworkInterfaces"][0]
        interface["AssociatePublicIpAddress"], interface["GroupSet"] = public, [getatt("BastionGroup", "GroupId")]
        other["Resources"]["BastionGroup"] = {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupDescription": "bastion", "VpcId": ref("Vpc"), "SecurityGroupEgress": [HTTPS_OUT]}}
        assert rules_of(other) == ([("E9003", "BastionGroup")] if flagged else []), public


def test_e9001_only_a_default_route_to_the_internet_gateway_is_the_public_route():
    template_ = template(Service=public_service(), Nat=ec2_nat()["Resources"]["Nat"],
                         NatGroup=ec2_nat()["Resources"]["NatGroup"])
    template_["Resources"]["PrivateRoutes"] = {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": ref("Vpc")}}
    template_["Resources"]["PrivateRoute"] = {"Type": "AWS::EC2::Route", "Properties": {
        "RouteTableId": ref("PrivateRoutes"), "DestinationCidrBlock": "0.0.0.0/0", "InstanceId": ref("Nat")}}
    template_["Resources"]["PeerRoute"] = {"Type": "AWS::EC2::Route", "Properties": {
        "RouteTableId": ref("PublicRoutes"), "DestinationCidrBlock": "192.168.0.0/16", "GatewayId": ref("Gateway")}}
    [finding] = [f for f in project_findings(template_) if f.rule == "E9001"]
    assert "the public default route (PublicRoute)" in finding.message


def test_e9004_a_retained_bucket_first_does_not_hide_the_next_one():
    assert rules_of({"Resources": {"Kept": bucket("Retain"), "Bucket": bucket()}}) == [("E9004", "Bucket")]
