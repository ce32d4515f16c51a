"""Bridge stack: ECS/Fargate service, listener and target group, roles, scaling."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra_cdk.config import BRIDGE_DRAIN_SECONDS, BRIDGE_PORT, METRICS_NAMESPACE
from infra_cdk.stacks.api import ROUTES
from tests.infra.support import as_list, only, properties, statements, text
from tests.infra.synth import PROD_CONTEXT, Synthesized

BRIDGE_SECRETS = {"OPENAI_API_KEY", "TWILIO_AUTH_TOKEN", "STREAM_TOKEN_SECRET", "REDIS_AUTH_TOKEN"}


def _container(synth: Synthesized) -> dict[str, Any]:
    _, task = only(synth.resources("bridge", "AWS::ECS::TaskDefinition"))
    (container,) = properties(task)["ContainerDefinitions"]
    return container


def _service(synth: Synthesized) -> dict[str, Any]:
    return properties(only(synth.resources("bridge", "AWS::ECS::Service"))[1])


def _env(synth: Synthesized) -> dict[str, Any]:
    return {e["Name"]: e["Value"] for e in _container(synth)["Environment"]}


def test_cluster_has_container_insights(stage: Synthesized) -> None:
    stage.template("bridge").has_resource_properties(
        "AWS::ECS::Cluster", {"ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}]}
    )


def test_bridge_runs_on_on_demand_fargate_never_spot(stage: Synthesized) -> None:
    service = _service(stage)
    assert service["LaunchType"] == "FARGATE"
    assert "CapacityProviderStrategy" not in service
    for part in ("bridge", "network", "data", "api", "observability"):
        assert "FARGATE_SPOT" not in json.dumps(stage.json(part))


def test_bridge_image_is_built_from_bridge_container_for_arm64_at_deploy_time(stage: Synthesized) -> None:
    _, task = only(stage.resources("bridge", "AWS::ECS::TaskDefinition"))
    assert properties(task)["RuntimePlatform"] == {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}
    manifest = json.loads((stage.outdir / f"{stage.stacks.bridge.artifact_id}.assets.json").read_text())
    (image,) = manifest["dockerImages"].values()
    assert image["source"]["platform"] == "linux/arm64"
    staged = stage.outdir / image["source"]["directory"]
    assert (staged / "Dockerfile").is_file()
    assert (staged / "frontdesk_bridge").is_dir() and (staged / "frontdesk_contract").is_dir()
    assert "container-assets" in text(_container(stage)["Image"])


def test_bridge_drains_calls_for_120_seconds_on_stop_and_deregistration(stage: Synthesized) -> None:
    assert BRIDGE_DRAIN_SECONDS == 120
    assert _container(stage)["StopTimeout"] == 120
    stage.template("bridge").has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {"TargetGroupAttributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": "120"},
                                   {"Key": "stickiness.enabled", "Value": "false"}]},
    )
    # The app itself transfers remaining calls a little earlier, before SIGKILL.
    assert int(_env(stage)["DRAIN_SECONDS"]) < 120


def test_deployments_keep_full_capacity_and_roll_back_on_failure(stage: Synthesized) -> None:
    deployment = _service(stage)["DeploymentConfiguration"]
    assert deployment["MinimumHealthyPercent"] == 100
    assert deployment["MaximumPercent"] == 200
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}


def test_bridge_tasks_run_in_private_subnets_without_public_ips(stage: Synthesized) -> None:
    network = _service(stage)["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert "privateSubnet" in text(network["Subnets"])
    assert "SecurityGroupsBridgeTasks" in text(network["SecurityGroups"])


def test_target_group_health_checks_healthz_on_the_bridge_port(stage: Synthesized) -> None:
    stage.template("bridge").has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {"Port": BRIDGE_PORT, "TargetType": "ip", "HealthCheckPath": "/healthz", "Matcher": {"HttpCode": "200"}},
    )
    assert _container(stage)["PortMappings"] == [{"ContainerPort": BRIDGE_PORT, "Protocol": "tcp"}]
    assert "frontdesk_bridge.healthcheck" in _container(stage)["HealthCheck"]["Command"]


def test_prod_listener_terminates_tls_with_the_context_certificate(prod: Synthesized) -> None:
    prod.template("bridge").has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 443,
            "Protocol": "HTTPS",
            "Certificates": [{"CertificateArn": PROD_CONTEXT["certificateArn"]}],
            "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
        },
    )


def test_dev_without_a_certificate_listens_on_plain_http(dev: Synthesized) -> None:
    _, listener = only(dev.resources("bridge", "AWS::ElasticLoadBalancingV2::Listener"))
    assert (properties(listener)["Port"], properties(listener)["Protocol"]) == (80, "HTTP")
    assert text(_env(dev)["BRIDGE_PUBLIC_URL"]).startswith('{"Fn::Join": ["", ["ws://"')


def test_bridge_secrets_are_injected_by_ecs_not_environment(stage: Synthesized) -> None:
    container = _container(stage)
    assert {s["Name"] for s in container["Secrets"]} == BRIDGE_SECRETS
    assert not BRIDGE_SECRETS & set(_env(stage))
    for name, value in _env(stage).items():
        assert "{{resolve:" not in text(value), name


def test_bridge_environment_carries_its_settings(prod: Synthesized) -> None:
    env = _env(prod)
    assert "ApiEndpoint" in text(env["BOOKING_API_URL"])
    assert env["AWS_REGION"] == {"Ref": "AWS::Region"}
    assert text(env["REDIS_URL"]).startswith('{"Fn::Join": ["", ["rediss://"')
    assert env["BRIDGE_PORT"] == str(BRIDGE_PORT)
    assert env["BRIDGE_PUBLIC_URL"] == f"wss://{PROD_CONTEXT['domain']}"
    assert env["TWILIO_ACCOUNT_SID"] == PROD_CONTEXT["twilioAccountSid"]
    assert env["REALTIME_MODEL"] and int(env["MAX_CALL_SECONDS"]) > 0
    assert (env["METRICS_NAMESPACE"], env["METRICS_SERVICE"]) == (METRICS_NAMESPACE, "bridge")


def test_bridge_logs_never_block_the_audio_relay(stage: Synthesized) -> None:
    options = _container(stage)["LogConfiguration"]["Options"]
    assert options["mode"] == "non-blocking"


def _role(synth: Synthesized, key: str) -> str:
    _, task = only(synth.resources("bridge", "AWS::ECS::TaskDefinition"))
    return properties(task)[key]["Fn::GetAtt"][0]


def test_task_role_may_only_invoke_the_booking_routes_with_sigv4(stage: Synthesized) -> None:
    found = statements(stage.template("bridge"), _role(stage, "TaskRoleArn"))
    assert len(found) == 1
    (statement,) = found
    assert as_list(statement["Action"]) == ["execute-api:Invoke"]
    resources = [text(r) for r in as_list(statement["Resource"])]
    expected = {f"/$default/{r.method}{r.arn_path}" for r in ROUTES if r.iam and r.bridge}
    assert {r.rsplit('"', 2)[-2] for r in resources} == expected
    # the phone agent reads a caller's guest record but cannot seat, no-show or edit guests
    assert "/$default/GET/api/v1/restaurants/*/guests/*" in expected
    assert not any("/status" in r or "PATCH/api/v1/restaurants" in r for r in resources)
    assert all(f"frontdesk-{stage.stacks.config.stage}-http-api-id" in r for r in resources)
    assert not any("/twilio/" in r or "health" in r for r in resources)


def test_the_bridge_may_not_call_the_configuration_routes(stage: Synthesized) -> None:
    (statement,) = statements(stage.template("bridge"), _role(stage, "TaskRoleArn"))
    granted = {text(r).rsplit('"', 2)[-2] for r in as_list(statement["Resource"])}
    config_routes = {f"/$default/{r.method}{r.arn_path}" for r in ROUTES if r.group == "config"}
    assert config_routes and not granted & config_routes
    assert "/$default/PATCH/api/v1/restaurants/*" not in granted and "/$default/GET/api/v1/restaurants/*" in granted


def test_execution_role_reads_only_the_four_bridge_secrets(stage: Synthesized) -> None:
    reads = [s for s in statements(stage.template("bridge"), _role(stage, "ExecutionRoleArn"))
             if "secretsmanager:GetSecretValue" in as_list(s["Action"])]
    (statement,) = reads
    names = sorted(
        next(n for n in ("OpenAiApiKey", "StreamTokenKey", "TwilioAuthToken", "ValkeyAuthToken") if n in text(r))
        for r in as_list(statement["Resource"])
    )
    assert names == ["OpenAiApiKey", "StreamTokenKey", "TwilioAuthToken", "ValkeyAuthToken"]
    assert "AppUserSecret" not in text(statement) and "InstanceSecret" not in text(statement)


def test_bridge_scales_on_cpu_and_on_active_calls_per_task(stage: Synthesized) -> None:
    template = stage.template("bridge")
    config = stage.stacks.config
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {"MinCapacity": config.bridge_min_tasks, "MaxCapacity": config.bridge_max_tasks},
    )
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {"TargetTrackingScalingPolicyConfiguration": {
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
            "TargetValue": 50, "ScaleInCooldown": 600, "ScaleOutCooldown": 60,
        }},
    )
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {"TargetTrackingScalingPolicyConfiguration": {
            "CustomizedMetricSpecification": {
                "Namespace": METRICS_NAMESPACE, "MetricName": "ActiveCalls", "Statistic": "Average",
                "Dimensions": [{"Name": "service", "Value": "bridge"}],
            },
            "TargetValue": config.bridge_target_calls_per_task, "ScaleInCooldown": 600, "ScaleOutCooldown": 60,
        }},
    )


def test_prod_keeps_two_bridge_tasks_across_azs(prod: Synthesized) -> None:
    assert _service(prod)["DesiredCount"] == 2


def _bridge_settings_fields() -> set[str]:
    settings = pytest.importorskip("frontdesk_bridge.settings")
    return {name.upper() for name in settings.BridgeSettings.model_fields}


def test_bridge_settings_read_every_environment_variable_the_task_sets(prod: Synthesized) -> None:
    fields = _bridge_settings_fields()
    unknown = sorted(set(_env(prod)) - fields)
    assert unknown == [], f"the bridge ignores {unknown}"


def test_bridge_settings_read_every_secret_the_task_injects(prod: Synthesized) -> None:
    fields = _bridge_settings_fields()
    missing = sorted(BRIDGE_SECRETS - fields)
    assert missing == []
