"""Notifications: guest SMS delivery from the PostgreSQL outbox.

    reservations Lambda --SendMessage--> queue --(batch, partial failures)--> notifier Lambda --> Twilio
                                           '--> dead-letter queue (after 5 receives)
    EventBridge every minute ------------------------------------------> sweep Lambda --> Twilio

The queue only says "reservation X changed, deliver now": the message itself is already in the outbox (same
transaction as the change), so the sweep delivers whatever the queue loses. Both Lambdas run in the private
subnets with the API functions' security group (RDS Proxy as app_user) and read the Twilio credentials
from the same Secrets Manager secret as the webhooks.

Its alarms (dead letters, SMS backlog age, failures, the two functions' errors and throttles) live in the
Observability stack, next to the on-call topic: Observability depends on this stack, never the reverse.

This stack is deployed after the API stack so its functions never run before the migration that creates the
outbox. The API's reservations function is given the queue by its deterministic name and ARN (account and
region pseudo-parameters, no cross-stack token), so the API stack never depends on this one.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, CfnOutput, Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra_cdk.bundling import lambda_code
from infra_cdk.config import METRICS_NAMESPACE, NOTIFIER_SERVICE_NAME, PROXY_PORT, StageConfig
from infra_cdk.stacks.api import ServiceFunction
from infra_cdk.stacks.data import AppSecrets, PostgresDatabase

NOTIFIER_HANDLER = "frontdesk.handlers.notifier.handler"
SWEEP_HANDLER = "frontdesk.handlers.notifier.sweep"
NOTIFIER_TIMEOUT = Duration.seconds(30)
SWEEP_TIMEOUT = Duration.seconds(60)
#: AWS's guidance for an SQS event source: visibility timeout at least six times the function's timeout.
VISIBILITY_TIMEOUT = Duration.seconds(180)
MAX_RECEIVES = 5
BATCH_SIZE = 10


def queue_name(config: StageConfig) -> str:
    return f"frontdesk-{config.stage}-notifications"


@dataclass(frozen=True)
class QueueAddress:
    """The queue as another stack refers to it: strings built from the name and pseudo-parameters only."""

    url: str
    arn: str

    @staticmethod
    def of(config: StageConfig) -> QueueAddress:
        name = queue_name(config)
        return QueueAddress(url=f"https://sqs.{Aws.REGION}.{Aws.URL_SUFFIX}/{Aws.ACCOUNT_ID}/{name}",
                            arn=f"arn:{Aws.PARTITION}:sqs:{Aws.REGION}:{Aws.ACCOUNT_ID}:{name}")


def allow_publishing(function: lambda_.Function, config: StageConfig) -> None:
    """Let ``function`` (the API's reservations Lambda) tell the notifier about committed changes: the queue
    URL in its environment and sqs:SendMessage on that one queue. SSE-SQS needs no KMS grant."""
    address = QueueAddress.of(config)
    function.add_environment("NOTIFICATIONS_QUEUE_URL", address.url)
    function.add_to_role_policy(iam.PolicyStatement(
        sid="PublishReservationChanges", actions=["sqs:SendMessage"], resources=[address.arn]))


class NotificationQueues(Construct):
    """The work queue and its dead-letter queue: encrypted at rest (SSE-SQS), TLS-only."""

    def __init__(self, scope: Construct, id: str, *, config: StageConfig) -> None:
        super().__init__(scope, id)
        self.dead_letters = sqs.Queue(
            self, "DeadLetters",
            queue_name=f"{queue_name(config)}-dlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.queue = sqs.Queue(
            self, "Queue",
            queue_name=queue_name(config),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=VISIBILITY_TIMEOUT,
            # Past a day the sweep has long since delivered the message anyway.
            retention_period=Duration.days(1),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letters, max_receive_count=MAX_RECEIVES),
        )


class NotificationsStack(Stack):
    def __init__(
        self, scope: Construct, id: str, *, config: StageConfig, vpc: ec2.IVpc,
        function_security_group: ec2.ISecurityGroup, database: PostgresDatabase, secrets: AppSecrets,
        bundle_hash: str, after: list[Construct] | None = None, public_base_url: str | None = None, **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        code = lambda_code(bundle_hash=bundle_hash)
        self.queues = NotificationQueues(self, "Queues", config=config)
        env = {
            "STAGE": config.stage,
            "DATABASE_SECRET_ARN": database.app_user_secret.secret_arn,
            "DATABASE_PROXY_HOST": database.proxy.endpoint,
            "DATABASE_PROXY_PORT": str(PROXY_PORT),
            "TWILIO_SECRET_ARN": secrets.twilio_auth_token.secret_arn,
            "POWERTOOLS_SERVICE_NAME": NOTIFIER_SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        }
        if config.twilio_account_sid:
            env["TWILIO_ACCOUNT_SID"] = config.twilio_account_sid
        if public_base_url:
            # Each message's StatusCallback (delivery receipts) is PUBLIC_BASE_URL + /twilio/sms-status.
            env["PUBLIC_BASE_URL"] = public_base_url

        def function(id: str, handler: str, timeout: Duration, description: str) -> ServiceFunction:
            fn = ServiceFunction(
                self, id, config=config, code=code, handler=handler, vpc=vpc,
                security_group=function_security_group, environment=env, timeout=timeout, memory_mib=512,
                description=description)
            database.app_user_secret.grant_read(fn.role)
            secrets.twilio_auth_token.grant_read(fn.role)
            for dependency in after or []:  # e.g. the migrations custom resource: schema first, then code
                fn.function.node.add_dependency(dependency)
            return fn

        self.notifier = function("Notifier", NOTIFIER_HANDLER, NOTIFIER_TIMEOUT,
                                 "Front Desk notifier: sends the SMS of reservations changed just now (SQS)")
        self.notifier.function.add_event_source(sources.SqsEventSource(
            self.queues.queue, batch_size=BATCH_SIZE, max_batching_window=Duration.seconds(1),
            report_batch_item_failures=True))

        self.sweeper = function("Sweeper", SWEEP_HANDLER, SWEEP_TIMEOUT,
                                "Front Desk SMS sweep: sends every due, unsent outbox message (every minute)")
        self.schedule = events.Rule(
            self, "EveryMinute",
            description="Deliver guest SMS the queue lost or whose retry is due",
            schedule=events.Schedule.rate(Duration.minutes(1)),
            # A missed minute is covered by the next one: no retries, no pile-up of sweeps.
            targets=[targets.LambdaFunction(self.sweeper.function, retry_attempts=0,
                                            max_event_age=Duration.minutes(1))],
        )
        self.functions = {"notifier": self.notifier.function, "sweeper": self.sweeper.function}

        # What the on-call runbook (infra_cdk/RUNBOOK.md) needs to act on an SMS alarm.
        CfnOutput(self, "SweeperFunctionName", value=self.sweeper.function.function_name,
                  description="Invoke to deliver due SMS now; it answers with what it sent and the backlog left")
        CfnOutput(self, "NotifierLogGroup", value=self.notifier.log_group.log_group_name,
                  description="The notifier Lambda's logs (why a wake-up was dead-lettered)")
        CfnOutput(self, "SweeperLogGroup", value=self.sweeper.log_group.log_group_name,
                  description="The sweep Lambda's logs (one 'sweep done' line a minute)")
        CfnOutput(self, "DeadLetterQueueUrl", value=self.queues.dead_letters.queue_url,
                  description="Notifier wake-ups that failed 5 times")
        CfnOutput(self, "DeadLetterQueueArn", value=self.queues.dead_letters.queue_arn,
                  description="Source ARN for `aws sqs start-message-move-task` (redrive to the work queue)")
