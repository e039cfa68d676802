"""The deployment.yaml language as pydantic models (camelCase in YAML, snake_case in Python).

Each field checks what it can alone; rules that relate several fields or documents live in `checks.py`.
Models never see YAML or troposphere.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from typing import Annotated, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

API_VERSION = "mcpdeploy/v1alpha1"

# Fargate task sizes: CPU units -> allowed memory (MiB).
FARGATE_MEMORY: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)
DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
# Commercial regions where Fargate, ECS, API Gateway and ECR all run (November 2026).
REGIONS = (
    "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
    "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
    "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1",
    "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1",
    "mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
)
NAME_PATTERN = r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"  # DNS label: a valid stack name, ECR name and tag
HOURS_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$"
DOMAIN_PATTERN = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
LABEL_KEY_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


TOPOLOGY_HELP = ("websocket: API Gateway WebSocket + relay Lambda, no NAT (cheapest); nat-instance: private tasks "
                 "behind an HTTP API, egress through a scheduled NAT instance; alb: Application Load Balancer.")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, frozen=True, validate_default=True)


def _region(value: str) -> str:
    if value not in REGIONS:
        close = difflib.get_close_matches(value, REGIONS, n=1)
        raise ValueError(f"unknown AWS region {value!r}" + (f"; did you mean {close[0]!r}?" if close else ""))
    return value


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(value, available_timezones(), n=1)
        hint = f"did you mean {close[0]!r}?" if close else "for example Europe/Berlin or UTC"
        raise ValueError(f"unknown IANA time zone {value!r}; {hint}") from None
    return value


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as exc:
        if "host bits set" in str(exc):
            network = ipaddress.ip_network(value, strict=False)
            raise ValueError(f"{value!r} has host bits set; did you mean {str(network)!r}?") from None
        raise ValueError(f"{value!r} is not a CIDR block like 203.0.113.0/24") from None


Region = Annotated[str, AfterValidator(_region)]
TimeZone = Annotated[str, AfterValidator(_time_zone)]
Cidr = Annotated[str, AfterValidator(_cidr)]
ResourceName = Annotated[str, Field(pattern=NAME_PATTERN, description="lower-case DNS label, at most 63 characters")]


class Metadata(Strict):
    name: ResourceName = Field(description="Stack name of this document; unique in the file.")
    labels: dict[Annotated[str, Field(pattern=LABEL_KEY_PATTERN)],
                 Annotated[str, Field(max_length=63)]] = Field(
        default_factory=dict, description="Become tags on every resource of the stack.")


# --- ImageRepository --------------------------------------------------------------------------------------------

class ImageRepositorySpec(Strict):
    region: Region = Field(description="Region of the ECR repository; deployments using it must be in it.")
    keep_images: int = Field(5, ge=1, le=1000, description="Lifecycle policy: keep this many newest images.")
    scan_on_push: bool = Field(True, description="Scan each pushed image for vulnerabilities.")
    immutable_tags: bool = Field(True, description="Refuse to overwrite an existing tag (the default: a tag "
                                 "names one image for good, so a redeploy or a rebuild cannot change what it "
                                 "runs); false allows pushing over a tag.")


class ImageRepository(Strict):
    api_version: Literal["mcpdeploy/v1alpha1"] = Field(description="Schema version of this document.")
    kind: Literal["ImageRepository"] = Field(description="The shared ECR repository of the server image.")
    metadata: Metadata = Field(description="Name (= repository and stack name) and labels (= tags).")
    spec: ImageRepositorySpec = Field(description="Region, lifecycle and scanning of the repository.")


# --- Deployment -------------------------------------------------------------------------------------------------

class ImageRef(Strict):
    repository: ResourceName = Field(description="metadata.name of an ImageRepository in the same file.")
    tag: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", description="Image tag to run; quote it.")


class Task(Strict):
    cpu: Literal[256, 512, 1024, 2048, 4096, 8192, 16384] = Field(256, description="CPU units (1024 = 1 vCPU).")
    memory: int = Field(512, description="Memory in MiB; must fit the Fargate table for the CPU.")
    architecture: Literal["arm64", "x86_64"] = Field("arm64", description="arm64 is about 20% cheaper.")
    spot: bool = Field(False, description="Run on FARGATE_SPOT (about 70% cheaper, may be interrupted).")
    min_count: int = Field(1, ge=1, le=100, description="Tasks running during active hours.")
    max_count: int = Field(1, ge=1, le=100, description="Upper bound for CPU target tracking.")
    cpu_target_percent: int | None = Field(None, ge=10, le=90, description="Average CPU to track; off if absent.")
    stop_timeout_seconds: int = Field(30, ge=10, le=120, description="Time ECS gives a stopping task to drain.")


class Schedule(Strict):
    timezone: TimeZone = Field(description="IANA time zone of activeHours, e.g. Europe/Berlin.")
    active_hours: str = Field(pattern=HOURS_PATTERN, description="HH:MM-HH:MM; may cross midnight (22:00-02:00).")
    days: list[Literal["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]] = Field(
        default_factory=lambda: list(DAYS), min_length=1, description="Days on which the window starts.")

    def window(self) -> tuple[int, int]:
        """(start, end) of activeHours in minutes after midnight; end <= start means it closes the next day."""
        start, end = (int(hh) * 60 + int(mm) for hh, mm in (part.split(":") for part in self.active_hours.split("-")))
        return start, end


class Logs(Strict):
    retention_days: int = Field(7, description="CloudWatch Logs retention; one of the values AWS allows.")


class AuthPage(Strict):
    signup_code: bool = Field(True, description="Ask for a sign-up code (generated into Secrets Manager) before "
                              "issuing a token; false lets anyone with an ElevenLabs key mint one.")
    token_days: int = Field(90, ge=1, le=3650, description="Tokens the page issues expire after this many days.")
    attempts_per_hour: int = Field(10, ge=1, le=1000, description="Sign-up attempts one client (an IPv4 address, an "
                                   "IPv6 /64) may make per hour, counted across every task or function instance "
                                   "(docs/auth.md).")


class Auth(Strict):
    mode: Literal["api-key", "tokens"] = Field(
        "api-key", description="api-key: one generated key in Secrets Manager. tokens: per-user tokens.")
    allowed_cidrs: list[Cidr] = Field(default_factory=list, description="Source addresses admitted; empty = all.")
    auth_page: AuthPage | None = Field(None, description="Self-service page: a user pastes an ElevenLabs key, it "
                                       "is checked, and a personal token is issued (needs mode tokens). Absent = "
                                       "no page.")


class Alerts(Strict):
    email: Annotated[str, Field(pattern=EMAIL_PATTERN)] | None = Field(
        None, description="Address subscribed to alarm notifications (confirm the SNS e-mail once).")
    monthly_budget_usd: float | None = Field(None, gt=0, le=100000, description="AWS Budgets cost budget.")


class AlbOptions(Strict):
    certificate_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[\w-]+$")] | None = (
        Field(None, description="ACM certificate for the HTTPS listener."))
    domain_name: Annotated[str, Field(pattern=DOMAIN_PATTERN, max_length=253)] | None = Field(
        None, description="DNS name clients use (a CNAME or alias to the ALB), covered by the certificate.")
    allow_plain_http: bool = Field(False, description="Serve plain HTTP without a certificate (keys in clear).")
    idle_timeout_seconds: int = Field(300, ge=1, le=4000, description="Kept long for streaming responses.")


class WebsocketOptions(Strict):
    throttle_rate_per_second: int = Field(50, ge=1, le=10000, description="Stage steady-state message rate.")
    throttle_burst: int = Field(100, ge=1, le=5000, description="Stage burst limit.")


class NatInstanceOptions(Strict):
    instance_type: str = Field("t4g.nano", pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$", description="NAT instance type.")
    spot: bool = Field(False, description="Run the NAT instance as spot.")
    lead_minutes: int = Field(10, ge=0, le=60, description="Start the NAT this long before the tasks.")
    throttle_rate_per_second: int = Field(20, ge=1, le=10000, description="HTTP API steady-state request rate.")
    throttle_burst: int = Field(40, ge=1, le=5000, description="HTTP API burst limit.")


class CommonSpec(Strict):
    region: Region = Field(description="AWS region of the stack.")
    image: ImageRef = Field(description="Which server image to run: a repository in this file and a tag.")
    task: Task = Field(default_factory=Task, description="Fargate task size, architecture, spot and count.")
    schedule: Schedule | None = Field(None, description="Active hours; absent = always on.")
    logs: Logs = Field(default_factory=Logs, description="CloudWatch Logs of the server.")
    auth: Auth = Field(default_factory=Auth, description="Who may call the server.")
    alerts: Alerts = Field(default_factory=Alerts, description="Alarm notifications and a monthly cost budget.")


class AlbSpec(CommonSpec):
    topology: Literal["alb"] = Field(description=TOPOLOGY_HELP)
    alb: AlbOptions = Field(default_factory=AlbOptions, description="Options of the alb topology.")


class WebsocketSpec(CommonSpec):
    topology: Literal["websocket"] = Field(description=TOPOLOGY_HELP)
    websocket: WebsocketOptions = Field(default_factory=WebsocketOptions,
                                        description="Options of the websocket topology.")


class NatInstanceSpec(CommonSpec):
    topology: Literal["nat-instance"] = Field(description=TOPOLOGY_HELP)
    nat_instance: NatInstanceOptions = Field(default_factory=NatInstanceOptions,
                                             description="Options of the nat-instance topology.")


DeploymentSpec = Annotated[Union[AlbSpec, WebsocketSpec, NatInstanceSpec], Field(discriminator="topology")]
TOPOLOGIES = ("websocket", "nat-instance", "alb")
TOPOLOGY_OPTION_KEYS = {"alb": "alb", "websocket": "websocket", "nat-instance": "natInstance"}


class Deployment(Strict):
    api_version: Literal["mcpdeploy/v1alpha1"] = Field(description="Schema version of this document.")
    kind: Literal["Deployment"] = Field(description="One MCP server deployment: one CloudFormation stack.")
    metadata: Metadata = Field(description="Name (= stack name) and labels (= tags on every resource).")
    spec: DeploymentSpec = Field(description="What to run, where, when, and who may call it.")


KINDS: dict[str, type[Strict]] = {"ImageRepository": ImageRepository, "Deployment": Deployment}


def image_tag_is_pinned(tag: str) -> bool:
    return re.fullmatch(r"latest|main|master|dev", tag) is None
