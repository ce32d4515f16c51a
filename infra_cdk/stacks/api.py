"""API: the HTTP API, one Lambda per route group (one code asset), and the migrations custom resource."""

from __future__ import annotations

import re
from dataclasses import dataclass

import jsii
from aws_cdk import CfnOutput, CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw_v1
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra_cdk.bundling import code_asset_hash, lambda_code
from infra_cdk.common import retention_days
from infra_cdk.config import (
    API_SERVICE_NAME,
    DB_PORT,
    METRICS_NAMESPACE,
    PROXY_PORT,
    REDIS_KEY_PREFIX,
    StageConfig,
)
from infra_cdk.nag import acknowledge
from infra_cdk.stacks.data import AppSecrets, HoldsCache, PostgresDatabase

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
STAGE_NAME = "$default"
#: Where the bundle puts sql/ (see infra_cdk/lambda_bundle.py).
MIGRATIONS_DIR = "/var/task/sql/migrations"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    group: str
    #: IAM (SigV4) authorization; public routes are authenticated by the app (Twilio signatures) or public.
    iam: bool
    #: The voice bridge may invoke it. Staff-only routes (the floor's status changes, guest edits) are not
    #: granted to the phone agent.
    bridge: bool = True

    @property
    def arn_path(self) -> str:
        """The path as it appears in an execute-api ARN: {params} become *."""
        return re.sub(r"\{[^}]+\}", "*", self.path)


ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/v1/healthz", "health", iam=False),
    Route("GET", "/api/v1/readiness", "health", iam=False),
    Route("POST", "/api/v1/availability/check", "availability", iam=True),
    Route("GET", "/api/v1/restaurants/{slug}", "availability", iam=True),
    Route("POST", "/api/v1/reservations/commit", "reservations", iam=True),
    Route("GET", "/api/v1/reservations", "reservations", iam=True),
    Route("GET", "/api/v1/reservations/{id}", "reservations", iam=True),
    Route("POST", "/api/v1/reservations/{id}/cancel", "reservations", iam=True),
    Route("PATCH", "/api/v1/reservations/{id}", "reservations", iam=True),
    Route("POST", "/api/v1/reservations/{id}/status", "reservations", iam=True, bridge=False),
    Route("GET", "/api/v1/restaurants/{slug}/guests/{phone}", "reservations", iam=True),
    Route("PATCH", "/api/v1/restaurants/{slug}/guests/{phone}", "reservations", iam=True, bridge=False),
    Route("POST", "/twilio/voice", "twilio", iam=False),
    Route("POST", "/twilio/after-stream", "twilio", iam=False),
    Route("POST", "/twilio/status", "twilio", iam=False),
    Route("POST", "/twilio/sms", "twilio", iam=False),
    Route("POST", "/twilio/sms-status", "twilio", iam=False),  # SMS delivery receipts (signed by Twilio)
    # Configuration editing (issue 7): staff and their tools, never the voice bridge.
    Route("PATCH", "/api/v1/restaurants/{slug}", "config", iam=True, bridge=False),
    Route("GET", "/api/v1/restaurants/{slug}/hours", "config", iam=True, bridge=False),
    Route("PUT", "/api/v1/restaurants/{slug}/hours", "config", iam=True, bridge=False),
    Route("GET", "/api/v1/restaurants/{slug}/special-days", "config", iam=True, bridge=False),
    Route("POST", "/api/v1/restaurants/{slug}/special-days", "config", iam=True, bridge=False),
    Route("PATCH", "/api/v1/restaurants/{slug}/special-days/{id}", "config", iam=True, bridge=False),
    Route("DELETE", "/api/v1/restaurants/{slug}/special-days/{id}", "config", iam=True, bridge=False),
    Route("GET", "/api/v1/restaurants/{slug}/capacity-rules", "config", iam=True, bridge=False),
    Route("POST", "/api/v1/restaurants/{slug}/capacity-rules", "config", iam=True, bridge=False),
    Route("PATCH", "/api/v1/restaurants/{slug}/capacity-rules/{id}", "config", iam=True, bridge=False),
    Route("DELETE", "/api/v1/restaurants/{slug}/capacity-rules/{id}", "config", iam=True, bridge=False),
    Route("GET", "/api/v1/restaurants/{slug}/turn-times", "config", iam=True, bridge=False),
    Route("PUT", "/api/v1/restaurants/{slug}/turn-times", "config", iam=True, bridge=False),
    Route("GET", "/api/v1/restaurants/{slug}/tables", "config", iam=True, bridge=False),
    Route("POST", "/api/v1/restaurants/{slug}/tables", "config", iam=True, bridge=False),
    Route("PATCH", "/api/v1/restaurants/{slug}/tables/{name}", "config", iam=True, bridge=False),
    Route("DELETE", "/api/v1/restaurants/{slug}/tables/{name}", "config", iam=True, bridge=False),
    Route("POST", "/api/v1/restaurants/{slug}/table-combinations", "config", iam=True, bridge=False),
    Route("DELETE", "/api/v1/restaurants/{slug}/table-combinations/{name}", "config", iam=True, bridge=False),
)
BOOKING_ROUTES = tuple(r for r in ROUTES if r.iam)
BRIDGE_ROUTES = tuple(r for r in BOOKING_ROUTES if r.bridge)


@dataclass(frozen=True)
class BookingApiRef:
    """What the bridge needs to call the booking API: its URL, and its id as a named export.

    The id travels as a plain CloudFormation export (``Fn::ImportValue`` of a fixed name) rather than an
    automatic cross-stack reference, so the bridge's execute-api ARNs (and their reviewed cdk-nag
    acknowledgments) are the same string on every synth.
    """

    url: str
    id_export_name: str
    routes: tuple[Route, ...]

HANDLERS = {
    "health": "frontdesk.handlers.health.handler",
    "availability": "frontdesk.handlers.availability.handler",
    "reservations": "frontdesk.handlers.reservations.handler",
    "twilio": "frontdesk.handlers.twilio.handler",
    "config": "frontdesk.handlers.restaurant_admin.handler",
}
TIMEOUTS = {"health": 10, "availability": 15, "reservations": 15, "twilio": 10, "config": 30}
PUBLIC_ROUTE_REASONS = {
    "health": "Liveness/readiness probe for load balancers and uptime checks; it returns only up/degraded and "
    "reads nothing per tenant, so it is public on purpose.",
    "twilio": "Twilio webhooks cannot sign requests with SigV4; every request is authenticated by the app, "
    "which validates the X-Twilio-Signature HMAC (auth token from Secrets Manager) before doing anything.",
}


@jsii.implements(apigw.IAccessLogSettings)
class _AccessLogSettings:
    """IAccessLogSettings is a jsii interface, not a struct: Python has to implement it."""

    def __init__(self, destination: apigw.IAccessLogDestination, format: apigw_v1.AccessLogFormat) -> None:
        self._destination = destination
        self._format = format

    @property
    def destination(self) -> apigw.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw_v1.AccessLogFormat:
        return self._format


class ServiceFunction(Construct):
    """A python3.13/arm64 Lambda in the private subnets with its own log group and least-privilege role.

    The role is ours rather than CDK's default so that it carries no AWS-managed policy: log writes are
    scoped to the function's own log group, and only the ENI actions Lambda needs for VPC access are
    granted on ``*`` (EC2 does not support narrower resources for them).
    """

    def __init__(
        self, scope: Construct, id: str, *, config: StageConfig, code: lambda_.Code, handler: str,
        vpc: ec2.IVpc, security_group: ec2.ISecurityGroup, environment: dict[str, str],
        timeout: Duration, memory_mib: int = 1024, description: str,
    ) -> None:
        super().__init__(scope, id)
        self.log_group = logs.LogGroup(
            self, "Logs",
            retention=retention_days(config.log_retention_days),
            removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
        )
        self.role = iam.Role(
            self, "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Front Desk {config.stage}: {description}",
        )
        self.log_group.grant_write(self.role)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="VpcNetworkInterfaces",
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSubnets",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                resources=["*"],
            )
        )
        acknowledge(
            self.role, "AwsSolutions-IAM5[Resource::*]",
            "Only the EC2 network-interface actions Lambda needs to attach to the VPC are on '*' (the same set as "
            "AWSLambdaVPCAccessExecutionRole); EC2 offers no narrower resource for them at function-creation time.",
        )
        self.function = lambda_.Function(
            self, "Function",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=code,
            handler=handler,
            description=description,
            role=self.role,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[security_group],
            allow_public_subnet=False,
            timeout=timeout,
            memory_size=memory_mib,
            log_group=self.log_group,
            environment=environment,
        )
        acknowledge(
            self.function, "AwsSolutions-L1",
            "The project pins python3.13 (issue 6 and the bundle's cp313 aarch64 wheels); moving to a newer "
            "runtime is a deliberate upgrade with its own wheel and test pass, not a silent default.",
        )


class BookingApi(Construct):
    """HTTP API: IAM (SigV4) on the booking routes, public health and Twilio routes, JSON access logs."""

    def __init__(
        self, scope: Construct, id: str, *, config: StageConfig,
    ) -> None:
        super().__init__(scope, id)
        self.http_api = apigw.HttpApi(
            self, "HttpApi",
            api_name=f"frontdesk-{config.stage}",
            description="Front Desk booking API and Twilio webhooks",
            create_default_stage=False,
            disable_execute_api_endpoint=False,
        )
        self.access_logs = logs.LogGroup(
            self, "AccessLogs",
            retention=retention_days(config.log_retention_days),
            removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
        )
        fields = {
            "requestId": "$context.requestId",
            "ip": "$context.identity.sourceIp",
            "caller": "$context.identity.userArn",
            "requestTime": "$context.requestTime",
            "routeKey": "$context.routeKey",
            "path": "$context.path",
            "status": "$context.status",
            "protocol": "$context.protocol",
            "responseLength": "$context.responseLength",
            "responseLatency": "$context.responseLatency",
            "integrationLatency": "$context.integrationLatency",
            "integrationStatus": "$context.integrationStatus",
            "integrationError": "$context.integrationErrorMessage",
            "error": "$context.error.message",
            "authorizerError": "$context.authorizer.error",
        }
        log_format = "{" + ",".join(f'"{k}":"{v}"' for k, v in fields.items()) + "}"
        self.stage = apigw.HttpStage(
            self, "DefaultStage",
            http_api=self.http_api,
            stage_name=STAGE_NAME,
            auto_deploy=True,
            throttle=apigw.ThrottleSettings(
                rate_limit=config.api_throttle_rate, burst_limit=config.api_throttle_burst
            ),
            access_log_settings=_AccessLogSettings(
                apigw.LogGroupLogDestination(self.access_logs), apigw_v1.AccessLogFormat.custom(log_format)
            ),
        )
        self.url = self.http_api.api_endpoint  # $default stage: no stage prefix in paths
        self.id_export_name = f"frontdesk-{config.stage}-http-api-id"
        CfnOutput(
            self, "HttpApiId", value=self.http_api.api_id, export_name=self.id_export_name,
            description="Imported by the bridge stack to scope execute-api:Invoke to the booking routes",
        )

    def add_routes(self, group: str, function: lambda_.IFunction) -> None:
        integration = integrations.HttpLambdaIntegration(f"{group.title()}Integration", function)
        iam_authorizer = authorizers.HttpIamAuthorizer()
        for route in ROUTES:
            if route.group != group:
                continue
            (created,) = self.http_api.add_routes(
                path=route.path,
                methods=[apigw.HttpMethod(route.method)],
                integration=integration,
                authorizer=iam_authorizer if route.iam else apigw.HttpNoneAuthorizer(),
            )
            if not route.iam:
                acknowledge(created, "AwsSolutions-APIG4", PUBLIC_ROUTE_REASONS[group])

    def reference(self) -> BookingApiRef:
        return BookingApiRef(url=self.url, id_export_name=self.id_export_name, routes=BRIDGE_ROUTES)


class MigrationsRunner(Construct):
    """Custom resource that runs the migration runner (as app_owner) on deploy.

    Provider-framework contract for the handler: return (optionally {"PhysicalResourceId": ..., "Data": ...})
    on success, raise on failure; Delete is a no-op. It re-runs whenever the bundle (code or sql/) changes,
    and on every deploy that passes ``-c deployNonce=<unique>`` (the runbook's deploy command does).
    """

    def __init__(
        self, scope: Construct, id: str, *, config: StageConfig, code: lambda_.Code, vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup, database: PostgresDatabase, bundle_hash: str,
        deploy_nonce: str | None,
    ) -> None:
        super().__init__(scope, id)
        env = {
            "STAGE": config.stage,
            "DATABASE_SECRET_ARN": database.app_owner_secret.secret_arn,
            "DATABASE_PROXY_HOST": database.proxy.endpoint,
            "DATABASE_PROXY_PORT": str(PROXY_PORT),
            # Role bootstrap: create/alter app_owner and app_user with their secrets' passwords, as master,
            # directly on the instance (the master is not a proxy user).
            "DATABASE_MASTER_SECRET_ARN": database.master_secret.secret_arn,
            "DATABASE_APP_USER_SECRET_ARN": database.app_user_secret.secret_arn,
            "DATABASE_HOST": database.instance.db_instance_endpoint_address,
            "DATABASE_PORT": str(DB_PORT),
            "MIGRATIONS_DIR": MIGRATIONS_DIR,
            "POWERTOOLS_SERVICE_NAME": "migrations",
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        }
        self.handler = ServiceFunction(
            self, "Handler",
            config=config, code=code, handler="frontdesk.handlers.migrations.handler",
            vpc=vpc, security_group=security_group, environment=env,
            timeout=Duration.minutes(5), memory_mib=512,
            description="Runs SQL migrations as app_owner (CloudFormation custom resource)",
        )
        for secret in (database.app_owner_secret, database.master_secret, database.app_user_secret):
            secret.grant_read(self.handler.role)

        framework_logs = logs.LogGroup(
            self, "ProviderLogs",
            retention=retention_days(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        framework_role = iam.Role(
            self, "ProviderRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="CDK custom-resource provider framework for the migrations runner",
        )
        framework_logs.grant_write(framework_role)
        self.provider = cr.Provider(
            self, "Provider",
            on_event_handler=self.handler.function,
            framework_on_event_role=framework_role,
            log_group=framework_logs,
        )
        acknowledge(
            framework_role, f"AwsSolutions-IAM5[Resource::<{_logical_ref(self.handler.function)}.Arn>:*]",
            "The provider framework may invoke any published version of the migrations function (ARN:*); the "
            "grant names that one function and nothing else.",
        )
        properties = {"Stage": config.stage, "BundleHash": bundle_hash}
        if deploy_nonce:
            properties["DeployNonce"] = deploy_nonce
        self.resource = CustomResource(
            self, "Run",
            service_token=self.provider.service_token,
            resource_type="Custom::FrontDeskMigrations",
            properties=properties,
        )


def _logical_ref(function: lambda_.Function) -> str:
    """The logical id cdk-nag prints for a function (<LogicalId.Arn>)."""
    cfn = function.node.default_child
    return Stack.of(function).get_logical_id(cfn)  # type: ignore[arg-type]


class ApiStack(Stack):
    def __init__(
        self, scope: Construct, id: str, *, config: StageConfig, vpc: ec2.IVpc,
        function_security_group: ec2.ISecurityGroup, migrations_security_group: ec2.ISecurityGroup,
        database: PostgresDatabase, cache: HoldsCache, secrets: AppSecrets, bridge_public_url: str,
        deploy_nonce: str | None = None, **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        #: Content hash of the Lambda bundle (code + sql/); the migrations re-run whenever it changes.
        self.bundle_hash = code_asset_hash()
        code = lambda_code(bundle_hash=self.bundle_hash)
        self.api = BookingApi(self, "Api", config=config)
        self.migrations = MigrationsRunner(
            self, "Migrations", config=config, code=code, vpc=vpc, security_group=migrations_security_group,
            database=database, bundle_hash=self.bundle_hash, deploy_nonce=deploy_nonce,
        )

        common = {
            "STAGE": config.stage,
            "DATABASE_SECRET_ARN": database.app_user_secret.secret_arn,
            "DATABASE_PROXY_HOST": database.proxy.endpoint,
            "DATABASE_PROXY_PORT": str(PROXY_PORT),
            "REDIS_URL": cache.url,
            "REDIS_AUTH_SECRET_ARN": cache.auth_secret.secret_arn,
            "REDIS_KEY_PREFIX": REDIS_KEY_PREFIX,
            "PUBLIC_BASE_URL": self.api.url,
            "POWERTOOLS_SERVICE_NAME": API_SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        }
        twilio_env = {
            "TWILIO_SECRET_ARN": secrets.twilio_auth_token.secret_arn,
            "STREAM_TOKEN_SECRET_ARN": secrets.stream_token_key.secret_arn,
            "BRIDGE_PUBLIC_URL": bridge_public_url,
        }
        if config.twilio_account_sid:
            twilio_env["TWILIO_ACCOUNT_SID"] = config.twilio_account_sid

        runtime_secrets: dict[str, tuple[secretsmanager.ISecret, ...]] = {
            "health": (database.app_user_secret, cache.auth_secret),
            "availability": (database.app_user_secret, cache.auth_secret),
            "reservations": (database.app_user_secret, cache.auth_secret),
            "twilio": (
                database.app_user_secret, cache.auth_secret, secrets.twilio_auth_token, secrets.stream_token_key,
            ),
            "config": (database.app_user_secret,),  # no Redis: configuration lives in PostgreSQL only
        }
        self.functions: dict[str, lambda_.Function] = {}
        for group, handler in HANDLERS.items():
            fn = ServiceFunction(
                self, group.title(),
                config=config, code=code, handler=handler, vpc=vpc, security_group=function_security_group,
                environment={**common, **(twilio_env if group == "twilio" else {})},
                timeout=Duration.seconds(TIMEOUTS[group]),
                description=f"Front Desk {group} routes",
            )
            for secret in runtime_secrets[group]:
                secret.grant_read(fn.role)
            # New code only goes live once the schema it expects is migrated.
            fn.function.node.add_dependency(self.migrations.resource)
            self.api.add_routes(group, fn.function)
            self.functions[group] = fn.function

        CfnOutput(self, "ApiUrl", value=self.api.url, description="Booking API base URL (SigV4 for /api/v1/*)")
        CfnOutput(
            self, "TwilioVoiceWebhook", value=f"{self.api.url}/twilio/voice",
            description="Twilio number -> Voice configuration -> 'A call comes in' (HTTP POST)",
        )
        CfnOutput(
            self, "TwilioStatusCallback", value=f"{self.api.url}/twilio/status",
            description="Twilio number -> Voice configuration -> 'Call status changes' (HTTP POST)",
        )
        CfnOutput(
            self, "TwilioMessagingWebhook", value=f"{self.api.url}/twilio/sms",
            description="Twilio number -> Messaging configuration -> 'A message comes in' (HTTP POST): STOP/START",
        )
