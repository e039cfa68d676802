"""Signed calls to AWS JSON APIs without boto3: botocore finds the credentials and signs, httpx2 sends.

boto3's clients load service models and endpoint rules (tens of MB, a fraction of a second); a server that
only needs one or two calls signs them itself. Credentials come from the usual chain (the ECS task role in
AWS); AWS_ENDPOINT_URL_<SERVICE> or AWS_ENDPOINT_URL point at another endpoint (moto in tests).
"""

from __future__ import annotations

import json
import os
import threading

import anyio
import httpx2

DEFAULT_REGION = "us-east-1"


class AwsError(Exception):
    """The call failed; the message names the AWS error type or the cause, never request data."""


class Credentials:
    """botocore's credential chain and region, loaded on first use (botocore is imported only then)."""

    def __init__(self):
        self._session = None
        self._lock = threading.Lock()

    async def get(self):
        """(frozen credentials, region). Finding credentials may call the ECS credentials endpoint: it runs in a
        thread, off the event loop."""
        return await anyio.to_thread.run_sync(self._get)

    def _get(self):
        with self._lock:
            if self._session is None:
                import botocore.session

                self._session = botocore.session.get_session()
        credentials = self._session.get_credentials()
        if credentials is None:
            raise AwsError("no AWS credentials found")
        region = self._session.get_config_variable("region") or DEFAULT_REGION
        return credentials.get_frozen_credentials(), region


class JsonApi:
    """One AWS service spoken over the JSON protocol (DynamoDB, ...): POST / with an X-Amz-Target."""

    def __init__(self, service: str, target_prefix: str, client: httpx2.AsyncClient):
        self.service = service
        self.target_prefix = target_prefix
        self._client = client
        self._credentials = Credentials()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def call(self, action: str, body: dict) -> dict:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.exceptions import BotoCoreError

        data = json.dumps(body).encode()
        try:
            credentials, region = await self._credentials.get()
            request = AWSRequest("POST", self._endpoint(region), data=data, headers={
                "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"{self.target_prefix}.{action}"})
            SigV4Auth(credentials, self.service, region).add_auth(request)
            response = await self._client.post(request.url, content=data, headers=dict(request.headers.items()))
        except (BotoCoreError, httpx2.HTTPError) as exc:
            raise AwsError(type(exc).__name__) from None
        if response.status_code != 200:
            raise AwsError(_error_type(response))
        return response.json()

    def _endpoint(self, region: str) -> str:
        endpoint = endpoint_override(self.service)
        return endpoint + "/" if endpoint else f"https://{self.service}.{region}.amazonaws.com/"


def endpoint_override(service: str) -> str | None:
    """AWS_ENDPOINT_URL_<SERVICE> or else AWS_ENDPOINT_URL, without a trailing slash; None: AWS itself."""
    endpoint = os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or os.environ.get("AWS_ENDPOINT_URL")
    return endpoint.rstrip("/") if endpoint else None


def _error_type(response: httpx2.Response) -> str:
    try:
        return str(response.json().get("__type", "")).rpartition("#")[2][:100] or f"HTTP {response.status_code}"
    except ValueError:
        return f"HTTP {response.status_code}"
