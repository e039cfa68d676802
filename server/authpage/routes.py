"""The auth page on the server: GET /auth (and /auth/), GET /auth/config.json, POST /auth/token.

The Gate in front checks Host and the client's network (MCP_ALLOWED_CIDRS) and sets the client address; these
routes need no credential. A sign-up: one attempt counted for the client address in this process, body
checks, the attempt counted in the tokens table across tasks, the sign-up code, the ElevenLabs key checked with
GET /v1/user, then a new row PutItem'd into the tokens table.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import httpx2
from mcp.server.mcpserver import MCPServer
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.authpage import core
from server.aws import AwsError, JsonApi
from server.config import Settings
from server.elevenlabs import ElevenLabsAPI, error_detail
from server.http_clients import new_client
from server.network import IPNetwork, parse_address
from server.token_rows import new_token, to_attribute_values

PAGE = Path(__file__).with_name("page.html")
API_PATH = "token"  # relative to config.json: /auth/token
KEY_CHECK_TIMEOUT_SECONDS = 10.0
PUT_TIMEOUT_SECONDS = 5.0

logger = logging.getLogger("server.authpage")


class AuthPage:
    def __init__(self, settings: Settings, elevenlabs: ElevenLabsAPI, mcp_path: str):
        self.settings = settings
        self.mcp_path = mcp_path
        self.elevenlabs = elevenlabs
        self.html = PAGE.read_text(encoding="utf-8")
        self.page_headers = {**core.SECURITY_HEADERS, "Content-Security-Policy": core.content_security_policy(self.html)}
        self.limiter = core.AttemptLimiter(settings.auth_page_attempts_per_hour)
        self.signup_code = settings.signup_code.get_secret_value()
        self._dynamodb: JsonApi | None = None

    def register(self, mcp: MCPServer) -> None:
        mcp.custom_route("/auth", methods=["GET"], include_in_schema=False)(self.page)
        mcp.custom_route("/auth/", methods=["GET"], include_in_schema=False)(self.page)
        mcp.custom_route("/auth/config.json", methods=["GET"], include_in_schema=False)(self.config)
        mcp.custom_route("/auth/token", methods=["POST"], include_in_schema=False)(self.token)

    async def aclose(self) -> None:
        if self._dynamodb is not None:
            await self._dynamodb.aclose()

    async def page(self, _: Request) -> Response:
        return Response(self.html, media_type="text/html; charset=utf-8", headers=self.page_headers)

    async def config(self, _: Request) -> Response:
        body = core.config_json(API_PATH, self.settings.deployment_name, bool(self.signup_code), self.settings.auth_page_token_days)
        return JSONResponse(body, headers=core.SECURITY_HEADERS)

    async def token(self, request: Request) -> Response:
        client = request.scope.get("state", {}).get("client_ip")
        name = None
        try:
            raw = await _json_body(request)
            self.limiter.check(client)
            signup = core.parse_request(raw, bool(self.signup_code))
            await self._count_shared(client)  # a well-formed attempt: worth a DynamoDB write
            name = signup.name
            if self.signup_code:
                core.check_signup_code(signup.signup_code, self.signup_code)
            answer = await self._issue(request, signup)
        except core.SignupError as refused:
            _log(name, client, refused.code, refused.status)
            return JSONResponse(refused.body(), refused.status, headers={**core.SECURITY_HEADERS, **refused.headers()})
        _log(name, client, "issued", 200)
        return JSONResponse(answer, headers=core.SECURITY_HEADERS)

    async def _issue(self, request: Request, signup: core.SignupRequest) -> dict:
        await self._check_elevenlabs_key(signup.elevenlabs_key)
        token, item = new_token(signup.name, expires_days=self.settings.auth_page_token_days,
                                elevenlabs_key=signup.elevenlabs_key)
        await self._put(item)
        endpoint = self._public_origin(request) + self.mcp_path
        return core.success_body(token, endpoint, item.get("expires"),
                                 core.clients_for_http(endpoint, token, self.settings.deployment_name))

    async def _check_elevenlabs_key(self, key: str) -> None:
        # One attempt through the server's pool to ElevenLabs, without the tool calls' retries: the user waits.
        client = self.elevenlabs.client  # the shared pool: a second one would cost its own TLS set-up
        try:
            response = await client.get("/v1/user", headers={"xi-api-key": key}, timeout=KEY_CHECK_TIMEOUT_SECONDS)
        except httpx2.TimeoutException:
            raise core.SignupError(504, "elevenlabs_timeout", "ElevenLabs did not answer in time; try again.") from None
        except httpx2.TransportError:
            raise core.SignupError(502, "elevenlabs_unreachable", "ElevenLabs could not be reached; try again "
                                   "in a moment.") from None
        if response.status_code in (401, 403):
            raise core.SignupError(401, "elevenlabs_refused_key", f"ElevenLabs refused this key "
                                   f"(HTTP {response.status_code}: {error_detail(response, key)}).")
        if response.status_code != 200:
            raise core.SignupError(502, "elevenlabs_error", f"ElevenLabs answered HTTP {response.status_code} "
                                   "while checking the key; try again later.")

    async def _count_shared(self, client: str | None) -> None:
        """The attempt counted in the tokens table too, across tasks: refused once the hour's are spent."""
        params, wait = core.shared_count(self.settings.tokens_table, client,
                                         self.settings.auth_page_attempts_per_hour, time.time())
        try:
            await self._table().call("UpdateItem", params)
        except AwsError as error:
            if str(error) == "ConditionalCheckFailedException":
                raise core.too_many_attempts(wait) from None
            logger.error("counting a sign-up attempt failed", extra={"fields": {"error": str(error)}})
            raise core.SignupError(503, "unavailable", "Sign-ups cannot be counted right now; try again "
                                   "later.") from None

    def _table(self) -> JsonApi:
        if self._dynamodb is None:
            self._dynamodb = JsonApi("dynamodb", "DynamoDB_20120810", new_client(timeout=PUT_TIMEOUT_SECONDS))
        return self._dynamodb

    async def _put(self, item: dict) -> None:
        try:
            await self._table().call("PutItem", {
                "TableName": self.settings.tokens_table, "Item": to_attribute_values(item),
                "ConditionExpression": "attribute_not_exists(#h)", "ExpressionAttributeNames": {"#h": "hash"}})
        except AwsError as error:
            logger.error("storing a token failed", extra={"fields": {"error": str(error)}})
            raise core.SignupError(502, "storage_failed", "The token could not be stored; try again later.") from None

    def _public_origin(self, request: Request) -> str:
        if self.settings.public_url:
            return self.settings.public_url
        scheme = request.url.scheme
        if _from_trusted_proxy(request, self.settings.trusted_proxy_cidrs):
            forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
            scheme = forwarded if forwarded in ("http", "https") else scheme
        return f"{scheme}://{request.headers.get('host', '')}"


async def _json_body(request: Request) -> bytes:
    """The raw body of a JSON request. Requiring application/json keeps cross-site forms out: a browser sends
    that type cross-site only after a CORS preflight, which this server never grants."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise core.SignupError(415, "unsupported_media_type", "Send the request as application/json.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > core.MAX_BODY_BYTES:
        raise _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > core.MAX_BODY_BYTES:
            raise _too_large()
    return bytes(body)


def _too_large() -> core.SignupError:
    return core.SignupError(413, "too_large", f"The request body is over {core.MAX_BODY_BYTES} bytes.")


def _from_trusted_proxy(request: Request, trusted: tuple[IPNetwork, ...]) -> bool:
    peer = parse_address(request.client.host) if request.client else None
    return peer is not None and any(peer in network for network in trusted)


def _log(name: str | None, client: str | None, outcome: str, status: int) -> None:
    logger.info("sign-up", extra={"fields": {"name": name, "client": client, "outcome": outcome, "status": status}})
