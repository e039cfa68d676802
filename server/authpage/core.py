"""The auth page's logic without I/O, shared by the server (server/authpage/routes.py) and the WebSocket
deployment's auth Lambda: request validation, the attempts limiter, the sign-up code check, and the JSON the
page reads (config.json, the answer to a sign-up, errors). Standard library only: a Lambda imports it at
cold start.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import re
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote

MAX_BODY_BYTES = 4096
MAX_KEY_LENGTH = 256
MAX_NAME_LENGTH = 64
MAX_CODE_LENGTH = 256
WINDOW_SECONDS = 3600.0
MAX_TRACKED_ATTEMPTS = 100_000  # timestamps the limiter keeps in all (about 10 MB at most)
DEFAULT_CLIENT_NAME = "elevenlabs"

_NAME = re.compile(r"[A-Za-z0-9 ._@-]+")
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")


class SignupError(Exception):
    """A refused sign-up: the HTTP status and the contract's error body."""

    def __init__(self, status: int, code: str, message: str, *, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after

    def body(self) -> dict:
        return error_body(self.code, self.message)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


def error_body(code: str, message: str) -> dict:
    return {"error": code, "message": message}


@dataclass(frozen=True)
class SignupRequest:
    elevenlabs_key: str
    name: str
    signup_code: str

    def __repr__(self) -> str:  # never print the key nor the code
        return f"SignupRequest(name={self.name!r})"


def parse_request(raw: bytes, signup_code_required: bool) -> SignupRequest:
    """The POST body, checked: {"elevenlabsKey", "name", "signupCode"} (other members are ignored)."""
    if len(raw) > MAX_BODY_BYTES:
        raise SignupError(413, "too_large", f"The request body is over {MAX_BODY_BYTES} bytes.")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise SignupError(400, "bad_request", "The request body is not JSON.") from None
    if not isinstance(body, dict):
        raise SignupError(400, "bad_request", "The request body must be a JSON object.")
    return SignupRequest(
        elevenlabs_key=_elevenlabs_key(body.get("elevenlabsKey")),
        name=_name(body.get("name")),
        signup_code=_signup_code(body.get("signupCode"), signup_code_required),
    )


def _elevenlabs_key(value) -> str:
    key = value.strip() if isinstance(value, str) else ""
    if not key:
        raise _bad_input("Paste your ElevenLabs API key.")
    if len(key) > MAX_KEY_LENGTH or not _PRINTABLE_ASCII.fullmatch(key):
        raise _bad_input(f"That is not an ElevenLabs API key (printable ASCII, at most {MAX_KEY_LENGTH} characters).")
    return key


def _name(value) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not name or len(name) > MAX_NAME_LENGTH or not _NAME.fullmatch(name):
        raise _bad_input(f"Give a name of 1 to {MAX_NAME_LENGTH} characters: letters, digits, spaces and . _ @ -")
    return name


def _signup_code(value, required: bool) -> str:
    if not required:
        return ""
    code = value if isinstance(value, str) else ""
    if not code:
        raise _bad_input("Enter the sign-up code you were given.")
    if len(code) > MAX_CODE_LENGTH:
        raise SignupError(403, "wrong_signup_code", "That sign-up code is not right.")
    return code


def _bad_input(message: str) -> SignupError:
    return SignupError(400, "bad_request", message)


def check_signup_code(given: str, expected: str) -> None:
    """Raises the 403 unless `given` is the code; the comparison takes the same time wherever they differ."""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise SignupError(403, "wrong_signup_code", "That sign-up code is not right.")


class AttemptLimiter:
    """At most `attempts_per_hour` attempts per client in any sliding hour, a client being an IPv4 address or an
    IPv6 /64 (one subscriber's network: a /64 holds 2**64 addresses for the taking, so counting them one by one
    would limit nothing).

    Memory is bounded: at most MAX_TRACKED_ATTEMPTS // attempts_per_hour clients are remembered. To make room the
    least recently seen client *under* its limit is forgotten; a client at its limit is never forgotten while
    its hour lasts. When every remembered client is at its limit, a new client is refused until the first of
    them frees up (fail closed: the table fills only under a many-network attack). Counts live in one process:
    each server task or Lambda instance has its own (docs/auth.md says what that makes the limit).
    """

    def __init__(self, attempts_per_hour: int, *, clock: Callable[[], float] = time.monotonic,
                 max_clients: int | None = None):
        if attempts_per_hour < 1:
            raise ValueError("attempts_per_hour must be at least 1")
        self.limit = attempts_per_hour
        self.max_clients = max_clients or max(1, MAX_TRACKED_ATTEMPTS // attempts_per_hour)
        self._clock = clock
        self._attempts: OrderedDict[str, deque[float]] = OrderedDict()
        self._full_until = 0.0  # no client can be forgotten before then

    def attempt(self, client: str | None) -> int | None:
        """Count an attempt from `client` (an address); None when allowed, else the seconds to wait (for
        Retry-After). An unknown address (None) shares one bucket: it cannot be told apart from others."""
        key = client_key(client)
        now = self._clock()
        times = self._attempts.pop(key, None)
        if times is None:
            if len(self._attempts) >= self.max_clients and not self._make_room(now):
                return _wait(self._full_until - now)
            times = deque()
        _expire(times, now)
        self._attempts[key] = times  # re-inserted last: most recently seen
        if len(times) >= self.limit:
            return _wait(times[0] + WINDOW_SECONDS - now)
        times.append(now)
        return None

    def _make_room(self, now: float) -> bool:
        """Forget the least recently seen client under its limit; False when every client is at its limit."""
        if now < self._full_until:
            return False
        for key, times in self._attempts.items():
            _expire(times, now)
            if len(times) < self.limit:
                del self._attempts[key]
                return True
        self._full_until = min(times[0] for times in self._attempts.values()) + WINDOW_SECONDS
        return False

    def check(self, client: str | None) -> None:
        """`attempt`, raising the 429 when over the limit."""
        wait = self.attempt(client)
        if wait is not None:
            raise too_many_attempts(wait)

    def __len__(self) -> int:
        return len(self._attempts)


def too_many_attempts(wait: int) -> SignupError:
    minutes = max(1, round(wait / 60))
    return SignupError(429, "too_many_attempts", f"Too many attempts from your address; try again in about "
                       f"{minutes} minute{'s' if minutes != 1 else ''}.", retry_after=wait)


SHARED_COUNT_PREFIX = "attempts#"  # the key of a shared count's row in the tokens table (a token's is hex)
SHARED_COUNT_PURGE = "purge_at"  # the tokens table's TTL attribute: DynamoDB deletes a count's row after it


def shared_count(table: str, client: str | None, limit: int, now: float) -> tuple[dict, int]:
    """One attempt of `client` counted where every task and function instance sees it: DynamoDB UpdateItem
    parameters adding 1 to the client's row for the current clock hour in the tokens table, refused by DynamoDB
    (ConditionalCheckFailedException) once `limit` attempts are counted; and the seconds until that hour ends (the
    Retry-After of a refusal). The row carries the TTL attribute: DynamoDB deletes it an hour after its hour."""
    hour = int(now // WINDOW_SECONDS)
    params = {
        "TableName": table, "Key": {"hash": {"S": f"{SHARED_COUNT_PREFIX}{client_key(client)}#{hour}"}},
        "UpdateExpression": "ADD #n :one SET #p = if_not_exists(#p, :purge)",
        "ConditionExpression": "attribute_not_exists(#n) OR #n < :limit",
        "ExpressionAttributeNames": {"#n": "attempts", "#p": SHARED_COUNT_PURGE},
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":limit": {"N": str(limit)},
                                      ":purge": {"N": str(int((hour + 2) * WINDOW_SECONDS))}},
    }
    return params, _wait((hour + 1) * WINDOW_SECONDS - now)


def client_key(address: str | None) -> str:
    """What the limiter counts: an IPv4 address (an IPv4-mapped IPv6 one as IPv4), an IPv6 address's /64, or
    "unknown" for no address."""
    if not address:
        return "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(parsed) >> 64 << 64, 64)))
    return str(parsed)


def _expire(times: deque[float], now: float) -> None:
    while times and now - times[0] >= WINDOW_SECONDS:
        times.popleft()


def _wait(seconds: float) -> int:
    return max(1, int(seconds + 0.999))


def config_json(api_url: str, deployment: str, signup_code_required: bool, token_days: int) -> dict:
    """What the page fetches as config.json."""
    return {"apiUrl": api_url, "deployment": deployment, "signupCode": signup_code_required, "tokenDays": token_days}


def connection_url(endpoint_url: str, token: str) -> str:
    return f"{endpoint_url}?key={quote(token, safe='')}"


def client_name(deployment: str) -> str:
    """The server's name in the clients' configurations: lower-case letters, digits and hyphens."""
    name = re.sub(r"[^a-z0-9]+", "-", deployment.lower()).strip("-")
    return name[:MAX_NAME_LENGTH] or DEFAULT_CLIENT_NAME


def clients_for_http(endpoint_url: str, token: str, deployment: str) -> list[dict]:
    """Ready-to-paste configurations for clients that speak streamable HTTP to `endpoint_url` themselves.

    Claude Desktop's custom connectors (Settings > Connectors) are reached from Anthropic's cloud, not from the
    user's computer, so a deployment with allowedCidrs needs mcp-remote, which runs locally instead."""
    url = connection_url(endpoint_url, token)
    name = client_name(deployment)
    return [
        {"title": "Claude Code", "kind": "command", "text": f"claude mcp add --transport http {name} '{url}'"},
        {"title": "Cursor (~/.cursor/mcp.json)", "kind": "json",
         "text": _json({"mcpServers": {name: {"url": url}}})},
        {"title": "Claude Desktop or claude.ai (Settings > Connectors > Add custom connector: this URL; "
                  "Anthropic's servers connect to it)", "kind": "url", "text": url},
        {"title": "Claude Desktop, connecting from your computer (claude_desktop_config.json; needs Node.js)",
         "kind": "json", "text": _json({"mcpServers": {name: {"command": "npx", "args": ["-y", "mcp-remote", url]}}})},
    ]


def success_body(token: str, endpoint_url: str, expires: int | None, clients: list[dict]) -> dict:
    return {"token": token, "connectionUrl": connection_url(endpoint_url, token), "expires": iso_utc(expires),
            "clients": clients}


def iso_utc(epoch: int | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def content_security_policy(html: str, connect_src: str = "'self'") -> str:
    """A CSP for the page that admits exactly its own inline <script> and <style> blocks (by SHA-256) and
    fetches to `connect_src` (the server itself, or the auth API's origin for the static page)."""
    scripts = " ".join(_hash_sources(html, "script"))
    styles = " ".join(_hash_sources(html, "style"))
    return (f"default-src 'none'; script-src {scripts}; style-src {styles}; connect-src {connect_src}; "
            "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def _hash_sources(html: str, tag: str) -> list[str]:
    blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.DOTALL)
    if not blocks:
        return ["'none'"]
    return [f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'" for b in blocks]


def _json(value) -> str:
    return json.dumps(value, indent=2)
