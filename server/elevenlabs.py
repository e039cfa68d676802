"""The ElevenLabs HTTP API, called with one shared httpx2 connection pool.

Why not the `elevenlabs` SDK: importing it costs ~0.45 s and ~45 MB, which alone would
break the start-up and memory targets, and the tools need only a handful of plain
JSON/multipart calls (see docs/server.md). The paths and fields mirror SDK 2.78.

Every call runs within one time budget (MCP_UPSTREAM_BUDGET_SECONDS, below the front door's 29 s),
shared with the rest of the tool call (server.call_budget). 429, 5xx and dropped connections are
retried with exponential backoff, honouring Retry-After, while the budget lasts. Every failure
becomes an `UpstreamError` whose message tells the user what happened and what to do.
"""

from __future__ import annotations

import email.utils
import functools
import random
import time
from collections.abc import Mapping
from typing import Any

import anyio
import httpx2
from mcp.server.mcpserver.exceptions import ToolError

from server.call_budget import seconds_left
from server.http_clients import new_client

MAX_ATTEMPTS = 4
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 8.0
CONNECT_TIMEOUT_SECONDS = 5.0
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_DETAIL_CHARS = 300


class UpstreamError(ToolError):
    """ElevenLabs could not do what was asked; the message is meant for the user."""


class MissingApiKey(ToolError):
    def __init__(self) -> None:
        super().__init__(
            "This MCP server has no ElevenLabs API key configured, so it cannot call ElevenLabs. "
            "The operator must set ELEVENLABS_API_KEY (in a deployment: the ElevenLabs key in the "
            "stack's secret) and restart the server."
        )


class ElevenLabsAPI:
    """Shared by all requests; `session(key)` binds the key a tool call should use."""

    def __init__(self, base_url: str, budget_seconds: float):
        self.base_url = base_url
        self.budget_seconds = budget_seconds

    @functools.cached_property
    def client(self) -> httpx2.AsyncClient:
        """The one connection pool to ElevenLabs, made on first use to keep start-up short."""
        return new_client(
            base_url=self.base_url,
            headers={"user-agent": "elevenlabs-mcp-remote/0.1"},
            limits=httpx2.Limits(max_connections=100, max_keepalive_connections=20),
        )

    async def aclose(self) -> None:
        if "client" in self.__dict__:
            await self.client.aclose()

    def session(self, api_key: str, key_owner: str) -> ElevenLabsSession:
        if not api_key:
            raise MissingApiKey()
        return ElevenLabsSession(self, api_key, key_owner)

    async def send(self, api_key: str, key_owner: str, method: str, path: str, *, retry: bool = True,
                   **request: Any) -> httpx2.Response:
        """One logical call: attempts until success, a final answer, or the budget runs out. retry=False: one
        attempt only, for calls that must not happen twice (a phone call after a reset connection)."""
        deadline = time.monotonic() + seconds_left(self.budget_seconds)  # the tool call's deadline, if sooner
        headers = {"xi-api-key": api_key}
        attempts = MAX_ATTEMPTS if retry else 1
        for attempt in range(1, attempts + 1):
            remaining = deadline - time.monotonic()
            try:
                with anyio.fail_after(remaining):
                    response = await self.client.request(
                        method, path, headers=headers, timeout=_timeout(remaining), **request
                    )
            except (TimeoutError, httpx2.TimeoutException):
                raise UpstreamError(
                    f"ElevenLabs did not answer within this call's {self.budget_seconds:g} s budget "
                    "(MCP_UPSTREAM_BUDGET_SECONDS, which fetching input URLs draws on too). "
                    "Try again, or with shorter input."
                ) from None
            except httpx2.TransportError as exc:
                failure: httpx2.Response | httpx2.TransportError = exc
            else:
                if response.status_code < 400:
                    return response
                if response.status_code not in RETRYABLE_STATUSES:
                    raise error_for_status(response, key_owner, api_key)
                failure = response
            delay = _backoff(attempt, failure)
            if attempt == attempts or time.monotonic() + delay >= deadline:
                raise _gave_up(failure, attempt, self.budget_seconds, api_key)
            await anyio.sleep(delay)
        raise AssertionError("unreachable")  # the loop always returns or raises


class ElevenLabsSession:
    """The API seen with one caller's key; what the tools use."""

    def __init__(self, api: ElevenLabsAPI, api_key: str, key_owner: str):
        self._api = api
        self._key = api_key
        self._owner = key_owner

    async def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        response = await self._api.send(self._key, self._owner, "GET", path, params=_drop_none(params))
        return _json(response)

    async def post_json(self, path: str, body: Mapping[str, Any], params: Mapping[str, Any] | None = None, *,
                        retry: bool = True) -> Any:
        response = await self._api.send(
            self._key, self._owner, "POST", path, json=_drop_none(body), params=_drop_none(params), retry=retry
        )
        return _json(response)

    async def patch_json(self, path: str, body: Mapping[str, Any]) -> Any:
        response = await self._api.send(self._key, self._owner, "PATCH", path, json=_drop_none(body))
        return _json(response)

    async def post_for_audio(
        self, path: str, *, body: Mapping[str, Any] | None = None, params: Mapping[str, Any] | None = None, **multipart
    ) -> tuple[bytes, str | None]:
        """POST (JSON body, or multipart `data=`/`files=`) and return the audio bytes and their content type."""
        request: dict[str, Any] = {"params": _drop_none(params), **multipart}
        if body is not None:
            request["json"] = _drop_none(body)
        response = await self._api.send(self._key, self._owner, "POST", path, **request)
        return response.content, response.headers.get("content-type")

    async def post_multipart(self, path: str, *, data: Mapping[str, Any], files: list[tuple[str, tuple]]) -> Any:
        response = await self._api.send(self._key, self._owner, "POST", path, data=_drop_none(data), files=files)
        return _json(response)


def _json(response: httpx2.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise UpstreamError(
            f"ElevenLabs answered HTTP {response.status_code} with a body that is not JSON. Try again later."
        ) from None


def _drop_none(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: v for k, v in values.items() if v is not None}


def _timeout(remaining: float) -> httpx2.Timeout:
    return httpx2.Timeout(remaining, connect=min(CONNECT_TIMEOUT_SECONDS, remaining))


def _backoff(attempt: int, failure: httpx2.Response | httpx2.TransportError) -> float:
    """Retry-After when ElevenLabs gives one, else exponential backoff with jitter."""
    if isinstance(failure, httpx2.Response):
        retry_after = _retry_after_seconds(failure.headers.get("retry-after"))
        if retry_after is not None:
            return retry_after
    backoff = min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2 ** (attempt - 1))
    return backoff * random.uniform(0.5, 1.0)


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _gave_up(failure: httpx2.Response | httpx2.TransportError, attempts: int, budget: float, api_key: str
             ) -> UpstreamError:
    tries = f"{attempts} attempt{'s' if attempts > 1 else ''}"
    if isinstance(failure, httpx2.TransportError):
        return UpstreamError(
            f"Could not reach ElevenLabs ({_describe_transport_error(failure)}) after {tries}. "
            "This is usually temporary: try again in a moment."
        )
    status = failure.status_code
    detail = error_detail(failure, api_key)
    if status == 429:
        return UpstreamError(
            f"ElevenLabs is rate limiting this account (HTTP 429: {detail}) and still was after {tries} "
            f"within {budget:g} s. Wait a little, or make fewer calls at once, then try again."
        )
    return UpstreamError(
        f"ElevenLabs had a server error (HTTP {status}: {detail}) on {tries} within {budget:g} s. "
        "This is on ElevenLabs' side: try again later."
    )


def _describe_transport_error(exc: httpx2.TransportError) -> str:
    if isinstance(exc, httpx2.ConnectError):
        return "connection failed"
    if isinstance(exc, httpx2.RemoteProtocolError | httpx2.ReadError | httpx2.WriteError):
        return "connection reset"
    return type(exc).__name__


def error_for_status(response: httpx2.Response, key_owner: str, api_key: str) -> UpstreamError:
    """A final (not retried) HTTP error as a message the user can act on (without the key, should ElevenLabs
    echo it)."""
    status = response.status_code
    detail = error_detail(response, api_key)
    if _error_status(response) == "quota_exceeded" or status == 402:
        return UpstreamError(
            f"ElevenLabs refused the request for lack of credits or plan (HTTP {status}: {detail}). "
            "Check the quota with check_subscription; top up or upgrade the plan, or use shorter input."
        )
    if status == 401:
        return UpstreamError(
            f"ElevenLabs rejected {key_owner} (HTTP 401: {detail}). "
            "The key is wrong, revoked or expired; replace it and try again."
        )
    if status == 403:
        return UpstreamError(
            f"ElevenLabs denied this operation (HTTP 403: {detail}). "
            "The API key lacks the permission or plan feature it needs."
        )
    if status == 404:
        return UpstreamError(f"ElevenLabs found nothing there (HTTP 404: {detail}). Check the id you gave.")
    if status in (400, 422):
        return UpstreamError(
            f"ElevenLabs rejected the request's parameters (HTTP {status}: {detail}). Fix them and retry."
        )
    return UpstreamError(f"ElevenLabs answered HTTP {status}: {detail}.")


def _error_body(response: httpx2.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_status(response: httpx2.Response) -> str | None:
    body = _error_body(response)
    detail = body.get("detail") if isinstance(body, dict) else None
    return detail.get("status") if isinstance(detail, dict) else None


def error_detail(response: httpx2.Response, api_key: str) -> str:
    """The human part of an ElevenLabs error body: {"detail": {"message"}}, a string, or 422's list; the key the
    request was made with is redacted (the logs redact it too, but this text goes to the client)."""
    body = _error_body(response)
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, dict):
        text = str(detail.get("message") or detail.get("status") or detail)
    elif isinstance(detail, list):
        text = "; ".join(_describe_validation_item(item) for item in detail)
    elif detail:
        text = str(detail)
    else:
        text = response.text.strip() or response.reason_phrase or "no details"
    if api_key:
        text = text.replace(api_key, "[redacted]")
    return text[:MAX_DETAIL_CHARS]


def _describe_validation_item(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    location = ".".join(str(part) for part in item.get("loc", []) if part != "body")
    return f"{location}: {item.get('msg', item)}" if location else str(item.get("msg", item))
