"""The auth API of a `websocket` deployment's auth page: one function running the shared server image
(server/authpage/aws_lambda.py) behind a function URL, which also publishes the page to the static site at deploy
time (the Custom::AuthPage resource), so the template carries neither the page nor any code.

The function URL is public (AuthType NONE): the page calls it from the browser. The function itself admits only
allowedCidrs, counts attempts per address, asks for the sign-up code and checks the ElevenLabs key.
"""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, Output, Ref, Template, awslambda, cloudformation, dynamodb, secretsmanager

from .. import naming
from ..model import CommonSpec, WebsocketSpec
from . import image, lambdas, lifecycle, policies, secrets, static_site, tokens
from .server import Value
from .static_site import StaticSite

FUNCTION = "AuthApiFunction"
ROLE = "AuthApiRole"
LOGS = "AuthApiLogGroup"
URL = "AuthApiUrl"
URL_PERMISSION = "AuthApiUrlPermission"
INVOKE_PERMISSION = "AuthApiInvokePermission"
PAGE = "AuthPage"

HANDLER = "server.authpage.aws_lambda.handler"
TIMEOUT_SECONDS = 15  # the ElevenLabs check gives up after 8 s
MEMORY_MB = 512
PUBLISH_TIMEOUT_SECONDS = 120  # CloudFormation's wait for the page to be published (the default is an hour)


class AuthPageResource(cloudformation.CustomResource):
    """Writes index.html and config.json to the site's bucket; removes them on delete. CloudFormation passes
    every property to the function as a string."""
    resource_type = "Custom::AuthPage"
    props = {**cloudformation.CustomResource.props, "Bucket": (str, True), "ApiUrl": (str, True),
             "Deployment": (str, True), "SignupCode": (str, True), "TokenDays": (str, True)}


@dataclass(frozen=True)
class AuthApi:
    function: awslambda.Function
    url: awslambda.Url

    def url_value(self) -> GetAtt:
        return GetAtt(self.url, "FunctionUrl")


def auth_api(t: Template, deployment: str, spec: CommonSpec, *, repo_stack: str, tag, site: StaticSite,
             tokens_table: dynamodb.Table, bridge_url: Value,
             signup_code: secretsmanager.Secret | None, reserved_concurrency: int | None) -> AuthApi:
    """The function, its public URL (CORS: the site's origin only) and the permissions a public URL needs.
    reserved_concurrency caps how many run at once: the URL is public, and every refused call is an invocation."""
    page = spec.auth.auth_page
    environment = {
        "MCP_DEPLOYMENT": deployment, "MCP_TOKENS_TABLE": Ref(tokens_table), "MCP_BRIDGE_URL": bridge_url,
        "MCP_AUTH_PAGE_ORIGIN": site.origin(),  # the function refuses a POST from any other Origin
        "MCP_AUTH_PAGE_TOKEN_DAYS": str(page.token_days),
        "MCP_AUTH_PAGE_ATTEMPTS_PER_HOUR": str(page.attempts_per_hour),
    }
    statements = [policies.allow(["dynamodb:PutItem"], GetAtt(tokens_table, "Arn")),
                  tokens.count_attempts(tokens_table), site.publisher_access()]
    if signup_code is not None:
        environment["MCP_SIGNUP_CODE_SECRET"] = Ref(signup_code)
        statements.append(policies.allow(["secretsmanager:GetSecretValue"], Ref(signup_code)))
    if spec.auth.allowed_cidrs:
        environment["MCP_ALLOWED_CIDRS"] = ",".join(spec.auth.allowed_cidrs)

    log_group = lambdas.log_group(t, LOGS, naming.websocket_log_group_name(deployment, "auth-api"), spec.logs)
    function = lambdas.image_function(t, lambdas.ImageFunction(
        FUNCTION, HANDLER, image.uri(repo_stack, tag), spec.task.architecture, environment,
        timeout_seconds=TIMEOUT_SECONDS, memory_mb=MEMORY_MB,
    ), role=lambdas.role(t, ROLE, log_group, statements), log_group=log_group)
    if reserved_concurrency is not None:
        function.ReservedConcurrentExecutions = reserved_concurrency
    url = t.add_resource(awslambda.Url(
        URL, AuthType="NONE", TargetFunctionArn=GetAtt(function, "Arn"),
        Cors=awslambda.Cors(AllowOrigins=[site.origin()], AllowMethods=["POST"], AllowHeaders=["content-type"]),
    ))
    # Since October 2025 a public function URL needs both: InvokeFunctionUrl, and InvokeFunction limited to
    # calls through the URL.
    t.add_resource(awslambda.Permission(URL_PERMISSION, FunctionName=Ref(function), Principal="*",
                                        Action="lambda:InvokeFunctionUrl", FunctionUrlAuthType="NONE"))
    t.add_resource(awslambda.Permission(INVOKE_PERMISSION, FunctionName=Ref(function), Principal="*",
                                        Action="lambda:InvokeFunction", InvokedViaFunctionUrl=True))
    return AuthApi(function=function, url=url)


def publish_page(t: Template, deployment: str, spec: CommonSpec, api: AuthApi, site: StaticSite, tag) -> None:
    """The page and its config.json in the bucket, written again whenever one of these properties changes.
    ImageTag is there only for that: the page comes from the image, so a new image publishes it again."""
    page = spec.auth.auth_page
    t.add_resource(AuthPageResource(
        PAGE, ServiceToken=GetAtt(api.function, "Arn"), ServiceTimeout=PUBLISH_TIMEOUT_SECONDS,
        # Nothing but this resource writes to the bucket, and its Delete removes what it wrote.
        Metadata=lifecycle.empties_on_delete(site.bucket.title),
        Bucket=Ref(site.bucket), ApiUrl=api.url_value(), Deployment=deployment,
        SignupCode="true" if page.signup_code else "false", TokenDays=str(page.token_days), ImageTag=Ref(tag),
    ))


def outputs(t: Template, api: AuthApi, site: StaticSite) -> None:
    """Where the page is (secrets.signup_code_secret adds how to read the sign-up code)."""
    t.add_output([
        Output("AuthPageUrl", Value=site.url(), Description="Where users exchange an ElevenLabs key for a token."),
        Output("AuthApiUrl", Value=api.url_value()),
    ])


def websocket_auth_page(t: Template, deployment: str, spec: WebsocketSpec, *, repo_stack: str, tag,
                        tokens_table: dynamodb.Table, bridge_url: Value) -> None:
    """Everything the auth page of a `websocket` deployment needs: the static site, the sign-up code (when asked
    for), the API publishing the page, and the outputs."""
    site = static_site.static_site(t, deployment)
    signup_code = secrets.signup_code_secret(t, deployment) if spec.auth.auth_page.signup_code else None
    api = auth_api(t, deployment, spec, repo_stack=repo_stack, tag=tag, site=site, tokens_table=tokens_table,
                   bridge_url=bridge_url, signup_code=signup_code,
                   reserved_concurrency=spec.websocket.auth_api_concurrency)
    publish_page(t, deployment, spec, api, site, tag)
    outputs(t, api, site)

