"""Entry point: `python -m server` (or the `elevenlabs-mcp-server` script)."""

from __future__ import annotations

import gc
import logging
import sys


def main(argv: list[str] | None = None) -> None:
    # Start-up builds thousands of long-lived objects (the MCP SDK's pydantic models); collecting while they
    # are built only slows the start (about 5%). They are frozen into the permanent generation afterwards.
    gc.disable()
    try:
        _arguments(argv)
        app, settings = _start_up()
        gc.freeze()
    finally:
        gc.enable()

    from server.runner import serve

    serve(app, settings.host, settings.port, settings.drain_seconds, settings.header_timeout_seconds)
    sys.exit(0)


def _arguments(argv: list[str] | None) -> None:
    """The server takes no arguments, only environment variables: --help lists them (docs/server.md explains)."""
    import argparse

    from server.config import Settings

    lines = []
    for field in Settings.model_fields.values():
        secret = "SecretStr" in str(field.annotation)
        default = "" if secret or field.default in ("", None, ()) else f" (default: {field.default})"
        lines.append(f"  {field.validation_alias:<32} {field.description}{default}")
    parser = argparse.ArgumentParser(
        prog="elevenlabs-mcp-server" if sys.argv[0].endswith("elevenlabs-mcp-server") else "python -m server",
        description="The ElevenLabs MCP server (streamable HTTP), configured by environment variables only; "
        "a bad value exits 2 naming it. See docs/server.md.",
        epilog="environment variables:\n" + "\n".join(lines), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)


def _start_up():
    from server.config import ConfigError, load_settings

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

    return build_app(settings), settings
