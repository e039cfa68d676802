"""JSON-lines logging on stdout, with secrets scrubbed from every line.

One JSON object per line: `ts`, `level`, `logger`, `msg`, plus any fields passed
with `extra={"fields": {...}}` (the access log uses this). Known secret values
are replaced by `[redacted]` as a last line of defence, whatever logged them.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable

# Loggers of libraries that are chatty at INFO for every request.
_QUIET_LOGGERS = ("mcp.server.streamable_http", "mcp.server.streamable_http_manager", "httpx2", "httpcore2", "botocore")

MIN_SECRET_LENGTH = 6  # shorter values would redact ordinary words


class JsonFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        long_enough = [s for s in secrets if len(s) >= MIN_SECRET_LENGTH]
        # Lines are JSON, so a secret with quotes or backslashes appears escaped.
        self._secrets = {form for s in long_enough for form in (s, json.dumps(s, ensure_ascii=False)[1:-1])}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": _timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        line = json.dumps(entry, default=str, ensure_ascii=False)
        for secret in self._secrets:
            if secret in line:
                line = line.replace(secret, "[redacted]")
        return line


def _timestamp(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created % 1 * 1000):03d}Z"


def configure_logging(level: str, secrets: Iterable[str] = ()) -> None:
    """Send every log record to stdout as JSON; call before anything else logs."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if level != "DEBUG":
        for name in _QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
