"""The deployment.yaml language as pydantic models (camelCase in YAML, snake_case in Python).

Each field checks what it can alone; rules that relate several fields or documents live in `checks.py`.
Models never see YAML or troposphere.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import unicodedata
from typing import Annotated, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

from server import tool_names  # plain data: the server's tool names, nothing of the server itself

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
# Fargate's CPU sizes in vCPU (as Kubernetes users write them: 0.25, or 250m) -> CPU units.
VCPU_UNITS: dict[float, int] = {units / 1024: units for units in FARGATE_MEMORY}
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


CPU_FORMS = "CPU units (256, 512, 1024, ... 16384) or vCPU as in Kubernetes (0.25, 0.5, 1, ... 16; or 250m, 1000m)"
MEMORY_FORMS = "MiB (2048) or a Kubernetes quantity in Mi or Gi (2048Mi, 2Gi)"
CPU_QUANTITY = r"^(\d+m|\d+(\.\d+)?)$"
MEMORY_QUANTITY = r"^\d+(\.\d+)?(Mi|Gi)$"
MEMORY_FACTORS = {"Mi": 1, "Gi": 1024}
DECIMAL_MEMORY = {"M": 6, "G": 9, "MB": 6, "GB": 9}  # powers of 10, as Kubernetes counts M and G


def _cpu_units(value: object) -> object:
    """A Kubernetes CPU quantity (0.25, "250m", "0.25") becomes Fargate CPU units (256); units pass through."""
    if isinstance(value, str):
        text = value.strip()
        millicores = re.fullmatch(r"(\d+)m", text)
        if millicores:
            value = int(millicores[1]) / 1000
        elif re.fullmatch(r"\d+(\.\d+)?", text):
            value = float(text)
        else:
            raise ValueError(f"{value!r} is not a CPU size; write {CPU_FORMS}")
        if value not in VCPU_UNITS and not value.is_integer():
            raise ValueError(f"{text!r} is {value:g} vCPU, which Fargate does not offer; write {CPU_FORMS}")
    if isinstance(value, float) and not isinstance(value, bool):
        if value in VCPU_UNITS:
            return VCPU_UNITS[value]
        if not value.is_integer():
            raise ValueError(f"{value:g} vCPU is not a Fargate size; write {CPU_FORMS}")
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value in VCPU_UNITS:
        return VCPU_UNITS[value]  # cpu: 1 is 1 vCPU (no task has 1 CPU unit)
    return value


def _memory_mib(value: object) -> object:
    """A Kubernetes memory quantity ("512Mi", "1Gi", "0.5Gi") becomes MiB; a number is MiB already."""
    if isinstance(value, str):
        found = re.fullmatch(r"(\d+(?:\.\d+)?) ?([A-Za-z]*)", value.strip())
        if found and found[2] in DECIMAL_MEMORY:
            power = DECIMAL_MEMORY[found[2]]
            mib = float(found[1]) * 10**power / 2**20
            raise ValueError(f"{value!r} counts in powers of 10 ({found[2]} = 10^{power} bytes, so {mib:,.1f} MiB); "
                             f"Fargate sizes memory in MiB: write {MEMORY_FORMS}")
        if not found or (found[2] or "Mi") not in MEMORY_FACTORS:
            raise ValueError(f"{value!r} is not a memory size; write {MEMORY_FORMS}")
        value = float(found[1]) * MEMORY_FACTORS[found[2] or "Mi"]
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{value:g} MiB is not a whole number of MiB; write {MEMORY_FORMS}")
        return int(value)
    return value


def _day(value: object) -> object:
    """Days in any case (Mon, mon) become MON; a full name (Monday) is explained."""
    if not isinstance(value, str):
        return value
    day = value.strip().upper()
    if day not in DAYS and day[:3] in DAYS:
        raise ValueError(f"{value!r}: days are written {', '.join(DAYS)}; did you mean {day[:3]!r}?")
    return day


TAG_VALUE_SYMBOLS = set(" _.:/=+-@")


def _tag_value(value: str) -> str:
    """AWS tag values: letters, numbers, spaces and _ . : / = + - @ (any script); nothing else, no control.
    (Not empty either: ECR refuses an empty tag value, though other services take it.)"""
    wrong = sorted({c for c in value if not (unicodedata.category(c)[0] in "LNZ" or c in TAG_VALUE_SYMBOLS)})
    if wrong:
        raise ValueError(f"{value!r} has characters AWS tags refuse ({', '.join(map(repr, wrong))}); use letters, "
                         "numbers, spaces and _ . : / = + - @")
    return value


Region = Annotated[str, AfterValidator(_region)]
TimeZone = Annotated[str, AfterValidator(_time_zone)]
Cidr = Annotated[str, AfterValidator(_cidr)]
ResourceName = Annotated[str, Field(pattern=NAME_PATTERN, description="lower-case DNS label, at most 63 characters")]


class Metadata(Strict):
    name: ResourceName = Field(description="Stack name of this document; unique in the file.")
    labels: dict[Annotated[str, Field(pattern=LABEL_KEY_PATTERN)],
                 Annotated[str, Field(min_length=1, max_length=63), AfterValidator(_tag_value)]] = Field(
        default_factory=dict, description="Become tags on every resource of the stack.")


# --- ImageRepository --------------------------------------------------------------------------------------------

class RepositoryMetadata(Metadata):
    name: Annotated[str, Field(pattern=NAME_PATTERN, min_length=2)] = Field(
        description="Repository and stack name: a lower-case DNS label of 2-63 characters (ECR needs 2).")


class ImageRepositorySpec(Strict):
    region: Region = Field(description="Region of the ECR repository; deployments using it must be in it.")
    keep_images: int = Field(5, ge=1, le=1000, description=(
        "Lifecycle policy: keep this many newest images (tagged, and as many untagged); a tag a Deployment in "
        "the file uses is never expired."))
    scan_on_push: bool = Field(True, description="Scan each pushed image for vulnerabilities.")
    immutable_tags: bool = Field(True, description="Refuse to overwrite an existing tag (the default: a tag "
                                 "names one image for good, so a redeploy or a rebuild cannot change what it "
                                 "runs); false allows pushing over a tag.")
    api_gateway_account: bool | None = Field(None, description=(
        "Hold the region's API Gateway account setting (the CloudWatch Logs role WebSocket access logs need; one "
        "per region). Absent = when a websocket Deployment in the file uses this repository. false: the setting "
        "is managed elsewhere (another tool or stack already sets it)."))
    empty_on_delete: bool = Field(False, description=(
        "Delete the images with the stack. false: deleting the stack leaves the repository and its images "
        "behind (DeletionPolicy Retain)."))


class ImageRepository(Strict):
    api_version: Literal["mcpdeploy/v1alpha1"] = Field(description="Schema version of this document.")
    kind: Literal["ImageRepository"] = Field(description="The shared ECR repository of the server image.")
    metadata: RepositoryMetadata = Field(description="Name (= repository and stack name) and labels (= tags).")
    spec: ImageRepositorySpec = Field(description="Region, lifecycle and scanning of the repository.")


# --- Deployment -------------------------------------------------------------------------------------------------

class ImageRef(Strict):
    repository: ResourceName = Field(description="metadata.name of an ImageRepository in the same file.")
    tag: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", description="Image tag to run; quote it.")


CpuUnits = Annotated[Literal[256, 512, 1024, 2048, 4096, 8192, 16384], BeforeValidator(
    _cpu_units, json_schema_input_type=Union[Literal[256, 512, 1024, 2048, 4096, 8192, 16384],
                                             Literal[0.25, 0.5, 1, 2, 4, 8, 16],
                                             Annotated[str, Field(pattern=CPU_QUANTITY)]])]
MemoryMiB = Annotated[int, BeforeValidator(
    _memory_mib, json_schema_input_type=Union[int, Annotated[str, Field(pattern=MEMORY_QUANTITY)]])]
DayName = Literal["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
ANY_CASE_DAY = "^(" + "|".join("".join(f"[{c}{c.lower()}]" for c in day) for day in DAYS) + ")$"
Day = Annotated[DayName, BeforeValidator(
    _day, json_schema_input_type=Union[DayName, Annotated[str, Field(pattern=ANY_CASE_DAY)]])]


class Task(Strict):
    cpu: CpuUnits = Field(256, description="CPU units (1024 = 1 vCPU), or vCPU as in Kubernetes: 0.25, 250m, 1.")
    memory: MemoryMiB = Field(512, description="Memory in MiB (2048), or as in Kubernetes (2048Mi, 2Gi); must fit "
                              "the Fargate table for the CPU.")
    architecture: Literal["arm64", "x86_64"] = Field("arm64", description="arm64 is about 20% cheaper.")
    spot: bool = Field(False, description="Run on FARGATE_SPOT (about 70% cheaper, may be interrupted).")
    min_count: int = Field(1, ge=1, le=100, description="Tasks running during active hours.")
    max_count: int = Field(1, ge=1, le=100, description="Upper bound for CPU target tracking.")
    cpu_target_percent: int | None = Field(None, ge=10, le=90, description="Average CPU to track; off if absent.")
    stop_timeout_seconds: int = Field(30, ge=10, le=120, description="Time ECS gives a stopping task to drain.")


class Schedule(Strict):
    timezone: TimeZone = Field(description="IANA time zone of activeHours, e.g. Europe/Berlin.")
    active_hours: str = Field(pattern=HOURS_PATTERN, description="HH:MM-HH:MM; may cross midnight (22:00-02:00).")
    days: list[Day] = Field(default_factory=lambda: list(DAYS), min_length=1,
                            description="Days on which the window starts: MON ... SUN (any case).")

    def window(self) -> tuple[int, int]:
        """(start, end) of activeHours in minutes after midnight; end <= start means it closes the next day."""
        start, end = (int(hh) * 60 + int(mm) for hh, mm in (part.split(":") for part in self.active_hours.split("-")))
        return start, end


class OnDemand(Strict):
    idle_minutes: int = Field(30, ge=10, le=1440, description=(
        "Scale back to zero tasks after this many minutes without a message (checked every 5 minutes). A "
        "connecting client starts minCount tasks at once; its bridge holds requests until one answers."))


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


class Tools(Strict):
    allow: list[str] | None = Field(None, min_length=1, description="Offer only these tools (names as in the "
                                    "server's tools/list); absent = every tool. Not with deny.")
    deny: list[str] = Field(default_factory=list, description="Offer every tool but these. Not with allow.")
    reach_third_parties: bool = Field(False, description="Also offer the tools that contact people or services "
                                      "outside ElevenLabs on the caller's behalf (make_outbound_call rings a "
                                      "phone). Off: those tools are neither listed nor callable.")

    def exposed(self) -> tuple[str, ...]:
        """The tools the server offers, in the server's order."""
        return tool_names.exposed(None if self.allow is None else tuple(self.allow), tuple(self.deny),
                                  self.reach_third_parties)


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
    auth_api_concurrency: int | None = Field(2, ge=1, le=100, description=(
        "With auth.authPage: reserved concurrency of the auth page's public API function, so floods of refused "
        "calls cost at most this many running functions (more are answered 429). null = no reservation: an "
        "account whose Lambda concurrency quota is still a new account's 10 (or 50) cannot reserve any, and the "
        "stack fails to create until the quota is raised or this is null."))


class NatInstanceOptions(Strict):
    instance_type: str = Field("t4g.nano", pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$", description="NAT instance type.")
    spot: bool = Field(False, description="Run the NAT instance as spot.")
    lead_minutes: int = Field(10, ge=0, le=60, description="Start the NAT this long before the tasks.")
    image_version: int | None = Field(
        None, ge=1, description="Pin the NAT's Amazon Linux 2023 image to this version of its public SSM parameter "
        "(aws ssm get-parameter --name /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64 "
        "--query Parameter.Version); absent: the current image at every launch. Changing it replaces the NAT.")
    throttle_rate_per_second: int = Field(20, ge=1, le=10000, description="HTTP API steady-state request rate.")
    throttle_burst: int = Field(40, ge=1, le=5000, description="HTTP API burst limit.")


class CommonSpec(Strict):
    region: Region = Field(description="AWS region of the stack.")
    image: ImageRef = Field(description="Which server image to run: a repository in this file and a tag.")
    task: Task = Field(default_factory=Task, description="Fargate task size, architecture, spot and count.")
    schedule: Schedule | None = Field(None, description="Active hours; absent = always on.")
    on_demand: OnDemand | None = Field(None, description=(
        "Zero tasks until a client connects (websocket only): the connection starts the tasks, they stop again "
        "after idleMinutes without messages. With a schedule: always on inside its window, on demand outside."))
    logs: Logs = Field(default_factory=Logs, description="CloudWatch Logs of the server.")
    auth: Auth = Field(default_factory=Auth, description="Who may call the server.")
    alerts: Alerts = Field(default_factory=Alerts, description="Alarm notifications and a monthly cost budget.")
    tools: Tools = Field(default_factory=Tools, description="Which MCP tools the server offers (allow or deny). "
                         f"The server's tools: {', '.join(tool_names.TOOL_NAMES)}.")


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
