"""The auth Lambda's custom resource (Custom::AuthPage): the page and config.json written to the site's bucket in
moto, removed on Delete, and CloudFormation always answered at ResponseURL."""

from __future__ import annotations

import json
import re

import boto3
import pytest

from server.authpage import aws_lambda, core
from tests.authpage_lambda.conftest import API_URL, BUCKET, custom_resource_event

PAGE_SOURCE = aws_lambda.resources.files("server.authpage").joinpath("page.html").read_text(encoding="utf-8")


def _object(key: str) -> dict:
    return boto3.client("s3").get_object(Bucket=BUCKET, Key=key)


def _keys() -> list[str]:
    return [item["Key"] for item in boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])]


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_create_and_update_write_the_page_and_its_config(aws, response_url, request_type):
    event = custom_resource_event(request_type, response_url.url, SignupCode="false", TokenDays="45")
    assert aws_lambda.handler(event, None) is None

    [answer] = response_url.answers
    assert answer["Status"] == "SUCCESS"
    assert {key: answer[key] for key in ("StackId", "RequestId", "LogicalResourceId")} == {
        "StackId": event["StackId"], "RequestId": "req-1", "LogicalResourceId": "AuthPage"}
    assert answer["PhysicalResourceId"] == f"auth-page-{BUCKET}"
    assert response_url.content_types == [""]  # what the presigned URL was signed for

    config = _object("config.json")
    assert json.loads(config["Body"].read()) == {"apiUrl": API_URL, "deployment": "voice-ws", "signupCode": False,
                                                 "tokenDays": 45}
    assert config["ContentType"] == "application/json" and config["CacheControl"] == "no-cache"
    page = _object("index.html")
    assert page["ContentType"] == "text/html; charset=utf-8"
    html = page["Body"].read().decode()
    assert html.replace(_csp_meta(html) + "\n", "", 1) == PAGE_SOURCE  # the page itself, untouched


def test_the_page_carries_a_policy_admitting_its_own_code_and_the_auth_api_only(aws, response_url):
    aws_lambda.handler(custom_resource_event("Create", response_url.url), None)
    html = _object("index.html")["Body"].read().decode()
    policy = re.search(r'content="([^"]+)"', _csp_meta(html)).group(1)
    directives = dict(part.split(" ", 1) for part in policy.split("; "))

    assert directives["default-src"] == "'none'"
    assert directives["connect-src"] == "'self' https://xyz.lambda-url.us-east-1.on.aws"
    expected = core.content_security_policy(PAGE_SOURCE)
    assert f"script-src {directives['script-src']}" in expected and f"style-src {directives['style-src']}" in expected
    assert "frame-ancestors" not in directives  # browsers ignore it in <meta>; CloudFront sends X-Frame-Options


def test_signup_code_true_reaches_config_json(aws, response_url):
    aws_lambda.handler(custom_resource_event("Create", response_url.url, SignupCode="true"), None)
    assert json.loads(_object("config.json")["Body"].read())["signupCode"] is True


def test_delete_removes_both_objects_so_the_bucket_can_go(aws, response_url):
    aws_lambda.handler(custom_resource_event("Create", response_url.url), None)
    assert sorted(_keys()) == ["config.json", "index.html"]

    aws_lambda.handler(custom_resource_event("Delete", response_url.url), None)
    assert _keys() == []
    assert [answer["Status"] for answer in response_url.answers] == ["SUCCESS", "SUCCESS"]
    boto3.client("s3").delete_bucket(Bucket=BUCKET)


def test_delete_of_a_bucket_already_gone_succeeds(aws, response_url):
    aws_lambda.handler(custom_resource_event("Delete", response_url.url, bucket="never-existed"), None)
    assert response_url.answers[0]["Status"] == "SUCCESS"


def test_a_failure_answers_failed_with_the_reason_instead_of_hanging_the_stack(aws, response_url):
    aws_lambda.handler(custom_resource_event("Create", response_url.url, bucket="no-such-bucket"), None)
    [answer] = response_url.answers
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("Create failed: NoSuchBucket")
    assert answer["PhysicalResourceId"] == "auth-page-no-such-bucket"


def test_a_malformed_property_answers_failed(aws, response_url):
    aws_lambda.handler(custom_resource_event("Update", response_url.url, TokenDays="many"), None)
    [answer] = response_url.answers
    assert answer["Status"] == "FAILED" and "ValueError" in answer["Reason"]


def _csp_meta(html: str) -> str:
    return re.search(r'<meta http-equiv="Content-Security-Policy" content="[^"]+">', html).group(0)


def test_a_replaced_bucket_gets_a_new_physical_id_so_the_old_one_is_emptied(aws, response_url):
    boto3.client("s3").create_bucket(Bucket="replacement")
    aws_lambda.handler(custom_resource_event("Update", response_url.url, bucket="replacement"), None)
    assert response_url.answers[-1]["PhysicalResourceId"] == "auth-page-replacement"

    # CloudFormation then deletes the old physical resource, with the old properties.
    aws_lambda.handler(custom_resource_event("Create", response_url.url), None)
    aws_lambda.handler(custom_resource_event("Delete", response_url.url), None)
    assert _keys() == []
    assert response_url.answers[-1]["PhysicalResourceId"] == f"auth-page-{BUCKET}"


def test_a_sign_up_request_shaped_like_a_custom_resource_event_publishes_nothing(aws, make_api, response_url,
                                                                                    monkeypatch):
    from tests.authpage_lambda.conftest import url_event

    aws_lambda.handler(custom_resource_event("Create", response_url.url), None)
    monkeypatch.setattr(aws_lambda, "_api", make_api())
    forged = custom_resource_event("Delete", response_url.url)
    # Even with the keys at the top of the event (a caller controls only the body), it stays a sign-up.
    event = {**url_event(forged), "RequestType": "Delete", "ResponseURL": response_url.url}

    assert aws_lambda.handler(event, None)["statusCode"] == 400
    assert sorted(_keys()) == ["config.json", "index.html"]
    assert len(response_url.answers) == 1  # the Create only
