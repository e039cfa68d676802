"""Who gets in: API key in its three forms, CIDR allow-list through a trusted proxy, Host and Origin checks."""

from __future__ import annotations

import anyio
import httpx
import pytest
from mcp.shared.exceptions import MCPError

from tests.server.harness import BEARER, SERVER_KEY, TOOLS_LIST, call_tool, mcp_client, post_mcp, texts

ADMITTED_CLIENT = "203.0.113.7"  # inside the edge server's MCP_ALLOWED_CIDRS
OTHER_CLIENT = "198.51.100.1"


def list_tool_names(url: str, headers: dict) -> set[str]:
    async def names():
        async with mcp_client(url, headers) as client:
            return {tool.name for tool in (await client.list_tools()).tools}

    return anyio.run(names)


@pytest.mark.parametrize(
    "headers, query",
    [
        ({"Authorization": f"Bearer {SERVER_KEY}"}, ""),
        ({"authorization": f"bearer {SERVER_KEY}"}, ""),
        ({"X-API-Key": SERVER_KEY}, ""),
        ({}, f"?key={SERVER_KEY}"),
    ],
    ids=["bearer", "bearer-lowercase", "x-api-key", "query-param"],
)
def test_each_credential_form_admits_the_real_client(main_server, headers, query):
    assert "list_models" in list_tool_names(main_server.mcp_url + query, headers)


@pytest.mark.parametrize(
    "headers, error",
    [
        ({}, None),
        ({"Authorization": "Bearer wrong-key-wrong-key"}, "invalid_token"),
        ({"X-API-Key": SERVER_KEY + "x"}, "invalid_token"),
        ({"Authorization": f"Basic {SERVER_KEY}"}, None),
    ],
    ids=["missing", "wrong-bearer", "wrong-x-api-key", "not-bearer-scheme"],
)
def test_missing_or_wrong_key_gets_401_with_challenge(main_server, headers, error):
    headers = {"content-type": "application/json", **headers}
    response = httpx.post(main_server.mcp_url, content=TOOLS_LIST, headers=headers)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert (f'error="{error}"' in challenge) if error else ("error=" not in challenge)
    assert SERVER_KEY not in response.text


def test_wrong_query_key_is_refused(main_server):
    response = httpx.post(f"{main_server.mcp_url}?key=nope", content=TOOLS_LIST)
    assert response.status_code == 401


def test_the_mcp_endpoint_needs_the_key(main_server):
    response = httpx.get(main_server.mcp_url)
    assert response.status_code == 401 and "www-authenticate" in response.headers


@pytest.mark.parametrize("path", [
    "/", "/anything", "/register", "/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp",
    "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration", "/mcp/", "/mcpx",
])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_paths_that_do_not_exist_are_404_without_a_challenge(main_server, path, method):
    """mcp-remote probes OAuth discovery first: a 401 there started a Dynamic Client Registration."""
    response = httpx.request(method, main_server.base_url + path, json={})
    assert response.status_code == 404 and "www-authenticate" not in response.headers
    assert "/mcp" in response.json()["message"]


def test_paths_that_do_not_exist_still_check_host_and_client_network(edge_server):
    response = httpx.get(edge_server.base_url + "/.well-known/oauth-authorization-server",
                         headers={"host": "mcp.example.com", "x-forwarded-for": OTHER_CLIENT})
    assert response.status_code == 403


def test_another_authorization_scheme_is_named_in_the_answer(main_server):
    response = httpx.post(main_server.mcp_url, content=TOOLS_LIST, headers={"Authorization": f"Basic {SERVER_KEY}"})
    assert response.status_code == 401
    assert response.json()["message"].startswith("Authorization scheme 'Basic' is not accepted: send 'Authorization: "
                                                 "Bearer <key>'")


def test_real_client_with_wrong_key_fails(main_server):
    with pytest.raises(ExceptionGroup) as raised:  # the SDK client's task group reports the HTTP 401
        list_tool_names(main_server.mcp_url, {"Authorization": "Bearer wrong-key-wrong-key"})
    assert raised.group_contains(MCPError, depth=2)


def test_health_is_open_even_with_bad_host_and_address(edge_server):
    response = httpx.get(f"{edge_server.base_url}/health", headers={"host": "10.0.3.17:8080"})
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    "forwarded_for, admitted",
    [
        (ADMITTED_CLIENT, True),
        (OTHER_CLIENT, False),
        (None, False),  # the proxy itself (127.0.0.1) is not in the allow-list
        (f"{OTHER_CLIENT}, {ADMITTED_CLIENT}", True),  # left entries are the client's claims
        (f"{ADMITTED_CLIENT}, {OTHER_CLIENT}", False),  # right-most untrusted hop decides
        (f"{ADMITTED_CLIENT}, 127.0.0.1", True),  # trusted hops are skipped
        ("not-an-address", False),
    ],
)
def test_cidr_allow_list_behind_trusted_proxy(edge_server, forwarded_for, admitted):
    headers = {"x-forwarded-for": forwarded_for} if forwarded_for else {}
    response = post_mcp(edge_server, TOOLS_LIST, headers)
    assert response.status_code == (200 if admitted else 403), response.text


@pytest.mark.parametrize(
    "headers, admitted",
    [
        ({"x-mcp-client-ip": ADMITTED_CLIENT}, True),
        ({"x-mcp-client-ip": OTHER_CLIENT}, False),
        ({"x-forwarded-for": ADMITTED_CLIENT}, False),  # not the header this front door writes: not consulted
        ({"x-mcp-client-ip": OTHER_CLIENT, "x-forwarded-for": ADMITTED_CLIENT}, False),
    ],
)
def test_the_configured_client_address_header_is_the_only_one_believed(http_api_server, headers, admitted):
    response = post_mcp(http_api_server, TOOLS_LIST, headers)
    assert response.status_code == (200 if admitted else 403), response.text


def test_forwarded_for_from_an_untrusted_peer_is_ignored(edge_server):
    # Connect from 127.0.0.2: a loopback address that is not in MCP_TRUSTED_PROXY_CIDRS.
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=transport) as client:
        response = client.post(
            edge_server.mcp_url,
            content=TOOLS_LIST,
            headers={"content-type": "application/json", "x-forwarded-for": ADMITTED_CLIENT, **BEARER},
        )
    assert response.status_code == 403


def test_real_client_through_the_proxy_and_missing_elevenlabs_key(edge_server):
    headers = {**BEARER, "X-Forwarded-For": ADMITTED_CLIENT}
    assert "text_to_speech" in list_tool_names(edge_server.mcp_url, headers)
    result = call_tool(edge_server, "list_models", headers=headers)
    assert result.is_error
    assert "no ElevenLabs API key configured" in texts(result) and "ELEVENLABS_API_KEY" in texts(result)


@pytest.mark.parametrize(
    "host, status",
    [
        ("internal-abc.us-east-1.elb.amazonaws.com", 200),
        ("mcp.example.com:443", 200),
        ("MCP.Example.Com", 200),
        ("localhost:8080", 200),
        ("elb.amazonaws.com", 421),  # the pattern needs a sub-domain
        ("mcp.example.com.evil.net", 421),
        ("evil.example", 421),
    ],
)
def test_host_header_check(edge_server, host, status):
    response = post_mcp(edge_server, TOOLS_LIST, {"host": host, "x-forwarded-for": ADMITTED_CLIENT})
    assert response.status_code == status, response.text


@pytest.mark.parametrize(
    "origin, status",
    [("https://mcp.example.com", 200), ("http://localhost:6274", 200), ("https://evil.example", 403), ("null", 403)],
)
def test_origin_check(edge_server, origin, status):
    response = post_mcp(edge_server, TOOLS_LIST, {"origin": origin, "x-forwarded-for": ADMITTED_CLIENT})
    assert response.status_code == status


def test_default_host_check_admits_only_loopback_names(main_server):
    assert post_mcp(main_server, TOOLS_LIST, {"host": "127.0.0.1:1234"}).status_code == 200
    assert post_mcp(main_server, TOOLS_LIST, {"host": "mcp.example.com"}).status_code == 421
