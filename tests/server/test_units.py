"""Pure functions behind the gate and the upstream client, checked directly and exhaustively."""

from __future__ import annotations

import ipaddress
import time
from email.utils import formatdate

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.auth import ApiKeyAuthenticator, Principal, find_credential, without_key_param
from server.config import ConfigError, load_settings
from server.elevenlabs import _retry_after_seconds
from server.http.jsonrpc_guard import jsonrpc_problem
from server.network import HostPolicy, address_allowed, client_address

PROXIES = (ipaddress.ip_network("10.0.0.0/8"),)


@pytest.mark.parametrize(
    "peer, forwarded, expected",
    [
        ("203.0.113.9", None, "203.0.113.9"),
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # untrusted peer: header ignored
        ("10.0.0.5", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.5", "1.1.1.1, 198.51.100.1, 10.0.0.7", "198.51.100.1"),
        ("10.0.0.5", "10.0.0.9, 10.0.0.7", "10.0.0.9"),  # all trusted: the left-most
        ("10.0.0.5", "198.51.100.1, garbage", None),
        ("::ffff:10.0.0.5", "198.51.100.1", "198.51.100.1"),  # IPv4-mapped peer
        (None, "198.51.100.1", None),
    ],
)
def test_client_address(peer, forwarded, expected):
    found = client_address(peer, forwarded, PROXIES)
    assert (str(found) if found else None) == expected


def test_empty_allow_list_admits_all_but_not_unknown_when_set():
    assert address_allowed(None, ())
    assert not address_allowed(None, PROXIES)


public_v4 = st.ip_addresses(v=4).filter(lambda a: a not in PROXIES[0]).map(str)
proxy_v4 = st.ip_addresses(network="10.0.0.0/8").map(str)


@given(st.lists(st.ip_addresses(v=4).map(str), max_size=4), public_v4, st.lists(proxy_v4, max_size=3))
def test_forged_left_entries_never_change_the_answer(forged, client, hops):
    """Whatever the client prepends, the answer is the address our proxies saw."""
    forwarded = ", ".join([*forged, client, *hops])
    assert str(client_address("10.0.0.1", forwarded, PROXIES)) == client


def test_host_policy():
    policy = HostPolicy(["*.elb.amazonaws.com", "mcp.example.com"])
    assert policy.allows("a.b.elb.amazonaws.com:443") and policy.allows("[::1]:8080") and policy.allows("localhost")
    assert not policy.allows("elb.amazonaws.com") and not policy.allows("") and not policy.allows("xelb.amazonaws.com")
    assert policy.allows_origin(None) and policy.allows_origin("https://mcp.example.com")
    assert not policy.allows_origin("mcp.example.com") and not policy.allows_origin("javascript://mcp.example.com")
    assert HostPolicy(["*"]).allows("anything.at.all")


def test_credential_sources_and_key_stripping():
    assert find_credential({b"authorization": b"Bearer abc "}, b"key=zzz") == "abc"
    assert find_credential({b"x-api-key": b"def"}, b"") == "def"
    assert find_credential({}, b"a=1&key=ghi") == "ghi"
    assert find_credential({b"authorization": b"Bearer "}, b"") is None
    assert without_key_param(b"a=1&key=secret&b=2") == b"a=1&b=2"
    assert without_key_param(b"a=1") == b"a=1"


def test_api_key_authenticator():
    authenticator = ApiKeyAuthenticator("k" * 20)
    assert anyio.run(authenticator.authenticate, "k" * 20, {}) == Principal("api-key")
    assert anyio.run(authenticator.authenticate, "k" * 19, {}) is None
    assert anyio.run(authenticator.authenticate, "ключ", {}) is None  # non-ASCII must not crash the comparison


@pytest.mark.parametrize(
    "message, problem",
    [
        ({"jsonrpc": "2.0", "id": 1, "method": "x"}, None),
        ({"jsonrpc": "2.0", "method": "notifications/x"}, None),
        ({"jsonrpc": "2.0", "id": "a", "result": {}}, None),
        ({"jsonrpc": "2.0", "id": None, "method": "x"}, "id"),
        ({"jsonrpc": "2.0", "id": 1.5, "method": "x"}, "id"),
        ({"jsonrpc": "2.0", "result": {}}, "method"),
    ],
)
def test_jsonrpc_problem(message, problem):
    found = jsonrpc_problem(message)
    assert (found is None) if problem is None else (problem in found)


def test_retry_after_forms():
    assert _retry_after_seconds("3") == 3
    assert _retry_after_seconds(None) is None and _retry_after_seconds("soon") is None
    assert 4 <= _retry_after_seconds(formatdate(time.time() + 5, usegmt=True)) <= 5


def test_settings_defaults_and_lists():
    settings = load_settings({"MCP_SERVER_API_KEY": "x" * 16, "MCP_ALLOWED_CIDRS": " 203.0.113.0/24 ,10.1.2.3"})
    assert [str(n) for n in settings.allowed_cidrs] == ["203.0.113.0/24", "10.1.2.3/32"]
    assert (settings.port, settings.sse) == (8080, False)
    assert (settings.drain_seconds, settings.upstream_budget_seconds) == (25, 25)
    assert settings.max_inline_audio_bytes == 2 * 1024 * 1024


def test_settings_errors_name_the_variable():
    with pytest.raises(ConfigError) as raised:
        load_settings({"MCP_SERVER_API_KEY": "x" * 16, "MCP_MAX_INLINE_AUDIO_BYTES": "-1", "MCP_PORT": "70000"})
    assert sorted(raised.value.problems) == [
        "MCP_MAX_INLINE_AUDIO_BYTES: must be 0 (never inline) or a positive number of bytes",
        "MCP_PORT: must be between 1 and 65535",
    ]


def test_the_client_address_header_is_a_header_name_compared_in_lower_case():
    base = {"MCP_SERVER_API_KEY": "x" * 16}
    assert load_settings(base).client_ip_header == "x-forwarded-for"
    assert load_settings({**base, "MCP_CLIENT_IP_HEADER": "X-MCP-Client-IP"}).client_ip_header == "x-mcp-client-ip"
    with pytest.raises(ConfigError) as raised:
        load_settings({**base, "MCP_CLIENT_IP_HEADER": "x-client ip"})
    assert raised.value.problems == ["MCP_CLIENT_IP_HEADER: must be an HTTP header name such as x-forwarded-for"]


def test_auth_settings_belong_to_tokens_mode_and_are_checked():
    tokens = {"MCP_AUTH_MODE": "tokens", "MCP_TOKENS_TABLE": "tokens-table"}
    settings = load_settings({**tokens, "MCP_AUTH_PAGE": "true", "MCP_DEPLOYMENT_NAME": "voice-nat",
                              "MCP_PUBLIC_URL": "https://mcp.example.com/"})
    assert (settings.auth_page, settings.deployment_name, settings.public_url) == (
        True, "voice-nat", "https://mcp.example.com")
    with pytest.raises(ConfigError) as raised:
        load_settings({"MCP_SERVER_API_KEY": "x" * 16, "MCP_AUTH_PAGE": "1", "MCP_DEPLOYMENT_NAME": "a b",
                       "MCP_AUTH_PAGE_TOKEN_DAYS": "0", "MCP_PUBLIC_URL": "mcp.example.com"})
    assert sorted(raised.value.problems) == [
        "MCP_AUTH_PAGE: only with MCP_AUTH_MODE tokens",
        "MCP_AUTH_PAGE_TOKEN_DAYS: must be between 1 and 3650 days",
        "MCP_DEPLOYMENT_NAME: must be 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit",
        "MCP_PUBLIC_URL: must be an http(s) origin such as https://mcp.example.com",
    ]
    with pytest.raises(ConfigError) as raised:
        load_settings({**tokens, "MCP_TRUST_RELAY": "true"})
    assert raised.value.problems == ["MCP_SERVER_API_KEY: required when MCP_TRUST_RELAY is true"]
    # Behind the relay in mode api-key too: the relay presents tickets, never the key (issue 15 finding 4).
    assert load_settings({"MCP_SERVER_API_KEY": "x" * 16, "MCP_TRUST_RELAY": "true"}).trust_relay is True


def test_token_authenticator_closes_its_connection_pool():
    from server.aws import JsonApi
    from server.http_clients import new_client
    from server.tokens import TokenAuthenticator

    authenticator = TokenAuthenticator("tokens")
    anyio.run(authenticator.aclose)  # nothing opened yet: nothing to close
    client = new_client(timeout=1)
    authenticator._dynamodb = JsonApi("dynamodb", "DynamoDB_20120810", client)
    anyio.run(authenticator.aclose)
    assert client.is_closed


def test_input_memory_is_sized_from_the_task_memory_and_must_hold_one_call():
    base = {"MCP_SERVER_API_KEY": "x" * 16}
    settings = load_settings(base)
    assert (settings.memory_mib, settings.max_call_input_bytes) == (512, 40 * 1024 * 1024)
    assert settings.input_memory_bytes == 320 * 1024 * 1024 // 3  # a third of what is above the runtime's 192 MiB
    assert load_settings({**base, "MCP_MEMORY_MIB": "2048"}).input_memory_bytes == 1856 * 1024 * 1024 // 3
    with pytest.raises(ConfigError) as raised:
        load_settings({**base, "MCP_MEMORY_MIB": "256"})
    assert raised.value.problems == [
        "MCP_MEMORY_MIB: leaves 22369621 bytes for input audio (a third of what is above 192 MiB), less than one "
        "call's MCP_MAX_CALL_INPUT_BYTES (41943040)"
    ]
    assert load_settings({**base, "MCP_MEMORY_MIB": "256", "MCP_MAX_CALL_INPUT_BYTES": "20000000"}).memory_mib == 256
