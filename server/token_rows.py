"""New rows of the tokens table (auth mode `tokens`), shared by `python -m compiler tokens issue`, the auth page
and the WebSocket auth Lambda. Standard library only: a Lambda imports it at cold start.

A row (the format server/tokens.py reads): hash (hex SHA-256 of the token, the key), name, created (epoch s),
revoked (bool), optional expires (epoch s), optional elevenlabs_key (the user's own key).
"""

from __future__ import annotations

import hashlib
import secrets
import time

TOKEN_PREFIX = "mcpt_"
SECONDS_PER_DAY = 86400


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(name: str, *, expires_days: int | None = None, elevenlabs_key: str | None = None,
              now: float | None = None) -> tuple[str, dict]:
    """A fresh token and its row as plain JSON values. The token itself is in no field of the row."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    created = int(time.time() if now is None else now)
    item: dict = {"hash": token_hash(token), "name": name, "created": created, "revoked": False}
    if expires_days is not None:
        item["expires"] = created + expires_days * SECONDS_PER_DAY
    if elevenlabs_key:
        item["elevenlabs_key"] = elevenlabs_key
    return token, item


def to_attribute_values(item: dict) -> dict:
    """The row in DynamoDB's attribute-value JSON, as PutItem's Item takes it."""
    return {name: _attribute_value(value) for name, value in item.items()}


def _attribute_value(value) -> dict:
    if isinstance(value, bool):  # before int: bool is an int subclass
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    raise TypeError(f"a token row holds str, int or bool values, not {type(value).__name__}")
