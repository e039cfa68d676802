"""Cost figures worked out by hand, per topology, from the price table alone: the quantities below are written as
the arithmetic a reader would do (not computed by `compiler.cost`), so a wrong formula in cost.py (connection
minutes off by 60, a missing idle line, a wrong message count) changes the total and fails here. The deployments
go through `load_config`, checks included, as `python -m compiler cost` reads them.

The deployment: 0.25 vCPU / 0.5 GB arm64 on demand, one task, 08:00-20:00 MON-FRI, so the tasks run
12 h x 5 days x 52/12 weeks = 260 h a month and the window opens 5 x 52/12 = 21.67 times. Traffic: the
defaults, 20,000 requests of 40 KB, 1 KB of logs each, 2 websocket clients, 2 s of relay per request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler import cost
from compiler.validation import load_config

ROOT = Path(__file__).resolve().parents[1]
PRICE = {key: entry["usd"] for key, entry in json.loads((ROOT / "compiler" / "prices.json").read_text())["prices"].items()}

ACTIVE_H = 260
WINDOWS = 5 * 52 / 12
NAT_H = ACTIVE_H + WINDOWS * 2 * 10 / 60  # leadMinutes 10 either side of each window: 267.22 h

DOCUMENT = """\
apiVersion: mcpdeploy/v1alpha1
kind: ImageRepository
metadata: {name: repo}
spec: {region: us-east-1}
---
apiVersion: mcpdeploy/v1alpha1
kind: Deployment
metadata: {name: by-hand}
spec:
  region: us-east-1
  topology: TOPOLOGY
  image: {repository: repo, tag: "1.0.0"}
  task: {cpu: 256, memory: 512, architecture: arm64, spot: false}
  schedule: {timezone: UTC, activeHours: "08:00-20:00", days: [MON, TUE, WED, THU, FRI]}
EXTRA"""

EXTRA = {"alb": "  alb: {allowPlainHttp: true}\n", "websocket": "", "nat-instance": ""}

FARGATE = [("fargate_arm64_vcpu_hour", 260 * 0.25), ("fargate_arm64_gb_hour", 260 * 0.5)]
COMMON = [("secret_month", 1), ("logs_gb_ingested", 20_000 * 1 / 1e6), ("data_transfer_out_gb", 20_000 * 40 / 1e6)]

BY_HAND = {
    "alb": [
        *FARGATE,
        ("public_ipv4_hour", 260),                 # the task's public IP while it runs
        ("alb_hour", 260), ("alb_hour", 730 - 260),  # the load balancer around the clock: active and idle hours
        ("public_ipv4_hour", 2 * 260), ("public_ipv4_hour", 2 * (730 - 260)),  # its address in each of two AZs
        ("alb_lcu_hour", 0.8),                      # 0.8 GB processed
        ("cloudwatch_alarm_month", 2),
        *COMMON,
    ],
    "websocket": [
        *FARGATE,
        ("public_ipv4_hour", 260),
        ("apigw_websocket_million_messages", 20_000 * 3 / 1e6),   # request + 40 KB reply in two 32 KB units
        ("apigw_websocket_million_connection_minutes", 2 * 260 * 60 / 1e6),  # 31,200 minutes
        ("lambda_million_requests", (20_000 + 3 * 260) / 1e6),    # relay per request; 260 two-hour connections x 3
        ("lambda_arm64_gb_second", 20_000 * 2 * 0.25),            # 10,000 GB-s
        ("dynamodb_million_writes", 2 * 260 / 1e6),
        ("dynamodb_million_reads", 20_000 / 1e6),
        ("route53_hosted_zone_month", 1),
        ("cloud_map_instance_month", 260 / 730),
        ("route53_million_queries", 20_000 / 1e6),
        ("cloudwatch_alarm_month", 1),
        *COMMON,
    ],
    "nat-instance": [
        *FARGATE,
        ("ec2_t4g_nano_hour", NAT_H),
        ("public_ipv4_hour", NAT_H),
        ("ebs_gp3_gb_month", 8 * NAT_H / 730),
        ("apigw_http_million_requests", 20_000 / 1e6),  # one 512 KB unit per 40 KB reply
        ("cloud_map_million_discovery_calls", 20_000 / 1e6),
        ("route53_hosted_zone_month", 1),
        ("cloud_map_instance_month", 260 / 730),
        ("cloudwatch_alarm_month", 1),
        *COMMON,
    ],
}

# The same figures as dollars, added up once by hand (a second, coarser check on the table above).
TOTAL_BY_HAND = {"alb": 28.28, "websocket": 5.20, "nat-instance": 6.42}


def spec_of(tmp_path: Path, topology: str):
    path = tmp_path / "deployment.yaml"
    path.write_text(DOCUMENT.replace("TOPOLOGY", topology).replace("EXTRA", EXTRA[topology]))
    config = load_config(str(path))
    (deployment,) = config.deployments
    return deployment.model.spec


@pytest.mark.parametrize("topology", sorted(BY_HAND))
def test_total_matches_the_figures_worked_out_by_hand(tmp_path, topology):
    estimate = cost.estimate(spec_of(tmp_path, topology))
    expected = sum(quantity * PRICE[key] for key, quantity in BY_HAND[topology])
    assert estimate.total == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert estimate.total == pytest.approx(TOTAL_BY_HAND[topology], abs=0.01)


@pytest.mark.parametrize("topology", sorted(BY_HAND))
def test_every_line_matches_one_worked_out_by_hand(tmp_path, topology):
    got = sorted((line.price_key, round(line.quantity, 9)) for line in cost.estimate(spec_of(tmp_path, topology)).lines)
    assert got == sorted((key, round(quantity, 9)) for key, quantity in BY_HAND[topology])


# On demand (websocket, no schedule, idleMinutes 30), 20 busy hours in 1-hour sessions: each session runs
# 30 idle minutes longer and 2.5 minutes on average until the 5-minute check, so tasks run
# 20 + 20 x 32.5 / 60 = 30.83 h. Two clients connected during the 20 busy hours: 20 connections of 2 hours.
ON_DEMAND_TASK_H = 20 + 20 * 32.5 / 60
ON_DEMAND_CALLS = 20 + 12 * ON_DEMAND_TASK_H  # a wake per connection, an idle check every 5 minutes while running
ON_DEMAND = [
    ("fargate_arm64_vcpu_hour", ON_DEMAND_TASK_H * 0.25), ("fargate_arm64_gb_hour", ON_DEMAND_TASK_H * 0.5),
    ("public_ipv4_hour", ON_DEMAND_TASK_H),
    ("apigw_websocket_million_messages", 20_000 * 3 / 1e6),
    ("apigw_websocket_million_connection_minutes", 2 * 20 * 60 / 1e6),
    ("lambda_million_requests", (20_000 + 3 * 20) / 1e6),
    ("lambda_arm64_gb_second", 20_000 * 2 * 0.25),
    ("dynamodb_million_writes", 2 * 20 / 1e6),
    ("dynamodb_million_reads", 20_000 / 1e6),
    ("route53_hosted_zone_month", 1),
    ("cloud_map_instance_month", ON_DEMAND_TASK_H / 730),
    ("route53_million_queries", 20_000 / 1e6),
    ("lambda_million_requests", ON_DEMAND_CALLS / 1e6),
    ("lambda_arm64_gb_second", ON_DEMAND_CALLS * 1.0 * 0.25),  # 1 s at 256 MB each
    ("cloudwatch_alarm_month", 1),
    *COMMON,
]
# Idle (no busy hour, no request): the secret, the Cloud Map namespace's hosted zone and the relay's alarm.
ON_DEMAND_IDLE = [("secret_month", 1), ("route53_hosted_zone_month", 1), ("cloudwatch_alarm_month", 1)]


def on_demand_spec(tmp_path: Path):
    path = tmp_path / "deployment.yaml"
    document = DOCUMENT.replace("TOPOLOGY", "websocket").replace("EXTRA", "  onDemand: {idleMinutes: 30}\n")
    path.write_text(document.replace('  schedule: {timezone: UTC, activeHours: "08:00-20:00", '
                                     'days: [MON, TUE, WED, THU, FRI]}\n', ""))
    (deployment,) = load_config(str(path)).deployments
    return deployment.model.spec


def test_on_demand_matches_the_figures_worked_out_by_hand(tmp_path):
    estimate = cost.estimate(on_demand_spec(tmp_path))
    assert estimate.total == pytest.approx(sum(q * PRICE[key] for key, q in ON_DEMAND), rel=1e-9)
    assert estimate.total == pytest.approx(1.75, abs=0.01)  # Fargate (not Spot) 30.83 h x $0.009875 = $0.30


# On demand beside a schedule (the by-hand deployment above plus onDemand): the window's 260 h, then 20 busy hours
# outside it, each session with its 32.5 min tail: 290.83 h. Clients connect in the window and the busy hours:
# 2 x 280 h = 280 connections of 2 hours.
SCHEDULED_TASK_H = 260 + 20 + 20 * 32.5 / 60
SCHEDULED_CALLS = 280 + 12 * SCHEDULED_TASK_H
ON_DEMAND_SCHEDULED = [
    ("fargate_arm64_vcpu_hour", SCHEDULED_TASK_H * 0.25), ("fargate_arm64_gb_hour", SCHEDULED_TASK_H * 0.5),
    ("public_ipv4_hour", SCHEDULED_TASK_H),
    ("apigw_websocket_million_messages", 20_000 * 3 / 1e6),
    ("apigw_websocket_million_connection_minutes", 2 * 280 * 60 / 1e6),
    ("lambda_million_requests", (20_000 + 3 * 280) / 1e6),
    ("lambda_arm64_gb_second", 20_000 * 2 * 0.25),
    ("dynamodb_million_writes", 2 * 280 / 1e6),
    ("dynamodb_million_reads", 20_000 / 1e6),
    ("route53_hosted_zone_month", 1),
    ("cloud_map_instance_month", SCHEDULED_TASK_H / 730),
    ("route53_million_queries", 20_000 / 1e6),
    ("lambda_million_requests", SCHEDULED_CALLS / 1e6),
    ("lambda_arm64_gb_second", SCHEDULED_CALLS * 1.0 * 0.25),
    ("cloudwatch_alarm_month", 1),
    *COMMON,
]


def on_demand_scheduled_spec(tmp_path: Path):
    path = tmp_path / "deployment.yaml"
    path.write_text(DOCUMENT.replace("TOPOLOGY", "websocket").replace("EXTRA", "  onDemand: {idleMinutes: 30}\n")
                    .replace("timezone: UTC", "timezone: Europe/Berlin"))
    return load_config(str(path)).deployments[0].model.spec


@pytest.mark.parametrize("make_spec, by_hand", [(on_demand_spec, ON_DEMAND),
                                                 (on_demand_scheduled_spec, ON_DEMAND_SCHEDULED)],
                         ids=["on-demand", "on-demand-and-schedule"])
def test_every_on_demand_line_matches_one_worked_out_by_hand(tmp_path, make_spec, by_hand):
    """Line by line and to 1e-12 (the on-demand function's lines are a few cents: a total hides them)."""
    got = sorted((line.price_key, line.quantity) for line in cost.estimate(make_spec(tmp_path)).lines)
    expected = sorted(by_hand)
    assert [key for key, _ in got] == [key for key, _ in expected]
    assert [q for _, q in got] == [pytest.approx(q, rel=1e-12) for _, q in expected]


def test_the_running_modes_of_the_scheduled_deployment_match_the_figures_worked_out_by_hand(tmp_path):
    """The comparison `cost` prints for a websocket deployment (tests/test_cost_report.py's on-demand section): its
    on-demand variant is the on-demand deployment above, its scheduled variant this file's websocket deployment."""
    modes = {name.split(" ")[0]: estimate.total
             for name, estimate in cost.running_modes(spec_of(tmp_path, "websocket"))}
    assert modes["on"] == pytest.approx(sum(q * PRICE[key] for key, q in ON_DEMAND), rel=1e-9)
    assert modes["scheduled"] == pytest.approx(sum(q * PRICE[key] for key, q in BY_HAND["websocket"]), rel=1e-9)


def test_on_demand_idle_costs_at_most_a_dollar_and_20_busy_hours_cost_less_than_the_schedule(tmp_path):
    spec = on_demand_spec(tmp_path)
    idle = cost.estimate(spec, cost.Traffic(requests=0, busy_hours=0))
    assert sorted((line.price_key, line.quantity) for line in idle.lines if line.amount) == sorted(ON_DEMAND_IDLE)
    assert idle.total == pytest.approx(1.00, abs=1e-9)
    modes = dict(cost.running_modes(spec))
    on_demand, scheduled, always = modes.values()
    assert on_demand.total < scheduled.total < always.total
    assert scheduled.total == pytest.approx(5.20, abs=0.01)  # the websocket figure above: same deployment


def test_the_repo_websocket_deployment_on_demand_meets_the_bars():
    """The issue's bars, through the command a user runs: idle at most $1.00; 20 busy hours below 12 h x 5 days."""
    import re
    import subprocess
    import sys

    def run(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "compiler", "cost", "voice-ws", *args], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout

    idle = float(re.search(r"about \$(\d+\.\d\d) a month", run("--busy-hours-per-month", "0", "--requests", "0"))[1])
    busy = run("--busy-hours-per-month", "20")
    on_demand = float(re.search(r"\| on demand \(idle after 30 min, 20 busy h\) \| (\d+\.\d\d) \|", busy)[1])
    scheduled = float(re.search(r"\| scheduled 08:00-20:00 MON-FRI \(UTC\) \| (\d+\.\d\d) \|", busy)[1])
    assert idle <= 1.00 and on_demand < scheduled
    assert f"about ${on_demand:.2f} a month" in busy  # the repo's voice-ws runs on demand


def test_the_albs_fixed_month_is_the_load_balancer_and_its_two_addresses_around_the_clock():
    """What the refusal of onDemand on alb quotes (compiler/checks.py)."""
    assert cost.alb_fixed_month() == pytest.approx(730 * PRICE["alb_hour"] + 2 * 730 * PRICE["public_ipv4_hour"])
    assert f"{cost.alb_fixed_month():.2f}" == "23.73"


# The original architecture the comparison prices beside every deployment: on-demand Fargate, the ALB, its two
# addresses, a NAT Gateway and its Elastic IP, all 730 hours of the month whatever the schedule says.
BASELINE_BY_HAND = [
    ("fargate_arm64_vcpu_hour", 730 * 0.25), ("fargate_arm64_gb_hour", 730 * 0.5),
    ("alb_hour", 730), ("public_ipv4_hour", 2 * 730), ("alb_lcu_hour", 0.8),
    ("nat_gateway_hour", 730), ("public_ipv4_hour", 730), ("nat_gateway_gb", 0.8),
    ("cloudwatch_alarm_month", 2),
    *COMMON,
]


def test_baseline_matches_the_figures_worked_out_by_hand(tmp_path):
    estimate = cost.estimate(spec_of(tmp_path, "websocket"), topology="baseline")
    got = sorted((line.price_key, round(line.quantity, 9)) for line in estimate.lines)
    assert got == sorted((key, round(quantity, 9)) for key, quantity in BASELINE_BY_HAND)
    assert estimate.total == pytest.approx(68.16, abs=0.01)


def test_baseline_prices_on_demand_fargate_even_for_a_spot_deployment(tmp_path):
    path = tmp_path / "deployment.yaml"
    path.write_text(DOCUMENT.replace("TOPOLOGY", "websocket").replace("spot: false", "spot: true").replace("EXTRA", ""))
    spec = load_config(str(path)).deployments[0].model.spec
    assert {"fargate_spot_arm64_vcpu_hour", "fargate_spot_arm64_gb_hour"} <= {l.price_key for l in cost.estimate(spec).lines}
    baseline = {line.price_key for line in cost.estimate(spec, topology="baseline").lines}
    assert {"fargate_arm64_vcpu_hour", "fargate_arm64_gb_hour"} <= baseline and not any("spot" in k for k in baseline)


# Traffic beyond the defaults, worked out by hand: 1,024.5 KB replies are 33 WebSocket messages of 32 KB and 3 HTTP
# API requests of 512 KB each; 2 KB of logs per request.
LARGE = cost.Traffic(response_kb=1024.5, log_kb_per_request=2)


def test_large_replies_are_billed_in_32_and_512_kb_units(tmp_path):
    websocket = {l.price_key: l.quantity for l in cost.estimate(spec_of(tmp_path, "websocket"), LARGE).lines}
    assert websocket["apigw_websocket_million_messages"] == pytest.approx(20_000 * (1 + 33) / 1e6)
    assert websocket["logs_gb_ingested"] == pytest.approx(20_000 * 2 / 1e6)
    nat = {l.price_key: l.quantity for l in cost.estimate(spec_of(tmp_path, "nat-instance"), LARGE).lines}
    assert nat["apigw_http_million_requests"] == pytest.approx(20_000 * 3 / 1e6)


def test_a_budget_is_one_budget_month(tmp_path):
    path = tmp_path / "deployment.yaml"
    alerts = "  alerts: {email: ops@example.com, monthlyBudgetUsd: 20}\n"
    path.write_text(DOCUMENT.replace("TOPOLOGY", "websocket").replace("EXTRA", alerts))
    lines = cost.estimate(load_config(str(path)).deployments[0].model.spec).lines
    assert [(l.price_key, l.quantity) for l in lines if l.price_key == "budget_month"] == [("budget_month", 1)]


@pytest.mark.parametrize("topology", sorted(BY_HAND))
def test_the_linear_model_reproduces_the_total_worked_out_by_hand(tmp_path, topology):
    """fixed + slope x 20,000 requests is the by-hand total to a billionth: the slope is per request, exactly."""
    fixed, slope = cost.linear_model(spec_of(tmp_path, topology), topology)
    expected = sum(quantity * PRICE[key] for key, quantity in BY_HAND[topology])
    assert fixed + slope * 20_000 == pytest.approx(expected, rel=1e-9)


def test_without_a_schedule_nothing_is_billed_as_outside_active_hours(tmp_path):
    path = tmp_path / "deployment.yaml"
    text = DOCUMENT.replace("TOPOLOGY", "alb").replace("EXTRA", EXTRA["alb"])
    path.write_text("\n".join(line for line in text.splitlines() if "schedule:" not in line) + "\n")
    lines = cost.estimate(load_config(str(path)).deployments[0].model.spec).lines
    assert [l for l in lines if l.when] == []
    assert {l.quantity for l in lines if l.price_key == "alb_hour"} == {730}
