"""API stack: HTTP API routes and auth, the Lambdas, their secrets, and the migrations custom resource."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra_cdk.app import build_app
from infra_cdk.config import METRICS_NAMESPACE, PROXY_PORT
from infra_cdk.stacks.api import HANDLERS, ROUTES
from tests.infra.support import as_list, find, only, properties, statements, text
from tests.infra.synth import PROD_CONTEXT, Synthesized, cdk_context

SECRET_ENV_SUFFIX = "_SECRET_ARN"


def _functions(synth: Synthesized) -> dict[str, dict[str, Any]]:
    """Our python functions (not CDK's provider framework / helpers), by logical id."""
    return {
        k: v for k, v in synth.resources("api", "AWS::Lambda::Function").items()
        if str(properties(v).get("Handler", "")).startswith("frontdesk.")
    }


def _function(synth: Synthesized, handler: str) -> tuple[str, dict[str, Any]]:
    return only({k: v for k, v in _functions(synth).items() if properties(v)["Handler"] == handler})


def _env(resource: dict[str, Any]) -> dict[str, Any]:
    return properties(resource)["Environment"]["Variables"]


def _routes(synth: Synthesized) -> dict[str, dict[str, Any]]:
    routes = synth.resources("api", "AWS::ApiGatewayV2::Route").values()
    return {properties(r)["RouteKey"]: properties(r) for r in routes}


def test_every_function_runs_python_3_13_on_arm64_in_the_private_subnets(stage: Synthesized) -> None:
    functions = _functions(stage)
    assert len(functions) == len(HANDLERS) + 1  # + migrations
    for logical_id, fn in functions.items():
        props = properties(fn)
        assert props["Runtime"] == "python3.13", logical_id
        assert props["Architectures"] == ["arm64"], logical_id
        assert "privateSubnet" in text(props["VpcConfig"]["SubnetIds"]), logical_id
        assert "isolatedSubnet" not in text(props["VpcConfig"]["SubnetIds"]), logical_id
        assert "LoggingConfig" in props, logical_id


def test_all_functions_share_one_code_asset(stage: Synthesized) -> None:
    keys = {text(properties(fn)["Code"]["S3Key"]) for fn in _functions(stage).values()}
    assert len(keys) == 1


def test_each_route_group_has_its_own_function_with_the_agreed_handler(stage: Synthesized) -> None:
    routes = _routes(stage)
    integrations = stage.resources("api", "AWS::ApiGatewayV2::Integration")
    for group, handler in HANDLERS.items():
        fn_id, _ = _function(stage, handler)
        group_routes = [r for r in ROUTES if r.group == group]
        for route in group_routes:
            target = routes[f"{route.method} {route.path}"]["Target"]
            prefix, ref = target["Fn::Join"][1]
            assert prefix == "integrations/"
            integration_id = ref["Ref"]
            integration = properties(integrations[integration_id])
            assert fn_id in text(integration["IntegrationUri"]), (route, fn_id)
            assert integration["PayloadFormatVersion"] == "2.0"


def test_booking_routes_require_iam_authorization(stage: Synthesized) -> None:
    routes = _routes(stage)
    booking = [f"{r.method} {r.path}" for r in ROUTES if r.group in ("availability", "reservations")]
    assert len(booking) == 10
    for key in booking:
        assert routes[key]["AuthorizationType"] == "AWS_IAM", key


def test_configuration_routes_require_iam_and_have_their_own_function(stage: Synthesized) -> None:
    routes = _routes(stage)
    config = [f"{r.method} {r.path}" for r in ROUTES if r.group == "config"]
    assert len(config) == 19  # 13 configuration routes + 6 floor-plan routes
    for key in config:
        assert routes[key]["AuthorizationType"] == "AWS_IAM", key
    assert HANDLERS["config"] == "frontdesk.handlers.restaurant_admin.handler"


def test_health_and_twilio_routes_are_public_because_the_app_authenticates_twilio(stage: Synthesized) -> None:
    routes = _routes(stage)
    public = ["GET /api/v1/healthz", "GET /api/v1/readiness",
              "POST /twilio/voice", "POST /twilio/after-stream", "POST /twilio/status", "POST /twilio/sms",
              "POST /twilio/sms-status"]
    for key in public:
        assert routes[key]["AuthorizationType"] == "NONE", key
    assert set(routes) == {f"{r.method} {r.path}" for r in ROUTES}


def test_http_api_writes_json_access_logs_and_is_throttled(stage: Synthesized) -> None:
    _, stage_resource = only(stage.resources("api", "AWS::ApiGatewayV2::Stage"))
    props = properties(stage_resource)
    assert props["StageName"] == "$default" and props["AutoDeploy"] is True
    log_format = props["AccessLogSettings"]["Format"]
    for field in ("$context.requestId", "$context.routeKey", "$context.status", "$context.integrationErrorMessage",
                  "$context.identity.userArn"):
        assert field in log_format
    assert "AccessLogs" in text(props["AccessLogSettings"]["DestinationArn"])
    assert props["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert props["DefaultRouteSettings"]["ThrottlingBurstLimit"] > 0


def test_functions_get_secret_arns_never_secret_values(stage: Synthesized) -> None:
    for logical_id, fn in _functions(stage).items():
        for name, value in _env(fn).items():
            assert not any(word in name for word in ("PASSWORD", "AUTH_TOKEN", "API_KEY", "DATABASE_URL")), name
            if name.endswith(SECRET_ENV_SUFFIX):
                assert "Ref" in text(value) or "GetStackOutput" in text(value), (logical_id, name)
            assert "{{resolve:" not in text(value), (logical_id, name)


def test_api_functions_use_app_user_through_the_proxy_and_valkey_over_tls(stage: Synthesized) -> None:
    for handler in HANDLERS.values():
        _, fn = _function(stage, handler)
        env = _env(fn)
        assert "AppUserSecretAttachment" in text(env["DATABASE_SECRET_ARN"])
        assert "PostgresProxy" in text(env["DATABASE_PROXY_HOST"])
        assert env["DATABASE_PROXY_PORT"] == str(PROXY_PORT)
        assert text(env["REDIS_URL"]).startswith('{"Fn::Join": ["", ["rediss://"')
        assert "ValkeyAuthToken" in text(env["REDIS_AUTH_SECRET_ARN"])
        assert env["STAGE"] == stage.stacks.config.stage


def test_metrics_namespace_and_service_dimension_match_what_the_alarms_read(stage: Synthesized) -> None:
    for handler in HANDLERS.values():
        env = _env(_function(stage, handler)[1])
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == METRICS_NAMESPACE
        assert env["POWERTOOLS_SERVICE_NAME"] == "api"


def test_twilio_function_knows_its_public_url_and_the_bridge_wss_url(prod: Synthesized) -> None:
    env = _env(_function(prod, HANDLERS["twilio"])[1])
    assert env["BRIDGE_PUBLIC_URL"] == f"wss://{PROD_CONTEXT['domain']}"
    assert "ApiEndpoint" in text(env["PUBLIC_BASE_URL"])
    assert env["TWILIO_ACCOUNT_SID"] == PROD_CONTEXT["twilioAccountSid"]
    assert "TwilioAuthToken" in text(env["TWILIO_SECRET_ARN"])
    assert "StreamTokenKey" in text(env["STREAM_TOKEN_SECRET_ARN"])


@pytest.mark.parametrize(
    ("group", "secrets"),
    [
        ("health", {"AppUserSecret", "ValkeyAuthToken"}),
        ("availability", {"AppUserSecret", "ValkeyAuthToken"}),
        ("reservations", {"AppUserSecret", "ValkeyAuthToken"}),
        ("twilio", {"AppUserSecret", "ValkeyAuthToken", "TwilioAuthToken", "StreamTokenKey"}),
        ("config", {"AppUserSecret"}),
    ],
)
def test_each_function_may_read_only_the_secrets_it_is_given(prod: Synthesized, group: str, secrets: set[str]) -> None:
    fn = _function(prod, HANDLERS[group])[1]
    role_id = properties(fn)["Role"]["Fn::GetAtt"][0]
    readable = set()
    for statement in statements(prod.template("api"), role_id):
        if "secretsmanager:GetSecretValue" in as_list(statement["Action"]):
            for resource in as_list(statement["Resource"]):
                names = [s for s in ("AppUserSecret", "AppOwnerSecret", "InstanceSecret", "ValkeyAuthToken",
                                     "TwilioAuthToken", "StreamTokenKey", "OpenAiApiKey") if s in text(resource)]
                assert len(names) == 1, resource
                readable.add(names[0])
    assert readable == secrets


def test_function_roles_carry_no_aws_managed_policies_and_write_only_their_own_logs(stage: Synthesized) -> None:
    template = stage.template("api")
    for fn in _functions(stage).values():
        role_id = properties(fn)["Role"]["Fn::GetAtt"][0]
        role = template.to_json()["Resources"][role_id]
        assert "ManagedPolicyArns" not in properties(role)
        log_group_id = properties(fn)["LoggingConfig"]["LogGroup"]["Ref"]
        log_statements = [s for s in statements(template, role_id) if "logs:PutLogEvents" in as_list(s["Action"])]
        assert log_statements and all(
            text(s["Resource"]) == text({"Fn::GetAtt": [log_group_id, "Arn"]}) for s in log_statements
        )


def test_migrations_run_as_app_owner_and_can_bootstrap_the_roles_as_master(stage: Synthesized) -> None:
    _, fn = _function(stage, "frontdesk.handlers.migrations.handler")
    env = _env(fn)
    assert "AppOwnerSecretAttachment" in text(env["DATABASE_SECRET_ARN"])
    assert "PostgresProxy" in text(env["DATABASE_PROXY_HOST"])
    assert "InstanceSecretAttachment" in text(env["DATABASE_MASTER_SECRET_ARN"])
    assert "AppUserSecretAttachment" in text(env["DATABASE_APP_USER_SECRET_ARN"])
    assert "EndpointAddress" in text(env["DATABASE_HOST"])
    assert "SecurityGroupsMigrations" in text(properties(fn)["VpcConfig"]["SecurityGroupIds"])
    assert properties(fn)["Timeout"] >= 300


def test_migrations_custom_resource_reruns_when_the_bundle_changes(dev: Synthesized) -> None:
    _, resource = only(dev.resources("api", "Custom::FrontDeskMigrations"))
    props = properties(resource)
    assert props["BundleHash"] == dev.stacks.api.bundle_hash
    assert "DeployNonce" not in props
    provider_fn = text(props["ServiceToken"])
    assert "Provider" in provider_fn


def test_a_deploy_nonce_reruns_migrations_on_every_deploy(tmp_path_factory: pytest.TempPathFactory) -> None:
    _, stacks = build_app(context=cdk_context(deployNonce="20261127T120000Z", **{"frontdesk:nagMode": "record"}),
                          outdir=str(tmp_path_factory.mktemp("nonce")))
    Template.from_stack(stacks.api).has_resource_properties(
        "Custom::FrontDeskMigrations", {"DeployNonce": "20261127T120000Z"}
    )


def test_api_functions_deploy_only_after_migrations(stage: Synthesized) -> None:
    cr_id, _ = only(stage.resources("api", "Custom::FrontDeskMigrations"))
    for handler in HANDLERS.values():
        _, fn = _function(stage, handler)
        assert cr_id in fn.get("DependsOn", []), handler


def test_outputs_give_the_webhook_urls_to_paste_into_twilio(stage: Synthesized) -> None:
    outputs = stage.json("api")["Outputs"]
    assert text(outputs["TwilioVoiceWebhook"]["Value"]).endswith('"/twilio/voice"]]}')
    assert text(outputs["TwilioStatusCallback"]["Value"]).endswith('"/twilio/status"]]}')
    exports = {o["Export"]["Name"]: o["Value"] for o in outputs.values() if "Export" in o}
    assert exports == {f"frontdesk-{stage.stacks.config.stage}-http-api-id": {"Ref": "ApiHttpApi4C294DC0"}}


def test_no_lambda_outside_the_vpc_touches_data(stage: Synthesized) -> None:
    """Only CDK's provider-framework relay runs outside the VPC, and it can only invoke the migrations function."""
    others = {k: v for k, v in stage.resources("api", "AWS::Lambda::Function").items() if k not in _functions(stage)}
    for logical_id, fn in others.items():
        assert "VpcConfig" not in properties(fn)
        role_id = properties(fn)["Role"]["Fn::GetAtt"][0]
        actions = {a for s in statements(stage.template("api"), role_id) for a in as_list(s["Action"])}
        assert actions <= {"lambda:InvokeFunction", "lambda:GetFunction", "logs:CreateLogStream",
                            "logs:PutLogEvents"}, logical_id
    assert find(stage.template("api"), "AWS::Lambda::Function")


def _settings_fields() -> set[str]:
    config = pytest.importorskip("frontdesk.config")
    return {name.upper() for name in config.Settings.model_fields}


def test_lambda_settings_read_every_environment_variable_the_api_functions_set(prod: Synthesized) -> None:
    fields = _settings_fields()
    unknown: set[str] = set()
    for handler in HANDLERS.values():
        env = _env(_function(prod, handler)[1])
        unknown |= {name for name in env if not name.startswith("POWERTOOLS_")} - fields
    assert unknown == set()


def test_api_gateway_routes_each_group_exactly_as_its_lambda_app_serves_them() -> None:
    """A route the app serves but the gateway lacks is unreachable; the reverse is a guaranteed 404."""
    import importlib

    def normalised(path: str) -> str:
        return re.sub(r"\{[^}]+\}", "{}", path)

    for group, handler in HANDLERS.items():
        module = importlib.import_module(handler.rsplit(".", 1)[0])
        paths = module.app.openapi()["paths"]
        served = {(method.upper(), normalised(path)) for path, ops in paths.items() for method in ops}
        routed = {(r.method, normalised(r.path)) for r in ROUTES if r.group == group}
        assert served == routed, group
