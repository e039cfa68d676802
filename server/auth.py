"""Who is calling: credentials from a request, and the principal they map to.

The HTTP gate (`server.http.gate`) pulls one credential out of the request and asks an
`Authenticator` for the `Principal`. Tools read the principal from the request
(`server.tools.common.elevenlabs`) to pick the ElevenLabs key. MCP_AUTH_MODE picks the
authenticator: `api-key` (ApiKeyAuthenticator, below) or `tokens` (server.tokens: hashed
per-user tokens in DynamoDB, each optionally with its own ElevenLabs key).

Behind the WebSocket relay (MCP_TRUST_RELAY) both also accept a relay ticket: the $connect authorizer
(server/websocket/authorizer.py) mints one per connection, "relay.<expiry>.<HMAC-SHA256 of '<expiry>|<token
hash>'>" under a key derived from MCP_SERVER_API_KEY (relay_ticket_key), and the relay presents it with the
X-MCP-Token-Hash it names (empty in mode api-key). So the relay, which cannot reach Secrets Manager, holds no
key at all, and a ticket is no client credential: it names one user, for one connection's 2 hours.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
import time
from collections.abc import Callable, Mapping
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


RELAY_TICKET_PREFIX = "relay."
_RELAY_TICKET_LABEL = b"mcpdeploy relay ticket v1"


def relay_ticket_key(server_key: str) -> bytes:
    """The key relay tickets are signed with: derived from the server's key, which the authorizer and the tasks
    both read from the one secret, so no second secret exists and a ticket never equals a client key."""
    return hmac.new(server_key.encode(), _RELAY_TICKET_LABEL, hashlib.sha256).digest()


def valid_relay_ticket(key: bytes, ticket: str, token_hash: str, now: float) -> bool:
    """A ticket the authorizer signed for exactly this token hash ('' in mode api-key), not yet expired."""
    prefix, _, rest = ticket.partition(".")
    expires, _, mac = rest.partition(".")
    if prefix + "." != RELAY_TICKET_PREFIX or not (expires.isascii() and expires.isdigit()) or int(expires) <= now:
        return False
    expected = hmac.new(key, f"{expires}|{token_hash}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac.encode("latin-1", "replace"), expected.encode())


class ApiKeyAuthenticator:
    """One shared key (MCP_SERVER_API_KEY), compared in constant time; with relay_key (MCP_TRUST_RELAY), also the
    relay's tickets."""

    def __init__(self, key: str, *, relay_key: bytes | None = None, wall_clock: Callable[[], float] = time.time):
        self._key = key.encode()
        self._relay_key, self._wall_clock = relay_key, wall_clock

    async def authenticate(self, credential: str, headers: Mapping[bytes, bytes]) -> Principal | None:
        if self._relay_key is not None and credential.startswith(RELAY_TICKET_PREFIX):
            valid = valid_relay_ticket(self._relay_key, credential, "", self._wall_clock())
            return Principal(name="api-key") if valid else None
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
