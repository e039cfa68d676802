"""The websocket auth page's resources as the template states them: a private bucket only the distribution reads,
the shared image as the function, a public URL admitting the site's origin only, least-privilege role."""

from __future__ import annotations

import pytest
from troposphere import Template

from compiler import naming
from compiler.model import WebsocketSpec
from compiler.parts import auth_api, image, static_site, tokens

BRIDGE = "wss://example/mcp"


def _spec(**auth) -> WebsocketSpec:
    return WebsocketSpec.model_validate({
        "region": "eu-west-1", "topology": "websocket", "image": {"repository": "images", "tag": "1.0.0"},
        "task": {"architecture": "x86_64"},
        "auth": {"mode": "tokens", "authPage": {"tokenDays": 30, "attemptsPerHour": 5}, **auth}})


def _template(spec: WebsocketSpec) -> dict:
    t = Template()
    tokens.token_store(t, spec.auth)
    table = t.resources[naming.TOKENS_TABLE]
    tag = image.tag_parameter(t, "1.0.0")
    auth_api.websocket_auth_page(t, "ws", spec, repo_stack="images", tag=tag, tokens_table=table, bridge_url=BRIDGE)
    return t.to_dict()


@pytest.fixture(scope="module")
def template() -> dict:
    return _template(_spec(allowedCidrs=["203.0.113.0/24"]))


def _resource(template: dict, logical_id: str) -> dict:
    return template["Resources"][logical_id]["Properties"]


def test_the_bucket_is_private_and_only_the_distribution_reads_it(template):
    bucket = _resource(template, static_site.SITE_BUCKET)
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert "WebsiteConfiguration" not in bucket
    [reads, tls_only] = _resource(template, static_site.SITE_BUCKET_POLICY)["PolicyDocument"]["Statement"]
    assert reads["Principal"] == {"Service": "cloudfront.amazonaws.com"} and reads["Action"] == "s3:GetObject"
    assert "${AuthPageDistribution}" in reads["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert tls_only["Effect"] == "Deny" and tls_only["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    config = _resource(template, static_site.DISTRIBUTION)["DistributionConfig"]
    [origin] = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [static_site.ORIGIN_ACCESS_CONTROL, "Id"]}
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"


def test_the_public_function_runs_at_most_a_few_at_once(template):
    """Issue 15 finding 7: the URL is public, so refused callers still cost invocations: a reserved concurrency
    caps them (2 by default), and null leaves it out for accounts whose quota cannot reserve any."""
    assert _resource(template, auth_api.FUNCTION)["ReservedConcurrentExecutions"] == 2
    capped = _template(_spec().model_copy(update={"websocket": _spec().websocket.model_copy(
        update={"auth_api_concurrency": 5})}))
    assert _resource(capped, auth_api.FUNCTION)["ReservedConcurrentExecutions"] == 5
    uncapped = WebsocketSpec.model_validate({**_spec().model_dump(by_alias=True), "websocket": {
        "authApiConcurrency": None}})
    assert "ReservedConcurrentExecutions" not in _resource(_template(uncapped), auth_api.FUNCTION)


def test_the_function_is_the_shared_image_under_the_runtime_interface(template):
    function = _resource(template, auth_api.FUNCTION)
    assert function["PackageType"] == "Image" and function["Architectures"] == ["x86_64"]
    assert function["Code"]["ImageUri"]["Fn::Sub"][0] == "${Repository}:${ImageTag}"
    assert function["ImageConfig"] == {"Command": ["python", "-m", "awslambdaric", "server.authpage.aws_lambda.handler"]}
    env = function["Environment"]["Variables"]
    assert env["MCP_ALLOWED_CIDRS"] == "203.0.113.0/24" and env["MCP_BRIDGE_URL"] == BRIDGE
    assert env["MCP_SIGNUP_CODE_SECRET"] == {"Ref": naming.SIGNUP_CODE_SECRET}
    assert (env["MCP_AUTH_PAGE_TOKEN_DAYS"], env["MCP_AUTH_PAGE_ATTEMPTS_PER_HOUR"]) == ("30", "5")


def test_the_public_url_admits_the_site_only_and_has_both_permissions(template):
    url = _resource(template, auth_api.URL)
    assert url["AuthType"] == "NONE"
    assert url["Cors"] == {"AllowOrigins": [{"Fn::Sub": "https://${AuthPageDistribution.DomainName}"}],
                           "AllowMethods": ["POST"], "AllowHeaders": ["content-type"]}
    by_url = _resource(template, auth_api.URL_PERMISSION)
    assert (by_url["Action"], by_url["FunctionUrlAuthType"]) == ("lambda:InvokeFunctionUrl", "NONE")
    invoke = _resource(template, auth_api.INVOKE_PERMISSION)
    assert (invoke["Action"], invoke["InvokedViaFunctionUrl"]) == ("lambda:InvokeFunction", True)


def test_the_function_refuses_other_origins_itself_cors_admits_the_same_one(template):
    # CORS only hides answers; the function checks Origin against the very value the URL's CORS admits.
    env = _resource(template, auth_api.FUNCTION)["Environment"]["Variables"]
    assert [env["MCP_AUTH_PAGE_ORIGIN"]] == _resource(template, auth_api.URL)["Cors"]["AllowOrigins"]


def test_the_role_may_put_tokens_write_the_site_and_read_the_code_only(template):
    [policy] = _resource(template, auth_api.ROLE)["Policies"]
    grants = {action: statement["Resource"] for statement in policy["PolicyDocument"]["Statement"]
              for action in statement["Action"]}
    assert grants == {
        "logs:CreateLogStream": {"Fn::GetAtt": [auth_api.LOGS, "Arn"]},
        "logs:PutLogEvents": {"Fn::GetAtt": [auth_api.LOGS, "Arn"]},
        "dynamodb:PutItem": {"Fn::GetAtt": [naming.TOKENS_TABLE, "Arn"]},
        "dynamodb:UpdateItem": {"Fn::GetAtt": [naming.TOKENS_TABLE, "Arn"]},  # attempt counts only (below)
        "s3:PutObject": {"Fn::Sub": "${AuthPageBucket.Arn}/*"},
        "s3:DeleteObject": {"Fn::Sub": "${AuthPageBucket.Arn}/*"},
        "secretsmanager:GetSecretValue": {"Ref": naming.SIGNUP_CODE_SECRET},
    }
    [count] = [s for s in policy["PolicyDocument"]["Statement"] if s["Action"] == ["dynamodb:UpdateItem"]]
    assert count["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["attempts#*"]}}


def test_the_page_is_published_by_the_function_with_a_bounded_wait(template):
    page = template["Resources"][auth_api.PAGE]
    assert page["Type"] == "Custom::AuthPage"
    assert page["Properties"]["ServiceToken"] == {"Fn::GetAtt": [auth_api.FUNCTION, "Arn"]}
    assert page["Properties"]["ServiceTimeout"] == auth_api.PUBLISH_TIMEOUT_SECONDS
    assert (page["Properties"]["SignupCode"], page["Properties"]["TokenDays"]) == ("true", "30")
    # the page comes from the image: a new tag must change a property, or CloudFormation would not publish again
    assert page["Properties"]["ImageTag"] == {"Ref": "ImageTag"}
    assert set(template["Outputs"]) - {"TokensTable"} == {"AuthPageUrl", "AuthApiUrl", "SignupCodeCommand"}


def test_without_a_sign_up_code_there_is_no_secret_and_no_right_to_one():
    template = _template(_spec(authPage={"signupCode": False}))
    assert naming.SIGNUP_CODE_SECRET not in template["Resources"]
    assert "MCP_SIGNUP_CODE_SECRET" not in _resource(template, auth_api.FUNCTION)["Environment"]["Variables"]
    assert "MCP_ALLOWED_CIDRS" not in _resource(template, auth_api.FUNCTION)["Environment"]["Variables"]
    assert template["Resources"][auth_api.PAGE]["Properties"]["SignupCode"] == "false"
    assert "SignupCodeCommand" not in template["Outputs"]
