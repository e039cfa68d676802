"""The HTTP layer around the MCP SDK's app: plain ASGI middlewares, outermost first.

    AccessLog -> Gate (Host, client network, credential) -> JsonRpcGuard (POST /mcp body) -> SDK app

Each one is a small class wrapping the next app; `server.app.build_app` stacks them.
"""
