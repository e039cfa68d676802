"""Property: every document the project's own JSON schema accepts builds to exit 0 (lint clean) or exit 1 (a
positioned error), never exit 3 (cfn-lint refusing a compiled template: validation missed something) and never
a traceback. Documents come from compiler/deployment.schema.json (tests/compiler/schema_strategy.py), each checked against it
with jsonschema: a Deployment and
the ImageRepository it names (name, region and image.repository made to agree, so that exit 0 is reachable;
everything else is as generated)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from compiler.build import compile_config
from compiler.diagnostics import ConfigError
from compiler.lint import lint_templates
from compiler.validation import load_config

from .schema_strategy import from_schema

SCHEMA = json.loads((Path(__file__).parents[2] / "compiler" / "deployment.schema.json").read_text())


def document(kind: str) -> st.SearchStrategy:
    return from_schema(SCHEMA["$defs"][kind], SCHEMA)


@st.composite
def deployment_files(draw) -> str:
    repository, deployment = draw(document("ImageRepository")), draw(document("Deployment"))
    # The cross-document rules that random documents would almost always break: one repository, in the
    # deployment's region, under another name.
    deployment["spec"]["image"]["repository"] = repository["metadata"]["name"]
    repository["spec"]["region"] = deployment["spec"]["region"]
    if deployment["metadata"]["name"] == repository["metadata"]["name"]:
        deployment["metadata"]["name"] = "x" + deployment["metadata"]["name"][:62]
    for doc in (repository, deployment):
        jsonschema.validate(doc, SCHEMA)
    return "\n---\n".join(json.dumps(d, ensure_ascii=False) for d in (repository, deployment)) + "\n"




# No shrinking: each example lints for a second or two, and shrinking one took over five minutes. A failure
# prints the whole document as generated.
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck),
          phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(deployment_files())
def test_schema_valid_documents_never_reach_exit_3(tmp_path_factory, monkeypatch_session, text):
    path = tmp_path_factory.mktemp("doc") / "deployment.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        config = load_config(str(path), display_name="deployment.yaml")
        _, templates = compile_config(config)
    except ConfigError as error:  # exit 1: each problem positioned
        assert error.diagnostics and all(d.line >= 1 and d.column >= 1 for d in error.diagnostics)
        return
    unexplained = [f for f in lint_templates(templates) if f.fails]
    assert unexplained == [], "exit 3 for a schema-valid document:\n" + text + "\n" + "\n".join(map(str, unexplained))


@pytest.fixture(scope="session")
def monkeypatch_session(tmp_path_factory):
    """Lint cache in a temporary folder: generated documents would only fill the user's cache."""
    patch = pytest.MonkeyPatch()
    patch.setenv("MCPDEPLOY_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    yield patch
    patch.undo()
