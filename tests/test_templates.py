"""The generated CloudFormation: cfn-lint clean for every option combination, and right where it matters.

Templates are checked as data (dicts), not as text. The lint runs in process with the rule set loaded once.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import os
import socket
import subprocess
import sys
import time
from functools import cache
from pathlib import Path

import boto3
import pytest

from compiler import naming
from compiler.build import compile_config
from compiler.validation import load_config
from compiler.model import Deployment, ImageRepository
from compiler.parts import schedule
from compiler.parts.outputs import SET_ELEVENLABS_KEY
from compiler.topologies import TOPOLOGIES, build_repository
from tests.system_tools import require

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
CERT = "arn:aws:acm:{region}:123456789012:certificate/0f8e2c1a-1111-2222-3333-444455556666"

# Each case overrides the base spec; together they cover every option at least once, in several regions.
CASES: dict[str, dict] = {
    "https-defaults": {},
    "plain-http": {"alb": {"allowPlainHttp": True}},
    "spot-x86": {"task": {"spot": True, "architecture": "x86_64", "cpu": 1024, "memory": 2048},
                 "region": "eu-central-1"},
    "day-window-ipv4": {"schedule": {"timezone": "Europe/Berlin", "activeHours": "08:00-20:00",
                                     "days": ["MON", "TUE", "WED", "THU", "FRI"]},
                        "auth": {"allowedCidrs": ["203.0.113.0/24", "198.51.100.7/32"]}},
    "midnight-window-ipv6": {"schedule": {"timezone": "America/New_York", "activeHours": "22:00-02:00",
                                          "days": ["SUN", "MON", "FRI"]},
                             "auth": {"allowedCidrs": ["2001:db8::/32"]}, "region": "ap-southeast-2"},
    "mixed-cidrs-email-budget": {"auth": {"allowedCidrs": ["203.0.113.0/24", "2001:db8:1::/48"]},
                                 "alerts": {"email": "ops@example.com", "monthlyBudgetUsd": 15}},
    "budget-without-email": {"alerts": {"monthlyBudgetUsd": 7.5}},
    "email-without-budget": {"alerts": {"email": "ops@example.com"}, "region": "sa-east-1"},
    "cpu-target-with-window": {"task": {"minCount": 2, "maxCount": 4, "cpuTargetPercent": 60},
                               "schedule": {"timezone": "UTC", "activeHours": "06:30-18:45", "days": ["SAT"]}},
    "cpu-target-always-on-plain-spot": {"task": {"spot": True, "maxCount": 3, "cpuTargetPercent": 50},
                                        "alb": {"allowPlainHttp": True}},
    "everything": {
        "region": "eu-west-1",
        "task": {"spot": True, "architecture": "x86_64", "cpu": 512, "memory": 1024, "minCount": 1,
                 "maxCount": 5, "cpuTargetPercent": 70, "stopTimeoutSeconds": 60},
        "schedule": {"timezone": "Asia/Tokyo", "activeHours": "20:00-00:00", "days": ["SUN", "SAT"]},
        "logs": {"retentionDays": 30},
        "auth": {"allowedCidrs": ["192.0.2.0/24", "2001:db8::/32"]},
        "alerts": {"email": "ops@example.com", "monthlyBudgetUsd": 40},
        "alb": {"idleTimeoutSeconds": 900},
    },
}


# --- building ---------------------------------------------------------------------------------------------------

def repository(**spec) -> ImageRepository:
    return ImageRepository.model_validate({
        "apiVersion": "mcpdeploy/v1alpha1", "kind": "ImageRepository",
        "metadata": {"name": "elevenlabs-mcp", "labels": {"team": "voice"}},
        "spec": {"region": "us-east-1", **spec},
    })


def deployment(overrides: dict) -> Deployment:
    spec = {"region": "us-east-1", "topology": "alb", "image": {"repository": "elevenlabs-mcp", "tag": "1.4.0"}}
    spec.update(copy.deepcopy(overrides))
    if "alb" not in spec:
        spec["alb"] = {}
    if not spec["alb"].get("allowPlainHttp"):
        spec["alb"].setdefault("certificateArn", CERT.format(region=spec["region"]))
    return Deployment.model_validate({
        "apiVersion": "mcpdeploy/v1alpha1", "kind": "Deployment",
        "metadata": {"name": "voice-dev", "labels": {"team": "voice", "cost-center": "r-and-d"}},
        "spec": spec,
    })


def build(overrides: dict) -> dict:
    return TOPOLOGIES["alb"](deployment(overrides), repository()).to_dict()


def of_type(template: dict, resource_type: str) -> dict[str, dict]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == resource_type}


def props(template: dict, logical_id: str) -> dict:
    return template["Resources"][logical_id]["Properties"]


def container(template: dict) -> dict:
    (definition,) = props(template, naming.TASK_DEFINITION)["ContainerDefinitions"]
    return definition


def environment(template: dict) -> dict:
    return {item["Name"]: item["Value"] for item in container(template)["Environment"]}


# --- cfn-lint ---------------------------------------------------------------------------------------------------

@cache
def lint_rules():
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    return Runner(ConfigMixIn(regions=["us-east-1"], include_checks=["I"])).rules


def lint(template: dict, region: str) -> list[str]:
    """Every cfn-lint finding, informational ones included."""
    from cfnlint.api import ManualArgs
    from cfnlint.api import lint as cfn_lint

    matches = cfn_lint(json.dumps(template), rules=lint_rules(),
                       config=ManualArgs(regions=[region], include_checks=["I"]))
    return [f"{m.rule.id} {'/'.join(map(str, m.path or []))}: {m.message}" for m in matches]


@pytest.mark.parametrize("case", CASES)
def test_alb_template_lints_clean(case):
    overrides = CASES[case]
    assert lint(build(overrides), overrides.get("region", "us-east-1")) == []


@pytest.mark.parametrize("spec", [{}, {"keepImages": 20, "scanOnPush": False, "immutableTags": False}])
def test_repository_template_lints_clean(spec):
    assert lint(build_repository(repository(**spec)).to_dict(), "us-east-1") == []


def test_lint_reports_a_broken_template():
    """The lint helper above can fail: a stateful resource without a deletion policy is reported."""
    template = build({})
    del template["Resources"][naming.LOG_GROUP]["DeletionPolicy"]
    assert any(finding.startswith("I3011") for finding in lint(template, "us-east-1"))


# --- the service and its count ----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_service_leaves_the_count_to_scaling_and_gets_a_public_ip(case):
    template = build(CASES[case])
    service = props(template, naming.SERVICE)
    assert "DesiredCount" not in service
    assert "LaunchType" not in service
    network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "ENABLED"
    assert network["Subnets"] == [{"Ref": "PublicSubnet1"}, {"Ref": "PublicSubnet2"}]
    assert network["SecurityGroups"] == [{"Fn::GetAtt": [naming.TASK_SECURITY_GROUP, "GroupId"]}]
    assert service["LoadBalancers"] == [{"ContainerName": "server", "ContainerPort": 8080,
                                         "TargetGroupArn": {"Ref": naming.TARGET_GROUP}}]
    assert service["DeploymentConfiguration"] == {"DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
                                                  "MinimumHealthyPercent": 100, "MaximumPercent": 200}


@pytest.mark.parametrize("spot, provider", [(False, "FARGATE"), (True, "FARGATE_SPOT")])
def test_capacity_provider_follows_spot(spot, provider):
    template = build({"task": {"spot": spot}})
    assert props(template, naming.SERVICE)["CapacityProviderStrategy"] == [{"CapacityProvider": provider, "Weight": 1}]
    associations = props(template, naming.CLUSTER_CAPACITY_PROVIDERS)
    assert associations["CapacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert associations["DefaultCapacityProviderStrategy"] == [{"CapacityProvider": provider, "Weight": 1}]
    depends_on = template["Resources"][naming.SERVICE]["DependsOn"]
    assert naming.CLUSTER_CAPACITY_PROVIDERS in depends_on and naming.HTTPS_LISTENER in depends_on


def test_scaling_without_schedule_holds_min_to_max():
    target = props(build({"task": {"minCount": 2, "maxCount": 3}}), naming.SCALABLE_TARGET)
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 3)
    assert "ScheduledActions" not in target and "RoleARN" not in target
    assert target["ResourceId"] == {"Fn::Join": ["/", ["service", {"Ref": naming.CLUSTER},
                                                       {"Fn::GetAtt": [naming.SERVICE, "Name"]}]]}


def scheduled(template: dict) -> dict[str, tuple]:
    target = props(template, naming.SCALABLE_TARGET)
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, target["MaxCapacity"])
    return {a["ScheduledActionName"]: (a["Schedule"], a["Timezone"], a["ScalableTargetAction"]["MinCapacity"],
                                       a["ScalableTargetAction"]["MaxCapacity"]) for a in target["ScheduledActions"]}


def test_day_window_opens_and_closes_on_the_same_days():
    assert scheduled(build(CASES["day-window-ipv4"])) == {
        "scale-out-at-window-start": ("cron(0 8 ? * MON,TUE,WED,THU,FRI *)", "Europe/Berlin", 1, 1),
        "scale-in-at-window-end": ("cron(0 20 ? * MON,TUE,WED,THU,FRI *)", "Europe/Berlin", 0, 0),
    }


def test_window_across_midnight_closes_the_next_day():
    assert scheduled(build(CASES["midnight-window-ipv6"])) == {
        "scale-out-at-window-start": ("cron(0 22 ? * MON,FRI,SUN *)", "America/New_York", 1, 1),
        "scale-in-at-window-end": ("cron(0 2 ? * MON,TUE,SAT *)", "America/New_York", 0, 0),
    }


def test_window_ending_at_midnight_closes_the_next_day():
    assert scheduled(build(CASES["everything"])) == {
        "scale-out-at-window-start": ("cron(0 20 ? * SAT,SUN *)", "Asia/Tokyo", 1, 5),
        "scale-in-at-window-end": ("cron(0 0 ? * MON,SUN *)", "Asia/Tokyo", 0, 0),
    }


@pytest.mark.parametrize("minute_of_day, days, expected", [
    (8 * 60, ["MON"], "cron(0 8 ? * MON *)"),
    (6 * 60 + 30, ["SAT", "SUN"], "cron(30 6 ? * SAT,SUN *)"),
    (23 * 60 + 59, ["FRI"], "cron(59 23 ? * FRI *)"),
])
def test_cron_expression(minute_of_day, days, expected):
    assert schedule.cron(minute_of_day, days) == expected


def test_cpu_target_tracking_only_when_asked():
    assert naming.CPU_SCALING_POLICY not in build({})["Resources"]
    policy = props(build(CASES["cpu-target-with-window"]), naming.CPU_SCALING_POLICY)
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["ScalingTargetId"] == {"Ref": naming.SCALABLE_TARGET}
    config = policy["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 60.0
    assert config["PredefinedMetricSpecification"] == {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}


# --- network and security groups --------------------------------------------------------------------------------

def alb_ingress(template: dict) -> set[tuple[int, str]]:
    rules = props(template, naming.LOAD_BALANCER_SECURITY_GROUP)["SecurityGroupIngress"]
    return {(rule["FromPort"], rule.get("CidrIp") or rule["CidrIpv6"]) for rule in rules}


@pytest.mark.parametrize("cidrs, expected_sources", [
    ([], {"0.0.0.0/0", "::/0"}),
    (["203.0.113.0/24"], {"203.0.113.0/24"}),
    (["2001:db8::/32"], {"2001:db8::/32"}),
    (["203.0.113.0/24", "2001:db8::/32"], {"203.0.113.0/24", "2001:db8::/32"}),
])
def test_load_balancer_admits_exactly_the_allowed_cidrs(cidrs, expected_sources):
    https = build({"auth": {"allowedCidrs": cidrs}})
    assert alb_ingress(https) == {(port, source) for port in (443, 80) for source in expected_sources}
    plain = build({"auth": {"allowedCidrs": cidrs}, "alb": {"allowPlainHttp": True}})
    assert alb_ingress(plain) == {(80, source) for source in expected_sources}
    for rule in props(https, naming.LOAD_BALANCER_SECURITY_GROUP)["SecurityGroupIngress"]:
        assert ("CidrIpv6" in rule) == (":" in (rule.get("CidrIp") or rule["CidrIpv6"]))


def test_tasks_admit_only_the_load_balancer_and_talk_only_https_out():
    template = build(CASES["mixed-cidrs-email-budget"])
    task_group = props(template, naming.TASK_SECURITY_GROUP)
    assert "SecurityGroupIngress" not in task_group
    assert task_group["SecurityGroupEgress"] == [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                                                  "CidrIp": "0.0.0.0/0",
                                                  "Description": "HTTPS to ElevenLabs and AWS APIs"}]
    task_group_id = {"Fn::GetAtt": [naming.TASK_SECURITY_GROUP, "GroupId"]}
    alb_group_id = {"Fn::GetAtt": [naming.LOAD_BALANCER_SECURITY_GROUP, "GroupId"]}
    ingress = [r["Properties"] for r in of_type(template, "AWS::EC2::SecurityGroupIngress").values()]
    assert [(r["GroupId"], r["SourceSecurityGroupId"], r["FromPort"], r["ToPort"]) for r in ingress] == [
        (task_group_id, alb_group_id, 8080, 8080)]
    assert of_type(template, "AWS::EC2::SecurityGroupEgress") == {}
    alb_egress = props(template, naming.LOAD_BALANCER_SECURITY_GROUP)["SecurityGroupEgress"]
    assert [(r["DestinationSecurityGroupId"], r["FromPort"], r["ToPort"]) for r in alb_egress] == [
        (task_group_id, 8080, 8080)]


@pytest.mark.parametrize("case", CASES)
def test_every_security_group_rule_says_why(case):
    template = build(CASES[case])
    rules = [r["Properties"] for r in of_type(template, "AWS::EC2::SecurityGroupIngress").values()]
    for group in of_type(template, "AWS::EC2::SecurityGroup").values():
        rules += group["Properties"].get("SecurityGroupIngress", []) + group["Properties"].get("SecurityGroupEgress", [])
    assert rules and all(rule.get("Description") for rule in rules)


def test_subnets_span_two_zones_of_any_region():
    template = build({})
    subnets = [props(template, naming.public_subnet(i)) for i in range(2)]
    assert [s["AvailabilityZone"] for s in subnets] == [{"Fn::Select": [i, {"Fn::GetAZs": ""}]} for i in range(2)]
    assert all(s["MapPublicIpOnLaunch"] is False for s in subnets)
    assert props(template, naming.LOAD_BALANCER)["Subnets"] == [{"Ref": "PublicSubnet1"}, {"Ref": "PublicSubnet2"}]
    routes = {r["Properties"].get("DestinationCidrBlock") or r["Properties"]["DestinationIpv6CidrBlock"]:
              r["Properties"]["GatewayId"] for r in of_type(template, "AWS::EC2::Route").values()}
    assert routes == {"0.0.0.0/0": {"Ref": naming.INTERNET_GATEWAY}, "::/0": {"Ref": naming.INTERNET_GATEWAY}}


@pytest.mark.parametrize("cidrs, dual_stack", [
    ([], True), (["203.0.113.0/24"], False), (["2001:db8::/32"], True), (["203.0.113.0/24", "2001:db8::/32"], True),
])
def test_dual_stack_exactly_when_ipv6_clients_are_admitted(cidrs, dual_stack):
    template = build({"auth": {"allowedCidrs": cidrs}})
    assert props(template, naming.LOAD_BALANCER)["IpAddressType"] == ("dualstack" if dual_stack else "ipv4")
    assert (naming.VPC_IPV6_BLOCK in template["Resources"]) == dual_stack
    assert (naming.PUBLIC_ROUTE_IPV6 in template["Resources"]) == dual_stack
    assert all(("Ipv6CidrBlock" in props(template, naming.public_subnet(i))) == dual_stack for i in range(2))


# --- load balancer ----------------------------------------------------------------------------------------------

def listeners(template: dict) -> dict[int, dict]:
    return {r["Properties"]["Port"]: r["Properties"]
            for r in of_type(template, "AWS::ElasticLoadBalancingV2::Listener").values()}


def test_https_listener_with_http_redirect():
    found = listeners(build({}))
    assert set(found) == {443, 80}
    assert found[443]["Protocol"] == "HTTPS"
    assert found[443]["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert found[443]["Certificates"] == [{"CertificateArn": CERT.format(region="us-east-1")}]
    assert found[443]["DefaultActions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": naming.TARGET_GROUP}}]
    assert found[80]["DefaultActions"] == [{"Type": "redirect", "RedirectConfig": {
        "Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}]


def test_plain_http_forwards_on_80_only():
    found = listeners(build({"alb": {"allowPlainHttp": True}}))
    assert set(found) == {80}
    assert found[80]["Protocol"] == "HTTP"
    assert found[80]["DefaultActions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": naming.TARGET_GROUP}}]


def test_load_balancer_and_target_group_settings():
    template = build(CASES["everything"])
    balancer = props(template, naming.LOAD_BALANCER)
    assert balancer["Scheme"] == "internet-facing"
    assert {a["Key"]: a["Value"] for a in balancer["LoadBalancerAttributes"]} == {
        "idle_timeout.timeout_seconds": "900", "routing.http.drop_invalid_header_fields.enabled": "true",
        "deletion_protection.enabled": "false"}
    group = props(template, naming.TARGET_GROUP)
    assert (group["TargetType"], group["Protocol"], group["Port"]) == ("ip", "HTTP", 8080)
    assert (group["HealthCheckPath"], group["Matcher"]) == ("/health", {"HttpCode": "200"})
    assert group["TargetGroupAttributes"] == [{"Key": "deregistration_delay.timeout_seconds", "Value": "60"}]


# --- task definition and server contract ------------------------------------------------------------------------

@pytest.mark.parametrize("architecture, platform", [("arm64", "ARM64"), ("x86_64", "X86_64")])
def test_task_definition_runtime(architecture, platform):
    task = props(build({"task": {"architecture": architecture, "cpu": 512, "memory": 2048}}), naming.TASK_DEFINITION)
    assert task["RuntimePlatform"] == {"OperatingSystemFamily": "LINUX", "CpuArchitecture": platform}
    assert (task["Cpu"], task["Memory"], task["NetworkMode"]) == ("512", "2048", "awsvpc")
    assert task["RequiresCompatibilities"] == ["FARGATE"]


def test_container_runs_the_tagged_image_read_only():
    template = build({"task": {"stopTimeoutSeconds": 20}})
    assert template["Parameters"]["ImageTag"]["Default"] == "1.4.0"
    server = container(template)
    assert server["Image"] == {"Fn::Sub": ["${Repository}:${ImageTag}",
                                           {"Repository": {"Fn::ImportValue": "elevenlabs-mcp-RepositoryUri"}}]}
    assert server["ReadonlyRootFilesystem"] is True and "MountPoints" not in server
    assert server["StopTimeout"] == 20
    assert server["PortMappings"] == [{"ContainerPort": 8080, "Protocol": "tcp"}]
    assert server["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": naming.LOG_GROUP}
    assert server["LogConfiguration"]["Options"]["awslogs-stream-prefix"] == "server"
    log_group = props(template, naming.LOG_GROUP)
    assert (log_group["LogGroupName"], log_group["RetentionInDays"]) == ("/mcpdeploy/voice-dev", 7)


def test_environment_follows_the_server_contract():
    env = environment(build(CASES["everything"]))
    assert env == {
        "MCP_ALLOWED_CIDRS": "192.0.2.0/24,2001:db8::/32",
        "MCP_ALLOWED_HOSTS": "*",
        "MCP_AUTH_MODE": "api-key",
        "MCP_DRAIN_SECONDS": "55",
        "MCP_LOG_LEVEL": "INFO",
        "MCP_MEMORY_MIB": "1024",
        "MCP_PORT": "8080",
        "MCP_TRUSTED_PROXY_CIDRS": props(build({}), naming.VPC)["CidrBlock"],
    }


def test_plain_http_admits_the_load_balancer_host_and_everyone_without_cidrs():
    env = environment(build({"alb": {"allowPlainHttp": True}}))
    assert env["MCP_ALLOWED_HOSTS"] == {"Fn::GetAtt": [naming.LOAD_BALANCER, "DNSName"]}
    assert "MCP_ALLOWED_CIDRS" not in env  # the server admits everyone when it is absent


@pytest.mark.parametrize("case", CASES)
def test_no_secret_value_in_the_template(case):
    template = build(CASES[case])
    (secret_id, secret), = of_type(template, "AWS::SecretsManager::Secret").items()
    assert "SecretString" not in secret["Properties"]
    generate = secret["Properties"]["GenerateSecretString"]
    assert json.loads(generate["SecretStringTemplate"]) == {"ELEVENLABS_API_KEY": ""}
    assert (generate["GenerateStringKey"], generate["PasswordLength"], generate["ExcludePunctuation"]) == (
        "MCP_SERVER_API_KEY", 48, True)
    server = container(template)
    assert not {"MCP_SERVER_API_KEY", "ELEVENLABS_API_KEY"} & set(environment(template))
    assert server["Secrets"] == [{"Name": key, "ValueFrom": {"Fn::Sub": f"${{{secret_id}}}:{key}::"}}
                                 for key in ("MCP_SERVER_API_KEY", "ELEVENLABS_API_KEY")]
    assert not [p for p in template.get("Parameters", {}) if p != "ImageTag"]


# --- IAM --------------------------------------------------------------------------------------------------------

def test_execution_role_is_scoped_to_this_deployment():
    template = build({})
    role = props(template, naming.EXECUTION_ROLE)
    assert "ManagedPolicyArns" not in role and "RoleName" not in role
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    (policy,) = role["Policies"]
    grants = {tuple(s["Action"]): s["Resource"] for s in policy["PolicyDocument"]["Statement"]}
    assert grants == {
        ("ecr:GetAuthorizationToken",): "*",
        ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"): {"Fn::ImportValue": "elevenlabs-mcp-RepositoryArn"},
        ("logs:CreateLogStream", "logs:PutLogEvents"): {"Fn::GetAtt": [naming.LOG_GROUP, "Arn"]},
        ("secretsmanager:GetSecretValue",): {"Ref": naming.SERVER_SECRET},
    }
    assert all(s["Effect"] == "Allow" for s in policy["PolicyDocument"]["Statement"])


def test_task_role_has_no_permissions():
    role = props(build({}), naming.TASK_ROLE)
    assert set(role) - {"Tags"} == {"AssumeRolePolicyDocument"}
    assert of_type(build({}), "AWS::IAM::Policy") == {} and of_type(build({}), "AWS::IAM::ManagedPolicy") == {}


# --- alerts -----------------------------------------------------------------------------------------------------

def test_alarms_notify_the_email_topic_when_there_is_one():
    template = build(CASES["email-without-budget"])
    assert props(template, naming.ALERT_SUBSCRIPTION) == {
        "TopicArn": {"Ref": naming.ALERT_TOPIC}, "Protocol": "email", "Endpoint": "ops@example.com"}
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    assert {a["Properties"]["MetricName"] for a in alarms.values()} == {"HTTPCode_Target_5XX_Count",
                                                                          "UnHealthyHostCount"}
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": naming.ALERT_TOPIC}]
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching"
    assert naming.BUDGET not in template["Resources"]


def test_without_email_alarms_stay_silent():
    template = build({})
    assert of_type(template, "AWS::SNS::Topic") == {}
    assert all("AlarmActions" not in a["Properties"] for a in of_type(template, "AWS::CloudWatch::Alarm").values())


def test_budget_notifies_only_a_given_email():
    with_email = props(build(CASES["mixed-cidrs-email-budget"]), naming.BUDGET)
    assert with_email["Budget"] == {"BudgetType": "COST", "TimeUnit": "MONTHLY",
                                    "BudgetLimit": {"Amount": 15.0, "Unit": "USD"}}
    assert [(n["Notification"]["NotificationType"], n["Notification"]["Threshold"], n["Subscribers"])
            for n in with_email["NotificationsWithSubscribers"]] == [
        ("ACTUAL", 80, [{"SubscriptionType": "EMAIL", "Address": "ops@example.com"}]),
        ("FORECASTED", 100, [{"SubscriptionType": "EMAIL", "Address": "ops@example.com"}])]
    without_email = props(build(CASES["budget-without-email"]), naming.BUDGET)
    assert "NotificationsWithSubscribers" not in without_email
    assert without_email["Budget"]["BudgetLimit"] == {"Amount": 7.5, "Unit": "USD"}


# --- tags, outputs, determinism ---------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["everything", "plain-http"])
def test_every_taggable_resource_is_tagged(case):
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    region = CASES[case].get("region", "us-east-1")
    expected = [{"Key": "cost-center", "Value": "r-and-d"}, {"Key": "mcpdeploy:deployment", "Value": "voice-dev"},
                {"Key": "team", "Value": "voice"}]
    tagged = 0
    for name, resource in build(CASES[case])["Resources"].items():
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource["Type"]).schema["properties"]
        key = "Tags" if "Tags" in schema else "ResourceTags" if "ResourceTags" in schema else None
        if key is not None:
            assert resource["Properties"].get(key) == expected, name
            tagged += 1
    assert tagged >= 20


def test_outputs_tell_how_to_connect_and_operate():
    https = build({})["Outputs"]
    assert set(https) == {"EndpointUrl", "HealthUrl", "SecretArn", "LogGroupName", "SetElevenLabsKeyCommand",
                          "ClusterName", "ServiceName", "LoadBalancerDnsName", "LoadBalancerHostedZoneId"}
    assert https["EndpointUrl"]["Value"] == {"Fn::Sub": "https://${LoadBalancer.DNSName}/mcp"}
    assert https["HealthUrl"]["Value"] == {"Fn::Sub": "https://${LoadBalancer.DNSName}/health"}
    plain = build({"alb": {"allowPlainHttp": True}})["Outputs"]
    assert plain["EndpointUrl"]["Value"] == {"Fn::Sub": "http://${LoadBalancer.DNSName}/mcp"}
    command, variables = https["SetElevenLabsKeyCommand"]["Value"]["Fn::Sub"]
    assert variables == {"Secret": {"Ref": naming.SERVER_SECRET}, "Cluster": {"Ref": naming.CLUSTER},
                         "ServiceName": {"Fn::GetAtt": [naming.SERVICE, "Name"]}}
    assert "env.ELEVENLABS_API_KEY" in command and "sk_" not in command


def test_repository_stack():
    template = build_repository(repository(keepImages=9)).to_dict()
    repo = props(template, naming.REPOSITORY)
    assert repo["RepositoryName"] == "elevenlabs-mcp"
    assert repo["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert repo["ImageTagMutability"] == "IMMUTABLE"
    assert repo["EncryptionConfiguration"] == {"EncryptionType": "AES256"}
    assert [rule["selection"] for rule in json.loads(repo["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]] == [
        {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 9},
        {"tagStatus": "tagged", "tagPatternList": ["*"], "countType": "imageCountMoreThan", "countNumber": 9}]
    assert repo["EmptyOnDelete"] is False  # deleting the stack keeps the images (and fails while there are some)
    assert props(build_repository(repository(emptyOnDelete=True)).to_dict(), naming.REPOSITORY)["EmptyOnDelete"]
    assert repo["Tags"] == [{"Key": "mcpdeploy:deployment", "Value": "elevenlabs-mcp"}, {"Key": "team", "Value": "voice"}]
    assert {name: o["Export"]["Name"] for name, o in template["Outputs"].items()} == {
        "RepositoryUri": "elevenlabs-mcp-RepositoryUri", "RepositoryArn": "elevenlabs-mcp-RepositoryArn"}
    # Immutable by default: a tag names one image for good (a stack deployed with it, a reproducible build).
    mutable = build_repository(repository(immutableTags=False)).to_dict()
    assert props(mutable, naming.REPOSITORY)["ImageTagMutability"] == "MUTABLE"


# --- the repository's lifecycle policy, evaluated as ECR documents it ----------------------------------------------

def expired(policy: dict, images: list[tuple[int, list[str]]]) -> set[int]:
    """Which images (pushed at, tags) a lifecycle policy expires, by ECR's documented evaluation: rules in
    priority order; an image selected by a rule's tag requirements cannot be expired by a later rule (but is
    still counted by it); imageCountMoreThan keeps the newest `countNumber` of what a rule selects."""
    def selects(selection: dict, tags: list[str]) -> bool:
        if selection["tagStatus"] == "untagged":
            return not tags
        if selection["tagStatus"] == "any":
            return True
        patterns = selection.get("tagPatternList") or [p + "*" for p in selection["tagPrefixList"]]
        return bool(tags) and all(any(fnmatch.fnmatchcase(tag, p) for tag in tags) for p in patterns)

    gone: set[int] = set()
    shielded: set[int] = set()
    for rule in sorted(policy["rules"], key=lambda r: r["rulePriority"]):
        selection = rule["selection"]
        assert selection["countType"] == "imageCountMoreThan"
        chosen = sorted((i for i, (_, tags) in enumerate(images) if selects(selection, tags)),
                        key=lambda i: -images[i][0])
        gone |= {i for i in chosen[selection["countNumber"]:] if i not in shielded}
        shielded |= set(chosen)
    return gone


def lifecycle(template: dict) -> dict:
    return json.loads(props(template, naming.REPOSITORY)["LifecyclePolicy"]["LifecyclePolicyText"])


def test_lifecycle_never_expires_a_tag_a_deployment_runs():
    """Issue 15 finding 5: `tagStatus any, more than 5` expired the image of a deployment on an old tag, once
    five newer images (or untagged leftovers of re-pushed tags) existed; tasks pull it again every morning."""
    images = [(0, ["1.0.0"])] + [(day, [f"1.0.{day}"]) for day in range(1, 8)] + [(day, []) for day in range(8, 20)]
    policy = lifecycle(build_repository(repository(keepImages=5), ["1.0.0", "1.0.7"]).to_dict())
    gone = expired(policy, images)
    assert 0 not in gone and 7 not in gone  # the tags in use, the oldest among them
    # the 5 newest tagged stay whatever the untagged count; older tags not in use go
    assert {i for i in range(1, 8) if i not in gone} == {3, 4, 5, 6, 7}
    assert {i for i in range(8, 20) if i not in gone} == set(range(15, 20))  # 5 newest untagged stay
    assert len(policy["rules"]) == 4  # untagged, one per tag in use, tagged
    # The build passes the file's tags: every deployment's tag is shielded in its repository's template.
    config = load_config(str(ROOT / "deployment.yaml"))
    files, _ = compile_config(config)
    for repo in config.repositories:
        patterns = [r["selection"].get("tagPatternList") for r in lifecycle(json.loads(
            files[f"{repo.model.metadata.name}.json"]))["rules"]]
        for d in config.deployments:
            if d.model.spec.image.repository == repo.model.metadata.name:
                assert [d.model.spec.image.tag] in patterns


def test_build_is_deterministic_across_processes():
    """Same model, separate interpreters with different hash seeds: byte-identical JSON."""
    script = ("import json; import tests.test_templates as t; "
              "print(json.dumps([t.build(c) for c in t.CASES.values()], sort_keys=True))")
    outputs = {subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(outputs) == 1
    assert json.loads(outputs.pop()) == json.loads(json.dumps([build(c) for c in CASES.values()]))


# --- the SetElevenLabsKeyCommand output, run for real against moto ----------------------------------------------

@pytest.fixture
def moto_endpoint():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "moto_server did not start"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_set_elevenlabs_key_command_merges_the_key_and_restarts(moto_endpoint):
    require("jq")  # the SetElevenLabsKeyCommand output pipes through it
    region = "eu-central-1"
    aws = {"region_name": region, "endpoint_url": moto_endpoint, "aws_access_key_id": "test",
           "aws_secret_access_key": "test"}
    secrets, ecs = boto3.client("secretsmanager", **aws), boto3.client("ecs", **aws)
    arn = secrets.create_secret(Name="voice-dev", SecretString=json.dumps(
        {"ELEVENLABS_API_KEY": "", "MCP_SERVER_API_KEY": "generated-by-cloudformation"}))["ARN"]
    ecs.create_cluster(clusterName="voice-dev-cluster")
    ecs.register_task_definition(family="voice-dev", containerDefinitions=[{"name": "server", "image": "x",
                                                                            "memory": 512}])
    ecs.create_service(cluster="voice-dev-cluster", serviceName="voice-dev-service", taskDefinition="voice-dev",
                       desiredCount=0)
    command = SET_ELEVENLABS_KEY
    for variable, value in {"AWS::Region": region, "Secret": arn, "Cluster": "voice-dev-cluster",
                            "ServiceName": "voice-dev-service"}.items():
        command = command.replace(f"${{{variable}}}", value)
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", "AWS_ENDPOINT_URL": moto_endpoint,
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "ELEVENLABS_API_KEY": "sk_test_123"}
    result = subprocess.run(["bash", "-o", "pipefail", "-c", command], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "voice-dev-service"
    assert "sk_test_123" not in result.stdout + result.stderr
    assert json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"]) == {
        "ELEVENLABS_API_KEY": "sk_test_123", "MCP_SERVER_API_KEY": "generated-by-cloudformation"}


# --- the auth page (alb and nat-instance serve it from the task) -------------------------------------------------

AUTH_PAGE = {"auth": {"mode": "tokens", "authPage": {"tokenDays": 30, "attemptsPerHour": 7}}}


def build_nat(overrides: dict) -> dict:
    spec = {"region": "us-east-1", "topology": "nat-instance",
            "image": {"repository": "elevenlabs-mcp", "tag": "1.4.0"}, **copy.deepcopy(overrides)}
    model = Deployment.model_validate({"apiVersion": "mcpdeploy/v1alpha1", "kind": "Deployment",
                                       "metadata": {"name": "voice-dev"}, "spec": spec})
    return TOPOLOGIES["nat-instance"](model, repository()).to_dict()


def test_auth_page_settings_reach_the_server():
    env = environment(build(AUTH_PAGE))
    assert {key: env[key] for key in ("MCP_AUTH_MODE", "MCP_AUTH_PAGE", "MCP_AUTH_PAGE_TOKEN_DAYS",
                                      "MCP_AUTH_PAGE_ATTEMPTS_PER_HOUR")} == {
        "MCP_AUTH_MODE": "tokens", "MCP_AUTH_PAGE": "true", "MCP_AUTH_PAGE_TOKEN_DAYS": "30",
        "MCP_AUTH_PAGE_ATTEMPTS_PER_HOUR": "7"}
    assert env["MCP_DEPLOYMENT_NAME"] == "voice-dev"  # what the page's client configurations call the server
    assert environment(build_nat(AUTH_PAGE))["MCP_DEPLOYMENT_NAME"] == "voice-dev"
    assert not {key for key in environment(build({"auth": {"mode": "tokens"}})) if key.startswith("MCP_AUTH_PAGE")}


@pytest.mark.parametrize("alb, origin", [
    ({"domainName": "mcp.example.com"}, "https://mcp.example.com"),
    ({"allowPlainHttp": True}, {"Fn::Sub": "http://${LoadBalancer.DNSName}"}),
    ({}, None),  # a certificate without domainName: the load balancer's name fails TLS; the server uses the Host
])
def test_public_url_is_the_origin_clients_use(alb, origin):
    template = build({**AUTH_PAGE, "alb": alb})
    assert environment(template).get("MCP_PUBLIC_URL") == origin
    page = template["Outputs"]["AuthPageUrl"]["Value"]
    assert page == (f"{origin}/auth" if isinstance(origin, str) else
                    {"Fn::Sub": f"{'http' if alb else 'https'}://${{LoadBalancer.DNSName}}/auth"})


def test_the_sign_up_code_is_a_generated_secret_only_the_task_start_can_read():
    template = build(AUTH_PAGE)
    code = template["Resources"][naming.SIGNUP_CODE_SECRET]
    assert code["Properties"]["GenerateSecretString"] == {"PasswordLength": 24, "ExcludePunctuation": True}
    assert "SecretString" not in code["Properties"] and code["DeletionPolicy"] == "Retain"
    code_secret = {"Name": "MCP_SIGNUP_CODE", "ValueFrom": {"Ref": naming.SIGNUP_CODE_SECRET}}
    assert code_secret in container(template)["Secrets"]
    assert "MCP_SIGNUP_CODE" not in environment(template)
    (policy,) = props(template, naming.EXECUTION_ROLE)["Policies"]
    grants = {tuple(s["Action"]): s["Resource"] for s in policy["PolicyDocument"]["Statement"]}
    assert grants[("secretsmanager:GetSecretValue",)] == [{"Ref": naming.SERVER_SECRET},
                                                          {"Ref": naming.SIGNUP_CODE_SECRET}]
    assert "SignupCodeSecret" not in json.dumps(props(template, naming.TASK_ROLE))  # the server gets the value only
    command, variables = template["Outputs"]["SignupCodeCommand"]["Value"]["Fn::Sub"]
    assert variables == {"Secret": {"Ref": naming.SIGNUP_CODE_SECRET}}


def test_without_a_sign_up_code_there_is_no_second_secret():
    template = build({"auth": {"mode": "tokens", "authPage": {"signupCode": False}}})
    assert list(of_type(template, "AWS::SecretsManager::Secret")) == [naming.SERVER_SECRET]
    assert "MCP_SIGNUP_CODE" not in {s["Name"] for s in container(template)["Secrets"]}
    assert "SignupCodeCommand" not in template["Outputs"] and "AuthPageUrl" in template["Outputs"]


@pytest.mark.parametrize("auth, actions", [
    ({"mode": "tokens"}, ["dynamodb:GetItem"]),
    (AUTH_PAGE["auth"], ["dynamodb:GetItem", "dynamodb:PutItem"]),
])
def test_the_task_adds_token_rows_only_with_the_auth_page(auth, actions):
    table = {"Fn::GetAtt": [naming.TOKENS_TABLE, "Arn"]}
    for template in (build({"auth": auth}), build_nat({"auth": auth})):
        (policy,) = props(template, naming.TASK_ROLE)["Policies"]
        statement, *counts = policy["PolicyDocument"]["Statement"]
        assert statement == {"Effect": "Allow", "Action": actions, "Resource": table}
        ttl = props(template, naming.TOKENS_TABLE).get("TimeToLiveSpecification")
        if "dynamodb:PutItem" in actions:
            # The page's attempt counts: UpdateItem on `attempts#...` rows only, never on a token's row (which
            # could un-revoke it); DynamoDB deletes them by TTL.
            assert counts == [{"Effect": "Allow", "Action": ["dynamodb:UpdateItem"], "Resource": table, "Condition": {
                "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["attempts#*"]}}}]
            assert ttl == {"AttributeName": "purge_at", "Enabled": True}
        else:
            assert counts == [] and ttl is None


def test_alb_forwards_every_path_to_the_tasks():
    """/auth needs no rule of its own: the listener's only action forwards (or redirects to HTTPS) everything."""
    template = build(AUTH_PAGE)
    assert of_type(template, "AWS::ElasticLoadBalancingV2::ListenerRule") == {}
    https = props(template, naming.HTTPS_LISTENER)["DefaultActions"]
    assert https == [{"Type": "forward", "TargetGroupArn": {"Ref": naming.TARGET_GROUP}}]


@pytest.mark.parametrize("cidrs", [[], ["203.0.113.0/24"]])
def test_nat_instance_routes_the_auth_page_through_the_one_default_route(cidrs):
    """GET /auth, /auth/, /auth/config.json and POST /auth/token take the $default route (every method and path)
    to the tasks, behind the source-address authorizer when there is an allow-list."""
    template = build_nat({**AUTH_PAGE, "auth": {**AUTH_PAGE["auth"], "allowedCidrs": cidrs}})
    routes = of_type(template, "AWS::ApiGatewayV2::Route")
    assert [route["Properties"]["RouteKey"] for route in routes.values()] == ["$default"]
    route = routes[naming.HTTP_API_ROUTE]["Properties"]
    if cidrs:
        assert (route["AuthorizationType"], route["AuthorizerId"]) == ("CUSTOM", {"Ref": naming.CIDR_AUTHORIZER})
    else:
        assert "AuthorizerId" not in route
    origin = "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
    assert environment(template)["MCP_PUBLIC_URL"] == {"Fn::Sub": origin}
    assert template["Outputs"]["AuthPageUrl"]["Value"] == {"Fn::Sub": origin + "/auth"}
    assert "MCP_ALLOWED_CIDRS" not in environment(template)  # the authorizer judges the source address


def test_auth_page_templates_lint_clean():
    for template, region in ((build(AUTH_PAGE), "us-east-1"),
                             (build({"auth": {"mode": "tokens", "authPage": {}}, "alb": {"allowPlainHttp": True}}),
                              "us-east-1"),
                             (build_nat({**AUTH_PAGE, "auth": {**AUTH_PAGE["auth"], "allowedCidrs": ["10.1.0.0/16"]}}),
                              "us-east-1")):
        assert lint(template, region) == []


def test_sign_up_code_command_prints_the_code(moto_endpoint):
    region = "us-east-1"
    secrets = boto3.client("secretsmanager", region_name=region, endpoint_url=moto_endpoint,
                           aws_access_key_id="test", aws_secret_access_key="test")
    arn = secrets.create_secret(Name="voice-dev-signup", SecretString="Ab3dEf6hIj9kLm2nOp5qRs8t")["ARN"]
    command, _ = build(AUTH_PAGE)["Outputs"]["SignupCodeCommand"]["Value"]["Fn::Sub"]
    command = command.replace("${AWS::Region}", region).replace("${Secret}", arn)
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", "AWS_ENDPOINT_URL": moto_endpoint,
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    result = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Ab3dEf6hIj9kLm2nOp5qRs8t\n"


def test_the_documented_sign_up_code_rotation_works(moto_endpoint):
    """docs/auth.md's rotation commands, run as written with the real AWS CLI against moto: a stack whose outputs
    are what the template outputs, the secret, the cluster and the service (moto creates no secret from a
    template, so those are made directly)."""
    guide = (ROOT / "docs" / "auth.md").read_text().split("### Rotating the sign-up code", 1)[1]
    script = guide.split("```sh\n", 1)[1].split("```", 1)[0]
    region, old_code = "us-east-1", "OldCode0000000000000000"
    aws = {"region_name": region, "endpoint_url": moto_endpoint, "aws_access_key_id": "test",
           "aws_secret_access_key": "test"}
    arn = boto3.client("secretsmanager", **aws).create_secret(Name="signup", SecretString=old_code)["ARN"]
    ecs = boto3.client("ecs", **aws)
    ecs.create_cluster(clusterName="voice-nat-cluster")
    ecs.register_task_definition(family="voice-nat", containerDefinitions=[{"name": "server", "image": "x",
                                                                            "memory": 512}])
    ecs.create_service(cluster="voice-nat-cluster", serviceName="voice-nat-service", taskDefinition="voice-nat",
                       desiredCount=0)
    command, _ = build_nat(AUTH_PAGE)["Outputs"]["SignupCodeCommand"]["Value"]["Fn::Sub"]
    outputs = {"SignupCodeCommand": command.replace("${AWS::Region}", region).replace("${Secret}", arn),
               "ClusterName": "voice-nat-cluster", "ServiceName": "voice-nat-service"}
    boto3.client("cloudformation", **aws).create_stack(StackName="voice-nat", TemplateBody=json.dumps({
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()}}))
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", "AWS_ENDPOINT_URL": moto_endpoint,
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    result = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    service, new_code = result.stdout.split()
    assert service == "voice-nat-service"
    assert new_code == boto3.client("secretsmanager", **aws).get_secret_value(SecretId=arn)["SecretString"]
    assert new_code != old_code and len(new_code) == 24 and new_code.isalnum()
