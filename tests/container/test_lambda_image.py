"""The image as Lambda runs it: the auth page function's ImageConfig.Command (compiler/parts/auth_api.py) in a
container, speaking the Lambda Runtime API to a local stand-in, answering a function-URL request and publishing
the page (package data in the image) to a moto bucket for a CloudFormation custom resource event."""

from __future__ import annotations

import json

import boto3
import pytest

from compiler.parts import auth_api, lambdas
from tests.authpage_lambda.conftest import PAGE_ORIGIN, ResponseUrl, custom_resource_event, url_event
from tests.container.buildah import stop
from tests.container.lambda_runtime import RuntimeApi
from tests.load.harness import tail
from tests.localaws import TEST_CREDENTIALS, MotoServer

REGION = "us-east-1"
BUCKET = "auth-page-site"


@pytest.fixture
def lambda_function(buildah, app_image, tmp_path, monkeypatch):
    """The image started with the function's command and Lambda's environment; yields (runtime API, moto, log)."""
    with MotoServer() as moto:
        for name, value in {**TEST_CREDENTIALS, "AWS_ENDPOINT_URL": moto.endpoint, "AWS_REGION": REGION}.items():
            monkeypatch.setenv(name, value)
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        runtime = RuntimeApi()
        env = {**TEST_CREDENTIALS, "AWS_LAMBDA_RUNTIME_API": runtime.address, "AWS_REGION": REGION,
               "AWS_DEFAULT_REGION": REGION,
               "AWS_ENDPOINT_URL": moto.endpoint, "MCP_DEPLOYMENT": "voice-ws", "MCP_TOKENS_TABLE": "tokens",
               "MCP_BRIDGE_URL": "wss://abc.execute-api.us-east-1.amazonaws.com/mcp",
               "MCP_AUTH_PAGE_ORIGIN": PAGE_ORIGIN,
               "MCP_AUTH_PAGE_TOKEN_DAYS": "30", "MCP_AUTH_PAGE_ATTEMPTS_PER_HOUR": "10"}
        container = buildah.create_container(app_image)
        log = tmp_path / "lambda.log"
        process = buildah.start(container, lambdas.image_command(auth_api.HANDLER), env, log)
        try:
            yield runtime, log
        finally:
            stop(process)
            buildah.remove_container(container)
            runtime.close()


def test_the_image_runs_the_auth_function_under_the_lambda_runtime_api(lambda_function):
    runtime, log = lambda_function

    refused = runtime.invoke(url_event("not json"))
    assert refused.kind == "response", tail(log)
    assert refused.body["statusCode"] == 400
    assert json.loads(refused.body["body"])["error"] == "bad_request"
    assert runtime.init_errors == []

    response_url = ResponseUrl()
    try:
        published = runtime.invoke(custom_resource_event("Create", response_url.url, bucket=BUCKET))
        assert published.kind == "response", tail(log)
        assert [answer["Status"] for answer in response_url.answers] == ["SUCCESS"], tail(log)
    finally:
        response_url.close()
    page = boto3.client("s3").get_object(Bucket=BUCKET, Key="index.html")["Body"].read().decode()
    assert page.startswith("<!DOCTYPE html>") and 'http-equiv="Content-Security-Policy"' in page


def test_the_image_runs_the_on_demand_function_under_the_lambda_runtime_api(buildah, app_image, tmp_path, monkeypatch):
    """compiler/parts/on_demand.py's command in the real image: a wake sets the desired count in moto's ECS and
    switches the idle rule on; an idle check with no activity for IDLE_SECONDS stops it again. The time from the
    container's start to the first answer is printed (`-s` shows it): the image function's local cold start."""
    import time

    from compiler.parts import on_demand
    from tests.websocket.on_demand_stand_ins import CLUSTER, RULE, desired_count, on_demand_stack, rule_state

    with MotoServer() as moto:
        on_demand_stack(moto.endpoint)
        boto3.client("dynamodb", endpoint_url=moto.endpoint, region_name=REGION, **{
            "aws_access_key_id": "test", "aws_secret_access_key": "test"}).create_table(
            TableName="connections", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
        runtime = RuntimeApi()
        env = {**TEST_CREDENTIALS, "AWS_LAMBDA_RUNTIME_API": runtime.address, "AWS_REGION": REGION,
               "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": moto.endpoint, "CLUSTER": CLUSTER,
               "SERVICE": "od-service", "MIN_COUNT": "1", "IDLE_SECONDS": "1", "IDLE_RULE": RULE,
               "CONNECTIONS_TABLE": "connections"}
        container = buildah.create_container(app_image)
        log = tmp_path / "lambda.log"
        started = time.monotonic()
        process = buildah.start(container, lambdas.image_command(on_demand.HANDLER), env, log)
        try:
            woken = runtime.invoke({"wake": True})
            cold = time.monotonic() - started
            assert woken.kind == "response", tail(log)
            assert woken.body == {"event": "wake", "desiredCount": 1, "changed": True}
            assert desired_count(moto.endpoint) == 1 and rule_state(moto.endpoint) == "ENABLED"
            time.sleep(2)
            checked = runtime.invoke({"check": True})
            assert checked.kind == "response" and checked.body["changed"] is True, tail(log)
            assert desired_count(moto.endpoint) == 0 and rule_state(moto.endpoint) == "DISABLED"
            assert runtime.init_errors == []
            print(f"on-demand function from the image: first answer {cold:.1f} s after the container started")
        finally:
            stop(process)
            buildah.remove_container(container)
            runtime.close()
