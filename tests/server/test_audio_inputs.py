"""server/audio_inputs.py in process: base64 and data: URLs decoded within the size cap, URLs fetched from a
loopback host (the insecure test mode; the SSRF rules themselves are in test_ssrf.py) with redirects, sizes,
status codes, content types and time limits, and every refusal's exact message. Nothing leaves 127.0.0.1."""

from __future__ import annotations

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anyio
import pytest
from mcp.server.mcpserver.exceptions import ToolError

import server.audio_inputs as audio_inputs
from server.audio_inputs import AudioFile, AudioInputs
from server.call_budget import CallAccount, InputMemory, tool_call

from tests.server.test_ssrf import pinned

MAX = 1000  # MCP_MAX_INPUT_BYTES in these tests


class _Handler(BaseHTTPRequestHandler):
    """/r/N redirects N times before /file; /file?size=S&type=T answers S bytes of 'a' (T: content-type, '-':
    none); ?length=L declares L instead of the size, ?chunked=1 declares none; /status/C answers C; /bare-302
    is a redirect without a Location; /slow trickles 10 bytes over 2 s."""

    def do_GET(self):  # noqa: N802
        path, _, query = self.path.partition("?")
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        if path.startswith("/r/"):
            left = int(path[3:])
            self._answer(302, b"", {"Location": f"/r/{left - 1}?{query}" if left > 1 else f"/file?{query}"})
        elif path == "/bare-302":
            self._answer(302, b"", {})
        elif path.startswith("/status/"):
            self._answer(int(path[8:]), b"", {})
        elif path == "/slow":
            self.send_response(200)
            self.send_header("Content-Length", "10")
            self.end_headers()
            try:
                for _ in range(10):
                    self.wfile.write(b"a")
                    self.wfile.flush()
                    threading.Event().wait(0.2)
            except OSError:
                pass  # the fetch gave up: what the tests expect
        else:
            size = int(params.get("size", "5"))
            kind = params.get("type", "audio/mpeg").replace("%20", " ")
            headers = {} if kind == "-" else {"Content-Type": kind}
            self._answer(200, b"a" * size, headers, length=params.get("length"), chunked="chunked" in params)

    def _answer(self, status, body, headers, length=None, chunked=False):
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(body), 100):
                piece = body[start:start + 100]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", length or str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def host():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def new_inputs(*, allow_insecure=True, memory=10_000, call=5000, resolver=None):
    options = {} if resolver is None else {"resolver": resolver}
    return AudioInputs(MAX, allow_insecure, memory=InputMemory(memory), max_call_bytes=call, **options)


def fetch(inputs: AudioInputs, url: str, *, call=5000, seconds=None) -> AudioFile:
    async def run():
        try:
            account = CallAccount(inputs.memory, call, reserved=0)
            if seconds is None:
                return await inputs.fetch(url, "audio_url", account)
            with tool_call(seconds, 0):
                return await inputs.fetch(url, "audio_url", account)
        finally:
            await inputs.aclose()

    return anyio.run(run)


def decode(text: str, *, field="audio_base64", call=5000) -> tuple[AudioFile, int]:
    inputs = new_inputs()
    account = CallAccount(inputs.memory, call, reserved=0)
    return inputs.decode(text, field, account), account.held


def refused(action, *args, **kwargs) -> str:
    with pytest.raises(ToolError) as raised:
        action(*args, **kwargs)
    return str(raised.value)


LIMIT = f"is larger than this server's limit of {MAX} bytes (MCP_MAX_INPUT_BYTES)."


# --- base64 and data: URLs ------------------------------------------------------------------------------------

def test_base64_is_decoded_with_the_bytes_reserved_and_no_type():
    data = bytes(range(200))
    assert decode(base64.b64encode(data).decode()) == (AudioFile(data, "audio", "application/octet-stream"), 201)


def test_a_data_url_gives_its_type_and_whitespace_is_ignored():
    found, _ = decode("data:audio/wav;base64,AAEC\n AwQF\t")
    assert found == AudioFile(bytes(range(6)), "audio", "audio/wav")
    assert decode("data:;base64,AAEC")[0].content_type == "application/octet-stream"


@pytest.mark.parametrize("size", [MAX - 2, MAX - 1, MAX])
def test_base64_up_to_the_limit_passes_whatever_its_padding(size):
    assert len(decode(base64.b64encode(b"x" * size).decode())[0].data) == size


@pytest.mark.parametrize("size", [MAX + 1, MAX + 2, MAX + 3, 10 * MAX])
def test_base64_over_the_limit_is_refused_naming_the_limit(size):
    assert refused(decode, base64.b64encode(b"x" * size).decode()) == f"audio_base64 {LIMIT}"


def test_base64_over_the_limit_is_refused_before_it_is_decoded_or_reserved():
    inputs = new_inputs()
    account = CallAccount(inputs.memory, 5000, reserved=0)
    with pytest.raises(ToolError, match="MCP_MAX_INPUT_BYTES"):
        inputs.decode("!" * (4 * MAX), "audio_base64", account)  # not even base64: the size alone refuses it
    assert account.held == 0


@pytest.mark.parametrize("text, message", [("not base64!", "audio_base64 is not valid base64."),
                                           ("AAA", "audio_base64 is not valid base64."),
                                           ("", "audio_base64 is empty."), ("data:audio/mpeg;base64,",
                                                                            "audio_base64 is empty.")])
def test_bad_or_empty_base64_is_refused(text, message):
    assert refused(decode, text) == message


def test_a_data_url_is_split_at_its_first_comma():
    """A comma inside the data is not base64: refused, not silently cut to what follows it."""
    assert refused(decode, "data:audio/wav;base64,AAAA,AAAA") == "audio_base64 is not valid base64."


@pytest.mark.parametrize("length, message", [(1337, "audio_base64 is not valid base64."),
                                             (1338, f"audio_base64 {LIMIT}")])
def test_the_size_before_decoding_is_3_bytes_per_4_characters_less_2_for_padding(length, message):
    """1337 characters stand for at most 1002 bytes (1000 once 2 of padding are allowed for): not too large, but
    not base64 either; 1338 stand for 1003: too large before any decoding."""
    assert refused(decode, "A" * length) == message


def test_base64_counts_against_the_calls_inputs():
    message = refused(decode, base64.b64encode(b"x" * 900).decode(), field="voice_base64", call=800)
    assert message == ("The inputs of one call are limited to 800 bytes in all (MCP_MAX_CALL_INPUT_BYTES); "
                       "voice_base64 goes past that. Give fewer or shorter recordings.")


# --- one call's inputs ----------------------------------------------------------------------------------------

def test_a_call_reserves_the_most_its_inputs_can_hold_and_gives_it_back():
    inputs = new_inputs()
    with inputs.for_call(urls=["https://a", None, "https://b"], base64_texts=["A" * 400, None]):
        assert inputs.memory.in_use == 2 * MAX + 300
    assert inputs.memory.in_use == 0
    with pytest.raises(RuntimeError), inputs.for_call(urls=["https://a"]):
        raise RuntimeError  # given back even when the call fails
    assert inputs.memory.in_use == 0


def test_a_call_is_capped_at_the_calls_share():
    inputs = new_inputs(call=1500)
    with inputs.for_call(urls=["https://a", "https://b"]):
        assert inputs.memory.in_use == 1500


def test_load_takes_exactly_one_of_url_or_base64_and_names_the_field():
    inputs = new_inputs()

    async def load(url, data, **field):
        with inputs.for_call([url], [data]) as call:
            return await call.load(url, data, **field)

    expected = "Give exactly one of voice_url (an https URL) or voice_base64 (the file's bytes)."
    assert refused(anyio.run, lambda: load(None, None, field="voice")) == expected
    assert refused(anyio.run, lambda: load("https://a/x", "AAAA", field="voice")) == expected
    assert refused(anyio.run, lambda: load(None, "!!", field="voice")) == "voice_base64 is not valid base64."
    assert anyio.run(lambda: load(None, "AAEC")).data == bytes(range(3))
    assert refused(anyio.run, lambda: load("ftp://a/x", None)) == "audio_url must be an https:// URL."


def test_a_url_is_fetched_through_the_call(host):
    inputs = new_inputs()

    async def load():
        try:
            with inputs.for_call([f"{host}/file?size=7"]) as call:
                return await call.load(f"{host}/file?size=7", None)
        finally:
            await inputs.aclose()

    assert anyio.run(load) == AudioFile(b"a" * 7, "file", "audio/mpeg")


# --- URLs -----------------------------------------------------------------------------------------------------

def test_a_file_is_fetched_with_its_name_and_type(host):
    assert fetch(new_inputs(), f"{host}/file?size=12&type=audio/ogg;%20codecs=opus") == \
        AudioFile(b"a" * 12, "file", "audio/ogg")
    assert fetch(new_inputs(), f"{host}/file?type=-").content_type == "application/octet-stream"


@pytest.mark.parametrize("url, name", [("/dir/b%20c.mp3", "b c.mp3"), ("/", "audio"), ("/" + "n" * 150, "n" * 100)])
def test_the_filename_is_the_urls_last_segment_unquoted_and_at_most_100_characters(url, name):
    assert audio_inputs._filename("https://h" + url) == name


@pytest.mark.parametrize("hops", [1, 3])
def test_up_to_3_redirects_are_followed(host, hops):
    assert fetch(new_inputs(), f"{host}/r/{hops}?size=9").data == b"a" * 9


def test_a_4th_redirect_is_refused(host):
    assert refused(fetch, new_inputs(), f"{host}/r/4") == "Fetching audio_url failed: more than 3 redirects."


@pytest.mark.parametrize("path, status", [("/status/404", 404), ("/status/500", 500), ("/status/204", 204),
                                          ("/bare-302", 302)])
def test_any_answer_but_200_is_refused_naming_the_status(host, path, status):
    assert refused(fetch, new_inputs(), host + path) == \
        f"Fetching audio_url failed: the server answered HTTP {status}."


@pytest.mark.parametrize("query", ["size=1001", "size=5&length=1001", "size=1001&chunked=1"])
def test_a_file_over_the_limit_is_refused_declared_or_not(host, query):
    assert refused(fetch, new_inputs(), f"{host}/file?{query}") == f"audio_url {LIMIT}"


@pytest.mark.parametrize("query", ["size=1000", "size=1000&chunked=1"])
def test_a_file_of_exactly_the_limit_passes(host, query):
    assert len(fetch(new_inputs(), f"{host}/file?{query}").data) == MAX


def test_a_fetched_file_counts_against_the_calls_inputs(host):
    assert refused(fetch, new_inputs(), f"{host}/file?size=600&chunked=1", call=500) == (
        "The inputs of one call are limited to 500 bytes in all (MCP_MAX_CALL_INPUT_BYTES); audio_url goes past "
        "that. Give fewer or shorter recordings.")


def test_the_client_is_closed_after_use(host):
    inputs = new_inputs()
    fetch(inputs, f"{host}/file")
    assert inputs.__dict__["_client"].is_closed


def test_an_unreachable_host_is_refused_naming_the_error():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert refused(fetch, new_inputs(), f"http://127.0.0.1:{port}/a") == "Fetching audio_url failed: ConnectError."


def test_a_slow_file_is_cut_at_the_calls_deadline(host):
    assert refused(fetch, new_inputs(), f"{host}/slow", seconds=0.3) == (
        "Fetching audio_url did not finish within what was left of this call's time budget "
        "(MCP_UPSTREAM_BUDGET_SECONDS covers fetching inputs and calling ElevenLabs). "
        "Use faster or fewer input URLs, or base64.")


def test_a_slow_file_is_cut_at_the_fetch_timeout(host, monkeypatch):
    monkeypatch.setattr(audio_inputs, "FETCH_TIMEOUT_SECONDS", 0.3)
    assert refused(fetch, new_inputs(), f"{host}/slow") == "Fetching audio_url took longer than 0.3 s."
    assert refused(fetch, new_inputs(), f"{host}/slow", seconds=5) == "Fetching audio_url took longer than 0.3 s."


# --- the pinned request ---------------------------------------------------------------------------------------

def resolving_to(*answer, calls=None):
    async def resolver(host, port):
        if calls is not None:
            calls.append((host, port))
        if answer == ("fail",):
            raise OSError("no such host")
        return list(answer)

    return resolver


@pytest.mark.parametrize("url, port", [("https://audio.example.com/a", 443), ("http://audio.example.com/a", 80),
                                       ("https://audio.example.com:8443/a", 8443)])
def test_the_default_port_follows_the_scheme(url, port):
    calls = []
    request = pinned(new_inputs(resolver=resolving_to("93.184.216.34", calls=calls)), url)
    assert calls == [("audio.example.com", port)] and request.url.port in (port, None)
    assert str(request.url).startswith(f"{url.partition(':')[0]}://93.184.216.34")


def test_an_ipv6_address_is_pinned_in_brackets_with_the_first_address_used():
    request = pinned(new_inputs(resolver=resolving_to("2606:2800:220:1::1", "93.184.216.34")), "https://a.example:8443/x")
    assert str(request.url) == "https://[2606:2800:220:1::1]:8443/x"
    assert request.headers["host"] == "a.example:8443"


@pytest.mark.parametrize("url", ["http://a.example/x", "ftp://a.example/x", "https:///x", "a.example/x"])
def test_production_rules_take_only_https_urls_with_a_host(url):
    inputs = new_inputs(allow_insecure=False, resolver=resolving_to("93.184.216.34"))
    assert refused(pinned, inputs, url) == "audio_url must be an https:// URL."


def test_the_insecure_test_mode_takes_http_and_private_addresses_but_still_not_ftp():
    assert pinned(new_inputs(resolver=resolving_to("10.0.0.7")), "http://a.example/x").url.host == "10.0.0.7"
    assert refused(pinned, new_inputs(), "ftp://127.0.0.1/x") == "audio_url must be an https:// URL."


@pytest.mark.parametrize("answer", [("fail",), (), ("not-an-address",), ("93.184.216.34", "bogus")])
def test_a_host_that_does_not_resolve_to_addresses_is_refused(answer):
    inputs = new_inputs(allow_insecure=False, resolver=resolving_to(*answer))
    assert refused(pinned, inputs, "https://a.example/x") == "Fetching audio_url failed: cannot resolve host 'a.example'."


def test_a_literal_address_is_not_resolved():
    calls = []
    request = pinned(new_inputs(allow_insecure=False, resolver=resolving_to(calls=calls)), "https://93.184.216.34/x")
    assert calls == [] and request.url.host == "93.184.216.34"


def test_the_system_resolver_answers_each_address_of_the_host_asked_once():
    assert anyio.run(audio_inputs.resolve, "127.0.0.2", 443) == ["127.0.0.2"]  # a numeric host: no DNS query


def test_aclose_without_a_fetch_opens_no_client():
    inputs = new_inputs()
    anyio.run(inputs.aclose)
    assert "_client" not in inputs.__dict__
