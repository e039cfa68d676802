"""checks.UNAVAILABLE (resource types CloudFormation lacks in some regions) matches the installed cfn-lint's
resource schemas, for every type the goldens use and every region the model accepts: a deployment that would
need a missing type is a positioned error, not exit 3."""

import json
from pathlib import Path

from compiler import checks, model

VALID = Path(__file__).parent.parent / "cases" / "valid"


def test_unavailable_types_match_cfn_lint():
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    types = set()
    for path in VALID.glob("*/*.json"):
        template = json.loads(path.read_text())
        if isinstance(template, dict):
            types |= {r["Type"] for r in template.get("Resources", {}).values() if not r["Type"].startswith("Custom::")}
    missing: dict[str, set[str]] = {}
    for region in model.REGIONS:
        for resource_type in sorted(types):
            try:
                PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type)
            except Exception:  # noqa: BLE001 - cfn-lint raises ResourceNotFoundError for a missing type
                missing.setdefault(resource_type, set()).add(region)
    assert missing == {k: set(v) for k, v in checks.UNAVAILABLE.items()}
