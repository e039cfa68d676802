"""Real parts for the WebSocket deployment's auth Lambda: a moto server (DynamoDB, S3, Secrets Manager), the fake
ElevenLabs API, and a local HTTP server standing in for CloudFormation's ResponseURL."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from server.authpage import aws_lambda
from tests.fakes import FakeElevenLabs
from tests.localaws import TEST_CREDENTIALS

REGION = "us-east-1"
TABLE = "tokens"
BUCKET = "auth-page-site"
SIGNUP_CODE = "open-sesame-2026"
BRIDGE_URL = "wss://abc123.execute-api.us-east-1.amazonaws.com/mcp"
API_URL = "https://xyz.lambda-url.us-east-1.on.aws/"
CLIENT_IP = "203.0.113.7"
PAGE_ORIGIN = "https://d111111abcdef8.cloudfront.net"


@pytest.fixture(scope="session")
def fake():
    with FakeElevenLabs(port=0, latency=0) as fake:
        yield fake


@pytest.fixture
def aws(moto, monkeypatch):
    """boto3 pointed at a fresh moto: the tokens table, the site's bucket and the sign-up code's secret exist."""
    moto.reset()
    for name, value in {**TEST_CREDENTIALS, "AWS_ENDPOINT_URL": moto.endpoint, "AWS_DEFAULT_REGION": REGION,
                        "AWS_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    boto3.client("dynamodb").create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "hash", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "hash", "KeyType": "HASH"}])
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    secret = boto3.client("secretsmanager").create_secret(Name="signup-code", SecretString=SIGNUP_CODE)["ARN"]
    return {"secret_arn": secret}


class Clock:
    """A monotonic clock the test moves by hand (the limiter's and the sign-up code cache's)."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def lambda_environment(fake: FakeElevenLabs, secret_arn: str, **overrides: str) -> dict[str, str]:
    """The function's environment as compiler/parts/auth_api.py sets it."""
    return {"MCP_DEPLOYMENT": "voice-ws", "MCP_TOKENS_TABLE": TABLE, "MCP_BRIDGE_URL": BRIDGE_URL,
            "MCP_AUTH_PAGE_ORIGIN": PAGE_ORIGIN, "MCP_SIGNUP_CODE_SECRET": secret_arn, "MCP_AUTH_PAGE_TOKEN_DAYS": "30",
            "MCP_AUTH_PAGE_ATTEMPTS_PER_HOUR": "10", "MCP_ALLOWED_CIDRS": "203.0.113.0/24,2001:db8::/32",
            "ELEVENLABS_BASE_URL": fake.url, **overrides}


@pytest.fixture
def make_api(aws, fake):
    def make(clock=None, **overrides: str) -> aws_lambda.AuthApi:
        settings = aws_lambda.Settings.from_environment(lambda_environment(fake, aws["secret_arn"], **overrides))
        return aws_lambda.AuthApi(settings, **({"clock": clock} if clock else {}))
    return make


def url_event(body, *, source_ip: str = CLIENT_IP, method: str = "POST", base64_body: bool = False,
              headers: dict | None = None) -> dict:
    """A function URL request (payload format 2.0) as Lambda delivers it: by default, the page's own POST."""
    text = body if isinstance(body, str) else json.dumps(body)
    if headers is None:
        headers = {"content-type": "application/json", "origin": PAGE_ORIGIN}
    return {
        "version": "2.0", "rawPath": "/", "rawQueryString": "", "headers": headers,
        "requestContext": {"http": {"method": method, "path": "/", "protocol": "HTTP/1.1", "sourceIp": source_ip,
                                    "userAgent": "test"}},
        "body": base64.b64encode(text.encode()).decode() if base64_body else text,
        "isBase64Encoded": base64_body,
    }


class ResponseUrl:
    """CloudFormation's presigned ResponseURL: records each PUT body (parsed JSON) and its Content-Type."""

    def __init__(self):
        self.answers: list[dict] = []
        self.content_types: list[str | None] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                recorder.answers.append(json.loads(body))
                recorder.content_types.append(self.headers.get("Content-Type"))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cfn-response?X-Amz-Signature=abc"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def response_url():
    recorder = ResponseUrl()
    yield recorder
    recorder.close()


def custom_resource_event(request_type: str, response_url: str, bucket: str = BUCKET, **properties) -> dict:
    event = {
        "RequestType": request_type, "ResponseURL": response_url, "ServiceToken": "arn:aws:lambda:fn",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/voice-ws/1", "RequestId": "req-1",
        "LogicalResourceId": "AuthPage", "ResourceType": "Custom::AuthPage",
        # CloudFormation passes every property value as a string.
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:fn", "Bucket": bucket, "ApiUrl": API_URL,
                               "Deployment": "voice-ws", "SignupCode": "true", "TokenDays": "30",
                               "ImageTag": "v1", **properties},
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = f"auth-page-{bucket}"
    return event
