"""Server configuration, read once from environment variables at start-up.

Every setting is an environment variable (the names are the contract with the
compiler and the container). `load_settings()` either returns a complete,
validated `Settings` or raises `ConfigError` listing every problem at once.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from server.tool_names import TOOL_NAMES

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MiB = 1024 * 1024
# Front doors (API Gateway, the WebSocket relay) give up after 29-30 s.
FRONT_DOOR_TIMEOUT_SECONDS = 29
# ECS sends SIGKILL stopTimeout seconds after SIGTERM: 30 by default, at most 120 on Fargate. The compiler sets
# MCP_DRAIN_SECONDS a few seconds below the task's own stopTimeout; this bound only catches nonsense.
MAX_ECS_STOP_TIMEOUT_SECONDS = 120
MIN_SERVER_KEY_LENGTH = 16
# The server's own resident memory at work (Python, the SDK, uvicorn): about 100 MB; the rest is headroom.
RUNTIME_RESERVE_MIB = 192
DEFAULT_TOKENS_CACHE_SECONDS = 60.0  # auth mode tokens: a revoked token works at most this long
MAX_TOKENS_CACHE_SECONDS = 300  # a revoked token must stop working within minutes

_HOST_PATTERN = re.compile(r"^(\*|(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)$")
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
# Settings bounded on both sides: field -> (lowest, highest, unit in the message).
RANGES = {
    "port": (1, 65535, ""),
    "output_url_expiry_seconds": (60, 3600, " seconds"),
    "tokens_cache_seconds": (0, MAX_TOKENS_CACHE_SECONDS, " seconds"),
    "auth_page_token_days": (1, 3650, " days"),
    "auth_page_attempts_per_hour": (1, 1000, ""),
    "header_timeout_seconds": (1, 60, " seconds"),
}
_ORIGIN = re.compile(r"^https?://[^/\s?#]+$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]+$")
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class ConfigError(Exception):
    """The environment does not describe a runnable server; `problems` has one line each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def _env(name: str, default, description: str):
    return Field(default, validation_alias=name, description=description)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", frozen=True)

    # --- auth ---
    auth_mode: Literal["api-key", "tokens"] = _env("MCP_AUTH_MODE", "api-key", "How clients authenticate.")
    trust_relay: bool = _env(
        "MCP_TRUST_RELAY", False, "Behind the WebSocket relay: also accept the relay's tickets (signed by the "
        "$connect authorizer with a key derived from MCP_SERVER_API_KEY), naming the user by X-MCP-Token-Hash."
    )
    server_api_key: SecretStr = Field(
        SecretStr(""), validation_alias="MCP_SERVER_API_KEY", validate_default=True, description="The clients' key."
    )
    tokens_table: str = Field(
        "", validation_alias="MCP_TOKENS_TABLE", validate_default=True, description="DynamoDB table of token hashes."
    )
    tokens_cache_seconds: float = _env(
        "MCP_TOKENS_CACHE_SECONDS", DEFAULT_TOKENS_CACHE_SECONDS, "Seconds a token lookup is reused (revocation bound)."
    )
    auth_page: bool = _env("MCP_AUTH_PAGE", False, "Serve /auth, where users exchange an ElevenLabs key for a token.")
    signup_code: SecretStr = _env("MCP_SIGNUP_CODE", SecretStr(""), "Code the auth page asks for; empty = none.")
    auth_page_token_days: int = _env("MCP_AUTH_PAGE_TOKEN_DAYS", 90, "Lifetime of tokens the auth page issues.")
    auth_page_attempts_per_hour: int = _env(
        "MCP_AUTH_PAGE_ATTEMPTS_PER_HOUR", 10, "Sign-up attempts one client address may make per hour."
    )
    deployment_name: str = _env(
        "MCP_DEPLOYMENT_NAME", "elevenlabs", "Name clients give this server (the deployment's metadata.name)."
    )
    public_url: str = _env("MCP_PUBLIC_URL", "", "Origin clients use (https://mcp.example.com); empty = from the request.")
    allowed_cidrs: Annotated[tuple[IPNetwork, ...], NoDecode] = _env(
        "MCP_ALLOWED_CIDRS", (), "Client networks admitted; empty admits everyone."
    )
    trusted_proxy_cidrs: Annotated[tuple[IPNetwork, ...], NoDecode] = _env(
        "MCP_TRUSTED_PROXY_CIDRS", (), "Peers whose client-address header (MCP_CLIENT_IP_HEADER) is believed."
    )
    client_ip_header: str = _env(
        "MCP_CLIENT_IP_HEADER", "x-forwarded-for", "Header in which a trusted proxy names the client (hops, "
        "comma-separated, nearest last)."
    )
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = _env(
        "MCP_ALLOWED_HOSTS", (), "Host header patterns admitted besides localhost; '*' disables the check."
    )

    # --- ElevenLabs ---
    elevenlabs_api_key: SecretStr = _env("ELEVENLABS_API_KEY", SecretStr(""), "Key for the ElevenLabs API.")
    elevenlabs_base_url: str = _env("ELEVENLABS_BASE_URL", "https://api.elevenlabs.io", "ElevenLabs API origin.")
    upstream_budget_seconds: float = _env(
        "MCP_UPSTREAM_BUDGET_SECONDS", 25.0, "Total time for one tool call: fetching its inputs and calling "
        "ElevenLabs, retries included."
    )

    # --- HTTP serving ---
    host: str = _env("MCP_HOST", "0.0.0.0", "Listen address.")
    port: int = _env("MCP_PORT", 8080, "Listen port.")
    sse: bool = _env("MCP_SSE", False, "Answer with SSE streams instead of single JSON responses.")
    max_request_bytes: int = _env("MCP_MAX_REQUEST_BYTES", 4 * MiB, "Largest accepted request body.")
    drain_seconds: float = _env("MCP_DRAIN_SECONDS", 25.0, "Grace period for in-flight calls after SIGTERM.")
    header_timeout_seconds: float = _env(
        "MCP_HEADER_TIMEOUT_SECONDS", 10.0, "Time a client has to send a request's headers (slow-header guard)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = _env("MCP_LOG_LEVEL", "INFO", "Log threshold.")

    # --- audio in and out ---
    max_inline_audio_bytes: int = _env(
        "MCP_MAX_INLINE_AUDIO_BYTES", 2 * MiB, "Largest audio returned inline as MCP audio content."
    )
    output_bucket: str = _env("MCP_OUTPUT_BUCKET", "", "S3 bucket for audio too large to return inline.")
    output_url_expiry_seconds: int = _env("MCP_OUTPUT_URL_EXPIRY_SECONDS", 900, "Lifetime of presigned links.")
    max_input_bytes: int = _env("MCP_MAX_INPUT_BYTES", 20 * MiB, "Largest input audio fetched from a URL.")
    max_call_input_bytes: int = _env(
        "MCP_MAX_CALL_INPUT_BYTES", 40 * MiB, "Largest input audio of one tool call in all (voice_clone takes many)."
    )
    memory_mib: int = _env(
        "MCP_MEMORY_MIB", 512, "The task's memory (the compiler passes spec.task.memory); sizes the input memory "
        "budget of all calls together."
    )
    allow_insecure_input_urls: bool = _env(
        "MCP_ALLOW_INSECURE_INPUT_URLS", False, "TESTS ONLY: allow http:// and private addresses as inputs."
    )

    # --- which tools are offered (server/tool_names.py) ---
    tools_allow: Annotated[tuple[str, ...] | None, NoDecode] = _env(
        "MCP_TOOLS_ALLOW", None, "Only these tools (comma-separated); unset = all."
    )
    tools_deny: Annotated[tuple[str, ...], NoDecode] = _env("MCP_TOOLS_DENY", (), "Tools never offered.")
    tools_reach_third_parties: bool = _env(
        "MCP_TOOLS_REACH_THIRD_PARTIES", False, "Offer tools that contact third parties (outbound phone calls)."
    )

    @field_validator("tools_allow", "tools_deny", mode="before")
    @classmethod
    def _parse_tool_names(cls, value):
        if not isinstance(value, str):
            return value
        names = tuple(_split_list(value))
        unknown = [name for name in names if name not in TOOL_NAMES]
        if unknown:
            raise ValueError(f"unknown tools {', '.join(unknown)}; known: {', '.join(TOOL_NAMES)}")
        return names

    @field_validator("tools_deny")
    @classmethod
    def _check_allow_or_deny(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if value and info.data.get("tools_allow") is not None:
            raise ValueError("set MCP_TOOLS_ALLOW or MCP_TOOLS_DENY, not both")
        return value

    @field_validator("allowed_cidrs", "trusted_proxy_cidrs", mode="before")
    @classmethod
    def _parse_cidrs(cls, value):
        if not isinstance(value, str):
            return value
        networks = []
        for item in _split_list(value):
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"{item!r} is not a CIDR block such as 203.0.113.0/24") from None
        return tuple(networks)

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _parse_hosts(cls, value):
        if not isinstance(value, str):
            return value
        hosts = tuple(item.lower().rstrip(".") for item in _split_list(value))
        for host in hosts:
            if not _HOST_PATTERN.match(host):
                raise ValueError(f"{host!r} is not a host name or a pattern such as *.elb.amazonaws.com")
        return hosts

    @field_validator("client_ip_header")
    @classmethod
    def _check_header_name(cls, value: str) -> str:
        if not _HEADER_NAME.match(value):
            raise ValueError("must be an HTTP header name such as x-forwarded-for")
        return value.lower()

    @field_validator("elevenlabs_base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        if not _ORIGIN.match(value.rstrip("/")):
            raise ValueError("must be an http(s) origin such as https://api.elevenlabs.io")
        return value.rstrip("/")

    @field_validator("upstream_budget_seconds")
    @classmethod
    def _check_budget(cls, value: float) -> float:
        if not 0 < value < FRONT_DOOR_TIMEOUT_SECONDS:
            raise ValueError(f"must be above 0 and below {FRONT_DOOR_TIMEOUT_SECONDS} (the front door's timeout)")
        return value

    @field_validator("drain_seconds")
    @classmethod
    def _check_drain(cls, value: float) -> float:
        if not 0 <= value < MAX_ECS_STOP_TIMEOUT_SECONDS:
            raise ValueError(f"must be at least 0 and below {MAX_ECS_STOP_TIMEOUT_SECONDS} (the largest ECS stopTimeout)")
        return value

    @field_validator(*RANGES)
    @classmethod
    def _check_range(cls, value: float, info: ValidationInfo) -> float:
        low, high, unit = RANGES[info.field_name]
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}{unit}")
        return value

    @field_validator("max_request_bytes", "max_input_bytes", "max_call_input_bytes", "memory_mib")
    @classmethod
    def _check_positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be a positive number of bytes")
        return value

    @field_validator("memory_mib")
    @classmethod
    def _check_memory(cls, value: int, info: ValidationInfo) -> int:
        per_call = info.data.get("max_call_input_bytes")
        if per_call is not None and input_memory_bytes(value) < per_call:
            raise ValueError(
                f"leaves {input_memory_bytes(value)} bytes for input audio (a third of what is above "
                f"{RUNTIME_RESERVE_MIB} MiB), less than one call's MCP_MAX_CALL_INPUT_BYTES ({per_call})"
            )
        return value

    @property
    def input_memory_bytes(self) -> int:
        return input_memory_bytes(self.memory_mib)

    @field_validator("max_inline_audio_bytes")
    @classmethod
    def _check_not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must be 0 (never inline) or a positive number of bytes")
        return value

    @field_validator("output_bucket")
    @classmethod
    def _check_bucket(cls, value: str) -> str:
        if value and not _BUCKET_NAME.match(value):
            raise ValueError(f"{value!r} is not a valid S3 bucket name")
        return value

    @field_validator("tokens_table")
    @classmethod
    def _check_tokens_table(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("auth_mode") == "tokens" and not value:
            raise ValueError("required when MCP_AUTH_MODE is tokens")
        if value and not _TABLE_NAME.match(value):
            raise ValueError(f"{value!r} is not a DynamoDB table name")
        return value

    @field_validator("server_api_key")
    @classmethod
    def _check_server_key(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        needed_for = "MCP_AUTH_MODE is api-key" if info.data.get("auth_mode") == "api-key" else (
            "MCP_TRUST_RELAY is true" if info.data.get("trust_relay") else None)
        if needed_for is None:
            return value  # tokens without a relay, or an invalid mode that is reported on its own
        key = value.get_secret_value()
        if not key:
            raise ValueError(f"required when {needed_for}")
        if len(key) < MIN_SERVER_KEY_LENGTH or key != key.strip():
            raise ValueError(f"must be at least {MIN_SERVER_KEY_LENGTH} characters, without surrounding spaces")
        return value

    @field_validator("auth_page")
    @classmethod
    def _check_tokens_only(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("auth_mode") != "tokens":
            raise ValueError("only with MCP_AUTH_MODE tokens")
        return value

    @field_validator("deployment_name")
    @classmethod
    def _check_deployment_name(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$", value):
            raise ValueError("must be 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit")
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        if value and not _ORIGIN.match(value.rstrip("/")):
            raise ValueError("must be an http(s) origin such as https://mcp.example.com")
        return value.rstrip("/")


def input_memory_bytes(memory_mib: int) -> int:
    """Bytes of input audio all calls may hold at once: a third of the task's memory above what the runtime needs
    (106 MiB of a 512 MiB task). The rest covers the copies made while an input is joined and uploaded (measured
    up to 2.2x the admitted input at peak: bench/input_budget_bench.py) and the responses."""
    return max(0, memory_mib - RUNTIME_RESERVE_MIB) * MiB // 3


def _split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read the settings from `environ` (default: the process environment)."""
    try:
        if environ is None:
            return Settings()
        # Explicit mapping: ignore the process environment entirely.
        return Settings.model_validate(environ)
    except ValidationError as exc:
        raise ConfigError([_describe(error) for error in exc.errors()]) from None


def _describe(error) -> str:
    """One readable line per pydantic error, naming the environment variable, never echoing the value."""
    message = error["msg"].removeprefix("Value error, ")
    name = error["loc"][0]
    field = Settings.model_fields.get(name)
    if field is not None:  # a default value failed: pydantic names the field, not the variable
        name = field.validation_alias
    return f"{name}: {message}"
