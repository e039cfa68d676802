"""Who is calling: credentials from a request, and the principal they map to.

The HTTP gate (`server.http.gate`) pulls one credential out of the request and asks an
`Authenticator` for the `Principal`. Tools read the principal from the request
(`server.tools.common.elevenlabs`) to pick the ElevenLabs key. MCP_AUTH_MODE picks the
authenticator: `api-key` (ApiKeyAuthenticator, below) or `tokens` (server.tokens: hashed
per-user tokens in DynamoDB, each optionally with its own ElevenLabs key; behind the WebSocket
relay, MCP_TRUST_RELAY, the relay's key plus the X-MCP-Token-Hash header naming the user).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from collections.abc import Mapping
from typing import Protocol
from urllib.parse import parse_qsl, urlencode

QUERY_KEY_PARAM = "key"


@dataclass(frozen=True)
class Principal:
    name: str
    # When set, this caller's tool calls use this ElevenLabs key instead of the server's.
    elevenlabs_api_key: str | None = None


class AuthUnavailable(Exception):
    """The credential could not be checked (the token table did not answer). Not the caller's fault: the gate
    answers 503 with Retry-After instead of 401, so clients retry rather than drop a good credential."""


class Authenticator(Protocol):
    async def authenticate(self, credential: str, headers: Mapping[bytes, bytes]) -> Principal | None:
        """The principal for `credential` (with the request's lower-case headers), or None when it is not valid.
        Raises AuthUnavailable when validity cannot be decided."""


class ApiKeyAuthenticator:
    """One shared key (MCP_SERVER_API_KEY), compared in constant time."""

    def __init__(self, key: str):
        self._key = key.encode()

    async def authenticate(self, credential: str, headers: Mapping[bytes, bytes]) -> Principal | None:
        if hmac.compare_digest(credential.encode(), self._key):
            return Principal(name="api-key")
        return None


def find_credential(headers: dict[bytes, bytes], query_string: bytes) -> str | None:
    """The caller's credential: `Authorization: Bearer`, else `X-API-Key`, else `?key=`."""
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    api_key = headers.get(b"x-api-key", b"").decode("latin-1").strip()
    if api_key:
        return api_key
    if b"key=" in query_string:
        for name, value in parse_qsl(query_string.decode("latin-1")):
            if name == QUERY_KEY_PARAM and value:
                return value
    return None


def without_key_param(query_string: bytes) -> bytes:
    """The query string minus `key=...`, so nothing downstream can log or echo the credential."""
    if b"key=" not in query_string:
        return query_string
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return urlencode([(n, v) for n, v in pairs if n != QUERY_KEY_PARAM]).encode("latin-1")
