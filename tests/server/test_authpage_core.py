"""server/authpage/core.py and server/token_rows.py: the auth page's logic without I/O."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys

import pytest

from server.authpage import core
from server.authpage.core import AttemptLimiter, SignupError, parse_request
from server.token_rows import new_token, to_attribute_values

KEY = "sk_0123456789abcdef"


def body(**fields) -> bytes:
    return json.dumps({"elevenlabsKey": KEY, "name": "Alice Smith", "signupCode": "open sesame", **fields}).encode()


def refused(raw: bytes, required: bool = True) -> SignupError:
    with pytest.raises(SignupError) as caught:
        parse_request(raw, required)
    return caught.value


# --- token rows ---

def test_new_token_row_holds_the_hash_never_the_token():
    token, item = new_token("alice", expires_days=7, elevenlabs_key=KEY, now=1_000_000)
    assert token.startswith("mcpt_") and len(token) == 5 + 43
    assert item == {"hash": hashlib.sha256(token.encode()).hexdigest(), "name": "alice", "created": 1_000_000,
                    "revoked": False, "expires": 1_000_000 + 7 * 86400, "elevenlabs_key": KEY}
    assert token not in json.dumps(item)


def test_new_token_without_expiry_or_key_has_neither_field():
    token, item = new_token("bob")
    assert set(item) == {"hash", "name", "created", "revoked"}
    assert new_token("bob")[0] != token


def test_rows_become_dynamodb_attribute_values():
    _, item = new_token("carol", expires_days=1, elevenlabs_key=KEY, now=5)
    assert to_attribute_values(item) == {"hash": {"S": item["hash"]}, "name": {"S": "carol"}, "created": {"N": "5"},
                                         "revoked": {"BOOL": False}, "expires": {"N": "86405"},
                                         "elevenlabs_key": {"S": KEY}}
    with pytest.raises(TypeError, match="not float"):
        to_attribute_values({"x": 1.5})


# --- request validation ---

def test_a_good_request_is_parsed_and_trimmed():
    request = parse_request(body(elevenlabsKey=f"  {KEY}\n", name=" Alice Smith "), True)
    assert (request.elevenlabs_key, request.name, request.signup_code) == (KEY, "Alice Smith", "open sesame")
    assert KEY not in repr(request) and "open sesame" not in repr(request)


def test_without_a_required_code_the_code_is_ignored():
    assert parse_request(body(signupCode=None), False).signup_code == ""


@pytest.mark.parametrize("raw, message", [
    (b"{not json", "not JSON"),
    (b"\xff\xfe", "not JSON"),
    (b"[1, 2]", "JSON object"),
    (body(elevenlabsKey=""), "Paste your ElevenLabs API key"),
    (body(elevenlabsKey=123), "Paste your ElevenLabs API key"),
    (body(elevenlabsKey="sk with space"), "not an ElevenLabs API key"),
    (body(elevenlabsKey="sk_\u00e9t\u00e9"), "not an ElevenLabs API key"),
    (body(elevenlabsKey="sk\r\nX-Injected: 1"), "not an ElevenLabs API key"),
    (body(elevenlabsKey="k" * 257), "not an ElevenLabs API key"),
    (body(name=""), "name of 1 to 64"),
    (body(name="   "), "name of 1 to 64"),
    (body(name="a" * 65), "name of 1 to 64"),
    (body(name="<script>"), "name of 1 to 64"),
    (body(name=["alice"]), "name of 1 to 64"),
    (body(signupCode=""), "sign-up code"),
    (body(signupCode=7), "sign-up code"),
])
def test_bad_input_is_a_400_with_a_message(raw, message):
    error = refused(raw)
    assert (error.status, error.body()["error"]) == (400, "bad_request")
    assert message in error.body()["message"]


def test_the_longest_accepted_values():
    request = parse_request(body(elevenlabsKey="k" * 256, name="a.b_c@d-e 9" + "x" * 53), True)
    assert len(request.elevenlabs_key) == 256 and len(request.name) == 64


def test_an_oversized_body_is_a_413():
    assert refused(b" " * 4097).status == 413
    assert parse_request(body() + b" " * (4096 - len(body())), True).name == "Alice Smith"


def test_an_overlong_code_is_simply_wrong():
    assert refused(body(signupCode="c" * 257)).status == 403


# --- sign-up code ---

def test_the_signup_code_must_match_exactly():
    core.check_signup_code("open sesame", "open sesame")
    for wrong in ["open sesam", "open sesame ", "OPEN SESAME", "", "\u00e9"]:
        with pytest.raises(SignupError) as caught:
            core.check_signup_code(wrong, "open sesame")
        assert caught.value.status == 403 and caught.value.code == "wrong_signup_code"


# --- attempts limiter ---

class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_limiter_allows_n_attempts_per_sliding_hour_per_address():
    clock = Clock()
    limiter = AttemptLimiter(3, clock=clock)
    for _ in range(3):
        assert limiter.attempt("10.0.0.1") is None
        clock.now += 100
    assert limiter.attempt("10.0.0.1") == 3600 - 300  # the first attempt leaves the window then
    assert limiter.attempt("10.0.0.2") is None  # other addresses are counted apart
    clock.now = 1000.0 + 3600
    assert limiter.attempt("10.0.0.1") is None  # the first attempt has left the window
    assert limiter.attempt("10.0.0.1") == 100  # the second leaves in 100 s
    clock.now += 100
    assert limiter.attempt("10.0.0.1") is None


def test_refused_attempts_do_not_extend_the_wait():
    clock = Clock()
    limiter = AttemptLimiter(1, clock=clock)
    assert limiter.attempt("a") is None
    for _ in range(50):
        clock.now += 60
        limiter.attempt("a")
    clock.now = 1000.0 + 3600
    assert limiter.attempt("a") is None


def test_check_raises_a_429_with_retry_after():
    limiter = AttemptLimiter(1, clock=Clock())
    limiter.check("a")
    with pytest.raises(SignupError) as caught:
        limiter.check("a")
    error = caught.value
    assert (error.status, error.code, error.headers()) == (429, "too_many_attempts", {"Retry-After": "3600"})
    assert "about 60 minutes" in error.message


def test_unknown_addresses_share_one_bucket():
    limiter = AttemptLimiter(1, clock=Clock())
    assert limiter.attempt(None) is None
    assert limiter.attempt(None) is not None


def test_the_limiter_forgets_the_least_recently_seen_addresses_under_their_limit_first():
    clock = Clock()
    limiter = AttemptLimiter(2, clock=clock, max_clients=3)
    for address in ["10.0.0.1", "10.0.0.2", "10.0.0.3"]:
        limiter.attempt(address)
    limiter.attempt("10.0.0.1")  # seen again: now the most recent, and at its limit
    limiter.attempt("10.0.0.4")
    assert len(limiter) == 3
    assert limiter.attempt("10.0.0.1") is not None  # kept
    assert limiter.attempt("10.0.0.3") is None  # kept (it was not the least recently seen)
    assert limiter.attempt("10.0.0.2") is None  # forgotten: counted afresh (10.0.0.4 was forgotten for it)


def test_an_address_over_its_limit_is_never_forgotten_however_many_others_come():
    limiter = AttemptLimiter(10, clock=Clock())  # room for 10,000 addresses
    for _ in range(10):
        limiter.attempt("198.51.100.1")
    for n in range(10_099):
        limiter.attempt(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
    assert limiter.attempt("198.51.100.1") is not None


def test_when_every_remembered_address_is_at_its_limit_new_ones_wait_for_the_first_to_free():
    clock = Clock()
    limiter = AttemptLimiter(1, clock=clock, max_clients=3)
    for address in ["10.0.0.1", "10.0.0.2", "10.0.0.3"]:
        assert limiter.attempt(address) is None
        clock.now += 10
    assert limiter.attempt("10.0.0.4") == 3600 - 30  # fail closed: the table is full of blocked addresses
    assert limiter.attempt("10.0.0.1") == 3600 - 30  # and they stay blocked
    clock.now = 1000.0 + 3600
    assert limiter.attempt("10.0.0.4") is None  # 10.0.0.1's hour is over: it is forgotten for 10.0.0.4
    assert len(limiter) == 3


def test_ipv6_is_counted_per_64_and_ipv4_mapped_as_ipv4():
    limiter = AttemptLimiter(1, clock=Clock())
    assert limiter.attempt("2001:db8::1") is None
    assert limiter.attempt("2001:db8::2") is not None  # the same /64
    assert limiter.attempt("2001:db8::ffff:ffff:ffff:ffff") is not None
    assert limiter.attempt("2001:db8:0:1::1") is None  # the next /64
    assert limiter.attempt("192.0.2.1") is None
    assert limiter.attempt("::ffff:192.0.2.1") is not None
    assert core.client_key("2001:db8::1") == "2001:db8::/64" and core.client_key(None) == "unknown"


def test_the_limiter_memory_is_bounded_by_default():
    limiter = AttemptLimiter(10)
    for n in range(20_000):
        limiter.attempt(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
    assert len(limiter) == core.MAX_TRACKED_ATTEMPTS // 10
    with pytest.raises(ValueError):
        AttemptLimiter(0)


# --- what the page reads ---

def test_config_json():
    assert core.config_json("token", "voice", True, 90) == {
        "apiUrl": "token", "deployment": "voice", "signupCode": True, "tokenDays": 90}


def test_clients_for_http_carry_the_connection_url():
    token = "mcpt_abc-_XYZ"
    url = "https://mcp.example.com/mcp?key=mcpt_abc-_XYZ"
    clients = core.clients_for_http("https://mcp.example.com/mcp", token, "Voice Prod")
    assert [c["kind"] for c in clients] == ["command", "json", "url", "json"]
    assert all(url in c["text"] for c in clients)
    assert clients[0]["text"] == f"claude mcp add --transport http voice-prod '{url}'"
    assert json.loads(clients[1]["text"]) == {"mcpServers": {"voice-prod": {"url": url}}}
    assert clients[2]["text"] == url
    assert json.loads(clients[3]["text"]) == {
        "mcpServers": {"voice-prod": {"command": "npx", "args": ["-y", "mcp-remote", url]}}}
    assert [c["title"].split(" ")[0] for c in clients] == ["Claude", "Cursor", "Claude", "Claude"]


def test_client_names_are_safe_for_every_client():
    assert core.client_name("My Voice / prod") == "my-voice-prod"
    assert core.client_name("***") == "elevenlabs"


def test_success_body():
    answer = core.success_body("mcpt_a/b", "https://h/mcp", 86400, [])
    assert answer == {"token": "mcpt_a/b", "connectionUrl": "https://h/mcp?key=mcpt_a%2Fb",
                      "expires": "1970-01-02T00:00:00Z", "clients": []}
    assert core.iso_utc(None) is None


def test_the_csp_admits_exactly_the_pages_inline_blocks():
    html = "<style>p{}</style><p>x</p><script>go()</script><script>more()</script>"
    csp = core.content_security_policy(html, connect_src="https://api.example.com")
    sha = {text: base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() for text in ("p{}", "go()", "more()")}
    assert f"script-src 'sha256-{sha['go()']}' 'sha256-{sha['more()']}';" in csp
    assert f"style-src 'sha256-{sha['p{}']}';" in csp
    assert "connect-src https://api.example.com;" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'none';" in core.content_security_policy("<p>static</p>")


def test_core_imports_nothing_heavy():
    code = ("import sys, server.authpage.core, server.token_rows; "
            "print(sorted(m for m in ('pydantic', 'httpx', 'httpx2', 'mcp', 'starlette', 'botocore') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
