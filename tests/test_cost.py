"""The cost estimate: every figure is quantity x price from prices.json, hours come from the schedule, the default
deployments cost what the original notes claim, and traffic growth and crossovers are consistent."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from compiler import cost
from compiler.diagnostics import ConfigError
from compiler.model import Deployment
from compiler.validation import load_config

ROOT = Path(__file__).resolve().parents[1]
PRICES = json.loads((ROOT / "compiler" / "prices.json").read_text())


def deployment(topology: str, schedule: dict | None = None, **spec) -> Deployment:
    """A deployment with the defaults of the model, validated and cross-checked as `python -m compiler` does
    (raises ConfigError), so that no test prices a deployment the compiler refuses. An alb without options
    serves plain HTTP (the price is the same)."""
    body = {"region": "us-east-1", "topology": topology, "image": {"repository": "repo", "tag": "1.0.0"}, **spec}
    if topology == "alb":
        body.setdefault("alb", {"allowPlainHttp": True})
    if schedule is not None:
        body["schedule"] = schedule
    documents = [{"apiVersion": "mcpdeploy/v1alpha1", "kind": "ImageRepository", "metadata": {"name": "repo"},
                  "spec": {"region": "us-east-1"}},
                 {"apiVersion": "mcpdeploy/v1alpha1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": body}]
    with tempfile.TemporaryDirectory() as folder:  # JSON is YAML: the file goes through the whole validation
        path = Path(folder) / "deployment.yaml"
        path.write_text("\n---\n".join(json.dumps(document) for document in documents))
        [source] = load_config(str(path)).deployments
    return source.model


TWELVE_HOURS_DAILY = {"timezone": "UTC", "activeHours": "08:00-20:00"}


def test_product_output_cites_the_pricing_pages_not_files_outside_the_repository():
    """Users get prices.json, the cost output and generated/*.md, not the team's notes: no path may leave the repo."""
    texts = {"prices.json": (ROOT / "compiler" / "prices.json").read_text(),
             **{path.name: path.read_text() for path in (ROOT / "generated").glob("*.md")}}
    for name, text in texts.items():
        assert "../" not in text and "REFERENCE" not in text and "shared/" not in text, name
    assert "aws.amazon.com/<service>/pricing" in PRICES["source"] and "November 2026" in PRICES["source"]


def test_price_table_names_its_source_date_and_region():
    assert PRICES["source"] and PRICES["date"] and PRICES["region"] == "us-east-1"
    for key, entry in PRICES["prices"].items():
        assert entry["usd"] >= 0 and entry["per"] and entry["item"], key


@pytest.mark.parametrize("topology", ["alb", "websocket", "nat-instance", "baseline"])
@pytest.mark.parametrize("requests", [0, 20_000, 3_000_000])
def test_every_line_is_quantity_times_the_table_price(topology, requests):
    spec = deployment("alb", TWELVE_HOURS_DAILY, task={"spot": True}).spec
    estimate = cost.estimate(spec, cost.Traffic(requests=requests), topology)
    for line in estimate.lines:
        assert line.unit_price == PRICES["prices"][line.price_key]["usd"]
        assert line.unit == PRICES["prices"][line.price_key]["per"]
        assert line.amount == pytest.approx(line.quantity * PRICES["prices"][line.price_key]["usd"])
    assert estimate.total == pytest.approx(sum(line.quantity * line.unit_price for line in estimate.lines))


@pytest.mark.parametrize("active_hours, days, expected", [
    ("08:00-20:00", ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"], 12 * 7 * 52 / 12),
    ("08:00-20:00", ["MON", "TUE", "WED", "THU", "FRI"], 12 * 5 * 52 / 12),
    ("22:00-02:00", ["FRI"], 4 * 52 / 12),          # crosses midnight
    ("09:30-17:15", ["MON"], 7.75 * 52 / 12),
    ("00:00-23:59", ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"], (24 - 1 / 60) * 7 * 52 / 12),
    ("00:01-00:00", ["SUN"], (24 - 1 / 60) * 52 / 12),
])
def test_active_hours_come_from_the_schedule(active_hours, days, expected):
    spec = deployment("alb", {"timezone": "Europe/Berlin", "activeHours": active_hours, "days": days}).spec
    assert cost.hours(spec.schedule).active == pytest.approx(expected)


def test_an_empty_window_is_refused_not_priced_as_a_whole_day():
    """00:00-00:00 is refused by the checks (no schedule means always on), so no estimate exists for it."""
    with pytest.raises(ConfigError, match="the window 00:00-00:00 is empty"):
        deployment("alb", {"timezone": "UTC", "activeHours": "00:00-00:00"})


def test_no_schedule_runs_all_month():
    h = cost.hours(None)
    assert (h.active, h.idle) == (730, 0)


def test_fargate_lines_follow_the_task_size_and_market():
    spec = deployment("websocket", TWELVE_HOURS_DAILY, task={"cpu": 512, "memory": 2048, "minCount": 2, "maxCount": 2,
                                                             "architecture": "x86_64"}).spec
    lines = {line.price_key: line for line in cost.estimate(spec).lines}
    task_hours = 2 * 12 * 7 * 52 / 12
    assert lines["fargate_x86_64_vcpu_hour"].quantity == pytest.approx(task_hours * 0.5)
    assert lines["fargate_x86_64_gb_hour"].quantity == pytest.approx(task_hours * 2)
    spot = deployment("websocket", TWELVE_HOURS_DAILY, task={"spot": True}).spec
    assert {line.price_key for line in cost.estimate(spot).lines} >= {"fargate_spot_arm64_vcpu_hour"}


def test_the_charges_the_notes_forget_are_itemized():
    spec = deployment("alb", TWELVE_HOURS_DAILY).spec
    items = {topology: {line.price_key: line for line in cost.estimate(spec, topology=topology).lines}
             for topology in cost.ARCHITECTURES}
    for topology, lines in items.items():
        assert "public_ipv4_hour" in lines and "secret_month" in lines, topology
    assert "route53_hosted_zone_month" in items["websocket"] and "route53_hosted_zone_month" in items["nat-instance"]
    assert "route53_hosted_zone_month" not in items["alb"]
    assert {"ec2_t4g_nano_hour", "ebs_gp3_gb_month"} <= set(items["nat-instance"])
    idle = [line for line in cost.estimate(spec).lines if line.when == "outside active hours"]
    assert {line.price_key for line in idle} == {"alb_hour", "public_ipv4_hour"}  # the ALB never sleeps
    assert sum(line.quantity for line in idle if line.price_key == "alb_hour") == pytest.approx(730 - 364, abs=0.1)


def test_nat_instance_runs_the_active_hours_plus_its_lead_on_both_sides():
    spec = deployment("nat-instance", TWELVE_HOURS_DAILY, natInstance={"leadMinutes": 30}).spec
    [nat] = [line for line in cost.estimate(spec).lines if line.price_key == "ec2_t4g_nano_hour"]
    windows = 7 * 52 / 12
    assert nat.quantity == pytest.approx(12 * windows + 2 * 0.5 * windows)  # up 30 min before, down 30 min after
    spot = deployment("nat-instance", TWELVE_HOURS_DAILY, natInstance={"spot": True}).spec
    assert "ec2_t4g_nano_spot_hour" in {line.price_key for line in cost.estimate(spot).lines}


def test_an_unpriced_instance_type_is_a_clear_error():
    spec = deployment("nat-instance", TWELVE_HOURS_DAILY, natInstance={"instanceType": "c7g.large"}).spec
    with pytest.raises(cost.CostError, match="ec2_c7g_large_hour"):
        cost.estimate(spec)


def test_default_deployments_cost_what_the_original_notes_claim():
    """Notes: websocket $5-10 a month, nat-instance ~$8-9; at 12 h a day with the default task and traffic."""
    assert cost.estimate(deployment("websocket", TWELVE_HOURS_DAILY).spec).total <= 10
    assert cost.estimate(deployment("nat-instance", TWELVE_HOURS_DAILY).spec).total <= 9
    baseline = cost.estimate(deployment("alb", TWELVE_HOURS_DAILY).spec, topology="baseline").total
    assert 60 <= baseline <= 80  # "~$70/month"


def test_growth_is_linear_and_crossovers_are_where_costs_meet():
    spec = deployment("alb", TWELVE_HOURS_DAILY).spec
    for topology in cost.ARCHITECTURES:
        fixed, slope = cost.linear_model(spec, topology)
        for requests in (0, 12_345, 4_000_000):
            total = cost.estimate(spec, cost.Traffic(requests=requests), topology).total
            assert total == pytest.approx(fixed + slope * requests)
    points = cost.crossovers(cost.linear_models(spec))
    assert points, "websocket's per-request cost should overtake the flat-priced topologies at some traffic"
    for cheap, dear, requests in points:
        at = {t: cost.estimate(spec, cost.Traffic(requests=round(requests)), t).total for t in (cheap, dear)}
        assert at[cheap] == pytest.approx(at[dear], abs=0.01)
        below = cost.estimate(spec, cost.Traffic(requests=math.floor(requests / 2)), cheap).total
        assert below < cost.estimate(spec, cost.Traffic(requests=math.floor(requests / 2)), dear).total


def test_markdown_shows_every_line_and_the_comparison():
    spec = deployment("websocket", TWELVE_HOURS_DAILY).spec
    text = cost.markdown("d", spec)
    for line in cost.estimate(spec).lines:
        assert f"| {line.amount:.2f} |" in text
    assert "baseline: ALB + NAT Gateway" in text and "| 10,000,000 |" in text
    assert PRICES["date"] in text


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compiler", "cost", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_cli_prints_the_estimate_of_a_named_deployment():
    result = run_cli("voice-alb", "--requests", "50000")
    assert result.returncode == 0, result.stderr
    assert "### Itemized: voice-alb (alb)" in result.stdout and "50,000 requests a month" in result.stdout


def test_cli_unknown_deployment_is_a_clear_error():
    result = run_cli("nope")
    assert result.returncode == 6  # UNKNOWN_NAME, not "invalid configuration"
    assert "no deployment named 'nope'" in result.stderr and "Traceback" not in result.stderr


def golden_deployments():
    """(deployment, its golden template) for every valid case whose goldens exist."""
    from compiler.validation import load_config

    for case in sorted((ROOT / "tests" / "cases" / "valid").glob("*.yaml")):
        for source in load_config(str(case)).deployments:
            golden = case.with_suffix("") / f"{source.model.metadata.name}.json"
            if golden.exists():
                yield pytest.param(source.model, json.loads(golden.read_text()), id=f"{case.stem}/{golden.stem}")


@pytest.mark.parametrize("model, template", list(golden_deployments()))
def test_priced_items_match_what_the_template_builds(model, template):
    """The cost model is written from the model alone: check it against the templates the compiler really emits."""
    types = [resource["Type"] for resource in template["Resources"].values()]
    keys = {line.price_key for line in cost.estimate(model.spec).lines}
    assert types.count("AWS::CloudWatch::Alarm") == cost.ALARMS[model.spec.topology]
    assert ("AWS::ServiceDiscovery::PrivateDnsNamespace" in types) == ("route53_hosted_zone_month" in keys)
    assert ("AWS::ElasticLoadBalancingV2::LoadBalancer" in types) == ("alb_hour" in keys)
    assert ("AWS::AutoScaling::AutoScalingGroup" in types) == any(key.startswith("ec2_") for key in keys)
    assert ("AWS::ApiGatewayV2::Api" in types) == any(key.startswith("apigw_") for key in keys)
    assert ("AWS::Budgets::Budget" in types) == ("budget_month" in keys)
    secrets = sum(line.quantity for line in cost.estimate(model.spec).lines if line.price_key == "secret_month")
    assert types.count("AWS::SecretsManager::Secret") == secrets  # the auth page's sign-up code is one more


def test_growth_table_equals_direct_estimates():
    spec = deployment("nat-instance", TWELVE_HOURS_DAILY).spec
    text = cost.markdown("d", spec)
    for requests in cost.GROWTH_STEPS:
        row = " | ".join(f"{cost.estimate(spec, cost.Traffic(requests=requests), t).total:.2f}"
                         for t in cost.ARCHITECTURES)
        assert f"| {requests:,} | {row} |" in text
