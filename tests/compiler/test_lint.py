"""cfn-lint wrapper: findings are reported, only clean results are cached."""

import json

from compiler import lint

BROKEN = json.dumps({"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketNam": "x"}}}})
CLEAN = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})


def test_broken_template_fails_and_is_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("MCPDEPLOY_CACHE_DIR", str(tmp_path))
    findings = lint.lint_templates({"broken.json": (BROKEN, "us-east-1")})
    assert any(f.fails and f.rule == "E3002" for f in findings), findings
    assert not (tmp_path / "lint").exists() or not any((tmp_path / "lint").iterdir())
    assert lint.lint_templates({"broken.json": (BROKEN, "us-east-1")}) == findings


def test_clean_template_is_cached_by_digest(tmp_path, monkeypatch):
    monkeypatch.setenv("MCPDEPLOY_CACHE_DIR", str(tmp_path))
    assert lint.lint_templates({"clean.json": (CLEAN, "us-east-1")}) == []
    assert len(list((tmp_path / "lint").iterdir())) == 1
    monkeypatch.setattr(lint, "_lint_one", lambda *a: (_ for _ in ()).throw(AssertionError("cache not used")))
    assert lint.lint_templates({"clean.json": (CLEAN, "us-east-1")}) == []


def test_warm_linter_finds_the_same_problems_in_its_child(tmp_path, monkeypatch):
    monkeypatch.setenv("MCPDEPLOY_CACHE_DIR", str(tmp_path))
    with lint.WarmLinter() as linter:
        findings = linter.lint({"broken.json": (BROKEN, "us-east-1"), "clean.json": (CLEAN, "us-east-1")})
    assert findings == lint.lint_templates({"broken.json": (BROKEN, "us-east-1")}, use_cache=False)
    assert len(list((tmp_path / "lint").iterdir())) == 1, "the child caches the clean template"


def test_warm_linter_child_is_reaped_when_everything_is_cached(tmp_path, monkeypatch):
    import os

    monkeypatch.setenv("MCPDEPLOY_CACHE_DIR", str(tmp_path))
    lint.lint_templates({"clean.json": (CLEAN, "us-east-1")})
    with lint.WarmLinter() as linter:
        assert linter.lint({"clean.json": (CLEAN, "us-east-1")}) == []
        pid = linter._pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return
    raise AssertionError(f"child {pid} still exists after the linter closed")
