"""A fake ElevenLabs API: a real HTTP server on 127.0.0.1 with fault injection.

In-process:
    with FakeElevenLabs(port=0) as fake:
        client = ElevenLabs(api_key=FAKE_API_KEY, base_url=fake.url)
        fake.add_fault(r"^/v1/text-to-speech/", status=429, times=1)

As a process (prints one line `LISTENING http://127.0.0.1:PORT`, runs until SIGTERM/SIGINT):
    python -m tests.fakes.elevenlabs_api --port 0 [--fault-rate 0.1] [--fault-statuses 429,500,503]

Every request to /v1 or /v2 is recorded, waits `latency` seconds, meets the first applicable
fault, is checked for the `xi-api-key` header, then served by the route table (routes_*.py).
"""

from __future__ import annotations

import argparse
import hmac
import signal
import sys
import threading
from typing import Any, NamedTuple

from . import routes_audio, routes_convai, routes_voices  # noqa: F401  (importing registers the routes)
from .control import PREFIX as CONTROL_PREFIX
from .control import handle_control
from .errors import ApiError
from .faults import Fault, FaultTable
from .http_handler import FakeHTTPServer
from .messages import Request, Response
from .routing import dispatch
from .state import FakeState

FAKE_API_KEY = "sk_fake_valid_key"
DEFAULT_LATENCY = 0.002  # seconds added to every API request; set 0 for benchmarks
_SECRET_HEADERS = ("authorization", "cookie")


class RecordedRequest(NamedTuple):
    method: str
    path: str  # without the query string
    headers: dict[str, str]  # xi-api-key shown as "<valid>"/"<invalid>", other secrets as "<redacted>"


class FakeElevenLabs:
    def __init__(self, port: int = 0, *, latency: float = DEFAULT_LATENCY, seed: int | None = None):
        self.port = port
        self.latency = latency
        self.requests: list[RecordedRequest] = []
        self.faults = FaultTable(seed)
        self.state = FakeState()
        self._server: FakeHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeElevenLabs:
        self._stopping.clear()
        self._server = FakeHTTPServer(self.port, self._handle)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-elevenlabs", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # ends pending delays at once
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._server = None

    def __enter__(self) -> FakeElevenLabs:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def add_fault(
        self,
        path_regex: str,
        status: int | list[int] | None = None,
        delay: float = 0.0,
        reset: bool = False,
        times: int | None = None,
        probability: float = 1.0,
        body: Any = None,
        retry_after: int = 1,
    ) -> Fault:
        """Inject a fault for request paths matching `path_regex` (re.search). See faults.Fault."""
        fault = Fault(path_regex, status, delay, reset, times, probability, body, retry_after)
        return self.faults.add(fault)

    def clear_faults(self) -> None:
        self.faults.clear()

    def _handle(self, request: Request) -> Response | None:
        if request.path.startswith(CONTROL_PREFIX):
            return handle_control(self, request)
        self.requests.append(RecordedRequest(request.method, request.path, _redacted(request.headers)))
        if self.latency > 0:
            self._stopping.wait(self.latency)
        hit = self.faults.take(request.path)
        if hit is not None:
            fault, status = hit
            if fault.delay > 0:
                self._stopping.wait(fault.delay)
            if fault.reset:
                return None
            if status is not None:
                return _fault_response(fault, status)
        if not _key_is_valid(request.headers.get("xi-api-key")):
            raise _auth_error(request.headers)
        return dispatch(request, self.state)


def _key_is_valid(key: str | None) -> bool:
    return key is not None and hmac.compare_digest(key.encode(), FAKE_API_KEY.encode())


def _auth_error(headers: dict[str, str]) -> ApiError:
    if "xi-api-key" not in headers:
        message = "Neither authorization header nor xi-api-key received, please provide one."
        return ApiError(401, "needs_authorization", message)
    return ApiError(401, "invalid_api_key", "Invalid API key")


def _redacted(headers: dict[str, str]) -> dict[str, str]:
    shown = dict(headers)
    if "xi-api-key" in shown:
        shown["xi-api-key"] = "<valid>" if _key_is_valid(shown["xi-api-key"]) else "<invalid>"
    for name in _SECRET_HEADERS:
        if name in shown:
            shown[name] = "<redacted>"
    return shown


def _fault_response(fault: Fault, status: int) -> Response:
    headers = {"Retry-After": str(fault.retry_after)} if status in (429, 503) else {}
    if fault.body is None:
        return Response.json(ApiError(status).body(), status, headers)
    if isinstance(fault.body, (str, bytes)):
        body = fault.body.encode() if isinstance(fault.body, str) else fault.body
        return Response(status, body, "text/plain; charset=utf-8", headers)
    return Response.json(fault.body, status, headers)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    fake = FakeElevenLabs(port=args.port, latency=args.latency, seed=args.seed)
    if args.fault_rate > 0:
        fake.add_fault(r"^/v\d+/", status=args.fault_statuses, probability=args.fault_rate)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        fake.start()
    except OSError as error:
        print(f"fake-elevenlabs: cannot listen on 127.0.0.1:{args.port}: {error.strerror}", file=sys.stderr)
        return 1
    print(f"LISTENING {fake.url}", flush=True)
    while not stop.wait(0.5):
        pass
    fake.stop()
    return 0


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.elevenlabs_api", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=_port, default=0, help="TCP port on 127.0.0.1 (0: pick a free one)")
    parser.add_argument("--fault-rate", type=_rate, default=0.0, help="share of API requests that fail (0..1)")
    parser.add_argument(
        "--fault-statuses", type=_statuses, default=[429, 500, 503], help="comma-separated error codes to pick from"
    )
    parser.add_argument("--latency", type=_seconds, default=DEFAULT_LATENCY, help="seconds added to each request")
    parser.add_argument("--seed", type=int, default=None, help="seed for the fault dice (reproducible runs)")
    return parser.parse_args(argv)


def _port(text: str) -> int:
    return _checked(text, int, lambda v: 0 <= v <= 65535, "a port number 0-65535")


def _rate(text: str) -> float:
    return _checked(text, float, lambda v: 0 <= v <= 1, "a number from 0 to 1")


def _seconds(text: str) -> float:
    return _checked(text, float, lambda v: v >= 0, "a number of seconds >= 0")


def _statuses(text: str) -> list[int]:
    def parse(value: str) -> list[int]:
        return [int(part) for part in value.split(",")]

    return _checked(text, parse, lambda codes: all(400 <= c <= 599 for c in codes), "comma-separated codes 400-599")


def _checked(text: str, convert, valid, expected: str):
    try:
        value = convert(text)
    except ValueError:
        value = None
    if value is None or not valid(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not {expected}")
    return value


if __name__ == "__main__":
    sys.exit(main())
