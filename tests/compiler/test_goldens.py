"""Valid inputs under tests/cases/valid/ compile to the golden files beside them, and those lint clean."""

from pathlib import Path

import pytest

from compiler.build import compile_config
from compiler.lint import lint_templates
from compiler.validation import load_config

from .goldens import check_json, check_text

VALID = Path(__file__).parent.parent / "cases" / "valid"
CASES = sorted(VALID.glob("*.yaml"))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_case_compiles_to_its_goldens(case: Path, update_goldens: bool):
    config = load_config(str(case), display_name=case.name)
    files, _ = compile_config(config)
    golden_dir = case.with_suffix("")
    for name, text in files.items():
        check = check_json if name.endswith(".json") else check_text  # the generated docs are Markdown
        check(golden_dir / name, text, update_goldens)
    assert sorted(p.name for p in golden_dir.iterdir()) == sorted(files), "golden folder has extra files"


def test_every_golden_template_lints_clean():
    templates = {}
    for case in CASES:
        config = load_config(str(case))
        regions = {f"{s.model.metadata.name}.json": s.model.spec.region
                   for s in config.repositories + config.deployments}
        for name, region in regions.items():
            templates[f"{case.stem}/{name}"] = ((case.with_suffix("") / name).read_text(), region)
    assert len(templates) >= 2 * len(CASES)
    findings = lint_templates(templates, use_cache=False)
    assert findings == [], "\n".join(map(str, findings))
