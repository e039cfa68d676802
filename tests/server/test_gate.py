"""The gate's every answer, exactly (status, body, headers), and what it hands the app when it admits: driven
in process with ASGI messages, so each refusal, each message and each header a client reads is pinned."""

from __future__ import annotations

import ipaddress
import json

import anyio
import pytest

from server.auth import AuthUnavailable, Principal
from server.http.gate import Gate
from server.network import HostPolicy

KEY = "the-one-key-1234"
FORMS = "send 'Authorization: Bearer <key>', 'X-API-Key: <key>' or '?key=<key>'"
CHALLENGE = b'Bearer realm="elevenlabs-mcp"'
INVALID_CHALLENGE = b'Bearer realm="elevenlabs-mcp", error="invalid_token"'


class KeyAuthenticator:
    """Admits KEY; records what it was asked; raises AuthUnavailable for the credential 'unavailable'."""

    def __init__(self):
        self.asked: list[tuple[str, dict]] = []

    async def authenticate(self, credential, headers):
        self.asked.append((credential, dict(headers)))
        if credential == "unavailable":
            raise AuthUnavailable
        return Principal(name="api-key") if credential == KEY else None


class Reached:
    """The app behind the gate: records the scope it was given, reads the request body (the auth page's forms
    and the MCP endpoint need it) and answers 200."""

    def __init__(self):
        self.scopes: list[dict] = []

    async def __call__(self, scope, receive, send):
        self.scopes.append(scope)
        if scope["type"] == "http":
            assert (await receive())["type"] == "http.request"
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"app"})


def gate(*, hosts=("api.example.com",), cidrs=(), proxies=(), client_ip_header="x-forwarded-for"):
    app, authenticator = Reached(), KeyAuthenticator()
    built = Gate(app, hosts=HostPolicy(hosts), allowed_cidrs=tuple(ipaddress.ip_network(c) for c in cidrs),
                 trusted_proxies=tuple(ipaddress.ip_network(c) for c in proxies), authenticator=authenticator,
                 client_ip_header=client_ip_header, protected_path="/mcp")
    return built, app, authenticator


def request(the_gate, path="/mcp", headers=None, *, query=b"", client=("203.0.113.9", 5000), kind="http"):
    """(status, headers, body) of the answer; the scope is built as uvicorn builds it."""
    headers = {"host": "api.example.com", **(headers or {})}
    scope = {"type": kind, "path": path, "query_string": query,
             "headers": [(k.encode(), v.encode()) for k, v in headers.items() if v is not None]}
    if client is not None:
        scope["client"] = client
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    anyio.run(the_gate, scope, receive, send)
    if not sent:
        return None, {}, None
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], dict(start["headers"]), body


def refusal(status, headers, body):
    parsed = json.loads(body)
    assert headers[b"content-type"] == b"application/json" and headers[b"content-length"] == str(len(body)).encode()
    return status, parsed


def test_the_key_admits_and_the_app_gets_the_principal_the_client_address_and_no_key_in_the_query():
    the_gate, app, authenticator = gate()
    status, _, body = request(the_gate, query=b"a=1&key=" + KEY.encode() + b"&b=")
    assert (status, body) == (200, b"app")
    scope = app.scopes[0]
    assert scope["state"] == {"client_ip": "203.0.113.9", "principal": Principal(name="api-key")}
    assert scope["query_string"] == b"a=1&b="
    assert authenticator.asked[0][0] == KEY and authenticator.asked[0][1][b"host"] == b"api.example.com"


@pytest.mark.parametrize("headers", [{"authorization": f"Bearer {KEY}"}, {"x-api-key": KEY}])
def test_each_header_form_admits_and_leaves_the_query_alone(headers):
    the_gate, app, _ = gate()
    assert request(the_gate, headers=headers, query=b"x=1")[0] == 200
    assert app.scopes[0]["query_string"] == b"x=1"


def test_no_credential_is_401_missing_with_the_bare_challenge_and_asks_no_one():
    the_gate, app, authenticator = gate()
    status, headers, body = request(the_gate)
    assert refusal(status, headers, body) == (401, {"error": "unauthorized", "message": f"Missing API key: {FORMS}"})
    assert headers[b"www-authenticate"] == CHALLENGE
    assert app.scopes == [] and authenticator.asked == []


@pytest.mark.parametrize("headers, query", [({"authorization": "Bearer wrong-key-123456"}, b""),
                                            ({"x-api-key": "wrong"}, b""), ({}, b"key=wrong")])
def test_a_wrong_credential_is_401_invalid_with_the_invalid_token_challenge(headers, query):
    the_gate, app, _ = gate()
    status, answer_headers, body = request(the_gate, headers=headers, query=query)
    assert refusal(status, answer_headers, body) == (401, {"error": "unauthorized", "message": "Invalid API key"})
    assert answer_headers[b"www-authenticate"] == INVALID_CHALLENGE and app.scopes == []


@pytest.mark.parametrize("scheme, named", [("Basic", "Basic"), ("Digest", "Digest"),
                                           ("X" * 30, "X" * 20)])  # at most 20 characters of it echoed
def test_another_authorization_scheme_is_named_in_the_401(scheme, named):
    the_gate, _, _ = gate()
    status, headers, body = request(the_gate, headers={"authorization": f"{scheme} abc"})
    message = f"Authorization scheme {named!r} is not accepted: {FORMS}"
    assert refusal(status, headers, body) == (401, {"error": "unauthorized", "message": message})
    assert headers[b"www-authenticate"] == CHALLENGE


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer ", "bearer   ", "BEARER"])
def test_a_bearer_scheme_without_a_token_is_a_missing_key_not_another_scheme(authorization):
    the_gate, _, _ = gate()
    status, headers, body = request(the_gate, headers={"authorization": authorization})
    assert refusal(status, headers, body) == (401, {"error": "unauthorized", "message": f"Missing API key: {FORMS}"})


def test_an_unanswered_credential_check_is_503_retry_after_5_not_401():
    the_gate, app, _ = gate()
    status, headers, body = request(the_gate, headers={"authorization": "Bearer unavailable"})
    message = "Credentials cannot be checked right now; retry shortly"
    assert refusal(status, headers, body) == (503, {"error": "auth_unavailable", "message": message})
    assert headers[b"retry-after"] == b"5" and b"www-authenticate" not in headers and app.scopes == []


@pytest.mark.parametrize("host", ["evil.example.com", "api.example.com.evil.net", None])
def test_a_host_not_allowed_is_421_before_anything_else(host):
    the_gate, app, authenticator = gate(cidrs=["198.51.100.0/24"])  # the client's address is not allowed either
    status, headers, body = request(the_gate, headers={"host": host, "authorization": f"Bearer {KEY}"})
    assert refusal(status, headers, body) == (421, {"error": "misdirected_request",
                                                    "message": "Host header not allowed"})
    assert app.scopes == [] and authenticator.asked == []


def test_a_missing_host_is_not_read_as_some_allowed_name():
    the_gate, _, _ = gate(hosts=("xxxx", ""))
    assert request(the_gate, headers={"host": None, "authorization": f"Bearer {KEY}"})[0] == 421


@pytest.mark.parametrize("origin, status", [("https://api.example.com", 200), ("http://api.example.com", 200),
                                            ("https://evil.example.com", 403), ("null", 403), (None, 200)])
def test_an_origin_must_name_an_allowed_host(origin, status):
    the_gate, _, _ = gate(cidrs=["198.51.100.0/24"] if status == 403 else ())
    status_seen, headers, body = request(the_gate, headers={"origin": origin, "authorization": f"Bearer {KEY}"})
    assert status_seen == status
    if status == 403:  # refused on Origin, before the client address (which is not allowed either)
        assert refusal(status_seen, headers, body) == (403, {"error": "forbidden", "message": "Origin not allowed"})


@pytest.mark.parametrize("client, admitted", [(("198.51.100.7", 1), True), (("203.0.113.9", 1), False),
                                              (None, False)])
def test_the_client_address_must_be_in_the_allow_list(client, admitted):
    the_gate, app, authenticator = gate(cidrs=["198.51.100.0/24"])
    status, headers, body = request(the_gate, headers={"authorization": f"Bearer {KEY}"}, client=client)
    if admitted:
        assert status == 200 and app.scopes[0]["state"]["client_ip"] == "198.51.100.7"
    else:
        assert refusal(status, headers, body) == (403, {"error": "forbidden",
                                                        "message": "Client address not allowed"})
        assert authenticator.asked == []


def test_without_an_allow_list_an_unknown_client_address_is_admitted_as_none():
    the_gate, app, _ = gate()
    assert request(the_gate, headers={"authorization": f"Bearer {KEY}"}, client=None)[0] == 200
    assert app.scopes[0]["state"]["client_ip"] is None


@pytest.mark.parametrize("header", ["x-forwarded-for", "x-real-client"])
def test_the_configured_header_names_the_client_behind_a_trusted_proxy(header):
    the_gate, app, _ = gate(cidrs=["198.51.100.0/24"], proxies=["10.0.0.0/8"], client_ip_header=header)
    admitted = {"authorization": f"Bearer {KEY}", header: "198.51.100.7"}
    assert request(the_gate, headers=admitted, client=("10.1.2.3", 1))[0] == 200
    assert app.scopes[0]["state"]["client_ip"] == "198.51.100.7"
    other = "x-real-client" if header == "x-forwarded-for" else "x-forwarded-for"
    refused = {"authorization": f"Bearer {KEY}", other: "198.51.100.7"}
    assert request(the_gate, headers=refused, client=("10.1.2.3", 1))[0] == 403, "only the configured header"


@pytest.mark.parametrize("path", ["/auth", "/auth/", "/auth/login"])
def test_the_auth_page_needs_no_credential_but_the_host_and_address_checks(path):
    the_gate, app, authenticator = gate(cidrs=["198.51.100.0/24"])
    assert request(the_gate, path, client=("198.51.100.7", 1))[0] == 200 and authenticator.asked == []
    assert app.scopes[0]["state"] == {"client_ip": "198.51.100.7"}
    assert request(the_gate, path, client=("203.0.113.9", 1))[0] == 403
    assert request(the_gate, path, headers={"host": "evil.example.com"}, client=("198.51.100.7", 1))[0] == 421


@pytest.mark.parametrize("path", ["/authx", "/", "/mcp/", "/.well-known/oauth-authorization-server", "/MCP"])
def test_any_other_path_is_404_naming_the_endpoint_without_asking_for_a_credential(path):
    the_gate, app, authenticator = gate()
    status, headers, body = request(the_gate, path)
    message = "Nothing here: this server answers MCP at /mcp, with 'Authorization: Bearer <key>'"
    assert refusal(status, headers, body) == (404, {"error": "not_found", "message": message})
    assert b"www-authenticate" not in headers and app.scopes == [] and authenticator.asked == []


def test_health_and_non_http_scopes_pass_without_any_check():
    the_gate, app, authenticator = gate(cidrs=["198.51.100.0/24"])
    assert request(the_gate, "/health", headers={"host": "evil.example.com"}, client=None)[0] == 200
    assert request(the_gate, "/mcp", headers={"host": "evil.example.com"}, kind="lifespan") == (None, {}, None)
    assert [s["type"] for s in app.scopes] == ["http", "lifespan"] and authenticator.asked == []
    assert "state" not in app.scopes[0]
