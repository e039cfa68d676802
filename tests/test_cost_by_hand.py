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
