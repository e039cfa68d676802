"""Lambda functions whose code travels inside the template (ZipFile), so `aws cloudformation deploy` alone
deploys them: no bucket, no packaging step, no image to push first; and those too large for that, or needing the
server's packages, which run from the shared server image (ImageFunction).

The code is a module of `server/` (tested there like any other), read as text at build time and inlined without
its docstrings, comments and blank lines (the same statements, line for line in order; the source keeps the
explanations). Lambda takes at most 4,096 characters inline; longer code is a build error here, and a failing
test in tests/websocket.
"""

from __future__ import annotations

import ast
import io
import tokenize
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
class ImageFunction:
    logical_id: str
    handler: str  # a dotted path in the image, e.g. "server.websocket.on_demand.handler"
    image_uri: Sub  # image.uri(...): the deployment's tag of the shared repository
    architecture: str  # the image's: spec.task.architecture
    environment: dict
    timeout_seconds: int
    memory_mb: int
    description: str | None = None


@dataclass(frozen=True)
class Network:
    subnets: list[ec2.Subnet]
    security_group: ec2.SecurityGroup


def inline_code(module: str) -> str:
    path = SERVER_PACKAGE / module
    if INLINED_SERVER_CODE not in path.resolve().parents:
        raise ValueError(f"server/{module} is outside {INLINED_SERVER_CODE}, the code the build cache watches")
    code = without_explanations(path.read_text(encoding="utf-8"))
    if len(code) > INLINE_CODE_LIMIT:
        raise ValueError(f"server/{module} has {len(code)} characters without its docstrings and comments; inline "
                         f"Lambda code takes at most {INLINE_CODE_LIMIT}")
    return code


def without_explanations(source: str) -> str:
    """`source` without docstrings, comments and blank lines, indented by one space a level: what runs is
    unchanged (tests/websocket compares the syntax trees), the text is a fifth shorter. A docstring that is its
    body's only statement stays; multi-line strings stay as they are."""
    dropped: set[int] = set()  # line numbers
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and len(body) > 1 and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            dropped.update(range(body[0].lineno, body[0].end_lineno + 1))
    lines = source.splitlines()
    in_strings: set[int] = set()  # lines inside a multi-line string: kept verbatim
    depth_of: dict[int, int] = {}  # a line that starts a statement: its indentation level
    depth, starts_statement = 0, True
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        row, column = token.start
        if token.type == tokenize.COMMENT:
            lines[row - 1] = lines[row - 1][:column].rstrip()
        elif token.type in (tokenize.INDENT, tokenize.DEDENT):
            depth += 1 if token.type == tokenize.INDENT else -1
        elif token.type == tokenize.NEWLINE:
            starts_statement = True
        elif token.type not in (tokenize.NL, tokenize.ENDMARKER):
            if starts_statement:
                depth_of[row], starts_statement = depth, False
            if token.type == tokenize.STRING:
                in_strings.update(range(row + 1, token.end[0] + 1))
    kept = []
    for number, line in enumerate(lines, 1):
        if number in dropped:
            continue
        if number in in_strings:
            kept.append(line)
        elif line.strip():
            kept.append(" " * depth_of.get(number, 0) + line.lstrip())  # a continuation line: any indentation
    return "\n".join(kept) + "\n"


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


def image_command(handler: str) -> list[str]:
    """The image's Python speaking Lambda's Runtime API (awslambdaric) to run `handler`. The image sets CMD only
    (no ENTRYPOINT), so this command replaces it whole."""
    return ["python", "-m", "awslambdaric", handler]


def image_function(t: Template, spec: ImageFunction, *, role: iam.Role,
                   log_group: logs.LogGroup) -> awslambda.Function:
    """`handler` run from the shared server image (image_command)."""
    function_ = awslambda.Function(
        spec.logical_id,
        PackageType="Image", Architectures=[spec.architecture],
        Code=awslambda.Code(ImageUri=spec.image_uri),
        ImageConfig=awslambda.ImageConfig(Command=image_command(spec.handler)),
        MemorySize=spec.memory_mb, Timeout=spec.timeout_seconds,
        Environment=awslambda.Environment(Variables=dict(sorted(spec.environment.items()))),
        LoggingConfig=awslambda.LoggingConfig(LogGroup=Ref(log_group)),
        Role=GetAtt(role, "Arn"),
    )
    if spec.description is not None:
        function_.Description = spec.description
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

