"""The `/_fake/...` control endpoints: drive a fake running in another process over HTTP.

They need no key, are never delayed or faulted, and are not recorded in `requests`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Callable

from .errors import ApiError
from .faults import Fault
from .messages import Request, Response

if TYPE_CHECKING:
    from .elevenlabs_api import FakeElevenLabs

PREFIX = "/_fake/"
_FAULT_FIELDS = [f.name for f in dataclasses.fields(Fault) if f.init]


def handle_control(fake: FakeElevenLabs, request: Request) -> Response:
    action = _ACTIONS.get((request.method, request.path))
    if action is None:
        raise ApiError(404, "not_found", f"No control endpoint {request.method} {request.path}.")
    return action(fake, request)


def _add_fault(fake: FakeElevenLabs, request: Request) -> Response:
    payload = request.json()
    unknown = sorted(set(payload) - set(_FAULT_FIELDS))
    if unknown:
        raise ApiError(400, "invalid_fault", f"Unknown fault fields {unknown}; known: {_FAULT_FIELDS}.")
    if "path_regex" not in payload:
        raise ApiError(400, "invalid_fault", "A fault needs 'path_regex'.")
    try:
        fake.add_fault(**payload)
    except ValueError as error:
        raise ApiError(400, "invalid_fault", str(error)) from None
    return Response.json({"faults": len(fake.faults)}, status=201)


def _list_faults(fake: FakeElevenLabs, request: Request) -> Response:
    faults = [{name: getattr(f, name) for name in [*_FAULT_FIELDS, "hits"]} for f in fake.faults.snapshot()]
    return Response.json(faults)


def _clear_faults(fake: FakeElevenLabs, request: Request) -> Response:
    fake.clear_faults()
    return Response.json({"faults": 0})


def _list_requests(fake: FakeElevenLabs, request: Request) -> Response:
    return Response.json([r._asdict() for r in list(fake.requests)])


def _clear_requests(fake: FakeElevenLabs, request: Request) -> Response:
    fake.requests.clear()
    return Response.json({"requests": 0})


_ACTIONS: dict[tuple[str, str], Callable[[FakeElevenLabs, Request], Response]] = {
    ("POST", PREFIX + "faults"): _add_fault,
    ("GET", PREFIX + "faults"): _list_faults,
    ("DELETE", PREFIX + "faults"): _clear_faults,
    ("GET", PREFIX + "requests"): _list_requests,
    ("DELETE", PREFIX + "requests"): _clear_requests,
}
