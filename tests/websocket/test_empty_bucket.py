"""Custom::EmptyBucket (server/websocket/empty_bucket.py), run against S3 in moto with a local stand-in for
CloudFormation's ResponseURL: Delete empties the bucket so CloudFormation can delete it, and every request is
answered (a failure too) so the stack never waits an hour."""

from __future__ import annotations

import importlib.util

import boto3
import pytest

from compiler.parts import lambdas
from tests.authpage_lambda.conftest import ResponseUrl
from tests.localaws import TEST_CREDENTIALS

BUCKET = "voice-ws-outputbucket-1a2b3c"
MODULE = lambdas.SERVER_PACKAGE / "websocket" / "empty_bucket.py"


@pytest.fixture
def s3(moto, monkeypatch):
    moto.reset()
    for name, value in {**TEST_CREDENTIALS, "AWS_ENDPOINT_URL": moto.endpoint, "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def response_url():
    recorder = ResponseUrl()
    yield recorder
    recorder.close()


@pytest.fixture
def handler():
    spec = importlib.util.spec_from_file_location("empty_bucket_under_test", MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler


def event(request_type: str, url: str, bucket: str = BUCKET) -> dict:
    return {"RequestType": request_type, "ResponseURL": url, "ServiceToken": "arn:aws:lambda:fn",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/voice-ws/1", "RequestId": "req-1",
            "LogicalResourceId": "OutputBucketEmptier", "ResourceType": "Custom::EmptyBucket",
            "PhysicalResourceId": f"empty-{bucket}",
            "ResourceProperties": {"ServiceToken": "arn:aws:lambda:fn", "Bucket": bucket}}


def keys(s3) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_delete_empties_the_bucket_so_cloudformation_can_delete_it(s3, response_url, handler):
    for index in range(1005):  # more than one page of 1,000
        s3.put_object(Bucket=BUCKET, Key=f"audio/{index:04}.mp3", Body=b"x")
    with pytest.raises(Exception, match="BucketNotEmpty"):
        s3.delete_bucket(Bucket=BUCKET)  # what the stack deletion ran into
    handler(event("Delete", response_url.url), None)
    assert keys(s3) == []
    [answer] = response_url.answers
    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", f"empty-{BUCKET}")
    assert response_url.content_types == [""]
    s3.delete_bucket(Bucket=BUCKET)


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_create_and_update_touch_nothing(s3, response_url, handler, request_type):
    s3.put_object(Bucket=BUCKET, Key="audio/kept.mp3", Body=b"x")
    handler(event(request_type, response_url.url), None)
    assert keys(s3) == ["audio/kept.mp3"]
    assert [a["Status"] for a in response_url.answers] == ["SUCCESS"]


def test_a_bucket_already_gone_is_empty_enough(s3, response_url, handler):
    handler(event("Delete", response_url.url, bucket="never-existed-bucket"), None)
    assert response_url.answers[0]["Status"] == "SUCCESS"


def test_a_failure_answers_failed_instead_of_hanging_the_stack(s3, response_url, handler, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: S3 cannot be reached
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    handler(event("Delete", response_url.url), None)
    [answer] = response_url.answers
    assert answer["Status"] == "FAILED" and "EndpointConnectionError" in answer["Reason"]


def test_inline_code_fits():
    assert len(lambdas.inline_code("websocket/empty_bucket.py")) <= lambdas.INLINE_CODE_LIMIT
