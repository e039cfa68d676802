"""Store an object in S3 and presign a GET for it: botocore signs, httpx2 sends.

Why not a boto3 client: loading its S3 service model and endpoint rules adds ~24 MB of
memory (the server would end near 100 MiB after its first upload) and 0.17 s; botocore's
credential chain and SigV4 signers alone add ~8 MB. Credentials come from the usual chain
(the ECS task role in AWS); AWS_ENDPOINT_URL(_S3) points at another endpoint (moto in tests).
"""

from __future__ import annotations

import functools
import re
from urllib.parse import quote

import httpx2

from server.aws import AwsError, Credentials, endpoint_override
from server.http_clients import new_client

PUT_TIMEOUT_SECONDS = 20.0


class S3Error(Exception):
    """The object could not be stored; the message names the S3 error code or the cause."""


class S3Objects:
    def __init__(self, bucket: str):
        self.bucket = bucket
        self._credentials = Credentials()

    @functools.cached_property
    def _client(self) -> httpx2.AsyncClient:
        return new_client(timeout=PUT_TIMEOUT_SECONDS)

    async def aclose(self) -> None:
        if "_client" in self.__dict__:
            await self._client.aclose()

    async def put_and_presign(self, key: str, data: bytes, content_type: str, expires_seconds: int) -> str:
        """Upload `data` under `key`; return a GET link valid for `expires_seconds`."""
        from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
        from botocore.awsrequest import AWSRequest
        from botocore.exceptions import BotoCoreError

        try:
            credentials, region = await self._credentials.get()
            url = self._object_url(key, region)
            put = AWSRequest("PUT", url, data=data, headers={"Content-Type": content_type})
            S3SigV4Auth(credentials, "s3", region).add_auth(put)
        except BotoCoreError as exc:
            raise S3Error(type(exc).__name__) from None
        except AwsError as exc:
            raise S3Error(str(exc)) from None
        try:
            response = await self._client.put(url, content=data, headers=dict(put.headers.items()))
        except httpx2.HTTPError as exc:
            raise S3Error(type(exc).__name__) from None
        if response.status_code != 200:
            raise S3Error(_error_code(response))
        get = AWSRequest("GET", url)
        S3SigV4QueryAuth(credentials, "s3", region, expires=expires_seconds).add_auth(get)
        return get.url

    def _object_url(self, key: str, region: str) -> str:
        path = quote(key, safe="/")
        endpoint = endpoint_override("s3")
        if endpoint:
            return f"{endpoint}/{self.bucket}/{path}"  # path style: what local endpoints serve
        if "." in self.bucket:  # a dotted name would not match the *.s3 TLS certificate
            return f"https://s3.{region}.amazonaws.com/{self.bucket}/{path}"
        return f"https://{self.bucket}.s3.{region}.amazonaws.com/{path}"


def _error_code(response: httpx2.Response) -> str:
    found = re.search(r"<Code>([^<]{1,100})</Code>", response.text)
    return found.group(1) if found else f"HTTP {response.status_code}"
