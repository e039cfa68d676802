"""`python -m compiler diff`: resource-by-resource changes a build would make, without writing anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from compiler import diff, emit
from compiler.build import compile_config
from compiler.validation import load_config

ROOT = Path(__file__).resolve().parents[1]

REPOSITORY = """\
apiVersion: mcpdeploy/v1alpha1
kind: ImageRepository
metadata: {name: images}
spec: {region: eu-central-1}
"""


def deployment(name: str = "web", extra: str = "") -> str:
    return f"""\
---
apiVersion: mcpdeploy/v1alpha1
kind: Deployment
metadata: {{name: {name}}}
spec:
  region: eu-central-1
  topology: alb
  image: {{repository: images, tag: "1.0.0"}}
  alb: {{allowPlainHttp: true}}
{extra}"""


@pytest.fixture
def built(tmp_path):
    """A folder built from a first version of the file (as `build` would write it, minus lint)."""
    source, out = tmp_path / "deployment.yaml", tmp_path / "generated"
    source.write_text(REPOSITORY + deployment(extra="  alerts: {email: ops@example.com}\n"))
    files, _ = compile_config(load_config(str(source)))
    emit.write_outputs(out, files)
    return source, out


def test_unchanged_output_is_reported_up_to_date(built):
    source, out = built
    assert diff.diff(str(source), out) == f"no changes: {out}/ is up to date"


def test_changed_properties_and_removed_resources(built):
    source, out = built
    source.write_text(REPOSITORY + deployment(extra="  task: {cpu: 512, memory: 1024}\n  logs: {retentionDays: 14}\n"))
    before = {path.name: path.read_text() for path in out.iterdir()}
    text = diff.diff(str(source), out)
    assert f"~ {out / 'web.json'}" in text
    assert "    ~ resource TaskDefinition (AWS::ECS::TaskDefinition)" in text
    assert '        Properties.Cpu: "256" -> "512"' in text and '        Properties.Memory: "512" -> "1024"' in text
    assert "    ~ resource LogGroup (AWS::Logs::LogGroup)" in text and "Properties.RetentionInDays: 7 -> 14" in text
    assert "    - resource AlertTopic (AWS::SNS::Topic)" in text
    assert "    - resource AlertEmailSubscription (AWS::SNS::Subscription)" in text
    assert "resource Vpc " not in text  # unchanged resources are not listed
    assert {path.name: path.read_text() for path in out.iterdir()} == before, "diff must write nothing"


def test_added_and_removed_stacks(built):
    source, out = built
    source.write_text(REPOSITORY + deployment("api"))
    text = diff.diff(str(source), out)
    assert f"+ {out / 'api.json'} (new stack)" in text
    assert "    + resource LoadBalancer (AWS::ElasticLoadBalancingV2::LoadBalancer)" in text
    assert f"- {out / 'web.json'} (no longer produced: a build removes it)" in text
    assert f"+ {out / 'api.md'}" in text


def test_outputs_and_parameters_are_compared_too():
    old = {"Resources": {}, "Parameters": {"ImageTag": {"Default": "1.0.0"}}, "Outputs": {"A": {"Value": "x"}}}
    new = {"Resources": {}, "Parameters": {"ImageTag": {"Default": "1.1.0"}}, "Outputs": {"B": {"Value": "x"}}}
    assert diff.template_changes(old, new) == [
        "    ~ parameter ImageTag", '        Default: "1.0.0" -> "1.1.0"',
        "    - output A", "    + output B"]


def test_value_changes_name_the_path_and_shorten_long_values():
    old = {"A": [{"B": 1}, {"C": "x"}], "D": "y" * 200}
    new = {"A": [{"B": 2}, {"C": "x", "E": True}], "D": "z" * 200}
    changes = diff.value_changes(old, new)
    assert changes[0] == "A[0].B: 1 -> 2" and changes[1] == "A[1].E: added true"
    assert changes[2].startswith("D: \"yyy") and changes[2].endswith("...") and len(changes[2]) < 160


def test_cli_diff_and_bad_input(built, tmp_path):
    source, out = built
    ok = subprocess.run([sys.executable, "-m", "compiler", "diff", "-f", str(source), "-o", str(out)], cwd=ROOT,
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "up to date" in ok.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text(REPOSITORY + deployment(extra="  task: {cpu: 300}\n"))
    bad = subprocess.run([sys.executable, "-m", "compiler", "diff", "-f", str(broken), "-o", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "spec.task.cpu" in bad.stderr and "Traceback" not in bad.stderr
