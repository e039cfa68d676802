"""Editor support: the JSON Schema generated from the models, and `python -m compiler explain`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from compiler import explain, schema

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def validator():
    return jsonschema.Draft202012Validator(schema.document_schema())


def documents(text: str) -> list[dict]:
    return [doc for doc in YAML(typ="safe").load_all(text) if doc is not None]


def test_checked_in_schema_matches_the_models():
    assert schema.SCHEMA_FILE.read_text() == schema.render(), "run: python -m compiler schema"


def test_deployment_yaml_points_editors_at_the_schema():
    first_line = (ROOT / "deployment.yaml").read_text().splitlines()[0]
    assert first_line.startswith("# yaml-language-server: $schema=")
    assert (ROOT / first_line.split("$schema=", 1)[1]).resolve() == schema.SCHEMA_FILE.resolve()


def test_every_document_of_the_repo_and_the_valid_cases_passes(validator):
    files = [ROOT / "deployment.yaml", *sorted((ROOT / "tests" / "cases" / "valid").glob("*.yaml"))]
    for path in files:
        for doc in documents(path.read_text()):
            errors = [e.message for e in validator.iter_errors(doc)]
            assert not errors, f"{path.name}: {errors}"


@pytest.mark.parametrize("change, expected", [
    (lambda d: d["spec"]["task"].update(cpu=300), "300 is not one of"),
    (lambda d: d["spec"].update(tpology="alb"), "Additional properties"),
    (lambda d: d["spec"].update(region="eu-middle-1"), "is not one of"),
    (lambda d: d["spec"]["schedule"].update(activeHours="8-20"), "does not match"),
    (lambda d: d["spec"].update(topology="lambda"), ""),
])
def test_schema_rejects_what_the_compiler_rejects(validator, change, expected):
    doc = documents((ROOT / "deployment.yaml").read_text())[1]
    change(doc)
    errors = list(_messages(validator.iter_errors(doc)))
    assert errors and any(expected in message for message in errors), errors


def _messages(errors):
    """Every message, including those nested under oneOf/anyOf branches."""
    for error in errors:
        yield error.message
        yield from _messages(error.context or [])


def test_explain_a_nested_object_lists_its_fields():
    text = explain.explain("spec.schedule")
    assert "FIELD:    spec.schedule <Schedule>" in text
    assert "Active hours; absent = always on." in text
    assert "activeHours <string> -required-" in text and "timezone <string> -required-" in text


def test_explain_a_leaf_shows_type_default_and_constraints():
    text = explain.explain("spec.task.minCount")
    assert "Tasks running during active hours." in text
    assert "(default: 1)" in text and "ge=1" in text and "le=100" in text


def test_explain_marks_topology_specific_options():
    spec = explain.explain("spec")
    assert "natInstance <NatInstanceOptions>" in spec and "[topology: nat-instance]" in spec
    assert "Only with topology: alb." in explain.explain("spec.alb")


def test_explain_other_kinds():
    text = explain.explain("ImageRepository.spec.keepImages")
    assert "KIND:     ImageRepository" in text and "keep this many newest images" in text


@pytest.mark.parametrize("path, message", [
    ("spec.shedule", "did you mean 'schedule'?"),
    ("spec.task.cpu.units", "has no fields"),
    ("bogus", "fields: apiVersion, kind, metadata, spec"),
])
def test_explain_unknown_paths_are_clear_errors(path, message):
    with pytest.raises(explain.ExplainError, match=message.replace("?", r"\?").replace(".", r"\.")):
        explain.explain(path)


def test_cli_explain_and_schema(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "compiler", "explain", "spec.schedule"], cwd=ROOT,
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "activeHours" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "compiler", "explain", "spec.nope"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "no field 'nope'" in bad.stderr and "Traceback" not in bad.stderr
    out = tmp_path / "s.json"
    written = subprocess.run([sys.executable, "-m", "compiler", "schema", "-o", str(out)], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert written.returncode == 0 and json.loads(out.read_text()) == schema.document_schema()
