"""Admission for every route except the open ones (/health): Host, client network, credential.

The auth page (/auth and below) is checked for Host and client network like any route, but needs no
credential: it is where a user gets one. Any other path than the MCP endpoint is 404 without asking for a
credential: MCP clients probe OAuth discovery (/.well-known/oauth-*, /register) before they send the key, and a
401 there sends them into a Dynamic Client Registration that hides this server's own message.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from server.auth import Authenticator, AuthUnavailable, find_credential, without_key_param
from server.http.responses import header_map, send_json
from server.network import HostPolicy, IPNetwork, address_allowed, client_address

REALM = 'Bearer realm="elevenlabs-mcp"'
OPEN_PATHS = frozenset({"/health"})
AUTH_PAGE_PREFIX = "/auth"
RETRY_AFTER = b"5"  # seconds, when the token table does not answer


class Gate:
    def __init__(
        self,
        app: ASGIApp,
        *,
        hosts: HostPolicy,
        allowed_cidrs: tuple[IPNetwork, ...],
        trusted_proxies: tuple[IPNetwork, ...],
        authenticator: Authenticator,
        client_ip_header: str,
        protected_path: str,
    ):
        self.app = app
        self.protected_path = protected_path
        self.hosts = hosts
        self.allowed_cidrs = allowed_cidrs
        self.trusted_proxies = trusted_proxies
        self.client_ip_header = client_ip_header.encode("latin-1")  # lower-case, as header_map's keys
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = header_map(scope)
        state = scope.setdefault("state", {})

        if not self.hosts.allows(headers.get(b"host", b"").decode("latin-1")):
            await send_json(send, 421, {"error": "misdirected_request", "message": "Host header not allowed"})
            return
        origin = headers.get(b"origin")
        if not self.hosts.allows_origin(origin.decode("latin-1") if origin is not None else None):
            await send_json(send, 403, {"error": "forbidden", "message": "Origin not allowed"})
            return

        peer = scope["client"][0] if scope.get("client") else None
        forwarded = headers.get(self.client_ip_header)
        address = client_address(peer, forwarded.decode("latin-1") if forwarded else None, self.trusted_proxies)
        state["client_ip"] = str(address) if address else None
        if not address_allowed(address, self.allowed_cidrs):
            await send_json(send, 403, {"error": "forbidden", "message": "Client address not allowed"})
            return

        if _is_auth_page(scope["path"]):
            await self.app(scope, receive, send)
            return
        if scope["path"] != self.protected_path:
            await send_json(send, 404, {"error": "not_found", "message": f"Nothing here: this server answers MCP "
                                        f"at {self.protected_path}, with 'Authorization: Bearer <key>'"})
            return
        credential = find_credential(headers, scope["query_string"])
        try:
            principal = await self.authenticator.authenticate(credential, headers) if credential else None
        except AuthUnavailable:
            await send_json(send, 503, {"error": "auth_unavailable", "message": "Credentials cannot be checked "
                                        "right now; retry shortly"}, headers=[(b"retry-after", RETRY_AFTER)])
            return
        if principal is None:
            scheme = headers.get(b"authorization", b"").decode("latin-1").partition(" ")[0]
            await _unauthorized(send, credential_given=credential is not None, other_scheme=scheme)
            return
        state["principal"] = principal
        scope["query_string"] = without_key_param(scope["query_string"])
        await self.app(scope, receive, send)


def _is_auth_page(path: str) -> bool:
    return path == AUTH_PAGE_PREFIX or path.startswith(AUTH_PAGE_PREFIX + "/")


async def _unauthorized(send: Send, credential_given: bool, other_scheme: str) -> None:
    challenge = REALM + (', error="invalid_token"' if credential_given else "")
    forms = "send 'Authorization: Bearer <key>', 'X-API-Key: <key>' or '?key=<key>'"
    if credential_given:
        message = "Invalid API key"
    elif other_scheme and other_scheme.lower() != "bearer":
        message = f"Authorization scheme {other_scheme[:20]!r} is not accepted: {forms}"
    else:
        message = f"Missing API key: {forms}"
    await send_json(
        send, 401, {"error": "unauthorized", "message": message}, headers=[(b"www-authenticate", challenge.encode())]
    )
