"""YAML text -> positioned documents.

ruamel.yaml composes the node tree (which keeps every mark); we turn it into plain Python data plus an index
from each value's path to where its key and its value stand in the file. `Document.locate` is the one place a
model path becomes a line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .diagnostics import ConfigError, Diagnostic, dotted

MAX_NODES = 100_000  # bounds alias expansion ("billion laughs") and absurdly large files
MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class Document:
    file: str
    index: int
    data: object
    start: Position
    key_positions: dict[tuple, Position] = field(default_factory=dict)
    value_positions: dict[tuple, Position] = field(default_factory=dict)

    def locate(self, path: tuple, *, at_key: bool = False) -> Position:
        """Where the value at `path` stands; falls back to the nearest ancestor that exists in the file."""
        path = tuple(path)
        while path:
            tables = (self.key_positions, self.value_positions) if at_key else (self.value_positions,)
            for positions in tables:
                if path in positions:
                    return positions[path]
            path, at_key = path[:-1], True
        return self.start

    def diagnostic(self, path: tuple, message: str, *, at_key: bool = False, warning: bool = False) -> Diagnostic:
        pos = self.locate(path, at_key=at_key)
        return Diagnostic(self.file, pos.line, pos.column, dotted(tuple(path)), message, warning)


def load_file(path: str, display_name: str | None = None) -> tuple[list[Document], list[Diagnostic]]:
    name = display_name or path
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ConfigError([Diagnostic(name, 1, 1, "", f"cannot read file: {exc.strerror}")]) from None
    return load_bytes(raw, name)


def load_bytes(raw: bytes, name: str) -> tuple[list[Document], list[Diagnostic]]:
    """Documents and the structural problems found in them (duplicate keys, ...), which the caller reports
    together with the model's. Problems that stop reading altogether (syntax, encoding) raise ConfigError."""
    text = _decode(raw, name)
    diagnostics: list[Diagnostic] = []  # problems inside documents; reading goes on
    fatal: list[Diagnostic] = []  # problems that stop reading
    documents: list[Document] = []
    try:
        for index, root in enumerate(YAML(typ="safe", pure=True).compose_all(text)):
            if root is None or (isinstance(root, ScalarNode) and str(root.tag).endswith(":null")):
                continue  # an empty document (a trailing '---', a file of comments)
            documents.append(_Builder(name, index, diagnostics).document(root))
    except _TooLarge:
        pass  # already recorded where it happened
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        fatal.append(Diagnostic(name, line, column, "", f"YAML syntax error: {problem}"))
    except YAMLError as exc:  # reader errors (control characters) carry their own position
        line, column = _reader_position(exc, text)
        fatal.append(Diagnostic(name, line, column, "", f"YAML error: {_first_line(exc)}"))
    except RecursionError:
        fatal.append(Diagnostic(name, 1, 1, "", "YAML nesting is too deep"))
    if not documents and not diagnostics and not fatal:
        fatal.append(Diagnostic(name, 1, 1, "", "the file holds no documents: expected at least one Deployment"))
    if fatal:
        raise ConfigError(diagnostics + fatal)
    return documents, diagnostics


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        message = f"not UTF-8 text (byte 0x{raw[exc.start]:02x}): is this a binary file?"
        raise ConfigError([Diagnostic(name, line, column, "", message)]) from None


def _reader_position(exc: YAMLError, text: str) -> tuple[int, int]:
    index = getattr(exc, "position", None)
    if not isinstance(index, int):
        return 1, 1
    before = text[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class _Builder:
    """Turns one composed node tree into plain data, recording positions and structural problems."""

    def __init__(self, file: str, index: int, diagnostics: list[Diagnostic]):
        self.file, self.index, self.diagnostics = file, index, diagnostics
        self.keys: dict[tuple, Position] = {}
        self.values: dict[tuple, Position] = {}
        self.budget = MAX_NODES
        self.scalars = YAML(typ="safe", pure=True).constructor

    def document(self, root: Node) -> Document:
        start = _position(root)
        data = self.value(root, (), frozenset())
        return Document(self.file, self.index, data, start, self.keys, self.values)

    def value(self, node: Node, path: tuple, active: frozenset) -> object:
        self.values.setdefault(path, _position(node))
        self.budget -= 1
        if self.budget < 0:
            self.problem(node, path, f"document too large (more than {MAX_NODES} values after alias expansion)")
            raise _TooLarge
        if id(node) in active:
            self.problem(node, path, "recursive alias: a value may not contain itself")
            return None
        if isinstance(node, MappingNode):
            return self.mapping(node, path, active | {id(node)})
        if isinstance(node, SequenceNode):
            return [self.value(item, path + (i,), active | {id(node)}) for i, item in enumerate(node.value)]
        return self.scalar(node, path)

    def mapping(self, node: MappingNode, path: tuple, active: frozenset) -> dict:
        result: dict = {}
        merged: dict = {}
        for key_node, value_node in node.value:
            if str(key_node.tag) == MERGE_TAG:
                merged.update(self.merge_sources(value_node, path, active))
                continue
            key = self.scalar(key_node, path) if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                self.problem(key_node, path, "mapping keys must be plain strings")
                continue
            if key in result:
                first = self.keys[path + (key,)]
                self.problem(key_node, path + (key,), f"duplicate key {key!r} (first defined at line {first.line})")
                continue
            self.keys[path + (key,)] = _position(key_node)
            result[key] = self.value(value_node, path + (key,), active)
        return {**merged, **result}

    def merge_sources(self, node: Node, path: tuple, active: frozenset) -> dict:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        merged: dict = {}
        for source in reversed(sources):
            value = self.value(source, path, active)
            if not isinstance(value, dict):
                self.problem(source, path, "a merge key (<<) takes a mapping or a list of mappings")
                continue
            merged.update(value)
        return merged

    def scalar(self, node: Node, path: tuple) -> object:
        try:
            return self.scalars.construct_object(node, deep=True)
        except (YAMLError, ValueError, TypeError) as exc:
            self.problem(node, path, f"cannot read this value: {_first_line(exc)}")
            return None

    def problem(self, node: Node, path: tuple, message: str) -> None:
        pos = _position(node)
        self.diagnostics.append(Diagnostic(self.file, pos.line, pos.column, dotted(path), message))


class _TooLarge(YAMLError):
    pass


def _position(node: Node) -> Position:
    mark = node.start_mark
    return Position(mark.line + 1, mark.column + 1)
