"""Skip a rebuild that cannot change anything, without importing pydantic, troposphere or cfn-lint.

A successful, lint-clean build records, under a key made of everything that can change its output (the
deployment file's bytes and name, every file of the compiler package and of the server code templates inline,
the versions of Python and of the libraries that shape the output), the digest of each file it wrote and the
warnings it printed. The next build with the same key finds the record and, if the output folder still holds
exactly those files, is done: it prints the same warnings and "up to date". Anything else (a changed input, an
edited or missing output, another library version) takes the full path.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import NamedTuple

# (module, distribution) of each library whose version can change the output
OUTPUT_LIBRARIES = (("troposphere", "troposphere"), ("pydantic", "pydantic"), ("pydantic_core", "pydantic_core"),
                    ("ruamel.yaml", "ruamel_yaml"), ("cfnlint", "cfn_lint"))


COMPILER_PACKAGE = Path(__file__).resolve().parent
# The operating commands (deploy, status, ...) never shape what a build writes: their files stay out of the key.
NOT_BUILD_INPUT = COMPILER_PACKAGE / "ops"
# Server code that templates carry inline (Lambda ZipFile, parts/lambdas.py): it shapes the output as much as the
# compiler's own files do, so it is part of the key; lambdas.inline_code refuses code from anywhere else.
INLINED_SERVER_CODE = COMPILER_PACKAGE.parent / "server" / "websocket"
# Server data the compiler reads (the tool names that checks and docs use): part of the key for the same reason.
SERVER_DATA = (COMPILER_PACKAGE.parent / "server" / "tool_names.py",)


def cache_root() -> Path:
    base = os.environ.get("MCPDEPLOY_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "mcpdeploy")
    return Path(base)


def key(source: str, display_name: str) -> str | None:
    """The build's cache key, or None when the deployment file cannot be read (the full path reports it)."""
    digest = hashlib.sha256()
    try:
        digest.update(Path(source).read_bytes())
    except OSError:
        return None
    digest.update(f"\0{display_name}\0{sys.version}\0{_library_versions()}".encode())
    for folder in (COMPILER_PACKAGE, INLINED_SERVER_CODE):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and NOT_BUILD_INPUT not in path.parents:
                digest.update(f"\0{folder.name}/{path.relative_to(folder)}\0".encode())
                digest.update(path.read_bytes())
    for path in SERVER_DATA:
        digest.update(f"\0server/{path.name}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


class Record(NamedTuple):
    warnings: list[str]  # as printed
    stacks: int


def lookup(build_key: str | None, out_dir: Path) -> Record | None:
    """The recorded build if `out_dir` holds exactly its files, else None."""
    if build_key is None:
        return None
    try:
        record = json.loads(_record_path(build_key).read_text(encoding="utf-8"))
        for name, expected in record["files"].items():
            if _file_digest(out_dir / name) != expected:
                return None
        return Record(list(record["warnings"]), int(record["stacks"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(build_key: str | None, out_dir: Path, files: dict[str, str], warnings: list[str], stacks: int) -> None:
    if build_key is None:
        return
    record = {"files": {name: _text_digest(text) for name, text in files.items()}, "warnings": warnings,
              "stacks": stacks}
    try:
        path = _record_path(build_key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(record), encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        pass  # a cache that cannot be written only costs time


def _record_path(build_key: str) -> Path:
    return cache_root() / "builds" / f"{build_key}.json"


def _library_versions() -> str:
    return ",".join(installed(module, distribution) for module, distribution in OUTPUT_LIBRARIES)


@cache
def installed(module: str, distribution: str) -> str:
    """The distribution folder name beside a library (`troposphere-4.11.1.dist-info`), found without importing
    it or importlib.metadata (which alone costs more than a cached build)."""
    try:
        spec = find_spec(module)
    except ModuleNotFoundError:  # its parent package is missing
        spec = None
    if spec is None or spec.origin is None:
        return f"{module}:missing"
    site = Path(spec.origin).parents[module.count(".") + 1]
    return ",".join(sorted(p.name for p in site.glob(f"{distribution}-*.dist-info"))) or f"{distribution}:unknown"


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
