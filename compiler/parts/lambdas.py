"""Lambda functions whose code travels inside the template (ZipFile), so `aws cloudformation deploy` alone
deploys them: no bucket, no packaging step, no image to push first.

The code is a module of `server/` (tested there like any other), read as text at build time. Lambda takes at
most 4,096 characters inline; a longer module is a build error here, and a failing test in tests/websocket.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from troposphere import GetAtt, Ref, Sub, Template, awslambda, ec2, iam, logs

from ..buildcache import INLINED_SERVER_CODE
from ..model import Logs
from . import policies

RUNTIME = "python3.13"  # boto3 is part of the runtime
INLINE_CODE_LIMIT = 4096
SERVER_PACKAGE = Path(__file__).resolve().parents[2] / "server"


@dataclass(frozen=True)
class InlineFunction:
    logical_id: str
    module: str  # path under server/, e.g. "websocket/relay.py"
    description: str
    environment: dict
    timeout_seconds: int
    memory_mb: int = 256


@dataclass(frozen=True)
class Network:
    subnets: list[ec2.Subnet]
    security_group: ec2.SecurityGroup


def inline_code(module: str) -> str:
    path = SERVER_PACKAGE / module
    if INLINED_SERVER_CODE not in path.resolve().parents:
        raise ValueError(f"server/{module} is outside {INLINED_SERVER_CODE}, the code the build cache watches")
    code = path.read_text(encoding="utf-8")
    if len(code) > INLINE_CODE_LIMIT:
        raise ValueError(f"server/{module} has {len(code)} characters; inline Lambda code takes at most "
                         f"{INLINE_CODE_LIMIT}")
    return code


def function(t: Template, spec: InlineFunction, *, role: iam.Role, log_group: logs.LogGroup,
             network: Network | None = None) -> awslambda.Function:
    """An arm64 Python function running `<module>.handler`; it logs to `log_group` (retention from the spec)."""
    function_ = awslambda.Function(
        spec.logical_id,
        Description=spec.description,
        Runtime=RUNTIME, Architectures=["arm64"], Handler="index.handler",
        MemorySize=spec.memory_mb, Timeout=spec.timeout_seconds,
        Code=awslambda.Code(ZipFile=inline_code(spec.module)),
        Environment=awslambda.Environment(Variables=dict(sorted(spec.environment.items()))),
        LoggingConfig=awslambda.LoggingConfig(LogGroup=Ref(log_group)),
        Role=GetAtt(role, "Arn"),
    )
    if network is not None:
        function_.VpcConfig = awslambda.VPCConfig(SubnetIds=[Ref(subnet) for subnet in network.subnets],
                                                  SecurityGroupIds=[GetAtt(network.security_group, "GroupId")])
    return t.add_resource(function_)


def log_group(t: Template, logical_id: str, name: str, spec: Logs) -> logs.LogGroup:
    return t.add_resource(logs.LogGroup(
        logical_id, LogGroupName=name, RetentionInDays=spec.retention_days,
        DeletionPolicy="Delete", UpdateReplacePolicy="Delete"))


def role(t: Template, logical_id: str, log_group_: logs.LogGroup, statements: list[dict] = ()) -> iam.Role:
    """Writes its own log group, plus `statements`; nothing else."""
    own_logs = policies.allow(["logs:CreateLogStream", "logs:PutLogEvents"], GetAtt(log_group_, "Arn"))
    return t.add_resource(iam.Role(
        logical_id,
        AssumeRolePolicyDocument=policies.service_trust("lambda.amazonaws.com"),
        Policies=[iam.Policy(PolicyName="function", PolicyDocument=policies.document([own_logs, *statements]))],
    ))


def vpc_access() -> dict:
    """What Lambda needs to attach a function to a VPC (its network interfaces); these actions take no resource."""
    return {"Effect": "Allow", "Resource": "*", "Action": [
        "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]}


def invocations_uri(function_: awslambda.Function) -> Sub:
    """How API Gateway names a function it integrates with or authorizes through."""
    return Sub("arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
               f"${{{function_.title}.Arn}}/invocations")

