"""The build record: an unchanged rebuild skips compiling and linting, and nothing else is mistaken for one."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compiler import buildcache

ROOT = Path(__file__).parents[2]


def build(folder: Path, cache: Path, *extra: str):
    env = {**os.environ, "MCPDEPLOY_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "compiler", "build", *extra], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=120)


def compiled(result) -> bool:
    """Whether the process compiled templates (the import-time log names troposphere when it did)."""
    return "troposphere" in result.stderr


def imported_nothing_heavy(result) -> bool:
    """The cached path must not load the model, the templates, cfn-lint or the server's modules."""
    return re.search(r"\|\s+(pydantic|troposphere|cfnlint|server)\b", result.stderr) is None


def messages(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if not line.startswith("import time:")]


def test_unchanged_rebuild_replays_warnings_without_compiling(tmp_path):
    text = (ROOT / "deployment.yaml").read_text().replace('tag: "0.1.0"', "tag: latest")
    (tmp_path / "deployment.yaml").write_text(text)
    first = build(tmp_path, tmp_path / "cache")
    assert first.returncode == 0 and compiled(first)
    second = build(tmp_path, tmp_path / "cache")
    assert second.returncode == 0 and not compiled(second) and imported_nothing_heavy(second)
    assert "generated/ is up to date" in second.stdout
    assert messages(second) == messages(first) and any("warning: tag 'latest'" in m for m in messages(first))


def test_an_edited_output_is_rebuilt_not_trusted(tmp_path):
    shutil.copy(ROOT / "deployment.yaml", tmp_path / "deployment.yaml")
    assert build(tmp_path, tmp_path / "cache").returncode == 0
    original = (tmp_path / "generated" / "voice-alb.json").read_text()
    (tmp_path / "generated" / "voice-alb.json").write_text("{}\n")
    check = build(tmp_path, tmp_path / "cache", "--check")
    assert check.returncode == 4 and compiled(check)
    rebuilt = build(tmp_path, tmp_path / "cache")
    assert rebuilt.returncode == 0 and "wrote generated/voice-alb.json" in rebuilt.stdout
    assert (tmp_path / "generated" / "voice-alb.json").read_text() == original


def test_a_changed_input_is_compiled_again(tmp_path):
    shutil.copy(ROOT / "deployment.yaml", tmp_path / "deployment.yaml")
    assert build(tmp_path, tmp_path / "cache").returncode == 0
    with open(tmp_path / "deployment.yaml", "a") as fh:
        fh.write("# a comment changes no template\n")
    again = build(tmp_path, tmp_path / "cache")
    assert again.returncode == 0 and compiled(again) and "generated/ is up to date" in again.stdout


def test_key_covers_input_name_and_library_versions(tmp_path, monkeypatch):
    source = tmp_path / "deployment.yaml"
    source.write_text("a: 1\n")
    base = buildcache.key(str(source), "deployment.yaml")
    assert buildcache.key(str(source), "other.yaml") != base
    source.write_text("a: 2\n")
    assert buildcache.key(str(source), "deployment.yaml") != base
    changed_input = buildcache.key(str(source), "deployment.yaml")
    monkeypatch.setattr(buildcache, "_library_versions", lambda: "troposphere-99.0.dist-info")
    assert buildcache.key(str(source), "deployment.yaml") != changed_input
    assert buildcache.key(str(tmp_path / "missing.yaml"), "missing.yaml") is None


def test_library_versions_are_read_from_the_installed_distributions():
    versions = buildcache._library_versions()
    for name in ("troposphere-", "pydantic-", "pydantic_core-", "ruamel_yaml-", "cfn_lint-"):
        assert name in versions, versions


def test_key_covers_the_server_code_templates_carry_inline(tmp_path, monkeypatch):
    """voice-ws.json inlines server/websocket/*.py: editing one must not leave a stale template 'up to date'."""
    source = tmp_path / "deployment.yaml"
    source.write_text("a: 1\n")
    inlined = tmp_path / "server" / "websocket"
    inlined.mkdir(parents=True)
    (inlined / "authorizer.py").write_text("def handler(event, context): pass\n")
    monkeypatch.setattr(buildcache, "INLINED_SERVER_CODE", inlined)
    base = buildcache.key(str(source), "deployment.yaml")
    (inlined / "authorizer.py").write_text("def handler(event, context): raise\n")
    assert buildcache.key(str(source), "deployment.yaml") != base


def test_key_covers_the_server_data_the_compiler_reads(tmp_path, monkeypatch):
    """checks.py and docs.py read server/tool_names.py: a tool added there must rebuild the docs."""
    source = tmp_path / "deployment.yaml"
    source.write_text("a: 1\n")
    names = tmp_path / "tool_names.py"
    names.write_text("TOOL_NAMES = ('a',)\n")
    monkeypatch.setattr(buildcache, "SERVER_DATA", (names,))
    base = buildcache.key(str(source), "deployment.yaml")
    names.write_text("TOOL_NAMES = ('a', 'b')\n")
    assert buildcache.key(str(source), "deployment.yaml") != base


def test_inline_code_comes_only_from_the_folder_the_key_covers():
    from compiler.parts import lambdas

    assert "def handler" in lambdas.inline_code("websocket/authorizer.py")
    with pytest.raises(ValueError, match="outside"):
        lambdas.inline_code("tokens.py")
