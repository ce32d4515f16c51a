"""Bridge: the realtime voice bridge on Fargate behind the public ALB (created in the network stack)."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Aws, Duration, Fn, RemovalPolicy, Size, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra_cdk.common import retention_days
from infra_cdk.config import (
    BRIDGE_DRAIN_SECONDS,
    BRIDGE_PORT,
    BRIDGE_SERVICE_NAME,
    METRICS_NAMESPACE,
    REDIS_KEY_PREFIX,
    StageConfig,
)
from infra_cdk.nag import acknowledge
from infra_cdk.stacks.api import STAGE_NAME, BookingApiRef
from infra_cdk.stacks.data import AppSecrets, HoldsCache

BRIDGE_DIR = Path(__file__).resolve().parents[2] / "bridge_container"
#: The bridge stops accepting calls on SIGTERM and transfers the ones still live this long after.
APP_DRAIN_SECONDS = BRIDGE_DRAIN_SECONDS - 10


def active_calls_metric(period: Duration | None = None) -> cloudwatch.Metric:
    """Average ActiveCalls across the bridge tasks' EMF datapoints = calls per task."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name="ActiveCalls",
        dimensions_map={"service": BRIDGE_SERVICE_NAME},
        statistic="Average",
        period=period or Duration.minutes(1),
    )


class BridgeService(Construct):
    """ECS cluster (Container Insights) + Fargate service (no Spot) + listener/target group + scaling."""

    def __init__(
        self, scope: Construct, id: str, *, config: StageConfig, vpc: ec2.IVpc,
        load_balancer: elbv2.IApplicationLoadBalancer, security_group: ec2.ISecurityGroup,
        booking_api: BookingApiRef, bridge_public_url: str, cache: HoldsCache, secrets: AppSecrets,
    ) -> None:
        super().__init__(scope, id)
        self.cluster = ecs.Cluster(
            self, "Cluster",
            vpc=vpc,
            cluster_name=f"frontdesk-{config.stage}",
            container_insights_v2=ecs.ContainerInsights.ENABLED,
            # No capacity providers: the service uses the plain FARGATE launch type, so Spot cannot be
            # configured by accident (a Spot interruption would cut live phone calls).
        )

        self.task_role = iam.Role(
            self, "TaskRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="Bridge tasks: SigV4-invoke the booking routes, nothing else",
        )
        stack = Stack.of(self)
        api_id = Fn.import_value(booking_api.id_export_name)
        self.task_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="InvokeBookingRoutes",
                actions=["execute-api:Invoke"],
                resources=[
                    stack.format_arn(
                        service="execute-api", resource=api_id, arn_format=ArnFormat.SLASH_RESOURCE_NAME,
                        resource_name=f"{STAGE_NAME}/{route.method}{route.arn_path}",
                    )
                    for route in booking_api.routes
                ],
            )
        )
        partition = "<AWS::Partition>" if Token.is_unresolved(stack.partition) else stack.partition
        for route in booking_api.routes:
            if "*" not in route.arn_path:
                continue
            acknowledge(
                self.task_role,
                f"AwsSolutions-IAM5[Resource::arn:{partition}:execute-api:{stack.region}:<AWS::AccountId>:"
                f"{booking_api.id_export_name}/{STAGE_NAME}/{route.method}{route.arn_path}]",
                f"The '*' stands for the path parameter of {route.method} {route.path} on this one API and "
                "stage; the bridge may invoke only the listed booking routes.",
            )

        self.log_group = logs.LogGroup(
            self, "Logs",
            retention=retention_days(config.log_retention_days),
            removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
        )
        self.task_definition = ecs.FargateTaskDefinition(
            self, "Task",
            cpu=config.bridge_cpu,
            memory_limit_mib=config.bridge_memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
            task_role=self.task_role,
        )
        environment = {
            "BOOKING_API_URL": booking_api.url,
            "AWS_REGION": Aws.REGION,
            "REDIS_URL": cache.url,
            "REDIS_KEY_PREFIX": REDIS_KEY_PREFIX,
            "REALTIME_MODEL": config.realtime_model,
            "MAX_CALL_SECONDS": str(config.max_call_seconds),
            "BRIDGE_PORT": str(BRIDGE_PORT),
            "BRIDGE_PUBLIC_URL": bridge_public_url,
            "DRAIN_SECONDS": str(APP_DRAIN_SECONDS),
            "METRICS_NAMESPACE": METRICS_NAMESPACE,
            "METRICS_SERVICE": BRIDGE_SERVICE_NAME,
            "LOG_LEVEL": "INFO",
        }
        if config.twilio_account_sid:
            environment["TWILIO_ACCOUNT_SID"] = config.twilio_account_sid
        self.container = self.task_definition.add_container(
            "bridge",
            image=ecs.ContainerImage.from_asset(
                str(BRIDGE_DIR),
                platform=ecr_assets.Platform.LINUX_ARM64,
                exclude=["**/__pycache__", "**/*.pyc", ".pytest_cache", ".mypy_cache"],
            ),
            essential=True,
            port_mappings=[ecs.PortMapping(container_port=BRIDGE_PORT, protocol=ecs.Protocol.TCP)],
            environment=environment,
            # Injected by ECS at task start through the execution role; the task role cannot read them.
            secrets={
                "OPENAI_API_KEY": ecs.Secret.from_secrets_manager(secrets.openai_api_key),
                "TWILIO_AUTH_TOKEN": ecs.Secret.from_secrets_manager(secrets.twilio_auth_token),
                "STREAM_TOKEN_SECRET": ecs.Secret.from_secrets_manager(secrets.stream_token_key),
                "REDIS_AUTH_TOKEN": ecs.Secret.from_secrets_manager(cache.auth_secret),
            },
            stop_timeout=Duration.seconds(BRIDGE_DRAIN_SECONDS),
            health_check=ecs.HealthCheck(
                # The image's own HEALTHCHECK command (GET /healthz on BRIDGE_PORT); ECS ignores the
                # Dockerfile's, so it is repeated here.
                command=["CMD", "python", "-m", "frontdesk_bridge.healthcheck"],
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(20),
            ),
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="bridge",
                log_group=self.log_group,
                # Never block the audio relay on log back-pressure.
                mode=ecs.AwsLogDriverMode.NON_BLOCKING,
                max_buffer_size=Size.mebibytes(25),
            ),
        )
        assert self.task_definition.execution_role is not None
        acknowledge(
            self.task_definition.execution_role, "AwsSolutions-IAM5[Resource::*]",
            "Only ecr:GetAuthorizationToken is on '*' (it has no resource-level permissions); image pulls are "
            "scoped to the asset repository and secret reads to the four secrets the container is given.",
        )
        acknowledge(
            self.task_definition, "AwsSolutions-ECS2",
            "Only non-secret configuration (URLs, model name, port, limits) is passed as environment variables; "
            "every secret (OpenAI key, Twilio token, stream-token key, Valkey AUTH) is an ECS secret from "
            "Secrets Manager.",
        )

        self.service = ecs.FargateService(
            self, "Service",
            cluster=self.cluster,
            task_definition=self.task_definition,
            desired_count=config.bridge_min_tasks,
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[security_group],
            assign_public_ip=False,
            health_check_grace_period=Duration.seconds(60),
            enable_execute_command=False,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
            platform_version=ecs.FargatePlatformVersion.LATEST,
        )

        self.target_group = elbv2.ApplicationTargetGroup(
            self, "Targets",
            vpc=vpc,
            port=BRIDGE_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            # Matches the bridge's drain: calls in flight get the same 120 s as stopTimeout.
            deregistration_delay=Duration.seconds(BRIDGE_DRAIN_SECONDS),
            health_check=elbv2.HealthCheck(
                path="/healthz",
                healthy_http_codes="200",
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
        )
        self.service.attach_to_application_target_group(self.target_group)
        if config.has_tls:
            assert config.certificate_arn is not None
            self.listener = elbv2.ApplicationListener(
                self, "Https",
                load_balancer=load_balancer,
                port=443,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[elbv2.ListenerCertificate.from_arn(config.certificate_arn)],
                ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
                default_target_groups=[self.target_group],
                open=False,
            )
        else:
            self.listener = elbv2.ApplicationListener(
                self, "Http",
                load_balancer=load_balancer,
                port=80,
                protocol=elbv2.ApplicationProtocol.HTTP,
                default_target_groups=[self.target_group],
                open=False,
            )

        scaling = self.service.auto_scale_task_count(
            min_capacity=config.bridge_min_tasks, max_capacity=config.bridge_max_tasks
        )
        # Scale out fast; scale in slowly, because a task that is scaled in drains its live calls.
        scaling.scale_on_cpu_utilization(
            "Cpu",
            target_utilization_percent=50,
            scale_out_cooldown=Duration.seconds(60),
            scale_in_cooldown=Duration.minutes(10),
        )
        scaling.scale_to_track_custom_metric(
            "ActiveCalls",
            metric=active_calls_metric(),
            target_value=config.bridge_target_calls_per_task,
            scale_out_cooldown=Duration.seconds(60),
            scale_in_cooldown=Duration.minutes(10),
        )


class BridgeStack(Stack):
    def __init__(
        self, scope: Construct, id: str, *, config: StageConfig, vpc: ec2.IVpc,
        load_balancer: elbv2.IApplicationLoadBalancer, task_security_group: ec2.ISecurityGroup,
        booking_api: BookingApiRef, bridge_public_url: str, cache: HoldsCache, secrets: AppSecrets,
        **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.bridge = BridgeService(
            self, "Bridge",
            config=config, vpc=vpc, load_balancer=load_balancer, security_group=task_security_group,
            booking_api=booking_api, bridge_public_url=bridge_public_url, cache=cache, secrets=secrets,
        )
