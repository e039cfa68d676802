"""checkov, the security scanner users run on CloudFormation, finds nothing unexplained: over every template in
generated/ and every golden, 0 failed checks, and every skipped check carries its reason (compiler/parts/checkov.py
writes them into the resources' Metadata).

checkov pins its own boto3/botocore, which clash with awscli's, so it lives in its own virtual environment:
`python3 -m venv .venv-checkov && .venv-checkov/bin/pip install checkov` (.ci/run does it), or set CHECKOV to
its executable."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
TEMPLATES = sorted(p for p in [*(ROOT / "generated").glob("*.json"), *(ROOT / "tests/cases/valid").glob("*/*.json")]
                   if "Resources" in json.loads(p.read_text()) if isinstance(json.loads(p.read_text()), dict))


def checkov_executable() -> str | None:
    for candidate in (os.environ.get("CHECKOV"), ROOT / ".venv-checkov/bin/checkov", shutil.which("checkov")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    if os.environ.get("CI") == "true":
        pytest.fail("checkov is needed: python3 -m venv .venv-checkov && .venv-checkov/bin/pip install checkov")
    pytest.skip("checkov not installed: python3 -m venv .venv-checkov && .venv-checkov/bin/pip install checkov")


@pytest.fixture(scope="module")
def scan(tmp_path_factory) -> list[dict]:
    executable = checkov_executable()
    folder = tmp_path_factory.mktemp("templates")
    for path in TEMPLATES:  # one folder, names made unique (goldens share names such as images.json)
        shutil.copy(path, folder / "_".join(path.relative_to(ROOT).parts))
    run = subprocess.run([executable, "-d", str(folder), "--framework", "cloudformation", "-o", "json",
                          "--skip-download"], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})
    assert run.stdout.strip(), run.stderr[-2000:]
    report = json.loads(run.stdout)
    return report if isinstance(report, list) else [report]


def test_checkov_finds_no_unexplained_failure(scan):
    failed = [f"{c['file_path']}: {c['resource']}: {c['check_id']} {c['check_name']}"
              for report in scan for c in report["results"]["failed_checks"]]
    assert failed == [], "fix it, or explain it in compiler/parts/checkov.py:\n" + "\n".join(failed)


def test_every_skipped_check_says_why(scan):
    skipped = [c for report in scan for c in report["results"]["skipped_checks"]]
    assert skipped, "the scan saw no skip: are the templates annotated?"
    unexplained = [c["check_id"] for c in skipped if len(c["check_result"].get("suppress_comment") or "") < 20]
    assert unexplained == []


def test_the_scan_covers_every_template(scan):
    assert len(TEMPLATES) >= 20
    scanned = sum(report["summary"]["resource_count"] for report in scan)
    assert scanned > 20 * len(TEMPLATES) // 2


def test_a_users_choice_is_explained_only_where_it_was_made():
    """No checkov needed: the table attaches `immutableTags: false`'s skip to a mutable repository only."""
    from compiler.parts.checkov import annotate

    def skips(properties: dict) -> set[str]:
        body = annotate({"Resources": {"Repository": {"Type": "AWS::ECR::Repository", "Properties": properties}}})
        return {s["id"] for s in body["Resources"]["Repository"]["Metadata"]["checkov"]["skip"]}

    mutable = skips({"ImageTagMutability": "MUTABLE", "ImageScanningConfiguration": {"ScanOnPush": True}})
    immutable = skips({"ImageTagMutability": "IMMUTABLE", "ImageScanningConfiguration": {"ScanOnPush": True}})
    assert mutable - immutable == {"CKV_AWS_51"} and "CKV_AWS_163" not in mutable
