"""Assemble the ASGI application: the SDK's MCP app, /health, and the HTTP layer around them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp

from server.auth import ApiKeyAuthenticator, Authenticator
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

    mcp = MCPServer("elevenlabs", instructions=INSTRUCTIONS, version="0.1.0", lifespan=lifespan)
    register_tools(mcp, services.settings)

    @mcp.custom_route("/health", methods=["GET"], include_in_schema=False)
    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    if auth_page is not None:
        auth_page.register(mcp)
    return mcp


def default_authenticator(settings: Settings) -> Authenticator:
    if settings.auth_mode == "tokens":
        relay_key = settings.server_api_key.get_secret_value() if settings.trust_relay else None
        return TokenAuthenticator(settings.tokens_table, cache_seconds=settings.tokens_cache_seconds,
                                  relay_key=relay_key)
    return ApiKeyAuthenticator(settings.server_api_key.get_secret_value())


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
    guarded = JsonRpcGuard(sdk_app, path=MCP_PATH, max_body_bytes=settings.max_request_bytes)
    gated = Gate(
        guarded,
        hosts=HostPolicy(settings.allowed_hosts),
        allowed_cidrs=settings.allowed_cidrs,
        trusted_proxies=settings.trusted_proxy_cidrs,
        client_ip_header=settings.client_ip_header,
        authenticator=authenticator,
    )
    return AccessLog(gated)
