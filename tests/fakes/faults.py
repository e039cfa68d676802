"""Fault injection: which requests get delayed, fail with a status, or have their connection reset."""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Fault:
    """One rule. The first rule (in insertion order) whose regex matches and whose dice roll
    succeeds applies to a request; `times` counts only the requests it applied to.

    `status` may be a list: each hit then picks one of them at random. A fault with neither
    status nor reset only delays the request, which is then served normally.
    """

    path_regex: str
    status: int | list[int] | None = None
    delay: float = 0.0
    reset: bool = False
    times: int | None = None
    probability: float = 1.0
    body: Any = None  # replaces the ElevenLabs-shaped error body (dict/list -> JSON, str -> text)
    retry_after: int = 1  # seconds, in the Retry-After header of 429 and 503 responses
    hits: int = field(default=0, init=False)
    _pattern: re.Pattern = field(init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            self._pattern = re.compile(self.path_regex)
        except (re.error, TypeError) as error:
            raise ValueError(f"path_regex {self.path_regex!r} is not a valid regular expression: {error}") from None
        statuses = self.status if isinstance(self.status, list) else [self.status]
        if self.status is not None and not (statuses and all(_is_error_status(s) for s in statuses)):
            raise ValueError(f"status must be an HTTP error code 400-599 or a list of them, not {self.status!r}")
        if self.status is not None and self.reset:
            raise ValueError("a fault either answers with a status or resets the connection, not both")
        if self.body is not None and self.status is None:
            raise ValueError("body needs a status")
        _require(_is_number(self.delay) and self.delay >= 0, f"delay must be a number >= 0, not {self.delay!r}")
        _require(_is_number(self.probability) and 0 <= self.probability <= 1, "probability must be within 0..1")
        _require(self.times is None or (_is_int(self.times) and self.times >= 1), "times must be None or >= 1")
        _require(_is_int(self.retry_after) and self.retry_after >= 0, "retry_after must be an integer >= 0")
        _require(isinstance(self.reset, bool), "reset must be true or false")

    def matches(self, path: str) -> bool:
        return self._pattern.search(path) is not None

    def pick_status(self, rng: random.Random) -> int | None:
        return rng.choice(self.status) if isinstance(self.status, list) else self.status


class FaultTable:
    """Thread-safe list of faults shared by all request threads."""

    def __init__(self, seed: int | None = None):
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._rng = random.Random(seed)

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def __len__(self) -> int:
        return len(self._faults)

    def snapshot(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, path: str) -> tuple[Fault, int | None] | None:
        """The fault that applies to `path` (and its status for this hit), or None."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(path) and self._rng.random() < fault.probability:
                    return fault, self._use(fault)
        return None

    def _use(self, fault: Fault) -> int | None:
        fault.hits += 1
        if fault.times is not None and fault.hits >= fault.times:
            self._faults.remove(fault)
        return fault.pick_status(self._rng)


def _is_error_status(value: Any) -> bool:
    return _is_int(value) and 400 <= value <= 599


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)
