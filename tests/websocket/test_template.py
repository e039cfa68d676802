"""The `websocket` topology's template, checked as data: the pieces the design depends on, the inline Lambda
code, and cfn-lint cleanliness for every option."""

from __future__ import annotations

import ast

import copy
import json
from pathlib import Path

import pytest

from compiler import naming
from compiler.lint import lint_templates
from compiler.model import Deployment, ImageRepository
from compiler.parts import lambdas, relay, server
from compiler.topologies import TOPOLOGIES

ROOT = Path(__file__).resolve().parents[2]
SCHEDULE = {"timezone": "Europe/Berlin", "activeHours": "08:00-20:00", "days": ["MON", "TUE", "WED", "THU", "FRI"]}
CASES = {
    "defaults": {},
    "office-hours-allow-list": {"schedule": SCHEDULE, "auth": {"allowedCidrs": ["203.0.113.0/24"]},
                                "alerts": {"email": "ops@example.com", "monthlyBudgetUsd": 10}},
    "midnight-ipv6-spot-x86": {"schedule": {"timezone": "Asia/Tokyo", "activeHours": "22:00-02:00", "days": ["SAT"]},
                               "auth": {"allowedCidrs": ["2001:db8::/32"]}, "region": "ap-southeast-2",
                               "task": {"spot": True, "architecture": "x86_64", "cpu": 1024, "memory": 2048}},
    "scaling-throttled": {"task": {"maxCount": 4, "cpuTargetPercent": 60}, "logs": {"retentionDays": 90},
                          "websocket": {"throttleRatePerSecond": 5, "throttleBurst": 10}, "region": "eu-west-1"},
    "tokens-allow-list": {"auth": {"mode": "tokens", "allowedCidrs": ["203.0.113.0/24"]}},
    "on-demand": {"onDemand": {"idleMinutes": 45}, "task": {"minCount": 2, "maxCount": 3}},
    "on-demand-office-hours-x86": {"onDemand": {}, "schedule": SCHEDULE, "task": {"architecture": "x86_64"}},
}


def build(overrides: dict) -> dict:
    spec = {"region": "us-east-1", "topology": "websocket", "image": {"repository": "images", "tag": "1.2.0"},
            **copy.deepcopy(overrides)}
    deployment = Deployment.model_validate({"apiVersion": "mcpdeploy/v1alpha1", "kind": "Deployment",
                                            "metadata": {"name": "voice-ws"}, "spec": spec})
    repository = ImageRepository.model_validate({"apiVersion": "mcpdeploy/v1alpha1", "kind": "ImageRepository",
                                                 "metadata": {"name": "images"}, "spec": {"region": spec["region"]}})
    return TOPOLOGIES["websocket"](deployment, repository).to_dict()


@pytest.fixture(scope="module")
def template() -> dict:
    return build(CASES["office-hours-allow-list"])


def props(template: dict, logical_id: str) -> dict:
    return template["Resources"][logical_id]["Properties"]


def of_type(template: dict, kind: str) -> dict[str, dict]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def test_every_case_lints_clean():
    templates = {f"{name}.json": (json.dumps(build(case)), case.get("region", "us-east-1"))
                 for name, case in CASES.items()}
    assert lint_templates(templates, use_cache=False) == []


@pytest.mark.parametrize("function, module", [(naming.RELAY_FUNCTION, "relay.py"),
                                              (naming.AUTHORIZER_FUNCTION, "authorizer.py")])
def test_lambda_code_is_the_server_module_inline_within_4096_characters(template, function, module):
    source = (ROOT / "server" / "websocket" / module).read_text()
    code = props(template, function)["Code"]["ZipFile"]
    assert code == lambdas.without_explanations(source) and len(code) <= lambdas.INLINE_CODE_LIMIT
    assert syntax_without_docstrings(code) == syntax_without_docstrings(source)  # the same program
    assert props(template, function)["Handler"] == "index.handler"


def syntax_without_docstrings(code: str) -> str:
    tree = ast.parse(code)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and len(body) > 1 and isinstance(body[0], ast.Expr) \
                and isinstance(getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
            del body[0]
    return ast.dump(tree)


def test_inlining_keeps_multi_line_strings_and_drops_only_explanations():
    source = (
        '"""Module docstring."""\n'
        'import json  # a comment\n'
        '\n'
        'TEXT = """first\n'
        '\n'
        '    # not a comment, indented\n'
        '"""\n'
        'def f(a,\n'
        '      b):\n'
        '    """Only statement: kept."""\n'
        'class C:\n'
        '    def g(self):\n'
        '        """Doc."""\n'
        '        if self:  # why\n'
        '            return {"k": 1,\n'
        '                    "h": "#"}\n'
        '        return None\n')
    code = lambdas.without_explanations(source)
    assert code == (
        'import json\n'
        'TEXT = """first\n'
        '\n'
        '    # not a comment, indented\n'
        '"""\n'
        'def f(a,\n'
        'b):\n'  # a continuation line needs no indentation
        ' """Only statement: kept."""\n'
        'class C:\n'
        ' def g(self):\n'
        '  if self:\n'
        '   return {"k": 1,\n'
        '"h": "#"}\n'
        '  return None\n')
    assert syntax_without_docstrings(code) == syntax_without_docstrings(source)


def test_a_module_over_the_inline_limit_is_refused(tmp_path, monkeypatch):
    (tmp_path / "websocket").mkdir()
    (tmp_path / "websocket" / "big.py").write_text("x = 1\n" * 700)
    monkeypatch.setattr(lambdas, "SERVER_PACKAGE", tmp_path)
    monkeypatch.setattr(lambdas, "INLINED_SERVER_CODE", tmp_path / "websocket")
    with pytest.raises(ValueError, match="4200 characters without its docstrings and comments; inline Lambda code "
                                         "takes at most 4096"):
        lambdas.inline_code("websocket/big.py")


def test_connect_is_authorized_by_the_token_in_the_query_string(template):
    authorizer = props(template, naming.WEBSOCKET_AUTHORIZER)
    assert authorizer["AuthorizerType"] == "REQUEST"
    assert authorizer["IdentitySource"] == ["route.request.querystring.token"]
    connect = props(template, naming.CONNECT_ROUTE)
    assert connect["RouteKey"] == "$connect" and connect["AuthorizationType"] == "CUSTOM"
    assert connect["AuthorizerId"] == {"Ref": naming.WEBSOCKET_AUTHORIZER}
    assert "AuthorizationType" not in props(template, naming.DISCONNECT_ROUTE)


def test_the_default_route_returns_the_relays_reply(template):
    default = props(template, naming.DEFAULT_ROUTE)
    assert default["RouteKey"] == "$default" and default["RouteResponseSelectionExpression"] == "$default"
    response = props(template, naming.DEFAULT_ROUTE_RESPONSE)
    assert response["RouteId"] == {"Ref": naming.DEFAULT_ROUTE} and response["RouteResponseKey"] == "$default"
    integration = props(template, naming.RELAY_INTEGRATION)
    assert integration["IntegrationType"] == "AWS_PROXY" and integration["TimeoutInMillis"] == 29000
    assert "RelayFunction.Arn" in json.dumps(integration["IntegrationUri"])


def test_the_stage_throttles_and_writes_access_logs_without_the_query_string(template):
    stage = props(template, naming.WEBSOCKET_STAGE)
    assert stage["DefaultRouteSettings"] == {"ThrottlingBurstLimit": 100, "ThrottlingRateLimit": 50.0}
    assert stage["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": [naming.WEBSOCKET_ACCESS_LOGS, "Arn"]}
    assert "querystring" not in stage["AccessLogSettings"]["Format"].lower()
    # The region's account setting for access logs is the repository stack's (issue 15 finding 8).
    assert naming.API_GATEWAY_ACCOUNT not in template["Resources"]
    assert build(CASES["scaling-throttled"])["Resources"][naming.WEBSOCKET_STAGE]["Properties"][
        "DefaultRouteSettings"] == {"ThrottlingBurstLimit": 10, "ThrottlingRateLimit": 5.0}


def test_the_relay_is_in_the_vpc_and_the_authorizer_is_not(template):
    vpc = props(template, naming.RELAY_FUNCTION)["VpcConfig"]
    assert vpc["SecurityGroupIds"] == [{"Fn::GetAtt": [naming.RELAY_SECURITY_GROUP, "GroupId"]}]
    assert len(vpc["SubnetIds"]) == 2
    assert "VpcConfig" not in props(template, naming.AUTHORIZER_FUNCTION)
    assert props(template, naming.RELAY_FUNCTION)["Timeout"] == 29


def test_tasks_admit_only_the_relay_and_have_public_ips_for_egress(template):
    task_group = props(template, naming.TASK_SECURITY_GROUP)
    assert "SecurityGroupIngress" not in task_group
    [ingress] = of_type(template, "AWS::EC2::SecurityGroupIngress").values()
    assert ingress["Properties"]["SourceSecurityGroupId"] == {"Fn::GetAtt": [naming.RELAY_SECURITY_GROUP, "GroupId"]}
    assert ingress["Properties"]["FromPort"] == ingress["Properties"]["ToPort"] == 8080
    network = props(template, naming.SERVICE)["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "ENABLED"
    assert "LoadBalancers" not in props(template, naming.SERVICE)


def test_tasks_register_a_records_the_relay_resolves(template):
    discovery = props(template, naming.DISCOVERY_SERVICE)
    assert discovery["DnsConfig"]["DnsRecords"][0]["Type"] == "A"
    [registry] = props(template, naming.SERVICE)["ServiceRegistries"]
    assert set(registry) == {"RegistryArn"}
    namespace = props(template, naming.SERVICE_NAMESPACE)["Name"]
    relay_env = props(template, naming.RELAY_FUNCTION)["Environment"]["Variables"]
    assert relay_env["TASK_HOST"] == f"{discovery['Name']}.{namespace}" and relay_env["TASK_PORT"] == "8080"
    server_env = {e["Name"]: e["Value"] for e in props(template, naming.TASK_DEFINITION)["ContainerDefinitions"][0]
                  ["Environment"]}
    assert server_env["MCP_ALLOWED_HOSTS"] == relay_env["TASK_HOST"]  # the Host header the relay sends
    assert server_env["MCP_TRUSTED_PROXY_CIDRS"] == "10.0.0.0/16"  # X-Forwarded-For from the relay


def test_connection_state_is_in_dynamodb_through_a_gateway_endpoint(template):
    table = props(template, naming.CONNECTIONS_TABLE)
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}
    endpoint = props(template, naming.DYNAMODB_ENDPOINT)
    assert endpoint["VpcEndpointType"] == "Gateway"
    assert endpoint["RouteTableIds"] == [{"Ref": naming.PUBLIC_ROUTE_TABLE}]
    [statement] = endpoint["PolicyDocument"]["Statement"]
    assert statement["Resource"] == {"Fn::GetAtt": [naming.CONNECTIONS_TABLE, "Arn"]}
    relay_statements = props(template, naming.RELAY_ROLE)["Policies"][0]["PolicyDocument"]["Statement"]
    assert {"Effect": "Allow", "Action": statement["Action"], "Resource": statement["Resource"]} in relay_statements
    assert relay_env_of(template)["CONNECTIONS_TABLE"] == {"Ref": naming.CONNECTIONS_TABLE}


def relay_env_of(template: dict) -> dict:
    return props(template, naming.RELAY_FUNCTION)["Environment"]["Variables"]


def test_audio_goes_to_a_private_encrypted_bucket_that_empties_daily(template):
    bucket = props(template, naming.OUTPUT_BUCKET)
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"}
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 1
    task_role = props(template, naming.TASK_ROLE)["Policies"][0]["PolicyDocument"]["Statement"]
    assert task_role == [{"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
                          "Resource": {"Fn::Sub": f"${{{naming.OUTPUT_BUCKET}.Arn}}/*"}}]
    server_env = {e["Name"]: e["Value"] for e in props(template, naming.TASK_DEFINITION)["ContainerDefinitions"][0]
                  ["Environment"]}
    assert server_env["MCP_OUTPUT_BUCKET"] == {"Ref": naming.OUTPUT_BUCKET}
    assert int(server_env["MCP_MAX_INLINE_AUDIO_BYTES"]) * 4 / 3 < 128 * 1024 - 4096  # base64 + JSON fit


def test_no_function_environment_holds_the_key_or_a_reference_to_it(template, tokens_template):
    """Issue 15 finding 4: `{{resolve:secretsmanager:...}}` in a Lambda environment is resolved at deploy time
    into text anyone with lambda:GetFunctionConfiguration reads, and goes stale when the secret changes. The
    authorizer reads the secret itself (outside the VPC); the relay holds nothing (it presents tickets)."""
    for built in (template, tokens_template):
        for logical_id, resource in of_type(built, "AWS::Lambda::Function").items():
            variables = resource["Properties"].get("Environment", {}).get("Variables", {})
            assert "resolve:secretsmanager" not in json.dumps(variables), logical_id
            assert server.SERVER_KEY not in variables, logical_id
        auth_env = props(built, naming.AUTHORIZER_FUNCTION)["Environment"]["Variables"]
        assert auth_env["SECRET_ARN"] == {"Ref": naming.SERVER_SECRET}
        reads = [s for s in policy_statements(built, naming.AUTHORIZER_ROLE)
                 if "secretsmanager:GetSecretValue" in s["Action"]]
        assert [s["Resource"] for s in reads] == [{"Ref": naming.SERVER_SECRET}]
        assert "SECRET_ARN" not in relay_env_of(built)
        relay_actions = {a for s in policy_statements(built, naming.RELAY_ROLE) for a in (
            s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
        assert not [a for a in relay_actions if a.startswith("secretsmanager:")]
    auth_env = props(template, naming.AUTHORIZER_FUNCTION)["Environment"]["Variables"]
    assert auth_env["ALLOWED_CIDRS"] == "203.0.113.0/24" and auth_env["AUTH_MODE"] == "api-key"
    assert build({})["Resources"][naming.AUTHORIZER_FUNCTION]["Properties"]["Environment"]["Variables"][
        "ALLOWED_CIDRS"] == ""
    server_env = {e["Name"]: e["Value"] for e in props(template, naming.TASK_DEFINITION)["ContainerDefinitions"][0]
                  ["Environment"]}
    assert server_env["MCP_TRUST_RELAY"] == "true"  # the tasks take the relay's tickets in mode api-key too


def test_the_no_task_error_tells_the_schedule(template):
    assert relay_env_of(template)["SCHEDULE_NOTE"] == relay.schedule_note(
        Deployment.model_validate({"apiVersion": "mcpdeploy/v1alpha1", "kind": "Deployment",
                                   "metadata": {"name": "x"}, "spec": {"region": "us-east-1", "topology": "websocket",
                                                                       "image": {"repository": "i", "tag": "1"},
                                                                       "schedule": SCHEDULE}}).spec.schedule)
    assert "MON,TUE,WED,THU,FRI 08:00-20:00 (Europe/Berlin)" in relay_env_of(template)["SCHEDULE_NOTE"]
    assert "around the clock" in relay_env_of(build({}))["SCHEDULE_NOTE"]


def test_outputs_show_the_endpoint_and_each_clients_configuration(template):
    outputs = template["Outputs"]
    assert outputs["EndpointUrl"]["Value"] == {
        "Fn::Sub": "wss://${WebSocketApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/mcp"}
    claude_code = outputs["ClaudeCodeCommand"]["Value"]["Fn::Sub"][0]
    token_command = outputs["TokenCommand"]["Value"]["Fn::Sub"][0]
    assert claude_code == f'claude mcp add voice-ws -e MCP_BRIDGE_TOKEN="$({token_command})" -- ' \
        "elevenlabs-mcp-bridge ${Url}"
    for name in ("CursorConfig", "ClaudeDesktopConfig"):
        config = json.loads(outputs[name]["Value"]["Fn::Sub"][0])
        assert config["mcpServers"]["voice-ws"]["command"] == "elevenlabs-mcp-bridge"
        assert config["mcpServers"]["voice-ws"]["args"] == ["${Url}"]
    assert "jq -r .MCP_SERVER_API_KEY" in outputs["TokenCommand"]["Value"]["Fn::Sub"][0]


@pytest.fixture(scope="module")
def tokens_template() -> dict:
    return build(CASES["tokens-allow-list"])


def policy_statements(template: dict, role: str) -> list[dict]:
    return [statement for policy in props(template, role).get("Policies", [])
            for statement in policy["PolicyDocument"]["Statement"]]


def test_in_mode_tokens_the_authorizer_reads_rows_and_holds_no_key(tokens_template):
    auth_env = props(tokens_template, naming.AUTHORIZER_FUNCTION)["Environment"]["Variables"]
    assert auth_env == {"AUTH_MODE": "tokens", "ALLOWED_CIDRS": "203.0.113.0/24",
                        "TOKENS_TABLE": {"Ref": naming.TOKENS_TABLE}, "SECRET_ARN": {"Ref": naming.SERVER_SECRET}}
    table_access = [s for s in policy_statements(tokens_template, naming.AUTHORIZER_ROLE)
                    if any(a.startswith("dynamodb:") for a in s["Action"])]
    assert table_access == [{"Effect": "Allow", "Action": ["dynamodb:GetItem"],
                             "Resource": {"Fn::GetAtt": [naming.TOKENS_TABLE, "Arn"]}}]
    assert "VpcConfig" not in props(tokens_template, naming.AUTHORIZER_FUNCTION)  # DynamoDB's public endpoint


def test_in_mode_tokens_the_task_trusts_the_relay_and_reads_the_same_table(tokens_template):
    server_env = {e["Name"]: e["Value"] for e in props(tokens_template, naming.TASK_DEFINITION)[
        "ContainerDefinitions"][0]["Environment"]}
    assert server_env["MCP_AUTH_MODE"] == "tokens" and server_env["MCP_TRUST_RELAY"] == "true"
    assert server_env["MCP_TOKENS_TABLE"] == {"Ref": naming.TOKENS_TABLE}
    reads = [s for s in policy_statements(tokens_template, naming.TASK_ROLE) if "dynamodb:GetItem" in s["Action"]]
    assert [s["Resource"] for s in reads] == [{"Fn::GetAtt": [naming.TOKENS_TABLE, "Arn"]}]
    assert naming.TOKENS_TABLE not in build({})["Resources"]


def test_in_mode_tokens_the_gateway_endpoint_lets_the_tasks_read_the_tokens_table(tokens_template, template):
    """The tasks share the public route table with the relay, so their DynamoDB calls take the gateway endpoint
    too (public IP or not) and its policy must admit them; it admits nothing else on that table."""
    [relay_access, table_read] = props(tokens_template, naming.DYNAMODB_ENDPOINT)["PolicyDocument"]["Statement"]
    assert relay_access["Resource"] == {"Fn::GetAtt": [naming.CONNECTIONS_TABLE, "Arn"]}
    assert table_read == {"Principal": "*", "Effect": "Allow", "Action": ["dynamodb:GetItem"],
                          "Resource": {"Fn::GetAtt": [naming.TOKENS_TABLE, "Arn"]}}
    assert len(props(template, naming.DYNAMODB_ENDPOINT)["PolicyDocument"]["Statement"]) == 1


def test_in_mode_tokens_the_outputs_say_how_to_issue_a_token_for_the_bridge(tokens_template):
    outputs = tokens_template["Outputs"]
    assert outputs["TokensTable"]["Value"] == {"Ref": naming.TOKENS_TABLE}  # the CLI finds the table by it
    assert outputs["TokenCommand"]["Value"] == {
        "Fn::Sub": "python -m compiler tokens issue voice-ws --region ${AWS::Region} --name <who>"}
    assert outputs["ClaudeCodeCommand"]["Value"] == \
        "claude mcp add voice-ws -- elevenlabs-mcp-bridge '<URL printed by TokenCommand>'"
    for name in ("CursorConfig", "ClaudeDesktopConfig"):
        server = json.loads(outputs[name]["Value"])["mcpServers"]["voice-ws"]
        assert server == {"command": "elevenlabs-mcp-bridge", "args": ["<URL printed by TokenCommand>"]}
    assert "secretsmanager" not in json.dumps({k: outputs[k] for k in ("TokenCommand", "ClaudeCodeCommand")})


def test_one_stack_per_region_holds_the_api_gateway_account_setting():
    """Issue 15 finding 8: AWS::ApiGateway::Account is a region-wide singleton; each websocket stack holding one
    overwrote the others'. The ImageRepository stack holds it when a websocket deployment uses it (or when asked),
    and a file's deployments never do."""
    from compiler.build import compile_config
    from compiler.validation import load_config

    files, _ = compile_config(load_config(str(ROOT / "tests" / "cases" / "valid" / "websocket-full.yaml")))
    stacks = {name: json.loads(text)["Resources"] for name, text in files.items()
              if name.endswith(".json") and '"Resources"' in text}
    holders = {name: [r["Type"] for r in resources.values()].count("AWS::ApiGateway::Account")
               for name, resources in stacks.items()}
    assert holders == {"images.json": 1, "ws-office-hours.json": 0}
    repo = json.loads(files["images.json"])["Resources"]
    assert repo[naming.API_GATEWAY_ACCOUNT]["Properties"]["CloudWatchRoleArn"] == {
        "Fn::GetAtt": [naming.API_GATEWAY_LOGGING_ROLE, "Arn"]}
    assert repo[naming.API_GATEWAY_ACCOUNT]["DeletionPolicy"] == "Retain"

    from compiler.topologies import build_repository
    repository = ImageRepository.model_validate({"apiVersion": "mcpdeploy/v1alpha1", "kind": "ImageRepository",
                                                 "metadata": {"name": "images"}, "spec": {"region": "us-east-1"}})
    assert naming.API_GATEWAY_ACCOUNT not in build_repository(repository).to_dict()["Resources"]  # alb/nat only
    opted_out = repository.model_copy(update={"spec": repository.spec.model_copy(
        update={"api_gateway_account": False})})
    assert naming.API_GATEWAY_ACCOUNT not in build_repository(opted_out, serves_websocket=True).to_dict()[
        "Resources"]


def test_the_task_gets_no_auth_page_settings_it_could_not_serve():
    """Issue 15 finding 9: on websocket the auth page is a static site and a function; nothing reaches the task's
    /auth, so MCP_AUTH_PAGE (which would serve a page without its sign-up code) and its settings are dead."""
    page = build({"auth": {"mode": "tokens", "authPage": {"tokenDays": 30}}})
    server_env = {e["Name"]: e["Value"] for e in props(page, naming.TASK_DEFINITION)["ContainerDefinitions"][0][
        "Environment"]}
    assert server_env["MCP_AUTH_MODE"] == "tokens"
    assert not [name for name in server_env if name.startswith("MCP_AUTH_PAGE") or name == "MCP_SIGNUP_CODE"]
    assert "AuthApiFunction" in page["Resources"]  # the page is there, elsewhere


# --- on demand (spec.onDemand) ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def on_demand_template() -> dict:
    return build(CASES["on-demand"])


def test_on_demand_runs_the_function_from_the_server_image(on_demand_template):
    function = props(on_demand_template, naming.ON_DEMAND_FUNCTION)
    assert function["PackageType"] == "Image" and "ZipFile" not in function["Code"]
    assert function["ImageConfig"]["Command"] == ["python", "-m", "awslambdaric",
                                                  "server.websocket.on_demand.handler"]
    assert function["Environment"]["Variables"]["MIN_COUNT"] == "2"
    assert function["Environment"]["Variables"]["IDLE_SECONDS"] == "2700"
    assert function["Environment"]["Variables"]["IDLE_RULE"] == "voice-ws-idle"


def test_on_demand_function_may_change_this_service_and_its_own_rule_only(on_demand_template):
    statements = policy_statements(on_demand_template, naming.ON_DEMAND_ROLE)
    by_action = {action: statement["Resource"] for statement in statements for action in statement["Action"]}
    assert by_action["ecs:UpdateService"] == {"Ref": naming.SERVICE}
    assert by_action["events:DisableRule"] == by_action["events:EnableRule"] == {
        "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/voice-ws-idle"}
    assert by_action["dynamodb:PutItem"] == {"Fn::GetAtt": [naming.CONNECTIONS_TABLE, "Arn"]}
    star = [action for action, resource in by_action.items() if resource == "*"]
    assert star == ["application-autoscaling:DescribeScalableTargets"]
    assert not any(action.startswith(("ecs:Run", "ecs:Start", "iam:", "ecs:*")) for action in by_action)


def test_on_demand_the_authorizer_may_invoke_that_function_and_nothing_else_new(on_demand_template, template):
    extra = [s for s in policy_statements(on_demand_template, naming.AUTHORIZER_ROLE)
             if s not in policy_statements(template, naming.AUTHORIZER_ROLE)]
    assert extra == [{"Effect": "Allow", "Action": ["lambda:InvokeFunction"],
                      "Resource": {"Fn::GetAtt": [naming.ON_DEMAND_FUNCTION, "Arn"]}}]
    assert props(on_demand_template, naming.AUTHORIZER_FUNCTION)["Environment"]["Variables"]["WAKE_FUNCTION"] == {
        "Ref": naming.ON_DEMAND_FUNCTION}


def test_on_demand_the_idle_rule_checks_every_5_minutes_and_may_invoke_the_function(on_demand_template):
    rule = props(on_demand_template, naming.IDLE_CHECK_RULE)
    assert rule["Name"] == "voice-ws-idle" and rule["ScheduleExpression"] == "rate(5 minutes)"
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": [naming.ON_DEMAND_FUNCTION, "Arn"]}
    permission = props(on_demand_template, naming.IDLE_CHECK_PERMISSION)
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": [naming.IDLE_CHECK_RULE, "Arn"]}


def test_on_demand_the_count_may_go_to_zero_and_a_window_end_leaves_running_tasks_to_the_idle_check():
    alone = props(build(CASES["on-demand"]), naming.SCALABLE_TARGET)
    assert (alone["MinCapacity"], alone["MaxCapacity"]) == (0, 3) and "ScheduledActions" not in alone
    windowed = props(build(CASES["on-demand-office-hours-x86"]), naming.SCALABLE_TARGET)
    end = [a for a in windowed["ScheduledActions"] if a["ScheduledActionName"] == "scale-in-at-window-end"]
    assert end[0]["ScalableTargetAction"] == {"MinCapacity": 0, "MaxCapacity": 1}
    scheduled = props(build({"schedule": SCHEDULE}), naming.SCALABLE_TARGET)
    assert [a["ScalableTargetAction"] for a in scheduled["ScheduledActions"]][1] == {"MinCapacity": 0, "MaxCapacity": 0}


def test_on_demand_the_relay_answers_starting_and_notes_activity(on_demand_template, template):
    assert relay_env_of(on_demand_template)["ON_DEMAND"] == "true"
    assert "ON_DEMAND" not in relay_env_of(template)
    assert naming.ON_DEMAND_FUNCTION not in template["Resources"]
