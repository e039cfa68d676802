"""natInstance.instanceType is checked at validation against the instance types of the deployment's region,
from a copy of cfn-lint's own list (compiler/assets/ec2_instance_types.json), so a typo is a positioned exit 1
with did-you-mean, not cfn-lint's exit 3 with a screen of types (issue 15 finding 10)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from compiler import instance_types

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "tests" / "cases" / "invalid" / "nat-instance-type.yaml"


def test_the_copy_matches_the_installed_cfn_lint():
    """After a cfn-lint upgrade: `python -m compiler.instance_types` rewrites the copy."""
    assert instance_types.DATA.read_text(encoding="utf-8") == instance_types.render(instance_types.from_cfn_lint())


def test_every_region_offers_exactly_what_cfn_lint_accepts():
    from importlib.resources import files

    source = files("cfnlint") / "data" / "schemas" / "extensions" / "aws_ec2_instance" / "instancetype_enum.json"
    for region, value in json.loads(source.read_text()).items():
        if isinstance(value, dict) and value.get("enum"):
            assert instance_types.offered(region) == frozenset(value["enum"]), region


@pytest.mark.parametrize("instance_type, region, expected", [
    ("t4g.nano", "us-east-1", None),
    ("m5.superlarge", "us-east-1", "'m5.superlarge' is not an EC2 instance type; did you mean 'm5.large'"),
    ("d3en.large", "us-east-1", "'d3en.large' is not offered in us-east-1"),
    ("zz9.plural", "eu-west-1", "'zz9.plural' is not an EC2 instance type"),
])
def test_problem(instance_type, region, expected):
    found = instance_types.problem(instance_type, region)
    assert found == expected if expected is None else found.startswith(expected)


def test_the_cli_exits_1_at_the_position_and_validation_never_loads_cfn_lint():
    result = subprocess.run([sys.executable, "-m", "compiler", "validate", "-f", str(CASE)], capture_output=True,
                            text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 1
    assert ":14:19: spec.natInstance.instanceType: 'm5.superlarge' is not an EC2 instance type; did you mean " \
           "'m5.large'" in result.stdout + result.stderr
    probe = ("import sys; from compiler.validation import load_config\n"
             "try:\n    load_config(sys.argv[1])\nexcept Exception:\n    pass\n"
             "assert 'cfnlint' not in sys.modules, 'validation imported cfn-lint'")
    subprocess.run([sys.executable, "-c", probe, str(CASE)], check=True, cwd=ROOT, timeout=60)
