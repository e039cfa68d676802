"""Entry point: `python -m server` (or the `elevenlabs-mcp-server` script)."""

from __future__ import annotations

import logging
import sys

from server.config import ConfigError, load_settings


def main() -> None:
    try:
        settings = load_settings()
    except ConfigError as error:
        for problem in error.problems:
            print(f"elevenlabs-mcp-server: config error: {problem}", file=sys.stderr)
        sys.exit(2)

    from server.logs import configure_logging

    secrets = [settings.server_api_key.get_secret_value(), settings.elevenlabs_api_key.get_secret_value()]
    configure_logging(settings.log_level, secrets)
    if settings.allow_insecure_input_urls:
        logging.getLogger("server").warning("MCP_ALLOW_INSECURE_INPUT_URLS is on: for tests only, never deploy it")

    from server.app import build_app
    from server.runner import serve

    serve(build_app(settings), settings.host, settings.port, settings.drain_seconds)
    sys.exit(0)
