"""Assemble the ASGI application: the SDK's MCP app, /health, and the HTTP layer around them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from pydantic import ValidationError
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp

from server.auth import ApiKeyAuthenticator, Authenticator, relay_ticket_key
from server.call_budget import tool_call
from server.config import Settings
from server.http.access_log import AccessLog
from server.http.gate import Gate
from server.http.jsonrpc_guard import JsonRpcGuard
from server.network import HostPolicy
from server.services import Services
from server.tokens import TokenAuthenticator
from server.tools import register_tools

if TYPE_CHECKING:
    from server.authpage.routes import AuthPage

MCP_PATH = "/mcp"
INSTRUCTIONS = (
    "Tools for the ElevenLabs voice AI platform: text to speech, transcription, sound effects, music, "
    "voices and agents. Tools marked COSTS spend the account's ElevenLabs credits; call them only when "
    "the user asks. Audio inputs are https URLs or base64, never file paths."
)


class ElevenLabsMCP(MCPServer):
    """The SDK's server with this server's rules on top:

    - every tool call runs against one deadline (server.call_budget), inputs and ElevenLabs alike, and its reply
      carries at most MCP_MAX_INLINE_AUDIO_BYTES of inline audio in all;
    - arguments that fail validation are described in plain words (field: problem), not pydantic's dump;
    - an unknown prompt is JSON-RPC -32602 (invalid params), as the spec says and resources/read does.
    """

    def __init__(self, *args: Any, call_seconds: float, inline_audio_bytes: int, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.call_seconds = call_seconds
        self.inline_audio_bytes = inline_audio_bytes

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Context | None = None) -> Any:
        with tool_call(self.call_seconds, self.inline_audio_bytes):
            try:
                return await super().call_tool(name, arguments, context)
            except ToolError as exc:
                if isinstance(exc.__cause__, ValidationError):  # keep it the cause: the SDK logs its field names
                    raise ToolError(invalid_arguments(name, exc.__cause__)) from exc.__cause__
                raise

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None, context: Context | None = None
                         ) -> Any:
        if name not in {prompt.name for prompt in await self.list_prompts()}:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt: {name}")
        return await super().get_prompt(name, arguments, context)


def invalid_arguments(tool: str, error: ValidationError) -> str:
    """'Invalid arguments for <tool>: <field>: <problem>; ...', never the rejected values."""
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in item["loc"])
        problems.append(f"{location}: {item['msg']}" if location else item["msg"])
    return f"Invalid arguments for {tool}: " + "; ".join(problems) + "."


def build_mcp(services: Services, authenticator: Authenticator | None = None, auth_page: AuthPage | None = None
              ) -> MCPServer:
    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[Services]:
        try:
            yield services  # tools reach it as ctx.request_context.lifespan_context
        finally:
            await services.aclose()
            if hasattr(authenticator, "aclose"):  # one that holds connections (tokens)
                await authenticator.aclose()
            if auth_page is not None:
                await auth_page.aclose()

    # subscriptions=False: nothing this server offers ever changes, and a stateless task behind API Gateway (which
    # buffers responses and cuts them at 30 s) cannot hold a subscriptions/listen stream open: the method is not
    # served, so server/discover advertises no listChanged or subscribe, as initialize does (docs/server.md).
    mcp = ElevenLabsMCP("elevenlabs", instructions=INSTRUCTIONS, version="0.1.0", lifespan=lifespan,
                        subscriptions=False, call_seconds=services.settings.upstream_budget_seconds,
                        inline_audio_bytes=services.settings.max_inline_audio_bytes)
    register_tools(mcp, services.settings)

    @mcp.custom_route("/health", methods=["GET"], include_in_schema=False)
    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    if auth_page is not None:
        auth_page.register(mcp)
    return mcp


def default_authenticator(settings: Settings) -> Authenticator:
    relay_key = relay_ticket_key(settings.server_api_key.get_secret_value()) if settings.trust_relay else None
    if settings.auth_mode == "tokens":
        return TokenAuthenticator(settings.tokens_table, cache_seconds=settings.tokens_cache_seconds,
                                  relay_key=relay_key)
    return ApiKeyAuthenticator(settings.server_api_key.get_secret_value(), relay_key=relay_key)


def _auth_page(settings: Settings, services: Services) -> AuthPage | None:
    if not settings.auth_page:
        return None
    from server.authpage.routes import AuthPage  # imported only when the page is on: start-up stays short

    return AuthPage(settings, services.elevenlabs, MCP_PATH)


def build_app(settings: Settings, authenticator: Authenticator | None = None) -> ASGIApp:
    """The whole server. `authenticator` defaults to the one MCP_AUTH_MODE names."""
    if authenticator is None:
        authenticator = default_authenticator(settings)
    services = Services.from_settings(settings)
    mcp = build_mcp(services, authenticator, _auth_page(settings, services))
    sdk_app = mcp.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=not settings.sse,
        max_request_body_size=settings.max_request_bytes,
        # Host and Origin are checked by our Gate, which knows cloud host patterns.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    guarded = JsonRpcGuard(sdk_app, path=MCP_PATH, max_body_bytes=settings.max_request_bytes,
                           memory=services.inputs.memory)
    gated = Gate(
        guarded,
        hosts=HostPolicy(settings.allowed_hosts),
        allowed_cidrs=settings.allowed_cidrs,
        trusted_proxies=settings.trusted_proxy_cidrs,
        client_ip_header=settings.client_ip_header,
        authenticator=authenticator,
        protected_path=MCP_PATH,
    )
    return AccessLog(gated)
