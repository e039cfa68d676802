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
    # a new task definition (Cpu and Memory are create-only; so are the container definitions, whose environment
    # tells the server its memory, MCP_MEMORY_MIB), which the service then points at
    assert ("    ! REPLACE resource TaskDefinition (AWS::ECS::TaskDefinition): ContainerDefinitions changed "
            "(create-only); Cpu changed (create-only); Memory changed (create-only)") in text
    assert '        Properties.Cpu: "256" -> "512"' in text and '        Properties.Memory: "512" -> "1024"' in text
    assert "    ~ modify resource Service (AWS::ECS::Service)" in text
    assert "        Properties.TaskDefinition (refers to TaskDefinition): takes a new value" in text
    assert "    ~ modify resource LogGroup (AWS::Logs::LogGroup)" in text and "Properties.RetentionInDays: 7 -> 14" in text
    assert "    - remove resource AlertTopic (AWS::SNS::Topic)" in text
    assert "    - remove resource AlertEmailSubscription (AWS::SNS::Subscription)" in text
    assert "resource Vpc " not in text  # unchanged resources are not listed
    assert {path.name: path.read_text() for path in out.iterdir()} == before, "diff must write nothing"


def test_added_and_removed_stacks(built):
    source, out = built
    source.write_text(REPOSITORY + deployment("api"))
    text = diff.diff(str(source), out)
    assert f"+ {out / 'api.json'} (new stack)" in text
    assert "    + add resource LoadBalancer (AWS::ElasticLoadBalancingV2::LoadBalancer)" in text
    assert "~ Description" not in text  # a new stack's resources, not its header
    assert f"- {out / 'web.json'} (no longer produced: a build removes it)" in text
    assert f"+ {out / 'api.md'}" in text


def test_outputs_and_parameters_are_compared_too():
    old = {"Resources": {}, "Parameters": {"ImageTag": {"Default": "1.0.0"}}, "Outputs": {"A": {"Value": "x"}}}
    new = {"Resources": {}, "Parameters": {"ImageTag": {"Default": "1.1.0"}}, "Outputs": {"B": {"Value": "x"}}}
    assert diff.template_changes(old, new) == [
        "    ~ parameter ImageTag", '        Default: "1.0.0" -> "1.1.0"',
        "    - output A", "    + output B"]


def test_value_changes_name_the_path():
    old = {"A": [{"B": 1}, {"C": "x"}]}
    new = {"A": [{"B": 2}, {"C": "x", "E": True}]}
    assert diff.value_changes(old, new) == ["A[0].B: 1 -> 2", "A[1].E: added true"]


def test_a_long_value_shows_its_changed_part_not_a_cut_prefix():
    """Issue 19: values were cut at a fixed width, so a change past it was invisible (an ARN's account, the end
    of a policy). Now the part that changed is shown, with context, whatever its offset."""
    prefix, suffix = "arn:aws:iam::123456789012:role/" + "x" * 80, "/end" + "y" * 80
    [line] = diff.value_changes({"Role": prefix + "old-name" + suffix}, {"Role": prefix + "new-name" + suffix})
    assert '"...' in line and "old-name" in line and "new-name" in line, line
    assert "(the changed part of a 203-character value)" in line
    [short] = diff.value_changes("a" * 70, "b" * 70)
    assert short == f'(value): "{"a" * 70}" -> "{"b" * 70}"'  # short enough: whole


def test_a_changed_script_is_a_line_diff_and_an_added_value_is_whole():
    old = {"UserData": "#!/bin/sh\nset -eu\nattach 30\nsignal\n", "Items": ["a", "b"]}
    new = {"UserData": "#!/bin/sh\nset -eu\nattach 60\nsignal\n", "Items": ["a", "inserted", "b"],
           "Policy": {"Statement": ["z" * 300]}}
    changes = diff.value_changes(old, new)
    assert changes[0] == "Items[1]: added \"inserted\""  # one insertion, not every later item changed
    assert changes[1] == f"Policy: added {{\"Statement\": [\"{'z' * 300}\"]}}"
    assert changes[2:] == ["UserData: text changed:", "  @@ -2,3 +2,3 @@", "   set -eu", "  -attach 30",
                           "  +attach 60", "   signal"]


def test_cli_diff_and_bad_input(built, tmp_path):
    source, out = built
    ok = subprocess.run([sys.executable, "-m", "compiler", "diff", "-f", str(source), "-o", str(out)], cwd=ROOT,
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "up to date" in ok.stdout
    source.write_text(REPOSITORY + deployment(extra="  logs: {retentionDays: 14}\n"))
    changed = subprocess.run([sys.executable, "-m", "compiler", "diff", "-f", str(source), "-o", str(out)],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    # like `git diff --exit-code`: 1 when a build would change something
    assert changed.returncode == 1 and "RetentionInDays: 7 -> 14" in changed.stdout, changed.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text(REPOSITORY + deployment(extra="  task: {cpu: 300}\n"))
    bad = subprocess.run([sys.executable, "-m", "compiler", "diff", "-f", str(broken), "-o", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "spec.task.cpu" in bad.stderr and "Traceback" not in bad.stderr
