"""Input audio for tools: an https URL fetched by the server, or base64 in the call.

A remote server cannot read the client's disk, so it never takes a path. Fetching a
URL on a user's behalf is an SSRF risk, so a URL must be https, every address its host
resolves to must be public (no private, loopback, link-local or metadata addresses, nor an IPv6 form embedding
one: NAT64, 6to4, Teredo, IPv4-mapped/-translated/-compatible; see server.network.is_public),
the connection goes to the address that was checked (no DNS-rebinding window),
redirects are re-checked hop by hop, and size and time are capped: each input at MCP_MAX_INPUT_BYTES, a call's
inputs together and the server's at their share of memory, and the time at the call's deadline (server.call_budget).
MCP_ALLOW_INSECURE_INPUT_URLS=true lifts the scheme and address rules: tests only.
"""

from __future__ import annotations

import base64
import binascii
import functools
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

import anyio
import httpx2
from mcp.server.mcpserver.exceptions import ToolError

from server.call_budget import CallAccount, InputMemory, seconds_left
from server.http_clients import new_client
from server.network import IPAddress, is_public, parse_address

FETCH_TIMEOUT_SECONDS = 10.0
MAX_REDIRECTS = 3


@dataclass(frozen=True)
class AudioFile:
    data: bytes
    filename: str
    content_type: str

    def as_upload(self) -> tuple[str, bytes, str]:
        """The (filename, bytes, type) triple httpx2 sends as a multipart file."""
        return (self.filename, self.data, self.content_type)


async def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, from the system resolver (resolved once per fetch: see _pinned_request)."""
    return [info[4][0] for info in await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


class AudioInputs:
    """The network side of input audio (the pinned, checked fetch), shared by all calls; `for_call()` gives one
    call its inputs, counted against its share of the server's input memory (server.call_budget)."""

    def __init__(self, max_bytes: int, allow_insecure: bool, *, memory: InputMemory, max_call_bytes: int,
                 resolver: Callable[[str, int], Awaitable[list[str]]] = resolve):
        self.max_bytes = max_bytes
        self.allow_insecure = allow_insecure
        self.memory = memory
        self.max_call_bytes = max_call_bytes
        self._resolve = resolver  # the tests' seam: a resolver answering what an attacker's DNS would

    @functools.cached_property
    def _client(self) -> httpx2.AsyncClient:
        return new_client(timeout=FETCH_TIMEOUT_SECONDS)

    async def aclose(self) -> None:
        if "_client" in self.__dict__:
            await self._client.aclose()

    @contextmanager
    def for_call(self, urls: Sequence[str | None] = (), base64_texts: Sequence[str | None] = ()
                 ) -> Iterator[CallInputs]:
        """One tool call's inputs, given as the URLs and base64 texts it will load (None: not given). Admission
        takes the most they can hold (ServerBusy when the server's input memory has no room for that); it is
        given back when the block ends, after the upload."""
        most = sum(self.max_bytes for url in urls if url is not None)
        most += sum(len(text) * 3 // 4 for text in base64_texts if text is not None)
        account = CallAccount(self.memory, self.max_call_bytes, reserved=most)
        try:
            yield CallInputs(self, account)
        finally:
            account.close()

    async def fetch(self, url: str, field: str, account: CallAccount) -> AudioFile:
        limit = seconds_left(FETCH_TIMEOUT_SECONDS)
        try:
            with anyio.fail_after(limit):
                return await self._fetch_following_redirects(url, field, account)
        except TimeoutError:
            if limit < FETCH_TIMEOUT_SECONDS:
                raise ToolError(
                    f"Fetching {field} did not finish within what was left of this call's time budget "
                    "(MCP_UPSTREAM_BUDGET_SECONDS covers fetching inputs and calling ElevenLabs). "
                    "Use faster or fewer input URLs, or base64."
                ) from None
            raise ToolError(f"Fetching {field} took longer than {FETCH_TIMEOUT_SECONDS:g} s.") from None
        except httpx2.HTTPError as exc:
            raise ToolError(f"Fetching {field} failed: {type(exc).__name__}.") from None

    async def _fetch_following_redirects(self, url: str, field: str, account: CallAccount) -> AudioFile:
        for _ in range(MAX_REDIRECTS + 1):
            request = await self._pinned_request(url, field)
            response = await self._client.send(request, stream=True)
            try:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise ToolError(f"Fetching {field} failed: the server answered HTTP {response.status_code}.")
                data = await self._read_capped(response, field, account)
            finally:
                await response.aclose()
            content_type = response.headers.get("content-type", "application/octet-stream").split(";")[0]
            return AudioFile(data, _filename(url), content_type)
        raise ToolError(f"Fetching {field} failed: more than {MAX_REDIRECTS} redirects.")

    async def _pinned_request(self, url: str, field: str) -> httpx2.Request:
        """A request to the checked address of `url`'s host, with the original Host and TLS name."""
        parts = urlsplit(url)
        allowed_schemes = ("https", "http") if self.allow_insecure else ("https",)
        if parts.scheme not in allowed_schemes or not parts.hostname:
            raise ToolError(f"{field} must be an https:// URL.")
        host = parts.hostname
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = await self._checked_address(host, port, field)
        literal = f"[{address}]" if address.version == 6 else str(address)
        pinned = parts._replace(netloc=f"{literal}:{port}").geturl()
        host_header = parts.netloc.rpartition("@")[2]  # never forward userinfo
        return self._client.build_request(
            "GET", pinned, headers={"host": host_header}, extensions={"sni_hostname": host}
        )

    async def _checked_address(self, host: str, port: int, field: str) -> IPAddress:
        literal = parse_address(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                addresses = [parse_address(text) for text in await self._resolve(host, port)]
            except OSError:
                raise ToolError(f"Fetching {field} failed: cannot resolve host {host!r}.") from None
        if not addresses or None in addresses:
            raise ToolError(f"Fetching {field} failed: cannot resolve host {host!r}.")
        if not self.allow_insecure and not all(is_public(a) for a in addresses):
            raise ToolError(
                f"{field} points to a private, loopback or link-local address; only public hosts are allowed."
            )
        return addresses[0]

    async def _read_capped(self, response: httpx2.Response, field: str, account: CallAccount) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit():
            self._check_size(int(declared), field)
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            self._check_size(size, field)
            account.reserve(len(chunk), field)
            chunks.append(chunk)
        return b"".join(chunks)

    def decode(self, text: str, field: str, account: CallAccount) -> AudioFile:
        content_type = "application/octet-stream"
        if text.startswith("data:"):  # data:audio/mpeg;base64,....
            header, _, text = text.partition(",")
            content_type = header[5:].split(";")[0] or content_type
        compact = "".join(text.split())
        decoded_size = len(compact) * 3 // 4  # before decoding: 4 characters carry 3 bytes (at most)
        self._check_size(decoded_size - 2, field)
        account.reserve(decoded_size, field)
        try:
            data = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            raise ToolError(f"{field} is not valid base64.") from None
        self._check_size(len(data), field)
        if not data:
            raise ToolError(f"{field} is empty.")
        return AudioFile(data, "audio", content_type)

    def _check_size(self, size: int, field: str) -> None:
        if size > self.max_bytes:
            raise ToolError(
                f"{field} is larger than this server's limit of {self.max_bytes} bytes (MCP_MAX_INPUT_BYTES)."
            )


class CallInputs:
    """The input audio of one tool call (from `AudioInputs.for_call`)."""

    def __init__(self, inputs: AudioInputs, account: CallAccount):
        self._inputs = inputs
        self._account = account

    async def load(self, url: str | None, data: str | None, *, field: str = "audio") -> AudioFile:
        """The audio given as `<field>_url` or `<field>_base64` (exactly one of them)."""
        if (url is None) == (data is None):
            raise ToolError(f"Give exactly one of {field}_url (an https URL) or {field}_base64 (the file's bytes).")
        if data is not None:
            return self.decode(data, field=f"{field}_base64")
        return await self.fetch(url, field=f"{field}_url")

    async def fetch(self, url: str, *, field: str) -> AudioFile:
        return await self._inputs.fetch(url, field, self._account)

    def decode(self, text: str, *, field: str) -> AudioFile:
        return self._inputs.decode(text, field, self._account)


def _filename(url: str) -> str:
    name = unquote(urlsplit(url).path.rpartition("/")[2])
    return name[:100] or "audio"
