"""What deploying a build over the last one would lose, said before anything is written or deployed.

`warnings(config, out_dir, files)` compares each template a build produces with the one in `out_dir` (the last
build, which is what was deployed) through `changes.classify`, and returns positioned warnings, on the field of
deployment.yaml that decides the resource, for:
- a resource holding something the user cannot recreate, or an identity clients rely on (STAKES), replaced or
  removed: what is lost, and whether a Retain policy keeps the old one;
- a replacement CloudFormation will refuse (a create-only name fixed in the template);
- the NAT instance rolled by the update (egress stops while the new one boots);
- a stack no longer built (a rename makes a second stack; the old one keeps running and billing).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from . import changes, emit, naming
from .changes import MODIFY, REMOVE, REPLACE, Change
from .diagnostics import Diagnostic
from .parts.static_site import DISTRIBUTION
from .validation import Config, Source

DOCS = "docs/updates.md"


@dataclass(frozen=True)
class Stake:
    loses: str  # what the user loses with the resource
    path: tuple  # the deployment.yaml field that decides it


ENDPOINT = "the endpoint URL every client is configured with"
STAKES = {
    naming.TOKENS_TABLE: Stake("every issued token and every user's stored ElevenLabs key", ("spec", "auth", "mode")),
    naming.SERVER_SECRET: Stake("the server API key every client uses and the ElevenLabs key you put in",
                                ("spec", "auth", "mode")),
    naming.SIGNUP_CODE_SECRET: Stake("the sign-up code you handed out", ("spec", "auth", "authPage")),
    naming.REPOSITORY: Stake("every image pushed to the repository", ("metadata", "name")),
    naming.HTTP_API: Stake(ENDPOINT, ("spec", "topology")),
    naming.WEBSOCKET_API: Stake(ENDPOINT, ("spec", "topology")),
    naming.LOAD_BALANCER: Stake(ENDPOINT + " (and the DNS record pointing at the load balancer)", ("spec", "topology")),
    DISTRIBUTION: Stake("the auth page URL you handed out", ("spec", "auth", "authPage")),
    # disposable by design (Delete), but still something users notice
    naming.CONNECTIONS_TABLE: Stake("every open connection (clients must reconnect)", ("spec", "topology")),
    naming.OUTPUT_BUCKET: Stake("the audio download links handed out in the last day", ("spec", "topology")),
}


def warnings(config: Config, out_dir: Path, files: dict[str, str]) -> list[Diagnostic]:
    found = [warning for source, stack_changes_ in stack_changes(config, out_dir, files).values()
             for change in stack_changes_ for warning in change_warnings(source, change)]
    return found + _dropped_stacks(config, out_dir, _sources(config))


def stack_changes(config: Config, out_dir: Path, files: dict[str, str]) -> dict[str, tuple[Source, list[Change]]]:
    """Per template a build would rewrite (name -> its document and its changes), those already in out_dir."""
    found = {}
    for name, source in _sources(config).items():
        old = _template(out_dir / name)
        if old is None or emit.read_text(out_dir / name) == files[name]:
            continue
        stack = source.model.metadata.name
        found[name] = source, changes.classify(
            old, json.loads(files[name]), region=source.model.spec.region,
            old_parameters=_parameters(emit.read_text(out_dir / f"{stack}.parameters.json")),
            new_parameters=_parameters(files.get(f"{stack}.parameters.json")))
    return found


def _sources(config: Config) -> dict[str, Source]:
    return {f"{source.model.metadata.name}.json": source for source in config.repositories + config.deployments}


def change_warnings(source: Source, change: Change) -> list[Diagnostic]:
    """The warnings one change of one stack deserves (none for most)."""
    found = []
    stake = STAKES.get(change.logical_id)
    if stake is not None and change.action in (REPLACE, REMOVE):
        found.append(source.doc.diagnostic(stake.path, _loss(change, stake), warning=True))
    if change.custom_name:
        found.append(source.doc.diagnostic(("metadata", "name"), (
            f"CloudFormation will refuse this update: {change.logical_id} ({change.type}) must be replaced "
            f"({'; '.join(change.reasons)}) but its name is fixed ({change.custom_name})"), warning=True))
    if change.logical_id == naming.NAT_GROUP and change.action == MODIFY and any(
            reason.startswith("LaunchTemplate") for reason in change.reasons):
        found.append(source.doc.diagnostic(("spec", "natInstance"), at_key=True, message=(
            "deploying this replaces the NAT instance (if one is running): egress stops until the new one has "
            "booted (a few minutes; the update waits for it). Deploy outside active hours"), warning=True))
    return found


def _loss(change: Change, stake: Stake) -> str:
    where = f"{change.logical_id} ({change.type})"
    if change.action == REPLACE:
        kept = (" The old one is kept (UpdateReplacePolicy Retain), detached: the stack continues with a new, "
                "empty one" if change.retained else "")
        return f"deploying this replaces {where} ({'; '.join(change.reasons)}), losing {stake.loses}.{kept}"
    if change.retained:
        return (f"{where} leaves the stack, with {stake.loses}: it is kept (DeletionPolicy Retain) but nothing uses "
                f"it, and switching back creates a new, empty one ({DOCS} says how to delete it on purpose)")
    return f"deploying this deletes {where}, losing {stake.loses}"


def _dropped_stacks(config: Config, out_dir: Path, sources: dict[str, Source]) -> list[Diagnostic]:
    """A stack in out_dir that the file no longer builds: `build` never deletes a deployed stack."""
    owned = emit.owned(out_dir)
    dropped = sorted(name for name in owned if _is_stack(name) and name not in sources)
    if not dropped:
        return []
    added = [source for name, source in sources.items() if name not in owned]
    found = []
    for name in dropped:
        stack = name.removesuffix(".json")
        renamed = (f"; if it was renamed to {added[0].model.metadata.name}, that is a second stack with a new "
                   "endpoint URL, a new API key and an empty tokens table" if len(added) == 1 else "")
        message = (f"stack {stack} is no longer built, but building or deploying never deletes it: it keeps "
                   f"running and billing, with its endpoint, key and tokens{renamed}. Once nothing uses it: "
                   f"aws cloudformation delete-stack --region <its region> --stack-name {stack} ({DOCS})")
        if len(added) == 1:
            found.append(added[0].doc.diagnostic(("metadata", "name"), message, warning=True))
        else:
            found.append(Diagnostic(config.file, 1, 1, "", message, warning=True))
    return found


def _is_stack(name: str) -> bool:
    return name.endswith(".json") and not name.endswith(".parameters.json") and name != emit.MANIFEST


def _template(path: Path) -> dict | None:
    text = emit.read_text(path)
    try:
        data = json.loads(text) if text is not None else None
    except ValueError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("Resources"), dict) else None


def _parameters(text: str | None) -> dict[str, str]:
    """`["Key=Value", ...]` (emit's parameter overrides) as a dict; {} when absent or unreadable."""
    try:
        items = json.loads(text) if text else []
    except ValueError:
        return {}
    return dict(item.split("=", 1) for item in items if isinstance(item, str) and "=" in item)
