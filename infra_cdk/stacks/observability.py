"""Observability: alarms to one encrypted SNS topic, and one dashboard.

Application metrics are EMF, namespace ``FrontDesk``: the API's carry the Powertools default dimension
``service=api``; the bridge's ``service=bridge``; the SMS notifier's and sweep's ``service=notifier``. A metric
emitted with a different dimension set is a different CloudWatch metric, so the app must keep exactly these
dimensions for the alarms to see it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra_cdk.config import (
    API_SERVICE_NAME,
    BRIDGE_SERVICE_NAME,
    METRICS_NAMESPACE,
    NOTIFIER_SERVICE_NAME,
    StageConfig,
)
from infra_cdk.stacks.bridge import active_calls_metric

FIVE_MINUTES = Duration.minutes(5)
AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
#: A guest whose confirmation text is this late (seconds since the change was written) pages on-call.
SMS_BACKLOG_AGE_SECONDS = 600
#: Failed texts in 15 minutes that mean more than one guest's bad number (a landline, a typo).
SMS_FAILURES = 5
SMS_OUTCOMES = ("SmsSent", "SmsFailed", "SmsSuppressed", "SmsRetrying")


def app_metric(name: str, service: str, statistic: str, period: Duration = FIVE_MINUTES) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE, metric_name=name, dimensions_map={"service": service},
        statistic=statistic, period=period,
    )


@dataclass(frozen=True)
class MonitoredResources:
    """Everything the alarms and the dashboard look at, passed in as typed resources."""

    http_api: apigw.IHttpApi
    functions: Mapping[str, lambda_.IFunction]
    database: rds.IDatabaseInstance
    proxy: rds.IDatabaseProxy
    redis_node_ids: tuple[str, ...]
    bridge_service: ecs.FargateService
    load_balancer: elbv2.ApplicationLoadBalancer
    bridge_target_group: elbv2.ApplicationTargetGroup
    #: The notifier's dead-letter queue (Notifications stack).
    sms_dead_letters: sqs.IQueue

    def target_metric(self, name: str, statistic: str, period: Duration = FIVE_MINUTES) -> cloudwatch.Metric:
        """ALB target-group metric built from the two full names (no Fn::Split of a cross-stack ARN)."""
        return cloudwatch.Metric(
            namespace="AWS/ApplicationELB", metric_name=name, statistic=statistic, period=period,
            dimensions_map={
                "LoadBalancer": self.load_balancer.load_balancer_full_name,
                "TargetGroup": self.bridge_target_group.target_group_full_name,
            },
        )


class AlarmTopic(Construct):
    """SNS topic encrypted with a customer-managed key that CloudWatch alarms may use."""

    def __init__(self, scope: Construct, id: str, *, config: StageConfig) -> None:
        super().__init__(scope, id)
        self.key = kms.Key(
            self, "Key",
            description=f"Front Desk {config.stage} alarm topic",
            enable_key_rotation=True,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" means this key
            )
        )
        self.topic = sns.Topic(
            self, "Topic",
            display_name=f"Front Desk {config.stage} alarms",
            master_key=self.key,
            enforce_ssl=True,
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))


class Alarms(Construct):
    def __init__(
        self, scope: Construct, id: str, *, config: StageConfig, topic: sns.ITopic, watched: MonitoredResources,
    ) -> None:
        super().__init__(scope, id)
        self.alarms: list[cloudwatch.Alarm] = []
        action = cw_actions.SnsAction(topic)
        prefix = f"frontdesk-{config.stage}"

        def alarm(
            name: str, metric: cloudwatch.IMetric, threshold: float, description: str, *,
            periods: int = 1, datapoints: int | None = None,
            comparison: cloudwatch.ComparisonOperator = AT_LEAST,
            missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
        ) -> cloudwatch.Alarm:
            created = cloudwatch.Alarm(
                self, name,
                alarm_name=f"{prefix}-{name}",
                alarm_description=description,
                metric=metric,
                threshold=threshold,
                evaluation_periods=periods,
                datapoints_to_alarm=datapoints or periods,
                comparison_operator=comparison,
                treat_missing_data=missing,
            )
            created.add_alarm_action(action)
            created.add_ok_action(action)
            self.alarms.append(created)
            return created

        above = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        alarm(
            "commit-latency-p99",
            app_metric("CommitLatencyMs", API_SERVICE_NAME, "p99"),
            config.commit_p99_sla_ms,
            f"Reservation commit p99 above the {config.commit_p99_sla_ms} ms SLA for 10 of 15 minutes.",
            periods=3, datapoints=2, comparison=above,
        )
        alarm(
            "api-5xx",
            watched.http_api.metric_server_error(period=FIVE_MINUTES, statistic="Sum"),
            5,
            "The HTTP API returned 5 or more 5xx responses in 5 minutes (booking or Twilio webhooks failing).",
        )
        for group, fn in sorted(watched.functions.items()):
            alarm(
                f"lambda-{group}-errors",
                fn.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                1,
                f"The {group} Lambda raised errors (unhandled exceptions or timeouts).",
            )
            alarm(
                f"lambda-{group}-throttles",
                fn.metric_throttles(period=FIVE_MINUTES, statistic="Sum"),
                1,
                f"The {group} Lambda was throttled (account or reserved concurrency exhausted).",
            )
        alarm(
            "rds-proxy-pinned-sessions",
            cloudwatch.Metric(
                namespace="AWS/RDS", metric_name="DatabaseConnectionsCurrentlySessionPinned",
                dimensions_map={"ProxyName": watched.proxy.db_proxy_name}, statistic="Maximum", period=FIVE_MINUTES,
            ),
            0,
            "RDS Proxy sessions stay pinned for 15 minutes: some code path uses SET, session advisory locks or "
            "server-side prepared statements, which defeats connection multiplexing.",
            periods=3, comparison=above,
        )
        alarm(
            "db-cpu",
            watched.database.metric_cpu_utilization(period=FIVE_MINUTES, statistic="Average"),
            80,
            "PostgreSQL CPU above 80% for 15 minutes.",
            periods=3, comparison=above,
        )
        alarm(
            "db-free-storage",
            watched.database.metric_free_storage_space(period=FIVE_MINUTES, statistic="Minimum"),
            2 * 1024**3,
            "PostgreSQL free storage below 2 GiB (autoscaling storage may be at its maximum).",
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        )
        for node in watched.redis_node_ids:
            dims = {"CacheClusterId": node}
            alarm(
                f"valkey-{node[-3:]}-memory",
                cloudwatch.Metric(
                    namespace="AWS/ElastiCache", metric_name="DatabaseMemoryUsagePercentage",
                    dimensions_map=dims, statistic="Maximum", period=FIVE_MINUTES,
                ),
                80,
                f"Valkey node {node} above 80% memory: with noeviction, new holds will be refused when full.",
                periods=2, comparison=above,
            )
            alarm(
                f"valkey-{node[-3:]}-evictions",
                cloudwatch.Metric(
                    namespace="AWS/ElastiCache", metric_name="Evictions",
                    dimensions_map=dims, statistic="Sum", period=FIVE_MINUTES,
                ),
                0,
                f"Valkey node {node} evicted keys: holds may have been lost (maxmemory-policy should be noeviction).",
                comparison=above,
            )
        alarm(
            "bridge-upstream-failures",
            app_metric("UpstreamFailure", BRIDGE_SERVICE_NAME, "Sum"),
            3,
            "3 or more calls in 5 minutes lost the model upstream (callers heard an apology and were transferred).",
        )
        alarm(
            "bridge-transfers",
            app_metric("Transfer", BRIDGE_SERVICE_NAME, "Sum", period=Duration.minutes(15)),
            10,
            "10 or more calls transferred to the restaurant in 15 minutes: the AI host is handing calls back.",
        )
        # Guest SMS. The notifier's and the sweep's errors and throttles are among the Lambda alarms above.
        alarm(
            "sms-dead-letters",
            watched.sms_dead_letters.metric_approximate_number_of_messages_visible(
                period=FIVE_MINUTES, statistic="Maximum"),
            0,
            "A notifier wake-up was dead-lettered after 5 failed receives (the notifier could not reach the "
            "database or crashed). The sweep still sends its SMS; find out why, then redrive or purge the DLQ.",
            comparison=above,
        )
        alarm(
            "sms-backlog-age",
            app_metric("SmsOldestUnsentAge", NOTIFIER_SERVICE_NAME, "Maximum"),
            SMS_BACKLOG_AGE_SECONDS,
            f"A guest has waited more than {SMS_BACKLOG_AGE_SECONDS // 60} minutes for a booking text (Twilio "
            "failing, no credentials, or the sweep stuck), or the minute sweep reported nothing for 5 minutes.",
            comparison=above,
            # The sweep reports every minute, zeros included: silence means it is not running or cannot read
            # the outbox, and nobody is sending the texts.
            missing=cloudwatch.TreatMissingData.BREACHING,
        )
        alarm(
            "sms-failures",
            app_metric("SmsFailed", NOTIFIER_SERVICE_NAME, "Sum", period=Duration.minutes(15)),
            SMS_FAILURES,
            f"{SMS_FAILURES} or more guest texts given up in 15 minutes (Twilio refusing them: sender number, "
            "account, or message content), more than bad guest numbers explain.",
        )
        alarm(
            "bridge-unhealthy-targets",
            watched.target_metric("UnHealthyHostCount", "Maximum", period=Duration.minutes(1)),
            1,
            "A bridge task has failed ALB health checks for 3 minutes.",
            periods=3,
        )


class OperationsDashboard(Construct):
    def __init__(
        self, scope: Construct, id: str, *, config: StageConfig, watched: MonitoredResources,
        alarms: list[cloudwatch.Alarm],
    ) -> None:
        super().__init__(scope, id)
        api = watched.http_api
        fns = sorted(watched.functions.items())
        proxy = watched.proxy.db_proxy_name

        def rds_proxy(metric: str, statistic: str = "Maximum") -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/RDS", metric_name=metric, dimensions_map={"ProxyName": proxy},
                statistic=statistic, period=FIVE_MINUTES,
            )

        def valkey(metric: str, statistic: str = "Maximum") -> list[cloudwatch.IMetric]:
            return [
                cloudwatch.Metric(
                    namespace="AWS/ElastiCache", metric_name=metric, dimensions_map={"CacheClusterId": node},
                    statistic=statistic, period=FIVE_MINUTES, label=node,
                )
                for node in watched.redis_node_ids
            ]

        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard",
            dashboard_name=f"frontdesk-{config.stage}",
            default_interval=Duration.hours(6),
        )
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=alarms, width=24, height=4),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API requests and errors",
                left=[api.metric_count(period=FIVE_MINUTES)],
                right=[api.metric_client_error(period=FIVE_MINUTES), api.metric_server_error(period=FIVE_MINUTES)],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="API latency (p50 / p99)",
                left=[
                    api.metric_latency(period=FIVE_MINUTES, statistic="p50"),
                    api.metric_latency(period=FIVE_MINUTES, statistic="p99"),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Commit latency ms (p50 / p99 / SLA)",
                left=[
                    app_metric("CommitLatencyMs", API_SERVICE_NAME, "p50"),
                    app_metric("CommitLatencyMs", API_SERVICE_NAME, "p99"),
                ],
                left_annotations=[cloudwatch.HorizontalAnnotation(value=config.commit_p99_sla_ms, label="SLA")],
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Holds and reservations",
                left=[app_metric(m, API_SERVICE_NAME, "Sum") for m in ("HoldPlaced", "ReservationCommitted")],
                right=[app_metric(m, API_SERVICE_NAME, "Sum") for m in ("HoldRejected", "CommitConflict")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Lambda errors / throttles / duration p99",
                left=[fn.metric_errors(period=FIVE_MINUTES, label=f"{g} errors") for g, fn in fns]
                + [fn.metric_throttles(period=FIVE_MINUTES, label=f"{g} throttles") for g, fn in fns],
                right=[fn.metric_duration(period=FIVE_MINUTES, statistic="p99", label=f"{g} p99") for g, fn in fns],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="RDS Proxy connections",
                left=[rds_proxy("ClientConnections"), rds_proxy("DatabaseConnections")],
                right=[rds_proxy("DatabaseConnectionsCurrentlySessionPinned")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="PostgreSQL CPU / connections",
                left=[watched.database.metric_cpu_utilization(period=FIVE_MINUTES)],
                right=[watched.database.metric_database_connections(period=FIVE_MINUTES)],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Valkey memory % / evictions",
                left=valkey("DatabaseMemoryUsagePercentage"),
                right=valkey("Evictions", "Sum"),
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Bridge calls per task / turn latency p99",
                left=[active_calls_metric(FIVE_MINUTES)],
                right=[app_metric("TurnLatency", BRIDGE_SERVICE_NAME, "p99")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Bridge upstream failures / transfers / barge-ins",
                left=[app_metric(m, BRIDGE_SERVICE_NAME, "Sum") for m in ("UpstreamFailure", "Transfer")],
                right=[app_metric("BargeIn", BRIDGE_SERVICE_NAME, "Sum")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Bridge tasks CPU / memory",
                left=[
                    watched.bridge_service.metric_cpu_utilization(period=FIVE_MINUTES),
                    watched.bridge_service.metric_memory_utilization(period=FIVE_MINUTES),
                ],
                right=[watched.target_metric("HealthyHostCount", "Minimum")],
                width=8,
            ),
        )
        one_minute = Duration.minutes(1)
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Guest SMS per minute (sent / failed / suppressed / retrying)",
                left=[app_metric(m, NOTIFIER_SERVICE_NAME, "Sum", period=one_minute) for m in SMS_OUTCOMES],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="SMS backlog: oldest unsent (s) / due and unsent messages",
                left=[app_metric("SmsOldestUnsentAge", NOTIFIER_SERVICE_NAME, "Maximum", period=one_minute)],
                left_annotations=[cloudwatch.HorizontalAnnotation(value=SMS_BACKLOG_AGE_SECONDS, label="alarm")],
                right=[app_metric(m, NOTIFIER_SERVICE_NAME, "Maximum", period=one_minute)
                       for m in ("SmsDue", "SmsUnsent")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="SMS dead-letter queue depth",
                left=[watched.sms_dead_letters.metric_approximate_number_of_messages_visible(
                    period=FIVE_MINUTES, statistic="Maximum")],
                width=8,
            ),
        )


class ObservabilityStack(Stack):
    def __init__(
        self, scope: Construct, id: str, *, config: StageConfig, watched: MonitoredResources, **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.alarm_topic = AlarmTopic(self, "AlarmTopic", config=config)
        alarms = Alarms(self, "Alarms", config=config, topic=self.alarm_topic.topic, watched=watched)
        self.alarms = alarms.alarms
        self.dashboard = OperationsDashboard(self, "Ops", config=config, watched=watched, alarms=self.alarms).dashboard
