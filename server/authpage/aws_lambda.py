"""The auth page of a `websocket` deployment, as one Lambda function running the shared server image
(ImageConfig.Command `server.authpage.aws_lambda.handler`). It answers two kinds of events:

- function-URL requests: the page's POST (server/authpage/core.py's contract). It must come from the page
  (Origin: MCP_AUTH_PAGE_ORIGIN) as application/json (which a cross-site form or a CORS "simple request" cannot
  send), the client address must be in MCP_ALLOWED_CIDRS (when set) and within its attempts per hour (counted
  per function instance, and per clock hour in the tokens table across instances), the sign-up code right (read from its secret at most SIGNUP_CODE_CACHE_SECONDS
  before), and ElevenLabs must accept the key; then a token row goes to the tokens table and the answer
  carries the bridge configurations (bridge_clients.py).
- CloudFormation custom resource events (Custom::AuthPage): on Create and Update the page (index.html) and its
  config.json are written to the site's bucket, on Delete removed (so the bucket can be deleted). The answer
  always goes to ResponseURL, so a stack never waits for a response that will not come.

The user's ElevenLabs key and the sign-up code are never logged nor returned.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from urllib.parse import urlsplit

from .. import token_rows
from ..network import address_allowed, parse_address
from . import core
from .bridge_clients import clients_for_bridge

DEFAULT_ELEVENLABS_URL = "https://api.elevenlabs.io"
ELEVENLABS_TIMEOUT_SECONDS = 8.0  # the function has 15 s
RESPONSE_URL_TIMEOUT_SECONDS = 10.0
SIGNUP_CODE_CACHE_SECONDS = 60.0  # a rotated code is the only one accepted this long after put-secret-value
PAGE = "page.html"
PAGE_OBJECT, CONFIG_OBJECT = "index.html", "config.json"

log = logging.getLogger("authpage")
log.setLevel(logging.INFO)


@dataclass(frozen=True)
class Settings:
    """What the template gives the function in its environment."""
    deployment: str
    tokens_table: str
    bridge_url: str
    page_origin: str  # https://<the page's CloudFront domain>: the one Origin admitted
    signup_code_secret: str  # ARN of the secret holding the sign-up code; "" = no code asked
    token_days: int
    attempts_per_hour: int
    allowed_cidrs: tuple
    elevenlabs_url: str

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Settings:
        return cls(
            deployment=env["MCP_DEPLOYMENT"], tokens_table=env["MCP_TOKENS_TABLE"], bridge_url=env["MCP_BRIDGE_URL"],
            page_origin=env["MCP_AUTH_PAGE_ORIGIN"].rstrip("/"),
            signup_code_secret=env.get("MCP_SIGNUP_CODE_SECRET", ""),
            token_days=int(env.get("MCP_AUTH_PAGE_TOKEN_DAYS", "90")),
            attempts_per_hour=int(env.get("MCP_AUTH_PAGE_ATTEMPTS_PER_HOUR", "10")),
            allowed_cidrs=tuple(ipaddress.ip_network(cidr.strip(), strict=False)
                                for cidr in env.get("MCP_ALLOWED_CIDRS", "").split(",") if cidr.strip()),
            elevenlabs_url=env.get("ELEVENLABS_BASE_URL", DEFAULT_ELEVENLABS_URL).rstrip("/"),
        )


class AuthApi:
    """One per function instance: the settings, the attempts limiter and the AWS clients live as long as it."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.monotonic):
        import boto3  # here, not at import: a test of the pure parts needs no AWS SDK

        self.settings = settings
        self.limiter = core.AttemptLimiter(settings.attempts_per_hour, clock=clock)
        self.dynamodb = boto3.client("dynamodb")
        self.secrets = boto3.client("secretsmanager")
        self._clock = clock
        self._signup_code: tuple[str, float] | None = None  # the code and when it was read

    def signup(self, event: dict) -> dict:
        """A function-URL request -> the function-URL response (status, headers, JSON body)."""
        try:
            token, expires = self._issue(event)
        except core.SignupError as refused:
            log.info(json.dumps({"event": "signup_refused", "status": refused.status, "error": refused.code}))
            return _response(refused.status, refused.body(), refused.headers())
        # The connection URL carries the token as `tokens issue` prints it (the bridge takes it as is); the
        # configurations pass it in the bridge's environment instead, out of the process list.
        clients = clients_for_bridge(self.settings.bridge_url, token, self.settings.deployment)
        return _response(200, core.success_body(token, self.settings.bridge_url, expires, clients))

    def _issue(self, event: dict) -> tuple[str, int | None]:
        http = event.get("requestContext", {}).get("http", {})
        if http.get("method") != "POST":
            raise core.SignupError(405, "method_not_allowed", "Send the form with POST.")
        _check_from_the_page(event.get("headers") or {}, self.settings.page_origin)
        client = parse_address(http.get("sourceIp") or "")
        if not address_allowed(client, self.settings.allowed_cidrs):
            raise core.SignupError(403, "address_not_allowed", "This deployment does not admit your network.")
        self.limiter.check(str(client) if client else None)
        request = core.parse_request(_body(event), signup_code_required=bool(self.settings.signup_code_secret))
        self._count_shared(str(client) if client else None)  # a well-formed attempt: worth a DynamoDB write
        if self.settings.signup_code_secret:
            core.check_signup_code(request.signup_code, self._expected_signup_code())
        check_elevenlabs_key(self.settings.elevenlabs_url, request.elevenlabs_key)
        token, item = token_rows.new_token(request.name, expires_days=self.settings.token_days,
                                           elevenlabs_key=request.elevenlabs_key)
        self._store(item)
        log.info(json.dumps({"event": "token_issued", "name": request.name, "hash_prefix": item["hash"][:8]}))
        return token, item.get("expires")

    def _count_shared(self, client: str | None) -> None:
        """The attempt counted in the tokens table too, across instances: refused once the hour's are spent."""
        params, wait = core.shared_count(self.settings.tokens_table, client, self.settings.attempts_per_hour,
                                         time.time())
        try:
            self.dynamodb.update_item(**params)
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            raise core.too_many_attempts(wait) from None
        except Exception as error:  # noqa: BLE001 - no count, no sign-up: the token could not be stored either
            log.error(json.dumps({"event": "attempts_not_counted", "error": type(error).__name__}))
            raise _unavailable() from None

    def _expected_signup_code(self) -> str:
        """The code from its secret, read again once the copy is SIGNUP_CODE_CACHE_SECONDS old: a warm instance
        lives for hours, and rotating the code must not wait for it to die."""
        now = self._clock()
        if self._signup_code is None or now - self._signup_code[1] >= SIGNUP_CODE_CACHE_SECONDS:
            try:
                code = self.secrets.get_secret_value(SecretId=self.settings.signup_code_secret)["SecretString"]
            except Exception as error:  # noqa: BLE001 - any failure: refuse, and say which kind
                log.error(json.dumps({"event": "signup_code_unreadable", "error": type(error).__name__}))
                raise _unavailable() from None
            if not code:  # an empty code would admit everyone: fail closed
                raise _unavailable()
            self._signup_code = (code, now)
        return self._signup_code[0]

    def _store(self, item: dict) -> None:
        try:
            self.dynamodb.put_item(TableName=self.settings.tokens_table, Item=token_rows.to_attribute_values(item),
                                   ConditionExpression="attribute_not_exists(#hash)",
                                   ExpressionAttributeNames={"#hash": "hash"})
        except Exception as error:  # noqa: BLE001
            log.error(json.dumps({"event": "token_not_stored", "error": type(error).__name__}))
            raise core.SignupError(502, "storage_failed", "The token could not be stored; try again later.") from None


def _check_from_the_page(headers: Mapping[str, str], page_origin: str) -> None:
    """The function URL's CORS only hides answers from other origins; a cross-site "simple request" (a form, or
    fetch with text/plain) still reaches the function. So: the page's Origin (a browser always sends it on a
    cross-origin POST) and application/json (which makes a browser ask the CORS preflight first)."""
    headers = {name.lower(): value for name, value in headers.items()}  # function URLs lower-case them already
    if headers.get("origin", "").rstrip("/") != page_origin:
        raise core.SignupError(403, "origin_not_allowed", "Sign up on the deployment's own auth page.")
    if headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise core.SignupError(415, "unsupported_media_type", "Send the request as application/json.")


def _unavailable() -> core.SignupError:
    return core.SignupError(503, "unavailable", "The sign-up service cannot issue tokens right now; try again later.")


def _body(event: dict) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            raise core.SignupError(400, "bad_request", "The request body is not valid base64.") from None
    return body.encode()


def _response(status: int, body: dict, headers: Mapping[str, str] = {}) -> dict:
    # The function URL adds the CORS headers; a token must not sit in any cache.
    return {"statusCode": status, "headers": {"Content-Type": "application/json", "Cache-Control": "no-store",
                                              **headers}, "body": json.dumps(body)}


def check_elevenlabs_key(base_url: str, key: str) -> None:
    """GET /v1/user with the key: 200 accepts it; 401/403 is the user's key refused; anything else is ElevenLabs
    failing, not the user. The error codes are those of the server's /auth/token (server/authpage/routes.py)."""
    request = urllib.request.Request(f"{base_url}/v1/user", headers={"xi-api-key": key, "Accept": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=ELEVENLABS_TIMEOUT_SECONDS).close()
    except urllib.error.HTTPError as error:
        error.close()
        if error.code in (401, 403):
            raise core.SignupError(401, "elevenlabs_refused_key",
                                   f"ElevenLabs refused this key (HTTP {error.code}).") from None
        raise core.SignupError(502, "elevenlabs_error", f"ElevenLabs answered HTTP {error.code} while checking the "
                               "key; try again later.") from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise _elevenlabs_timeout() from None
        raise _elevenlabs_unreachable() from None
    except TimeoutError:  # socket.timeout is TimeoutError
        raise _elevenlabs_timeout() from None
    except OSError:
        raise _elevenlabs_unreachable() from None


def _elevenlabs_timeout() -> core.SignupError:
    return core.SignupError(504, "elevenlabs_timeout", "ElevenLabs did not answer in time; try again.")


def _elevenlabs_unreachable() -> core.SignupError:
    return core.SignupError(502, "elevenlabs_unreachable", "ElevenLabs could not be reached; try again in a moment.")


# --- the custom resource: publishing the page ---------------------------------------------------------------

def publish(s3, event: dict) -> None:
    """Write (Create, Update) or remove (Delete) the page's objects, then answer CloudFormation either way."""
    properties = event.get("ResourceProperties", {})
    # Named after the bucket: should the bucket be replaced, the new name tells CloudFormation to delete the old
    # resource, so the old bucket is emptied before CloudFormation deletes it.
    physical_id = (event.get("PhysicalResourceId") if event["RequestType"] == "Delete"
                   else f"auth-page-{properties.get('Bucket', 'none')}")
    try:
        if event["RequestType"] == "Delete":
            _remove_page(s3, properties["Bucket"])
        else:
            _write_page(s3, properties)
    except Exception as error:  # noqa: BLE001 - the stack must hear of any failure
        _answer(event, "FAILED", physical_id, f"{event['RequestType']} failed: {type(error).__name__}: {error}")
        return
    _answer(event, "SUCCESS", physical_id)


def page_html(api_url: str) -> bytes:
    """The page with its Content-Security-Policy as a <meta> tag (S3 sets no such header): its own inline
    blocks, and fetches to the auth API only. (A <meta> policy cannot forbid framing; CloudFront's
    SecurityHeadersPolicy sends X-Frame-Options SAMEORIGIN.)"""
    html = resources.files(__package__).joinpath(PAGE).read_text(encoding="utf-8")
    policy = core.content_security_policy(html, connect_src=f"'self' {_origin(api_url)}")
    policy = "; ".join(part for part in policy.split("; ") if not part.startswith("frame-ancestors"))
    meta = f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
    return html.replace("<head>", f"<head>\n{meta}", 1).encode()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _write_page(s3, properties: dict) -> None:
    config = core.config_json(properties["ApiUrl"], properties["Deployment"],
                              _flag(properties["SignupCode"]), int(properties["TokenDays"]))
    s3.put_object(Bucket=properties["Bucket"], Key=PAGE_OBJECT, Body=page_html(properties["ApiUrl"]),
                  ContentType="text/html; charset=utf-8", CacheControl="max-age=300")
    s3.put_object(Bucket=properties["Bucket"], Key=CONFIG_OBJECT, Body=json.dumps(config).encode(),
                  ContentType="application/json", CacheControl="no-cache")


def _remove_page(s3, bucket: str) -> None:
    try:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": PAGE_OBJECT}, {"Key": CONFIG_OBJECT}],
                                                 "Quiet": True})
    except s3.exceptions.NoSuchBucket:
        pass  # already gone: nothing left to remove


def _flag(value) -> bool:
    """CloudFormation passes custom resource properties as strings: "true"/"false"."""
    return value is True or str(value).lower() == "true"


def _answer(event: dict, status: str, physical_id: str, reason: str = "") -> None:
    body = json.dumps({
        "Status": status, "Reason": reason[:1000] or status, "PhysicalResourceId": physical_id,
        "StackId": event["StackId"], "RequestId": event["RequestId"], "LogicalResourceId": event["LogicalResourceId"],
    }).encode()
    # The URL is presigned for an empty Content-Type.
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT",
                                     headers={"Content-Type": "", "Content-Length": str(len(body))})
    urllib.request.urlopen(request, timeout=RESPONSE_URL_TIMEOUT_SECONDS).close()
    log.info(json.dumps({"event": "custom_resource", "request": event["RequestType"], "status": status,
                         "reason": reason}))


_api: AuthApi | None = None


def is_custom_resource_event(event: dict) -> bool:
    """CloudFormation's request; a function-URL event always has requestContext, and its caller controls only
    the body, headers and query inside it."""
    return "RequestType" in event and "ResponseURL" in event and "requestContext" not in event


def handler(event: dict, context=None) -> dict | None:
    """The Lambda entry point. The first sign-up of an instance reads the settings and makes the clients; a
    custom resource event needs neither (publishing must answer CloudFormation even if they were wrong)."""
    global _api
    if is_custom_resource_event(event):
        import boto3

        publish(boto3.client("s3"), event)
        return None
    if _api is None:
        try:
            _api = AuthApi(Settings.from_environment(os.environ))
        except Exception as error:  # noqa: BLE001 - a broken setting: a JSON refusal and a log line, no traceback
            log.error(json.dumps({"event": "misconfigured", "error": type(error).__name__, "detail": str(error)}))
            unavailable = _unavailable()
            return _response(unavailable.status, unavailable.body())
    return _api.signup(event)
