"""Monthly cost estimate of a Deployment, from the model alone, with prices from `prices.json`.

Every line is quantity x unit price from that table. One function per topology lists the lines of that
architecture (`alb`, `websocket`, `nat_instance`, and `baseline`: the original ALB + NAT Gateway + private
Fargate). Traffic is a parameter (`Traffic`); all traffic-driven lines grow linearly with the request count,
so each topology's cost is `fixed + slope x requests` and crossover points follow directly.

Pure standard library: the build renders this into every deployment's docs and must stay fast.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

PRICES_FILE = Path(__file__).with_name("prices.json")
HOURS_PER_MONTH = 730  # AWS's convention: 24 x 365 / 12
WEEKS_PER_MONTH = 52 / 12
ALB_PUBLIC_IPS = 2  # an internet-facing ALB holds one public IPv4 address per AZ (two AZs)
NAT_ROOT_VOLUME_GB = 8  # Amazon Linux 2023 AMI root volume (compiler/parts/nat.py)
RELAY_MEMORY_GB = 0.25  # websocket relay / authorizer Lambda memory
ON_DEMAND_MEMORY_GB = 0.25  # the on-demand function (compiler/parts/on_demand.py)
ON_DEMAND_SECONDS = 1.0  # per wake or idle check: a few AWS API calls (estimate, with the image's cold start)
IDLE_CHECKS_PER_HOUR = 12  # the idle rule runs every 5 minutes while tasks run (it switches itself off at zero)
SESSION_HOURS = 1.0  # on demand: busy hours come in sessions this long, each followed by idleMinutes of idling
SCHEDULED_VARIANT = ("08:00-20:00", ("MON", "TUE", "WED", "THU", "FRI"))  # the comparison's 12 h x 5 days
ALARMS = {"alb": 2, "websocket": 1, "nat-instance": 1, "baseline": 2}  # CloudWatch alarms each template defines
TOPOLOGY_NAMES = {"alb": "alb", "websocket": "websocket", "nat-instance": "nat-instance",
                  "baseline": "baseline: ALB + NAT Gateway + private Fargate, always on"}


class CostError(Exception):
    """Something the price table cannot price (an instance type it does not list)."""


@dataclass(frozen=True)
class Traffic:
    requests: int = 20_000          # MCP requests (tool calls and list calls) per month
    response_kb: float = 40.0       # average response size (audio mostly goes out as links)
    clients: int = 2                # websocket: clients connected throughout the active hours
    relay_seconds: float = 2.0      # websocket: Lambda relay time per request (it waits for the tool)
    log_kb_per_request: float = 1.0  # access log and application log per request
    busy_hours: float = 20.0        # on demand: hours a month in which clients use the server

    @property
    def response_gb(self) -> float:
        return self.requests * self.response_kb / 1e6


@dataclass(frozen=True)
class Line:
    item: str
    quantity: float
    unit: str
    unit_price: float
    price_key: str  # the entry of prices.json the unit price comes from
    when: str = ""  # "outside active hours" marks idle charges

    @property
    def amount(self) -> float:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class Estimate:
    topology: str
    lines: tuple[Line, ...]

    @property
    def total(self) -> float:
        return sum(line.amount for line in self.lines)


@dataclass(frozen=True)
class Hours:
    """How long things run per month, from the schedule: active hours x days per week x 52/12."""

    active: float
    windows: float  # how often the active window opens per month

    @property
    def idle(self) -> float:
        return HOURS_PER_MONTH - self.active


@cache
def price_table() -> dict:
    return json.loads(PRICES_FILE.read_text(encoding="utf-8"))


def _line(key: str, quantity: float, item: str | None = None, when: str = "") -> Line:
    try:
        entry = price_table()["prices"][key]
    except KeyError:
        raise CostError(f"no price {key!r} in {PRICES_FILE.name}") from None
    return Line(item or entry["item"], quantity, entry["per"], entry["usd"], key, when)


def task_hours(spec, traffic: Traffic) -> Hours:
    """How long tasks run: the schedule's window, and on demand the busy hours besides (outside the window), each
    session followed by idleMinutes and half a 5-minute check until the tasks stop."""
    h = hours(spec.schedule)
    on_demand = spec.on_demand
    if on_demand is None:
        return h
    window = h.active if spec.schedule is not None else 0.0
    sessions = math.ceil(traffic.busy_hours / SESSION_HOURS)
    tail = (on_demand.idle_minutes + 2.5) / 60
    return Hours(active=min(HOURS_PER_MONTH, window + traffic.busy_hours + sessions * tail), windows=h.windows)


def client_hours(spec, traffic: Traffic) -> float:
    """Hours a month with clients connected: the schedule's window, and on demand the busy hours besides."""
    h = hours(spec.schedule)
    if spec.on_demand is None:
        return h.active
    return min(HOURS_PER_MONTH, (h.active if spec.schedule is not None else 0.0) + traffic.busy_hours)


def hours(schedule) -> Hours:
    if schedule is None:
        return Hours(active=HOURS_PER_MONTH, windows=0)
    start, end = schedule.window()
    window = (end - start) % (24 * 60) / 60  # 22:00-02:00 is 4 hours (checks.py refuses an empty window)
    windows = len(schedule.days) * WEEKS_PER_MONTH
    return Hours(active=window * windows, windows=windows)


# --- lines every topology has ------------------------------------------------------------------------------

def _fargate(task, running_hours: float, spot: bool | None = None) -> list[Line]:
    market = "fargate_spot" if (task.spot if spot is None else spot) else "fargate"
    task_hours = task.min_count * running_hours
    return [_line(f"{market}_{task.architecture}_vcpu_hour", task_hours * task.cpu / 1024),
            _line(f"{market}_{task.architecture}_gb_hour", task_hours * task.memory / 1024)]


def _common(topology: str, spec, traffic: Traffic) -> list[Line]:
    lines = [_line("secret_month", 1, "Secrets Manager secret (server key + ElevenLabs key)"),
             *_auth_page(spec.auth),
             _line("logs_gb_ingested", traffic.requests * traffic.log_kb_per_request / 1e6),
             _line("cloudwatch_alarm_month", ALARMS[topology]),
             _line("data_transfer_out_gb", traffic.response_gb)]
    if spec.alerts.monthly_budget_usd is not None:
        lines.append(_line("budget_month", 1))
    return lines


def _auth_page(auth) -> list[Line]:
    """The sign-up code is a secret of its own; the page's token writes are in the assumptions (negligible)."""
    if auth.auth_page is None or not auth.auth_page.signup_code:
        return []
    return [_line("secret_month", 1, "Secrets Manager secret (the auth page's sign-up code)")]


def _split(key: str, count: float, h: Hours, item: str | None = None) -> list[Line]:
    """Something billed by the hour around the clock, shown as active and idle (outside the schedule) lines."""
    lines = [_line(key, count * h.active, item)]
    if h.idle > 0:
        lines.append(_line(key, count * h.idle, item, when="outside active hours"))
    return lines


def _cloud_map(task, h: Hours) -> list[Line]:
    return [_line("route53_hosted_zone_month", 1, "Cloud Map private DNS namespace (Route 53 hosted zone)"),
            _line("cloud_map_instance_month", task.min_count * h.active / HOURS_PER_MONTH,
                  "Cloud Map registered task")]


# --- one function per topology -----------------------------------------------------------------------------

def alb(spec, traffic: Traffic) -> list[Line]:
    h = task_hours(spec, traffic)
    return [
        *_fargate(spec.task, h.active),
        _line("public_ipv4_hour", spec.task.min_count * h.active, "public IPv4 address of each task"),
        *_split("alb_hour", 1, h),
        *_split("public_ipv4_hour", ALB_PUBLIC_IPS, h, "public IPv4 addresses of the ALB (one per AZ)"),
        _line("alb_lcu_hour", traffic.response_gb, "ALB capacity units (1 GB processed = 1 LCU-hour)"),
        *_common("alb", spec, traffic),
    ]


def websocket(spec, traffic: Traffic) -> list[Line]:
    h = task_hours(spec, traffic)
    connected = client_hours(spec, traffic)
    messages = traffic.requests * (1 + math.ceil(traffic.response_kb / 32))  # request in, response in 32 KB units
    connections = traffic.clients * connected / 2  # a WebSocket connection lasts at most 2 hours
    invocations = traffic.requests + 3 * connections  # relay per request; authorizer, $connect, $disconnect
    return [
        *_fargate(spec.task, h.active),
        _line("public_ipv4_hour", spec.task.min_count * h.active, "public IPv4 address of each task"),
        _line("apigw_websocket_million_messages", messages / 1e6),
        _line("apigw_websocket_million_connection_minutes", traffic.clients * connected * 60 / 1e6),
        _line("lambda_million_requests", invocations / 1e6, "Lambda relay and authorizer requests"),
        _line("lambda_arm64_gb_second", traffic.requests * traffic.relay_seconds * RELAY_MEMORY_GB,
              "Lambda relay duration"),
        _line("dynamodb_million_writes", 2 * connections / 1e6, "DynamoDB connection state writes"),
        _line("dynamodb_million_reads", traffic.requests / 1e6, "DynamoDB connection state reads"),
        *_cloud_map(spec.task, h),
        _line("route53_million_queries", traffic.requests / 1e6, "relay DNS lookups of the tasks (one per request)"),
        *_on_demand(spec, h, connections),
        *_common("websocket", spec, traffic),
    ]


def _on_demand(spec, h: Hours, connections: float) -> list[Line]:
    """The on-demand function: a wake per connection, an idle check every 5 minutes while tasks run. Its rule is
    free (scheduled EventBridge rules are not billed), its activity row a few writes a day (negligible)."""
    if spec.on_demand is None:
        return []
    calls = connections + IDLE_CHECKS_PER_HOUR * h.active
    return [_line("lambda_million_requests", calls / 1e6, "on-demand function (wakes and idle checks)"),
            _line(f"lambda_{spec.task.architecture}_gb_second", calls * ON_DEMAND_SECONDS * ON_DEMAND_MEMORY_GB,
                  "on-demand function duration")]


def nat_instance(spec, traffic: Traffic) -> list[Line]:
    from .model import NatInstanceOptions

    options = getattr(spec, "nat_instance", None) or NatInstanceOptions()
    h = task_hours(spec, traffic)
    # up leadMinutes before each window opens and down as long after it closes (compiler/parts/nat.py)
    nat_hours = min(HOURS_PER_MONTH, h.active + h.windows * 2 * options.lead_minutes / 60)
    instance = options.instance_type.replace(".", "_")
    return [
        *_fargate(spec.task, h.active),
        _line(f"ec2_{instance}_spot_hour" if options.spot else f"ec2_{instance}_hour", nat_hours,
              f"NAT instance {options.instance_type} (active hours + {options.lead_minutes} min either side)"),
        _line("public_ipv4_hour", nat_hours, "public IPv4 address of the NAT instance"),
        _line("ebs_gp3_gb_month", NAT_ROOT_VOLUME_GB * nat_hours / HOURS_PER_MONTH,
              f"NAT instance {NAT_ROOT_VOLUME_GB} GB root volume (deleted when the group scales in)"),
        _line("apigw_http_million_requests", traffic.requests * math.ceil(traffic.response_kb / 512) / 1e6),
        _line("cloud_map_million_discovery_calls", traffic.requests / 1e6,
              "Cloud Map lookups by the HTTP API VPC link (one per request)"),
        *_cloud_map(spec.task, h),
        *_common("nat-instance", spec, traffic),
    ]


def baseline(spec, traffic: Traffic) -> list[Line]:
    """The original architecture: ALB + NAT Gateway + tasks in private subnets, on demand, around the clock."""
    always = Hours(active=HOURS_PER_MONTH, windows=0)
    return [
        *_fargate(spec.task, always.active, spot=False),
        *_alb_around_the_clock(),
        _line("alb_lcu_hour", traffic.response_gb, "ALB capacity units (1 GB processed = 1 LCU-hour)"),
        _line("nat_gateway_hour", HOURS_PER_MONTH),
        _line("public_ipv4_hour", HOURS_PER_MONTH, "Elastic IP of the NAT Gateway"),
        _line("nat_gateway_gb", traffic.response_gb, "NAT Gateway data (upstream responses)"),
        *_common("baseline", spec, traffic),
    ]


def _alb_around_the_clock() -> list[Line]:
    return [_line("alb_hour", HOURS_PER_MONTH),
            _line("public_ipv4_hour", ALB_PUBLIC_IPS * HOURS_PER_MONTH,
                  "public IPv4 addresses of the ALB (one per AZ)")]


def alb_fixed_month() -> float:
    """What an internet-facing ALB and its public addresses cost a month whatever its tasks do."""
    return sum(line.amount for line in _alb_around_the_clock())


TOPOLOGIES = {"alb": alb, "websocket": websocket, "nat-instance": nat_instance}
ARCHITECTURES = {**TOPOLOGIES, "baseline": baseline}


def estimate(spec, traffic: Traffic = Traffic(), topology: str | None = None) -> Estimate:
    """The estimate of `spec` under `topology` (default: its own)."""
    topology = topology or spec.topology
    return Estimate(topology, tuple(ARCHITECTURES[topology](spec, traffic)))


def comparison(spec, traffic: Traffic = Traffic()) -> list[Estimate]:
    """The same deployment under every topology and the original baseline."""
    return [estimate(spec, traffic, topology) for topology in ARCHITECTURES]


def running_modes(spec, traffic: Traffic = Traffic()) -> list[tuple[str, Estimate]]:
    """A websocket deployment on demand, on the 12 h x 5 days schedule, and always on (the same otherwise)."""
    from .model import OnDemand, Schedule

    hours_, days = SCHEDULED_VARIANT
    zone = spec.schedule.timezone if spec.schedule is not None else "UTC"
    on_demand = spec.on_demand or OnDemand()
    variants = [
        (f"on demand (idle after {on_demand.idle_minutes} min, {traffic.busy_hours:g} busy h)",
         spec.model_copy(update={"on_demand": on_demand, "schedule": None})),
        (f"scheduled {hours_} {days[0]}-{days[-1]} ({zone})",
         spec.model_copy(update={"on_demand": None, "schedule": Schedule(timezone=zone, activeHours=hours_,
                                                                         days=list(days))})),
        ("always on", spec.model_copy(update={"on_demand": None, "schedule": None})),
    ]
    return [(name, estimate(variant, traffic)) for name, variant in variants]


def linear_model(spec, topology: str, traffic: Traffic = Traffic()) -> tuple[float, float]:
    """(fixed $/month, $ per request) of `topology`; exact, since every traffic line is linear in requests."""
    fixed = estimate(spec, replace(traffic, requests=0), topology).total
    per_million = estimate(spec, replace(traffic, requests=1_000_000), topology).total
    return fixed, (per_million - fixed) / 1_000_000


def linear_models(spec, traffic: Traffic = Traffic()) -> dict[str, tuple[float, float]]:
    return {topology: linear_model(spec, topology, traffic) for topology in ARCHITECTURES}


def crossovers(models: dict[str, tuple[float, float]]) -> list[tuple[str, str, float]]:
    """(cheaper at low traffic, cheaper at high traffic, requests/month where they cost the same), from the
    (fixed, slope) of each topology (`linear_models`)."""
    points = []
    for a, (fixed_a, slope_a) in models.items():
        for b, (fixed_b, slope_b) in models.items():
            if fixed_a < fixed_b and slope_a > slope_b:
                points.append((a, b, (fixed_b - fixed_a) / (slope_a - slope_b)))
    return sorted(points, key=lambda point: point[2])


# --- Markdown ------------------------------------------------------------------------------------------------

GROWTH_STEPS = (0, 10_000, 100_000, 1_000_000, 10_000_000)


def markdown(name: str, spec, traffic: Traffic = Traffic()) -> str:
    """The itemized estimate, its assumptions, the comparison and the growth with traffic, as Markdown."""
    own = estimate(spec, traffic)
    table = price_table()
    models = linear_models(spec, traffic)  # exact: every traffic line is linear in requests
    return "\n".join([
        f"### Itemized: {name} ({own.topology}), about ${own.total:.2f} a month", "",
        "| item | quantity | unit price (USD) | USD / month |", "|---|---:|---:|---:|",
        *(f"| {line.item}{f' ({line.when})' if line.when else ''} | {_number(line.quantity)} {line.unit} "
          f"| {line.unit_price:g} | {line.amount:.2f} |" for line in own.lines),
        f"| **total** | | | **{own.total:.2f}** |", "",
        "Assumptions:", "", *(f"- {text}" for text in assumptions(spec, traffic)), "",
        *_running_modes_lines(spec, traffic),
        "### The same deployment under each topology", "",
        "| topology | USD / month |", "|---|---:|",
        *(f"| {TOPOLOGY_NAMES[e.topology]}{' (this one)' if e.topology == own.topology else ''} | {e.total:.2f} |"
          for e in comparison(spec, traffic)), "",
        "### Growth with traffic (USD / month)", "",
        "| requests / month | " + " | ".join(ARCHITECTURES) + " |", "|---:|" + "---:|" * len(ARCHITECTURES),
        *(f"| {requests:,} | " + " | ".join(f"{fixed + slope * requests:.2f}" for fixed, slope in models.values())
          + " |" for requests in GROWTH_STEPS), "",
        *(_crossover_lines(crossovers(models)) or ["No crossover: one topology is cheapest at every traffic level."]),
        "",
        f"Prices: {table['region']}, {table['date']}; {table['source']}", "",
    ])


def _running_modes_lines(spec, traffic: Traffic) -> list[str]:
    if spec.topology != "websocket":
        return []
    return ["### On demand, on a schedule or always on", "",
            "| how it runs | USD / month |", "|---|---:|",
            *(f"| {name} | {e.total:.2f} |" for name, e in running_modes(spec, traffic)), "",
            f"With no traffic at all (`--busy-hours-per-month 0 --requests 0`), on demand costs "
            f"${running_modes(spec, replace(traffic, busy_hours=0, requests=0))[0][1].total:.2f} a month.", ""]


def assumptions(spec, traffic: Traffic) -> list[str]:
    h = task_hours(spec, traffic)
    if spec.on_demand is not None:
        window = (f"{hours(spec.schedule).active:.1f} h in the schedule's window, plus " if spec.schedule else "")
        when = (f"on demand: tasks run {h.active:.1f} h a month: {window}{traffic.busy_hours:g} busy hours "
                f"(`--busy-hours-per-month`) in sessions of {SESSION_HOURS:g} h, each followed by "
                f"{spec.on_demand.idle_minutes} idle minutes and on average 2.5 min until the next 5-minute check "
                "stops them; nothing runs otherwise")
    elif spec.schedule is None:
        when = f"no schedule: tasks run all {HOURS_PER_MONTH} hours of a month"
    else:
        when = (f"tasks run {h.active:.1f} h a month: {spec.schedule.active_hours} ({spec.schedule.timezone}) "
                f"x {len(spec.schedule.days)} days a week x 52/12; {h.idle:.1f} h outside the schedule")
    task = spec.task
    return [
        when,
        f"{task.min_count} task(s) of {task.cpu / 1024:g} vCPU and {task.memory / 1024:g} GB ({task.architecture}, "
        f"{'Fargate Spot' if task.spot else 'on demand'}); scaling above minCount is not included",
        f"traffic: {traffic.requests:,} requests a month of {traffic.response_kb:g} KB responses, "
        f"{traffic.log_kb_per_request:g} KB of logs each (see `python -m compiler cost --requests N --response-kb K`)",
        f"websocket: {traffic.clients} client(s) connected during {_connected_hours(spec)}, relay Lambda "
        f"{RELAY_MEMORY_GB * 1024:g} MB for {traffic.relay_seconds:g} s per request; its S3 bucket for large audio "
        "(objects expire) is not counted",
        "prices are us-east-1 (other regions differ by a few percent); free tiers are not applied; ECR storage "
        "belongs to the shared image repository and is not counted here",
        *_auth_assumptions(spec),
    ]


def _connected_hours(spec) -> str:
    if spec.on_demand is None:
        return "active hours"
    return "the schedule's window and busy hours" if spec.schedule else "busy hours"


def _auth_assumptions(spec) -> list[str]:
    auth = spec.auth
    if auth.mode != "tokens":
        return []
    connects = ("; the $connect authorizer also reads the token's row once per connection (one read unit, $0.125 "
                "a million), negligible" if spec.topology == "websocket" else "")
    writes = ("; each token the auth page issues is one DynamoDB write unit ($0.625 a million), negligible"
              if auth.auth_page is not None else "")
    return ["tokens: the DynamoDB table is on demand; the server caches each token's lookup, so reads are a "
            f"fraction of the requests and not counted{connects}{writes}"]


def _crossover_lines(points: list[tuple[str, str, float]]) -> list[str]:
    return [f"- {a} is cheaper than {b} below about {requests:,.0f} requests a month; above it, {b} is cheaper."
            for a, b, requests in points]


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.4g}"


def report(file: str, name: str | None = None, traffic: Traffic = Traffic()) -> str:
    """`python -m compiler cost`: the Markdown of one deployment of `file`, or of all of them."""
    from .validation import load_config

    deployments = [source.model for source in load_config(file).deployments]
    chosen = [d for d in deployments if name in (None, d.metadata.name)]
    if not chosen:
        from .diagnostics import CommandError, ExitCode

        if not deployments:
            raise CommandError(f"no deployment in {file}: it declares only ImageRepository documents",
                               ExitCode.UNKNOWN_NAME)
        known = ", ".join(d.metadata.name for d in deployments)
        raise CommandError(f"no deployment named {name!r} in {file} (deployments: {known})", ExitCode.UNKNOWN_NAME)
    return "\n".join(markdown(d.metadata.name, d.spec, traffic) for d in chosen)
