"""Route table: `@route("POST", "/v1/voices/{voice_id}")` registers a handler.

A handler is `handler(request, state, **path_params) -> Response` and raises ApiError for
ElevenLabs-shaped errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from .errors import ApiError
from .messages import Request, Response
from .state import FakeState

Handler = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern
    handler: Handler


ROUTES: list[Route] = []


def route(method: str, *templates: str) -> Callable[[Handler], Handler]:
    """Register `handler` for `method` on each path template (`{name}` matches one path segment)."""

    def register(handler: Handler) -> Handler:
        for template in templates:
            regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
            ROUTES.append(Route(method, template, re.compile(f"^{regex}$"), handler))
        return handler

    return register


def dispatch(request: Request, state: FakeState) -> Response:
    path_matched = False
    for candidate in ROUTES:
        match = candidate.pattern.match(request.path)
        if match is None:
            continue
        path_matched = True
        if candidate.method == request.method:
            return candidate.handler(request, state, **match.groupdict())
    if path_matched:
        return Response.json({"detail": "Method Not Allowed"}, status=405)
    return Response.json({"detail": "Not Found"}, status=404)


def require_text(payload: dict, name: str) -> str:
    """A non-blank string field of a JSON body, else ElevenLabs' 422."""
    value = payload.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(422, "invalid_parameter", f"Field {name!r} is required and must be a non-empty string.")
    return value


def require_range(value: float | None, name: str, low: float, high: float) -> None:
    if value is None:
        return
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not low <= value <= high:
        raise ApiError(422, "invalid_parameter", f"{name} must be between {low} and {high}, not {value!r}.")
