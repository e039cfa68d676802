"""The auth page served by `python -m server` (tokens mode) as a real process, against moto DynamoDB and the fake
ElevenLabs API, used with plain HTTP and the SDK's MCP client."""

from __future__ import annotations

import base64
import hashlib
import re
import time

import anyio
import httpx
import pytest

from server.authpage import core, routes
from tests.fakes.elevenlabs_api import FAKE_API_KEY
from tests.server.authpage_harness import (OUTSIDE_CLIENT, SIGNUP_CODE, TOKEN_DAYS, auth_page_server, row_of,
                                          sign_up, stored_rows)
from tests.localaws import aws
from tests.server.harness import ServerProcess, mcp_client, texts

GOOD = {"elevenlabsKey": FAKE_API_KEY, "name": "Alice Smith", "signupCode": SIGNUP_CODE}


@pytest.fixture(scope="module")
def running(fake, tmp_path_factory):
    with auth_page_server(fake, tmp_path_factory.mktemp("authpage")) as running:
        yield running


@pytest.fixture
def server(running):
    return running[0]


def client_address(n: int) -> str:
    """A distinct admitted address per test: the attempts limit counts per address."""
    return f"203.0.113.{n}"


def use(url: str, tool: str | None = None):
    async def run():
        async with mcp_client(url, headers={}) as client:
            tools = await client.list_tools()
            return tools, (await client.call_tool(tool, {}) if tool else None)

    return anyio.run(run)


def test_a_signup_stores_only_the_hash_and_the_url_works_with_the_users_key(server, running, fake):
    moto, table = running[1], running[2]
    before = time.time()
    answer = sign_up(server, GOOD, client=client_address(1))
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    token = body["token"]
    assert re.fullmatch(r"mcpt_[A-Za-z0-9_-]{43}", token)
    assert body["connectionUrl"] == f"{server.base_url}/mcp?key={token}"
    assert [c["title"].split(" ")[0] for c in body["clients"]] == ["Claude", "Cursor", "Claude", "Claude"]
    assert all(body["connectionUrl"] in c["text"] for c in body["clients"])

    row = row_of(moto, table, token)
    assert row is not None and row["name"] == {"S": "Alice Smith"} and row["revoked"] == {"BOOL": False}
    assert row["elevenlabs_key"] == {"S": FAKE_API_KEY}
    created, expires = int(row["created"]["N"]), int(row["expires"]["N"])
    assert before - 1 <= created <= time.time() and expires - created == TOKEN_DAYS * 86400
    assert body["expires"] == core.iso_utc(expires)
    assert all(token not in str(value) for r in stored_rows(moto, table) for value in r.values())

    tools, result = use(body["connectionUrl"], "check_subscription")
    assert len(tools.tools) > 10
    assert not result.is_error, texts(result)
    assert fake.requests[-1].path == "/v1/user/subscription"
    assert fake.requests[-1].headers["xi-api-key"] == "<valid>"  # the server's own key is one the fake rejects


def test_the_connection_url_follows_the_trusted_proxys_scheme(server):
    answer = sign_up(server, {**GOOD, "name": "bob"}, client=client_address(2), headers={"x-forwarded-proto": "https"})
    assert answer.json()["connectionUrl"].startswith(f"https://127.0.0.1:{server.port}/mcp?key=mcpt_")


def test_a_wrong_signup_code_is_a_403_and_stores_nothing(server, running):
    rows = len(stored_rows(running[1], running[2]))
    answer = sign_up(server, {**GOOD, "signupCode": SIGNUP_CODE + "x"}, client=client_address(3))
    assert answer.status_code == 403
    assert answer.json() == {"error": "wrong_signup_code", "message": "That sign-up code is not right."}
    assert len(stored_rows(running[1], running[2])) == rows


def test_a_key_elevenlabs_refuses_is_a_401(server, fake):
    answer = sign_up(server, {**GOOD, "elevenlabsKey": "sk_not_a_real_key"}, client=client_address(4))
    assert answer.status_code == 401
    assert answer.json()["error"] == "elevenlabs_refused_key"
    assert answer.json()["message"].startswith("ElevenLabs refused this key (HTTP 401")
    assert fake.requests[-1].path == "/v1/user" and fake.requests[-1].headers["xi-api-key"] == "<invalid>"


@pytest.mark.parametrize("fault", [{"status": 500}, {"status": 503}, {"reset": True}])
def test_elevenlabs_failing_is_a_502(server, fake, fault):
    fake.add_fault(r"^/v1/user$", **fault)
    answer = sign_up(server, GOOD, client=client_address(5))
    assert answer.status_code == 502, answer.text
    assert answer.json()["error"] in ("elevenlabs_error", "elevenlabs_unreachable")
    assert answer.json()["message"]


def test_elevenlabs_not_answering_in_time_is_a_504(server, fake):
    fake.add_fault(r"^/v1/user$", delay=routes.KEY_CHECK_TIMEOUT_SECONDS + 1, times=1)
    started = time.monotonic()
    answer = sign_up(server, GOOD, client=client_address(11))
    assert answer.status_code == 504 and answer.json()["error"] == "elevenlabs_timeout"
    assert time.monotonic() - started < routes.KEY_CHECK_TIMEOUT_SECONDS + 1


def test_the_eleventh_attempt_in_an_hour_is_a_429_with_retry_after(server):
    client = client_address(6)
    for _ in range(10):
        assert sign_up(server, {**GOOD, "signupCode": "wrong"}, client=client).status_code == 403
    answer = sign_up(server, GOOD, client=client)
    assert answer.status_code == 429
    assert answer.json()["error"] == "too_many_attempts"
    assert 3590 <= int(answer.headers["retry-after"]) <= 3600
    assert sign_up(server, {**GOOD, "signupCode": "wrong"}, client=client_address(7)).status_code == 403


def test_attempts_are_counted_across_tasks_in_the_tokens_table(running, fake, tmp_path):
    """Two tasks behind one load balancer: the per-process limit alone would give a client twice the attempts."""
    first, moto, table = running
    settings = {name: value for name, value in first.env.items() if name != "MCP_PORT"}
    settings["MCP_AUTH_PAGE_ATTEMPTS_PER_HOUR"] = "2"
    a, b = ServerProcess(tmp_path, settings), ServerProcess(tmp_path, settings)
    client = client_address(60)
    try:
        a.start(), b.start()
        assert sign_up(a, {**GOOD, "signupCode": "wrong"}, client=client).status_code == 403
        assert sign_up(b, {**GOOD, "signupCode": "wrong"}, client=client).status_code == 403
        refused = sign_up(a, GOOD, client=client)  # a has counted only one of the client's attempts itself
        assert refused.status_code == 429 and refused.json()["error"] == "too_many_attempts"
        assert 1 <= int(refused.headers["retry-after"]) <= 3600  # until the clock hour ends
    finally:
        a.terminate(), b.terminate()
    hour = int(time.time() // 3600)
    rows = aws(moto.endpoint, "dynamodb", "scan", "--table-name", table).json["Items"]
    [count] = [row for row in rows if row["hash"]["S"] == f"attempts#{client}#{hour}"]
    assert count["attempts"] == {"N": "2"} and int(count["purge_at"]["N"]) == (hour + 2) * 3600


@pytest.mark.parametrize("body, headers, status, error", [
    (b"{not json", {}, 400, "bad_request"),
    (b'{"name": "x", "signupCode": "c"}', {}, 400, "bad_request"),
    (b'{"elevenlabsKey": "k", "name": "x"}', {"content-type": "text/plain"}, 415, "unsupported_media_type"),
    (b"name=x&elevenlabsKey=k", {"content-type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
    (b'{"name": "' + b"x" * 5000 + b'"}', {}, 413, "too_large"),
])
def test_bad_requests(server, body, headers, status, error):
    answer = sign_up(server, body, client=client_address(8), headers=headers)
    assert answer.status_code == status
    assert answer.json()["error"] == error and answer.json()["message"]


def test_an_oversized_chunked_body_is_a_413(server):
    def chunks():
        for _ in range(10):
            yield b" " * 1000

    answer = httpx.post(f"{server.base_url}/auth/token", content=chunks(), timeout=30,
                        headers={"content-type": "application/json", "x-forwarded-for": client_address(9)})
    assert answer.status_code == 413


def test_an_address_outside_the_allowed_networks_gets_403_on_every_auth_route(server):
    for method, path in [("GET", "/auth"), ("GET", "/auth/config.json"), ("POST", "/auth/token")]:
        answer = httpx.request(method, f"{server.base_url}{path}", json=GOOD, headers={"x-forwarded-for": OUTSIDE_CLIENT})
        assert answer.status_code == 403 and answer.json()["message"] == "Client address not allowed"


def test_an_unknown_host_gets_421_on_the_auth_page(server):
    assert httpx.get(f"{server.base_url}/auth", headers={"host": "evil.example"}).status_code == 421


@pytest.mark.parametrize("path", ["/auth", "/auth/"])
def test_the_page_has_a_strict_csp_that_admits_its_own_script(server, path):
    answer = httpx.get(f"{server.base_url}{path}")
    assert answer.status_code == 200 and answer.headers["content-type"] == "text/html; charset=utf-8"
    csp = answer.headers["content-security-policy"]
    script = re.search(r"<script>(.*?)</script>", answer.text, re.DOTALL).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}';" in csp
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "shown once" in answer.text and "secret" in answer.text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", answer.text), "no external assets"


def test_config_json(server):
    answer = httpx.get(f"{server.base_url}/auth/config.json")
    assert answer.json() == {"apiUrl": "token", "deployment": "elevenlabs", "signupCode": True, "tokenDays": TOKEN_DAYS}


def test_the_logs_have_one_line_per_signup_and_no_secret(server):
    answer = sign_up(server, {**GOOD, "name": "logged"}, client=client_address(10))
    token = answer.json()["token"]
    sign_up(server, {**GOOD, "name": "logged", "signupCode": "nope-123456"}, client=client_address(10))
    records = [r for r in server.log_records() if r.get("logger") == "server.authpage" and r.get("name") == "logged"]
    assert [(r["outcome"], r["status"], r["client"]) for r in records] == [
        ("issued", 200, client_address(10)), ("wrong_signup_code", 403, client_address(10))]
    logs = server.stdout() + server.stderr()
    for secret in [token, FAKE_API_KEY, SIGNUP_CODE, "nope-123456"]:
        assert secret not in logs


def test_without_the_page_auth_routes_do_not_exist(main_server):
    for method, path in [("GET", "/auth"), ("GET", "/auth/config.json"), ("POST", "/auth/token")]:
        assert httpx.request(method, f"{main_server.base_url}{path}", json=GOOD).status_code == 404
