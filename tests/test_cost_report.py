"""The cost report as users read it (`python -m compiler cost`, generated/*.md): each line's label, the Markdown
layout, the assumptions each option adds, and which deployment `report` prints. The figures in it are those
tests/test_cost_by_hand.py works out by hand (5.20, 28.28, 6.42 and 68.16 a month); this file pins the words and
the layout, which no golden file guards here (`--update-goldens` cannot rewrite the texts below)."""

from __future__ import annotations

import pytest

from compiler import cost
from compiler.diagnostics import CommandError, ExitCode
from compiler.validation import load_config
from tests.test_cost_by_hand import DOCUMENT, EXTRA, on_demand_scheduled_spec, on_demand_spec, spec_of

IDLE = "outside active hours"

LABELS = {
    "alb": ["Fargate Linux/ARM vCPU", "Fargate Linux/ARM memory", "public IPv4 address of each task",
            "Application Load Balancer", ("Application Load Balancer", IDLE),
            "public IPv4 addresses of the ALB (one per AZ)", ("public IPv4 addresses of the ALB (one per AZ)", IDLE),
            "ALB capacity units (1 GB processed = 1 LCU-hour)", "Secrets Manager secret (server key + ElevenLabs key)",
            "CloudWatch Logs ingestion", "CloudWatch standard alarm", "data transfer out to the internet"],
    "websocket": ["Fargate Linux/ARM vCPU", "Fargate Linux/ARM memory", "public IPv4 address of each task",
                  "API Gateway WebSocket messages (32 KB units)", "API Gateway WebSocket connection minutes",
                  "Lambda relay and authorizer requests", "Lambda relay duration", "DynamoDB connection state writes",
                  "DynamoDB connection state reads", "Cloud Map private DNS namespace (Route 53 hosted zone)",
                  "Cloud Map registered task", "relay DNS lookups of the tasks (one per request)",
                  "Secrets Manager secret (server key + ElevenLabs key)", "CloudWatch Logs ingestion",
                  "CloudWatch standard alarm", "data transfer out to the internet"],
    "nat-instance": ["Fargate Linux/ARM vCPU", "Fargate Linux/ARM memory",
                     "NAT instance t4g.nano (active hours + 10 min either side)", "public IPv4 address of the NAT instance",
                     "NAT instance 8 GB root volume (deleted when the group scales in)",
                     "API Gateway HTTP API requests (512 KB units)",
                     "Cloud Map lookups by the HTTP API VPC link (one per request)",
                     "Cloud Map private DNS namespace (Route 53 hosted zone)", "Cloud Map registered task",
                     "Secrets Manager secret (server key + ElevenLabs key)", "CloudWatch Logs ingestion",
                     "CloudWatch standard alarm", "data transfer out to the internet"],
    "baseline": ["Fargate Linux/ARM vCPU", "Fargate Linux/ARM memory", "Application Load Balancer",
                 "public IPv4 addresses of the ALB (one per AZ)", "ALB capacity units (1 GB processed = 1 LCU-hour)",
                 "NAT Gateway", "Elastic IP of the NAT Gateway", "NAT Gateway data (upstream responses)",
                 "Secrets Manager secret (server key + ElevenLabs key)", "CloudWatch Logs ingestion",
                 "CloudWatch standard alarm", "data transfer out to the internet"],
}


def labels(estimate: cost.Estimate) -> list:
    return [(line.item, line.when) if line.when else line.item for line in estimate.lines]


@pytest.mark.parametrize("topology", sorted(LABELS))
def test_every_line_says_what_is_billed(tmp_path, topology):
    spec = spec_of(tmp_path, "websocket" if topology == "baseline" else topology)
    assert labels(cost.estimate(spec, topology=topology)) == LABELS[topology]


def spec_with(tmp_path, topology: str, extra: str, spot: bool = False):
    path = tmp_path / "deployment.yaml"
    text = DOCUMENT.replace("TOPOLOGY", topology).replace("EXTRA", EXTRA[topology] + extra)
    path.write_text(text.replace("spot: false", "spot: true") if spot else text)
    return load_config(str(path)).deployments[0].model.spec


def test_the_auth_pages_sign_up_code_is_a_secret_of_its_own(tmp_path):
    spec = spec_with(tmp_path, "websocket", "  auth: {mode: tokens, authPage: {signupCode: true}}\n")
    assert [line.item for line in cost.estimate(spec).lines if line.price_key == "secret_month"] == [
        "Secrets Manager secret (server key + ElevenLabs key)", "Secrets Manager secret (the auth page's sign-up code)"]


TOKENS = ("tokens: the DynamoDB table is on demand; the server caches each token's lookup, so reads are a fraction of "
          "the requests and not counted")
CONNECTS = ("; the $connect authorizer also reads the token's row once per connection (one read unit, $0.125 a "
            "million), negligible")
WRITES = "; each token the auth page issues is one DynamoDB write unit ($0.625 a million), negligible"


@pytest.mark.parametrize("topology, auth, expected", [
    ("websocket", "{mode: api-key}", []),
    ("websocket", "{mode: tokens, authPage: {signupCode: true}}", [TOKENS + CONNECTS + WRITES]),
    ("websocket", "{mode: tokens}", [TOKENS + CONNECTS]),
    ("nat-instance", "{mode: tokens}", [TOKENS]),
    ("alb", "{mode: tokens, authPage: {signupCode: false}}", [TOKENS + WRITES]),
])
def test_tokens_add_the_assumption_of_their_table(tmp_path, topology, auth, expected):
    spec = spec_with(tmp_path, topology, f"  auth: {auth}\n")
    assert cost.assumptions(spec, cost.Traffic())[5:] == expected


def test_the_task_assumption_names_its_size_and_market(tmp_path):
    on_demand, spot = (spec_with(tmp_path, "websocket", "", spot=s) for s in (False, True))
    expected = "1 task(s) of 0.25 vCPU and 0.5 GB (arm64, {}); scaling above minCount is not included"
    assert cost.assumptions(on_demand, cost.Traffic())[1] == expected.format("on demand")
    assert cost.assumptions(spot, cost.Traffic())[1] == expected.format("Fargate Spot")


def test_without_a_schedule_the_tasks_run_all_month(tmp_path):
    path = tmp_path / "deployment.yaml"
    text = DOCUMENT.replace("TOPOLOGY", "websocket").replace("EXTRA", "")
    path.write_text("\n".join(line for line in text.splitlines() if "schedule:" not in line) + "\n")
    spec = load_config(str(path)).deployments[0].model.spec
    assert cost.assumptions(spec, cost.Traffic())[0] == "no schedule: tasks run all 730 hours of a month"


WEBSOCKET_MARKDOWN = """### Itemized: by-hand (websocket), about $5.20 a month

| item | quantity | unit price (USD) | USD / month |
|---|---:|---:|---:|
| Fargate Linux/ARM vCPU | 65 vCPU-hour | 0.03238 | 2.10 |
| Fargate Linux/ARM memory | 130 GB-hour | 0.00356 | 0.46 |
| public IPv4 address of each task | 260 IP-hour | 0.005 | 1.30 |
| API Gateway WebSocket messages (32 KB units) | 0.06 million messages | 1 | 0.06 |
| API Gateway WebSocket connection minutes | 0.0312 million connection-minutes | 0.25 | 0.01 |
| Lambda relay and authorizer requests | 0.02078 million requests | 0.2 | 0.00 |
| Lambda relay duration | 10,000 GB-second | 1.33334e-05 | 0.13 |
| DynamoDB connection state writes | 0.00052 million write units | 0.625 | 0.00 |
| DynamoDB connection state reads | 0.02 million read units | 0.125 | 0.00 |
| Cloud Map private DNS namespace (Route 53 hosted zone) | 1 zone-month | 0.5 | 0.50 |
| Cloud Map registered task | 0.3562 instance-month | 0.1 | 0.04 |
| relay DNS lookups of the tasks (one per request) | 0.02 million queries | 0.4 | 0.01 |
| Secrets Manager secret (server key + ElevenLabs key) | 1 secret-month | 0.4 | 0.40 |
| CloudWatch Logs ingestion | 0.02 GB | 0.5 | 0.01 |
| CloudWatch standard alarm | 1 alarm-month | 0.1 | 0.10 |
| data transfer out to the internet | 0.8 GB | 0.09 | 0.07 |
| **total** | | | **5.20** |

Assumptions:

- tasks run 260.0 h a month: 08:00-20:00 (UTC) x 5 days a week x 52/12; 470.0 h outside the schedule
- 1 task(s) of 0.25 vCPU and 0.5 GB (arm64, on demand); scaling above minCount is not included
- traffic: 20,000 requests a month of 40 KB responses, 1 KB of logs each (see `python -m compiler cost --requests N --response-kb K`)
- websocket: 2 client(s) connected during active hours, relay Lambda 256 MB for 2 s per request; its S3 bucket for large audio (objects expire) is not counted
- prices are us-east-1 (other regions differ by a few percent); free tiers are not applied; ECR storage belongs to the shared image repository and is not counted here

### On demand, on a schedule or always on

| how it runs | USD / month |
|---|---:|
| on demand (idle after 30 min, 20 busy h) | 1.75 |
| scheduled 08:00-20:00 MON-FRI (UTC) | 5.20 |
| always on | 12.27 |

With no traffic at all (`--busy-hours-per-month 0 --requests 0`), on demand costs $1.00 a month.

### The same deployment under each topology

| topology | USD / month |
|---|---:|
| alb | 28.28 |
| websocket (this one) | 5.20 |
| nat-instance | 6.42 |
| baseline: ALB + NAT Gateway + private Fargate, always on | 68.16 |

### Growth with traffic (USD / month)

| requests / month | alb | websocket | nat-instance | baseline |
|---:|---:|---:|---:|---:|
| 0 | 28.19 | 4.91 | 6.30 | 68.03 |
| 10,000 | 28.24 | 5.06 | 6.36 | 68.10 |
| 100,000 | 28.63 | 6.36 | 6.91 | 68.66 |
| 1,000,000 | 32.61 | 19.40 | 12.40 | 74.25 |
| 10,000,000 | 72.39 | 149.83 | 67.30 | 130.23 |

- websocket is cheaper than nat-instance below about 164,977 requests a month; above it, nat-instance is cheaper.
- websocket is cheaper than alb below about 2,311,537 requests a month; above it, alb is cheaper.
- websocket is cheaper than baseline below about 7,631,122 requests a month; above it, baseline is cheaper.
- nat-instance is cheaper than alb below about 13,033,727 requests a month; above it, alb is cheaper.

"""


def test_the_markdown_report_of_the_deployment_worked_out_by_hand(tmp_path):
    table = cost.price_table()
    prices = f"Prices: {table['region']}, {table['date']}; {table['source']}\n"
    assert cost.markdown("by-hand", spec_of(tmp_path, "websocket")) == WEBSOCKET_MARKDOWN + prices


def test_idle_lines_are_marked_in_the_report(tmp_path):
    text = cost.markdown("by-hand", spec_of(tmp_path, "alb"))
    assert "| Application Load Balancer (outside active hours) | 470 ALB-hour | 0.0225 | 10.57 |" in text.splitlines()
    assert "| alb (this one) | 28.28 |" in text.splitlines()


def test_the_report_follows_the_traffic_it_is_given(tmp_path):
    """Every section prices the traffic passed in, not the default traffic."""
    spec, traffic = spec_of(tmp_path, "websocket"), cost.Traffic(requests=50_000, clients=5, response_kb=100)
    text = cost.markdown("by-hand", spec, traffic)
    assert f"about ${cost.estimate(spec, traffic).total:.2f} a month" in text
    for topology in cost.ARCHITECTURES:
        total = cost.estimate(spec, traffic, topology).total
        assert f"| {cost.TOPOLOGY_NAMES[topology]}{' (this one)' if topology == 'websocket' else ''} | {total:.2f} |" in text
    zero = " | ".join(f"{cost.estimate(spec, cost.Traffic(requests=0, clients=5, response_kb=100), t).total:.2f}"
                      for t in cost.ARCHITECTURES)
    assert f"| 0 | {zero} |" in text
    points = cost.crossovers(cost.linear_models(spec, traffic))
    assert points != cost.crossovers(cost.linear_models(spec))
    assert [line for line in text.splitlines() if line.startswith("- websocket is cheaper")] == [
        f"- {a} is cheaper than {b} below about {r:,.0f} requests a month; above it, {b} is cheaper."
        for a, b, r in points if a == "websocket"]


def test_without_a_crossover_the_report_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(cost, "crossovers", lambda models: [])
    lines = cost.markdown("by-hand", spec_of(tmp_path, "websocket")).splitlines()
    assert lines[-4:-1] == ["", "No crossover: one topology is cheapest at every traffic level.", ""]


def test_crossovers_need_a_strictly_lower_fixed_cost_and_a_strictly_higher_slope():
    assert cost.crossovers({"a": (1.0, 2.0), "b": (1.0, 1.0)}) == []  # same fixed cost: b is never dearer
    assert cost.crossovers({"a": (1.0, 1.0), "b": (2.0, 1.0)}) == []  # same slope: a stays cheaper
    assert cost.crossovers({"c": (0.0, 3.0), "a": (1.0, 2.0), "b": (3.0, 1.0)}) == [
        ("c", "a", 1.0), ("c", "b", 1.5), ("a", "b", 2.0)]  # ordered by where they meet, not by name


@pytest.mark.parametrize("value, text", [(0.06, "0.06"), (99.99, "99.99"), (100.5, "100"), (1234.5, "1,234"),
                                         (10_000, "10,000")])
def test_quantities_below_100_keep_four_digits_and_larger_ones_are_whole(value, text):
    assert cost._number(value) == text


def two_deployments(tmp_path) -> str:
    path = tmp_path / "deployment.yaml"
    first = DOCUMENT.replace("TOPOLOGY", "websocket").replace("EXTRA", "")
    second = first.split("---\n", 1)[1].replace("name: by-hand", "name: other").replace("websocket", "nat-instance")
    path.write_text(first + "---\n" + second)
    return str(path)


def test_report_prints_the_named_deployment_or_all_of_them(tmp_path):
    file = two_deployments(tmp_path)
    specs = {source.model.metadata.name: source.model.spec for source in load_config(file).deployments}
    assert cost.report(file, "other") == cost.markdown("other", specs["other"])
    assert cost.report(file) == cost.markdown("by-hand", specs["by-hand"]) + "\n" + cost.markdown("other", specs["other"])
    traffic = cost.Traffic(requests=7)
    assert cost.report(file, "other", traffic) == cost.markdown("other", specs["other"], traffic)


def test_report_of_an_unknown_name_lists_the_deployments(tmp_path):
    file = two_deployments(tmp_path)
    with pytest.raises(CommandError) as raised:
        cost.report(file, "nope")
    assert str(raised.value) == f"no deployment named 'nope' in {file} (deployments: by-hand, other)"
    assert raised.value.code == ExitCode.UNKNOWN_NAME


@pytest.mark.parametrize("name", [None, "by-hand"])
def test_report_of_a_file_without_deployments_says_so(tmp_path, name):
    """Not "no deployment named None ... (deployments: none)", which it printed before."""
    path = tmp_path / "deployment.yaml"
    path.write_text(DOCUMENT.split("---\n", 1)[0])
    with pytest.raises(CommandError) as raised:
        cost.report(str(path), name)
    assert str(raised.value) == f"no deployment in {path}: it declares only ImageRepository documents"
    assert raised.value.code == ExitCode.UNKNOWN_NAME


ON_DEMAND_LABELS = [*LABELS["websocket"][:12], "on-demand function (wakes and idle checks)",
                    "on-demand function duration", *LABELS["websocket"][12:]]


def test_on_demand_adds_the_lines_of_its_function(tmp_path):
    assert labels(cost.estimate(on_demand_spec(tmp_path))) == ON_DEMAND_LABELS


ON_DEMAND_WHEN = ("on demand: tasks run {hours} h a month: {window}20 busy hours (`--busy-hours-per-month`) in sessions "
                  "of 1 h, each followed by 30 idle minutes and on average 2.5 min until the next 5-minute check stops "
                  "them; nothing runs otherwise")
CLIENTS = ("websocket: 2 client(s) connected during {}, relay Lambda 256 MB for 2 s per request; its S3 bucket for "
           "large audio (objects expire) is not counted")


@pytest.mark.parametrize("make_spec, when, connected", [
    (on_demand_spec, ON_DEMAND_WHEN.format(hours="30.8", window=""), "busy hours"),
    (on_demand_scheduled_spec, ON_DEMAND_WHEN.format(hours="290.8", window="260.0 h in the schedule's window, plus "),
     "the schedule's window and busy hours"),
    (lambda tmp_path: spec_of(tmp_path, "websocket"), "tasks run 260.0 h a month: 08:00-20:00 (UTC) x 5 days a week "
     "x 52/12; 470.0 h outside the schedule", "active hours"),
], ids=["on-demand", "on-demand-and-schedule", "schedule"])
def test_the_assumptions_say_when_tasks_run_and_clients_connect(tmp_path, make_spec, when, connected):
    said = cost.assumptions(make_spec(tmp_path), cost.Traffic())
    assert said[0] == when and said[3] == CLIENTS.format(connected)


def test_the_running_modes_compare_in_the_deployments_time_zone_and_traffic(tmp_path):
    spec, traffic = on_demand_scheduled_spec(tmp_path), cost.Traffic(busy_hours=40, requests=5_000)
    names = [name for name, _ in cost.running_modes(spec, traffic)]
    assert names == ["on demand (idle after 30 min, 40 busy h)", "scheduled 08:00-20:00 MON-FRI (Europe/Berlin)",
                     "always on"]
    text = cost.markdown("by-hand", spec, traffic).splitlines()
    for name, estimate in cost.running_modes(spec, traffic):
        assert f"| {name} | {estimate.total:.2f} |" in text
    no_schedule = cost.running_modes(on_demand_spec(tmp_path))
    assert no_schedule[1][0] == "scheduled 08:00-20:00 MON-FRI (UTC)"


def test_the_no_traffic_figure_has_no_request_whatever_their_size(tmp_path):
    """The idle line zeroes requests and busy hours but keeps the other traffic settings: at 1 GB a reply, a single
    request left in would add $0.09 of data transfer."""
    text = cost.markdown("by-hand", on_demand_spec(tmp_path), cost.Traffic(response_kb=1024 * 1024))
    assert "With no traffic at all (`--busy-hours-per-month 0 --requests 0`), on demand costs $1.00 a month." in text
