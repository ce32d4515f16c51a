"""Observability stack: alarms to an encrypted SNS topic, and the dashboard."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from infra_cdk.config import API_SERVICE_NAME, BRIDGE_SERVICE_NAME, METRICS_NAMESPACE, NOTIFIER_SERVICE_NAME
from infra_cdk.stacks.api import HANDLERS
from tests.infra.support import only, properties, text
from tests.infra.synth import PROD_CONTEXT, Synthesized

REPO = Path(__file__).resolve().parents[2]


def _alarms(synth: Synthesized) -> dict[str, dict[str, Any]]:
    prefix = f"frontdesk-{synth.stacks.config.stage}-"
    return {
        properties(r)["AlarmName"].removeprefix(prefix): properties(r)
        for r in synth.resources("observability", "AWS::CloudWatch::Alarm").values()
    }


def _dimensions(alarm: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}


#: Alarms whose metric is reported on a schedule, zeros included: no data means the reporter is down.
SILENCE_IS_BREACHING = {"sms-backlog-age"}


def test_every_alarm_notifies_the_topic_when_it_fires_and_when_it_clears(stage: Synthesized) -> None:
    topic_id, _ = only(stage.resources("observability", "AWS::SNS::Topic"))
    for name, alarm in _alarms(stage).items():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}], name
        assert alarm["OKActions"] == [{"Ref": topic_id}], name
        missing = "breaching" if name in SILENCE_IS_BREACHING else "notBreaching"
        assert alarm["TreatMissingData"] == missing, name


def test_alarm_topic_is_encrypted_with_a_rotated_key_cloudwatch_may_use(stage: Synthesized) -> None:
    key_id, key = only(stage.resources("observability", "AWS::KMS::Key"))
    assert properties(key)["EnableKeyRotation"] is True
    cloudwatch = [s for s in properties(key)["KeyPolicy"]["Statement"]
                  if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch and set(cloudwatch[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    _, topic = only(stage.resources("observability", "AWS::SNS::Topic"))
    assert properties(topic)["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    stage.template("observability").has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {"PolicyDocument": {"Statement": [{
            "Action": "sns:Publish", "Effect": "Deny", "Principal": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Resource": {"Ref": only(stage.resources("observability", "AWS::SNS::Topic"))[0]},
            "Sid": "AllowPublishThroughSSLOnly",
        }]}},
    )


def test_prod_alarms_email_the_on_call_address_from_context(prod: Synthesized, dev: Synthesized) -> None:
    prod.template("observability").has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": PROD_CONTEXT["alarmEmail"]}
    )
    dev.template("observability").resource_count_is("AWS::SNS::Subscription", 0)


def test_commit_p99_latency_alarm_uses_the_sla(stage: Synthesized) -> None:
    alarm = _alarms(stage)["commit-latency-p99"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (METRICS_NAMESPACE, "CommitLatencyMs")
    assert alarm["ExtendedStatistic"] == "p99"
    assert _dimensions(alarm) == {"service": "api"}
    assert alarm["Threshold"] == stage.stacks.config.commit_p99_sla_ms
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_api_5xx_alarm_watches_the_http_api(stage: Synthesized) -> None:
    alarm = _alarms(stage)["api-5xx"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/ApiGateway", "5xx", "Sum")
    assert "ApiHttpApi" in text(_dimensions(alarm)["ApiId"])


def test_every_api_function_has_error_and_throttle_alarms(stage: Synthesized) -> None:
    alarms = _alarms(stage)
    for group in HANDLERS:
        for metric, suffix in (("Errors", "errors"), ("Throttles", "throttles")):
            alarm = alarms[f"lambda-{group}-{suffix}"]
            assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", metric)
            assert f"{group.title()}Function" in text(_dimensions(alarm)["FunctionName"])
            assert alarm["Threshold"] == 1


def test_rds_proxy_pinned_sessions_alarm(stage: Synthesized) -> None:
    alarm = _alarms(stage)["rds-proxy-pinned-sessions"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/RDS", "DatabaseConnectionsCurrentlySessionPinned")
    assert "PostgresProxy" in text(_dimensions(alarm)["ProxyName"])
    assert alarm["Threshold"] == 0 and alarm["EvaluationPeriods"] == 3


def test_valkey_memory_and_eviction_alarms_cover_every_node(stage: Synthesized) -> None:
    alarms = _alarms(stage)
    config = stage.stacks.config
    nodes = [f"{config.redis_replication_group_id}-{i:03d}" for i in range(1, config.redis_nodes + 1)]
    for node in nodes:
        memory = alarms[f"valkey-{node[-3:]}-memory"]
        evictions = alarms[f"valkey-{node[-3:]}-evictions"]
        assert memory["MetricName"] == "DatabaseMemoryUsagePercentage" and memory["Threshold"] == 80
        assert evictions["MetricName"] == "Evictions" and evictions["Threshold"] == 0
        assert _dimensions(memory) == _dimensions(evictions) == {"CacheClusterId": node}


def test_bridge_upstream_failure_and_transfer_alarms(stage: Synthesized) -> None:
    alarms = _alarms(stage)
    for name, metric in (("bridge-upstream-failures", "UpstreamFailure"), ("bridge-transfers", "Transfer")):
        alarm = alarms[name]
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (METRICS_NAMESPACE, metric, "Sum")
        assert _dimensions(alarm) == {"service": "bridge"}


def test_one_dashboard_shows_api_database_cache_and_bridge_health(stage: Synthesized) -> None:
    _, dashboard = only(stage.resources("observability", "AWS::CloudWatch::Dashboard"))
    assert properties(dashboard)["DashboardName"] == f"frontdesk-{stage.stacks.config.stage}"
    body = json.dumps(properties(dashboard)["DashboardBody"])
    for metric in ("CommitLatencyMs", "HoldPlaced", "HoldRejected", "ReservationCommitted", "CommitConflict",
                   "ActiveCalls", "TurnLatency", "UpstreamFailure", "Transfer", "BargeIn",
                   "DatabaseConnectionsCurrentlySessionPinned", "DatabaseMemoryUsagePercentage", "Evictions",
                   "5xx", "CPUUtilization"):
        assert metric in body, metric
    assert "alarm" in body.lower()


def _watched_app_metrics(stage: Synthesized) -> set[tuple[str, str]]:
    """(metric, service) of every FrontDesk metric an alarm or the dashboard reads."""
    watched = {(a["MetricName"], _dimensions(a).get("service", "")) for a in _alarms(stage).values()
               if a.get("Namespace") == METRICS_NAMESPACE}
    _, dashboard = only(stage.resources("observability", "AWS::CloudWatch::Dashboard"))
    body = json.dumps(properties(dashboard)["DashboardBody"])
    watched |= set(re.findall(r'\\"FrontDesk\\",\\"([A-Za-z.]+)\\",\\"service\\",\\"([a-z]+)\\"', body))
    return watched


def _source(root: str) -> str:
    return "\n".join(p.read_text() for p in (REPO / root).rglob("*.py"))


def test_every_metric_the_alarms_and_dashboard_watch_is_emitted_by_the_code_with_that_service(
    stage: Synthesized,
) -> None:
    """A renamed metric or service would leave an alarm that can never fire: check names and dimensions."""
    from frontdesk.api.observability import SERVICE as API_SERVICE
    from frontdesk.handlers.notifier import SERVICE as NOTIFIER_SERVICE
    from frontdesk_bridge.settings import BridgeSettings

    emitters = {API_SERVICE_NAME: _source("functions/frontdesk"), BRIDGE_SERVICE_NAME: _source("bridge_container"),
                NOTIFIER_SERVICE_NAME: (REPO / "functions/frontdesk/handlers/notifier.py").read_text()}
    assert API_SERVICE == API_SERVICE_NAME
    assert NOTIFIER_SERVICE == NOTIFIER_SERVICE_NAME
    assert BridgeSettings.model_fields["metrics_service"].default == BRIDGE_SERVICE_NAME
    watched = _watched_app_metrics(stage)
    assert {"CommitLatencyMs", "ActiveCalls", "UpstreamFailure", "Transfer"} <= {name for name, _ in watched}
    assert {"SmsOldestUnsentAge", "SmsFailed", "SmsSent", "SmsDue"} <= {name for name, _ in watched}
    for name, service in watched:
        assert service in emitters, (name, service)
        assert f'"{name}"' in emitters[service], f"{service} never emits {name}"


# -- guest SMS --------------------------------------------------------------------------------------------

def _output_value(synth: Synthesized, reference: Any) -> Any:
    """What a cross-stack reference in the observability template resolves to in the producing stack."""
    assert "Fn::GetStackOutput" in reference, reference  # never a hard-coded name
    ref = reference["Fn::GetStackOutput"]
    assert ref["StackName"] == synth.stacks.notifications.stack_name  # type: ignore[union-attr]
    return synth.json("notifications")["Outputs"][ref["OutputName"]]["Value"]


def test_any_dead_lettered_sms_wake_up_pages_on_call(stage: Synthesized) -> None:
    alarm = _alarms(stage)["sms-dead-letters"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Maximum", 0, "GreaterThanThreshold")
    assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == 1
    queues = stage.resources("notifications", "AWS::SQS::Queue")
    (dlq_id,) = [k for k, v in queues.items() if "RedrivePolicy" not in properties(v)]
    assert _output_value(stage, _dimensions(alarm)["QueueName"]) == {"Fn::GetAtt": [dlq_id, "QueueName"]}


def test_a_guest_waiting_more_than_ten_minutes_for_a_text_pages_on_call_and_so_does_a_silent_sweep(
        stage: Synthesized) -> None:
    alarm = _alarms(stage)["sms-backlog-age"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        METRICS_NAMESPACE, "SmsOldestUnsentAge", "Maximum")
    assert _dimensions(alarm) == {"service": "notifier"}
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (600, "GreaterThanThreshold")
    assert alarm["Period"] == 300 and alarm["EvaluationPeriods"] == 1
    assert alarm["TreatMissingData"] == "breaching"


def test_repeated_sms_failures_page_on_call_but_one_bad_number_does_not(stage: Synthesized) -> None:
    alarm = _alarms(stage)["sms-failures"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (METRICS_NAMESPACE, "SmsFailed", "Sum")
    assert _dimensions(alarm) == {"service": "notifier"}
    assert alarm["Period"] == 900 and alarm["Threshold"] == 5
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_the_notifier_and_sweep_lambdas_page_on_errors_and_throttles(stage: Synthesized) -> None:
    topic_id, _ = only(stage.resources("observability", "AWS::SNS::Topic"))
    alarms = _alarms(stage)
    for group, function in (("notifier", "NotifierFunction"), ("sweeper", "SweeperFunction")):
        for metric, suffix in (("Errors", "errors"), ("Throttles", "throttles")):
            alarm = alarms[f"lambda-{group}-{suffix}"]
            assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"]) == ("AWS/Lambda", metric, 1)
            assert _output_value(stage, _dimensions(alarm)["FunctionName"]) == {"Ref": only(
                {k: v for k, v in stage.resources("notifications", "AWS::Lambda::Function").items()
                 if k.startswith(function)})[0]}
            assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": topic_id}]


def test_the_dashboard_shows_sms_outcomes_backlog_and_dead_letters(stage: Synthesized) -> None:
    _, dashboard = only(stage.resources("observability", "AWS::CloudWatch::Dashboard"))
    body = json.dumps(properties(dashboard)["DashboardBody"])
    for metric in ("SmsSent", "SmsFailed", "SmsSuppressed", "SmsRetrying", "SmsOldestUnsentAge", "SmsDue",
                   "SmsUnsent"):
        assert f'\\"FrontDesk\\",\\"{metric}\\",\\"service\\",\\"notifier\\"' in body, metric
    assert '\\"AWS/SQS\\",\\"ApproximateNumberOfMessagesVisible\\",\\"QueueName\\"' in body
    assert "Guest SMS per minute" in body and "SMS dead-letter queue depth" in body


def test_observability_depends_on_notifications_and_never_the_reverse(stage: Synthesized) -> None:
    notifications, observability = stage.stacks.notifications, stage.stacks.observability
    assert notifications is not None
    assert notifications in observability.dependencies
    assert observability not in notifications.dependencies
    assert "Observability" not in text(stage.json("notifications"))
    assert stage.resources("notifications", "AWS::CloudWatch::Alarm") == {}  # one place for alarms: next to the topic
