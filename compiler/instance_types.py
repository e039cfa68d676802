"""The EC2 instance types each region offers, so a mistyped natInstance.instanceType is a positioned error at
validation (with did-you-mean) instead of a cfn-lint failure after compiling (exit 3).

The data is cfn-lint's own (the list its InstanceType rule checks launch templates against), copied once into
compiler/assets/ec2_instance_types.json so validation never imports cfn-lint. After upgrading cfn-lint, refresh
it with

    python -m compiler.instance_types

(tests/test_instance_types.py fails while the copy differs from the installed cfn-lint's list).

Stored compactly: every type once, and per region a bitmap over that list (hex), which keeps the file at about
35 KB instead of cfn-lint's 470 KB.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "assets" / "ec2_instance_types.json"


@cache
def _load() -> tuple[list[str], dict[str, str]]:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    return data["types"], data["regions"]


@cache
def offered(region: str) -> frozenset[str] | None:
    """The instance types `region` offers; None when the data does not know the region (then nothing is checked,
    as cfn-lint checks nothing there either)."""
    types, regions = _load()
    if region not in regions:
        return None
    bits = int(regions[region], 16)
    return frozenset(t for i, t in enumerate(types) if bits >> i & 1)


def problem(instance_type: str, region: str) -> str | None:
    """Why `instance_type` cannot run in `region` (with the closest offered types), or None when it can."""
    available = offered(region)
    if available is None or instance_type in available:
        return None
    types, _ = _load()
    close = difflib.get_close_matches(instance_type, sorted(available), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    if instance_type in types:
        return f"{instance_type!r} is not offered in {region}{hint}"
    return f"{instance_type!r} is not an EC2 instance type{hint}"


def from_cfn_lint() -> dict:
    """The data file's content, from the installed cfn-lint (only when regenerating: validation never runs it)."""
    from importlib.resources import files

    source = files("cfnlint") / "data" / "schemas" / "extensions" / "aws_ec2_instance" / "instancetype_enum.json"
    per_region = {region: set(value["enum"]) for region, value in json.loads(source.read_text()).items()
                  if isinstance(value, dict) and value.get("enum")}
    types = sorted(set().union(*per_region.values()))
    index = {t: i for i, t in enumerate(types)}
    regions = {region: format(sum(1 << index[t] for t in offered_here), "x")
               for region, offered_here in sorted(per_region.items())}
    return {"source": "cfn-lint data/schemas/extensions/aws_ec2_instance/instancetype_enum.json; regenerate with "
                      "python -m compiler.instance_types", "types": types, "regions": regions}


def render(data: dict) -> str:
    return json.dumps(data, indent=0, separators=(",", ":")) + "\n"


if __name__ == "__main__":
    DATA.write_text(render(from_cfn_lint()), encoding="utf-8")
    print(f"wrote {DATA}")
