"""The NAT instance: an Auto Scaling group of one behind a static network interface, on the service's schedule.

The private route table targets the static interface, so a replaced instance (spot interruption, failed
health check, scheduled stop and start) takes over the route by attaching it: nothing else changes. The
instance boots Amazon Linux 2023 and runs compiler/assets/nat-instance-boot.sh (see its header), which
fails loudly and powers the instance off (terminate on shutdown) when the interface never shows up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from troposphere import Base64, GetAtt, Ref, Sub, Tags, Template, autoscaling, ec2, iam
from troposphere.policies import (AutoScalingRollingUpdate, AutoScalingScheduledAction, CreationPolicy,
                                  ResourceSignal, UpdatePolicy)

from .. import naming
from ..model import DAYS, NatInstanceOptions, Schedule
from . import policies
from .network import HTTPS, Network

BOOT_SCRIPT = Path(__file__).resolve().parent.parent / "assets" / "nat-instance-boot.sh"
AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{architecture}"
# Processes AWS's UpdatePolicy documentation says to suspend during a rolling update: otherwise a health check
# replacement or a scheduled action (this group has two) can start or stop an instance in the middle of it.
ROLLING_UPDATE_SUSPENDS = ["HealthCheck", "ReplaceUnhealthy", "AZRebalance", "AlarmNotification", "ScheduledActions"]
# What SSM Agent needs for Session Manager and nothing more: register the instance, open the session channels.
# AWS's own AWSCloud9SSMInstanceProfile policy is exactly these; AmazonSSMManagedInstanceCore would add
# ssm:GetParameter(s) on every parameter of the account, Run Command (ec2messages) and more.
SESSION_MANAGER_CHANNELS = [
    "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
]
MINUTES_PER_DAY = 24 * 60
SIGNAL_TIMEOUT = "PT15M"  # boot, attach (up to 5 minutes of retries), a replacement or two
EPHEMERAL_PORTS = (1024, 65535)  # where replies to the tasks go (Linux picks from 32768-60999)
ROOT_VOLUME_GIB = 8  # the AL2023 AMI's own snapshot size, the smallest it accepts
# Graviton families carry a "g" right after the generation number (t4g, c7gn, m6gd); a1 is the first Graviton.
ARM_FAMILY = re.compile(r"^(a1|[a-z]+\d+g[a-z]*)$")
BURSTABLE_FAMILY = re.compile(r"^t\d+[a-z]*\.")  # t3, t3a, t4g; not trn1


@dataclass(frozen=True)
class NatInstance:
    interface: ec2.NetworkInterface
    group: autoscaling.AutoScalingGroup


def architecture(instance_type: str) -> str:
    """The CPU architecture of an instance type, which picks the AMI."""
    return "arm64" if ARM_FAMILY.match(instance_type.split(".")[0]) else "x86_64"


def nat_instance(t: Template, network: Network, options: NatInstanceOptions, schedule: Schedule | None,
                 tags: dict[str, str]) -> NatInstance:
    public_subnet = network.subnets[0]  # the static interface lives here, so the instance must too
    security_group = _security_group(t, network)
    interface = t.add_resource(ec2.NetworkInterface(
        naming.NAT_NETWORK_INTERFACE, SubnetId=Ref(public_subnet), GroupSet=[GetAtt(security_group, "GroupId")],
        SourceDestCheck=False, Description="Static NAT interface: the private route table's target"))
    role, profile, policy = _identity(t, interface, tags)
    template = _launch_template(t, options, security_group, profile, network, tags)
    group = t.add_resource(autoscaling.AutoScalingGroup(
        naming.NAT_GROUP,
        MinSize="0" if schedule else "1",
        MaxSize="1",
        DesiredCapacity="1",  # at creation: the tasks need it to pull their image
        VPCZoneIdentifier=[Ref(public_subnet)],
        LaunchTemplate=autoscaling.LaunchTemplateSpecification(
            LaunchTemplateId=Ref(template), Version=GetAtt(template, "LatestVersionNumber")),
        HealthCheckType="EC2",
        HealthCheckGracePeriod=60,
        # The policy must exist before the boot script calls EC2; the public route before it reaches EC2 at all.
        DependsOn=[policy.title, *network.internet_path],
        # Created only once the boot script reports a working NAT: the tasks that follow need it to pull.
        CreationPolicy=CreationPolicy(ResourceSignal=ResourceSignal(Count=1, Timeout=SIGNAL_TIMEOUT)),
        UpdatePolicy=UpdatePolicy(
            # Without this, every stack update would reset the size the scheduled actions set.
            AutoScalingScheduledAction=AutoScalingScheduledAction(IgnoreUnmodifiedGroupSizeProperties=True),
            # A changed launch template replaces the instance. The static interface moves to the new instance
            # only once the old one is gone, so one must stop first (MinInstancesInService 0, below MaxSize 1);
            # the update then waits for the new instance's boot signal, i.e. for working egress.
            AutoScalingRollingUpdate=AutoScalingRollingUpdate(
                MinInstancesInService=0, MaxBatchSize=1, WaitOnResourceSignals=True, PauseTime=SIGNAL_TIMEOUT,
                SuspendProcesses=ROLLING_UPDATE_SUSPENDS)),
    ))
    if schedule is not None:
        for logical_id, recurrence, size in scheduled_sizes(schedule, options.lead_minutes):
            t.add_resource(autoscaling.ScheduledAction(
                logical_id, AutoScalingGroupName=Ref(group), Recurrence=recurrence, TimeZone=schedule.timezone,
                MinSize=size, MaxSize=size, DesiredCapacity=size))
    return NatInstance(interface=interface, group=group)


def scheduled_sizes(schedule: Schedule, lead_minutes: int) -> list[tuple[str, str, int]]:
    """(logical ID, 5-field recurrence, group size): up lead_minutes before the window opens, down as long
    after it closes, on the same days (shifted when the lead crosses midnight)."""
    start, end = schedule.window()
    if end <= start:  # the window crosses midnight: it closes the next day
        end += MINUTES_PER_DAY
    days = [day for day in DAYS if day in schedule.days]
    return [
        (naming.NAT_SCALE_OUT, recurrence(start - lead_minutes, days), 1),
        (naming.NAT_SCALE_IN, recurrence(end + lead_minutes, days), 0),
    ]


def recurrence(minute_of_week_day: int, days: list[str]) -> str:
    """EC2 Auto Scaling's Unix cron (minute hour day-of-month month day-of-week, 0 = Sunday); a minute count
    below 0 or past the day moves to the previous or following days."""
    day_shift, minute_of_day = divmod(minute_of_week_day, MINUTES_PER_DAY)
    numbers = sorted({(_CRON_DAY[day] + day_shift) % 7 for day in days})
    hours, minutes = divmod(minute_of_day, 60)
    return f"{minutes} {hours} * * {','.join(map(str, numbers))}"


_CRON_DAY = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}


def _security_group(t: Template, network: Network) -> ec2.SecurityGroup:
    """Shared by both interfaces. Admits only HTTPS from the VPC (all the tasks send) and sends HTTPS out
    (forwarded task traffic, the boot script's EC2 calls, packages), plus the return path: a request arrives on
    the static interface, but its translated reply leaves through the primary one (the route to the VPC), which
    never saw the connection start and so must allow it as new egress to a task's ephemeral port. No port 22:
    access is through SSM Session Manager."""
    return t.add_resource(ec2.SecurityGroup(
        naming.NAT_SECURITY_GROUP,
        GroupDescription="NAT instance",
        VpcId=Ref(network.vpc),
        SecurityGroupIngress=[ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=HTTPS, ToPort=HTTPS, CidrIp=network.cidr,
            Description="HTTPS from the VPC, to be translated")],
        SecurityGroupEgress=[
            ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=HTTPS, ToPort=HTTPS, CidrIp="0.0.0.0/0",
                                  Description="HTTPS to the internet: task traffic, EC2 API, packages"),
            ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=EPHEMERAL_PORTS[0], ToPort=EPHEMERAL_PORTS[1],
                                  CidrIp=network.cidr,
                                  Description="Translated replies to the tasks, leaving the primary interface"),
        ],
    ))


def _identity(t: Template, interface: ec2.NetworkInterface,
              tags: dict[str, str]) -> tuple[iam.Role, iam.InstanceProfile, iam.PolicyType]:
    """The instance's role: SSM Session Manager for access, and exactly the calls of the boot script."""
    role = t.add_resource(iam.Role(
        naming.NAT_ROLE,
        AssumeRolePolicyDocument=policies.service_trust("ec2.amazonaws.com", same_account=False),
        # The agent registers this instance (an instance ARN; no role can register another account's); the
        # session channels have no resource type in the Service Authorization Reference: "*" only.
        Policies=[iam.Policy(PolicyName="session-manager", PolicyDocument=policies.document([
            policies.allow("ssm:UpdateInstanceInformation",
                           Sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*")),
            policies.allow(SESSION_MANAGER_CHANNELS, "*")]))],
    ))
    profile = t.add_resource(iam.InstanceProfile(naming.NAT_INSTANCE_PROFILE, Roles=[Ref(role)]))
    interface_arn = Sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:network-interface/${Eni}",
                        Eni=Ref(interface))
    own_instances = Sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*")
    any_interface = Sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:network-interface/*")
    # A separate policy: inline in the role, the instance-profile condition would make a dependency cycle.
    policy = t.add_resource(iam.PolicyType(
        naming.NAT_ROLE + "BootPolicy",
        PolicyName="nat-boot",
        Roles=[Ref(role)],
        PolicyDocument=policies.document([
            # Describe calls have no resource-level permissions.
            policies.allow("ec2:DescribeNetworkInterfaces", "*"),
            policies.allow("ec2:AttachNetworkInterface", interface_arn),
            # Only instances launched with this profile: the NAT itself (and a predecessor being replaced).
            {**policies.allow("ec2:AttachNetworkInterface", own_instances),
             "Condition": {"ArnEquals": {"ec2:InstanceProfile": GetAtt(profile, "Arn")}}},
            # The source/destination check of the primary interface (EC2 refuses the instance-level call once
            # two interfaces are attached). Its ID is known only at launch: the launch template tags it with the
            # deployment's tag, so only this deployment's interfaces match.
            {**policies.allow("ec2:ModifyNetworkInterfaceAttribute", any_interface),
             "Condition": {"StringEquals": {
                 f"aws:ResourceTag/{naming.DEPLOYMENT_TAG}": tags[naming.DEPLOYMENT_TAG]}}},
            policies.allow("cloudformation:SignalResource", Sub(
                "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${AWS::StackName}/*")),
        ]),
    ))
    return role, profile, policy


def _launch_template(t: Template, options: NatInstanceOptions, security_group: ec2.SecurityGroup,
                     profile: iam.InstanceProfile, network: Network, tags: dict[str, str]) -> ec2.LaunchTemplate:
    data = ec2.LaunchTemplateData(
        ImageId=image_id(options),
        InstanceType=options.instance_type,
        IamInstanceProfile=ec2.IamInstanceProfile(Arn=GetAtt(profile, "Arn")),
        MetadataOptions=ec2.MetadataOptions(HttpTokens="required", HttpEndpoint="enabled",
                                            HttpPutResponseHopLimit=1),
        NetworkInterfaces=[ec2.NetworkInterfaces(
            DeviceIndex=0, AssociatePublicIpAddress=True, Groups=[GetAtt(security_group, "GroupId")],
            DeleteOnTermination=True)],
        # The boot script powers off on failure: terminating then lets the group launch a replacement.
        InstanceInitiatedShutdownBehavior="terminate",
        BlockDeviceMappings=[ec2.LaunchTemplateBlockDeviceMapping(DeviceName="/dev/xvda", Ebs=ec2.EBSBlockDevice(
            VolumeType="gp3", VolumeSize=ROOT_VOLUME_GIB, Encrypted=True, DeleteOnTermination=True))],
        TagSpecifications=[ec2.TagSpecifications(ResourceType=kind, Tags=Tags(tags))
                           for kind in ("volume", "network-interface")],
        UserData=Base64(Sub(user_data(), VpcCidr=network.cidr)),
    )
    if BURSTABLE_FAMILY.match(options.instance_type):
        # Burstable types default to (or may be set to) unlimited credits, billed when the CPU runs hot.
        data.CreditSpecification = ec2.LaunchTemplateCreditSpecification(CpuCredits="standard")
    if options.spot:
        data.InstanceMarketOptions = ec2.InstanceMarketOptions(MarketType="spot", SpotOptions=ec2.SpotOptions(
            SpotInstanceType="one-time", InstanceInterruptionBehavior="terminate"))
    return t.add_resource(ec2.LaunchTemplate(naming.NAT_LAUNCH_TEMPLATE, LaunchTemplateData=data))


def image_id(options: NatInstanceOptions) -> str:
    """Amazon Linux 2023 for the instance's architecture, as the public SSM parameter EC2 Auto Scaling resolves at
    each launch (`resolve:ssm:`, not a stack parameter): every launch, the daily one included, gets the current
    image (or the pinned version), and the template does not change when AWS publishes a new one, so no deploy
    rolls the NAT for it. A stack parameter would be re-resolved at every stack update (a new image rolls the NAT)
    and, left out of --parameter-overrides, keep its previous value when the instance type changes architecture."""
    name = AMI_PARAMETER.format(architecture=architecture(options.instance_type))
    return f"resolve:ssm:{name}" + (f":{options.image_version}" if options.image_version else "")


def user_data() -> str:
    """The boot script as an Fn::Sub template: its settings below the shebang, the shell's own ${...} escaped."""
    shebang, body = BOOT_SCRIPT.read_text(encoding="utf-8").split("\n", 1)
    settings = (f"NAT_ENI_ID='${{{naming.NAT_NETWORK_INTERFACE}}}'\n"
                "NAT_VPC_CIDR='${VpcCidr}'\n"
                "NAT_REGION='${AWS::Region}'\n"
                "NAT_STACK='${AWS::StackName}'\n")
    return f"{shebang}\n{settings}{body.replace('${', '${!')}"
