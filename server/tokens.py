"""auth mode `tokens`: per-user tokens whose SHA-256 hashes live in a DynamoDB table.

`python -m compiler tokens` writes the rows (compiler/tokens.py); the server only reads them, with
dynamodb:GetItem. A row: hash (hex SHA-256 of the token, the key), name, created and, optionally, expires
(epoch seconds), revoked (bool) and elevenlabs_key (the user's own key; protected at rest by the table's
server-side encryption, never logged nor returned).

Lookups are cached for MCP_TOKENS_CACHE_SECONDS (60 by default), so a revocation takes effect within that
bound; expiry is checked on every request against the cached row, so it is exact. Looking a row up by the
token's hash needs no constant-time comparison: timing can reveal at most a hash prefix, not the token.

Behind the WebSocket relay (MCP_TRUST_RELAY), the relay presents the ticket its authorizer signed for the
connection (server/auth.py) and names the user by the hash that ticket covers, in X-MCP-Token-Hash: that row
is looked up like a token, through the same cache, so a revocation reaches open connections within the same
bound. A token presented directly is accepted too: the tasks admit only the relay, so the one code path is as
safe and keeps local runs simple.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from server.auth import RELAY_TICKET_PREFIX, AuthUnavailable, Principal, valid_relay_ticket
from server.aws import AwsError, JsonApi
from server.config import DEFAULT_TOKENS_CACHE_SECONDS
from server.http_clients import new_client
from server.token_rows import token_hash

MAX_CACHED = 10_000  # rows (or misses) remembered; the oldest go first
LOOKUP_TIMEOUT_SECONDS = 5.0
RELAY_HASH_HEADER = b"x-mcp-token-hash"
HASH_PATTERN = re.compile(r"[0-9a-f]{64}")

logger = logging.getLogger("server.tokens")


@dataclass(frozen=True)
class TokenRow:
    name: str
    expires: float | None
    revoked: bool
    elevenlabs_key: str | None

    def principal(self, now: float) -> Principal | None:
        if self.revoked or (self.expires is not None and now >= self.expires):
            return None
        return Principal(name=f"token:{self.name}", elevenlabs_api_key=self.elevenlabs_key)


class TokenAuthenticator:
    def __init__(self, table: str, *, cache_seconds: float = DEFAULT_TOKENS_CACHE_SECONDS,
                 relay_key: bytes | None = None, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time):
        """relay_key: what the WebSocket relay's tickets are signed with (auth.relay_ticket_key, MCP_TRUST_RELAY);
        None = no relay is trusted."""
        self.table = table
        self.cache_seconds = cache_seconds
        self._relay_key = relay_key
        self._clock, self._wall_clock = clock, wall_clock
        self._cache: dict[str, tuple[float, TokenRow | None]] = {}  # hash -> (fetched at, row or None)
        self._dynamodb: JsonApi | None = None

    async def authenticate(self, credential: str, headers: Mapping[bytes, bytes]) -> Principal | None:
        if self._relay_key is not None and credential.startswith(RELAY_TICKET_PREFIX):
            named = headers.get(RELAY_HASH_HEADER, b"").decode("latin-1")
            if HASH_PATTERN.fullmatch(named) and valid_relay_ticket(self._relay_key, credential, named,
                                                                    self._wall_clock()):
                return await self._principal(named)
            return None
        return await self._principal(token_hash(credential))

    async def _principal(self, digest: str) -> Principal | None:
        cached = self._cache.get(digest)
        if cached is not None and self._clock() - cached[0] < self.cache_seconds:
            row = cached[1]
        else:
            try:
                row = await self._fetch(digest)
            except AwsError as error:  # not cached: the next request asks again
                logger.warning("token lookup failed", extra={"fields": {"error": str(error)}})
                raise AuthUnavailable("token lookup failed") from None
            self._remember(digest, row)
        return row.principal(self._wall_clock()) if row else None

    async def aclose(self) -> None:
        if self._dynamodb is not None:
            await self._dynamodb.aclose()

    async def _fetch(self, digest: str) -> TokenRow | None:
        if self._dynamodb is None:
            self._dynamodb = JsonApi("dynamodb", "DynamoDB_20120810", new_client(timeout=LOOKUP_TIMEOUT_SECONDS))
        answer = await self._dynamodb.call("GetItem", {"TableName": self.table, "Key": {"hash": {"S": digest}}})
        item = answer.get("Item")
        if not item:
            return None
        return TokenRow(
            name=item.get("name", {}).get("S", "?"),
            expires=float(item["expires"]["N"]) if "expires" in item else None,
            revoked=item.get("revoked", {}).get("BOOL", False),
            elevenlabs_key=item.get("elevenlabs_key", {}).get("S") or None,
        )

    def _remember(self, digest: str, row: TokenRow | None) -> None:
        self._cache.pop(digest, None)
        if len(self._cache) >= MAX_CACHED:
            del self._cache[next(iter(self._cache))]
        self._cache[digest] = (self._clock(), row)
