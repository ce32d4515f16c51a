"""Notifications stack: the SMS queue and its DLQ, the notifier and sweep Lambdas, and the API's permission to
publish — encrypted, TLS-only, least privilege, and no dependency of the API stack on this one."""

from __future__ import annotations

from typing import Any

from tests.infra.support import as_list, only, properties, statements, text
from tests.infra.synth import Synthesized

NOTIFIER = "frontdesk.handlers.notifier.handler"
SWEEP = "frontdesk.handlers.notifier.sweep"
SECRET_NAMES = ("AppUserSecret", "AppOwnerSecret", "InstanceSecret", "ValkeyAuthToken", "TwilioAuthToken",
                "StreamTokenKey", "OpenAiApiKey")


def _function(synth: Synthesized, handler: str) -> tuple[str, dict[str, Any]]:
    return only({k: v for k, v in synth.resources("notifications", "AWS::Lambda::Function").items()
                 if properties(v).get("Handler") == handler})


def _role_statements(synth: Synthesized, handler: str) -> list[dict[str, Any]]:
    fn = _function(synth, handler)[1]
    return statements(synth.template("notifications"), properties(fn)["Role"]["Fn::GetAtt"][0])


def _function_of_api(synth: Synthesized) -> dict[str, Any]:
    return only({k: v for k, v in synth.resources("api", "AWS::Lambda::Function").items()
                 if properties(v).get("Handler") == "frontdesk.handlers.reservations.handler"})[1]


def _queues(synth: Synthesized) -> tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]:
    queues = synth.resources("notifications", "AWS::SQS::Queue")
    work = only({k: v for k, v in queues.items() if "RedrivePolicy" in properties(v)})
    dlq = only({k: v for k, v in queues.items() if "RedrivePolicy" not in properties(v)})
    return work, dlq


def test_the_queue_and_its_dead_letter_queue_are_encrypted_and_refuse_plain_http(stage: Synthesized) -> None:
    (work_id, work), (dlq_id, dlq) = _queues(stage)
    for queue in (work, dlq):
        assert properties(queue)["SqsManagedSseEnabled"] is True
    policies = stage.resources("notifications", "AWS::SQS::QueuePolicy").values()
    denied = {text(q) for p in policies for s in properties(p)["PolicyDocument"]["Statement"]
              if s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
              for q in properties(p)["Queues"]}
    assert any(work_id in d for d in denied) and any(dlq_id in d for d in denied)
    redrive = properties(work)["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == 5 and dlq_id in text(redrive["deadLetterTargetArn"])
    assert properties(work)["QueueName"] == f"frontdesk-{stage.stacks.config.stage}-notifications"


def test_the_visibility_timeout_is_six_times_the_notifier_timeout(stage: Synthesized) -> None:
    (_, work), _ = _queues(stage)
    notifier = properties(_function(stage, NOTIFIER)[1])
    assert properties(work)["VisibilityTimeout"] >= 6 * notifier["Timeout"]


def test_the_notifier_reads_the_queue_in_batches_reporting_partial_failures(stage: Synthesized) -> None:
    (work_id, _), _ = _queues(stage)
    fn_id, _ = _function(stage, NOTIFIER)
    (_, mapping) = only(stage.resources("notifications", "AWS::Lambda::EventSourceMapping"))
    props = properties(mapping)
    assert work_id in text(props["EventSourceArn"]) and fn_id in text(props["FunctionName"])
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and props["BatchSize"] == 10


def test_a_rule_sweeps_every_minute_without_retries(stage: Synthesized) -> None:
    sweeper_id, _ = _function(stage, SWEEP)
    (_, rule) = only(stage.resources("notifications", "AWS::Events::Rule"))
    props = properties(rule)
    assert props["ScheduleExpression"] == "rate(1 minute)" and props["State"] == "ENABLED"
    (target,) = props["Targets"]
    assert sweeper_id in text(target["Arn"]) and target["RetryPolicy"]["MaximumRetryAttempts"] == 0
    permissions = stage.resources("notifications", "AWS::Lambda::Permission").values()
    assert any(properties(p)["Principal"] == "events.amazonaws.com" and sweeper_id in text(properties(p))
               for p in permissions)


def test_both_functions_run_like_the_api_functions_as_app_user_through_the_proxy(stage: Synthesized) -> None:
    api_functions_sg = properties(_function_of_api(stage))["VpcConfig"]["SecurityGroupIds"]
    for handler in (NOTIFIER, SWEEP):
        props = properties(_function(stage, handler)[1])
        assert props["Runtime"] == "python3.13" and props["Architectures"] == ["arm64"]
        assert "privateSubnet" in text(props["VpcConfig"]["SubnetIds"])
        assert props["VpcConfig"]["SecurityGroupIds"] == api_functions_sg  # same network access, no more
        env = props["Environment"]["Variables"]
        assert "AppUserSecret" in text(env["DATABASE_SECRET_ARN"])
        assert "Proxy" in text(env["DATABASE_PROXY_HOST"])
        assert "TwilioAuthToken" in text(env["TWILIO_SECRET_ARN"])
        assert not {"DATABASE_URL", "TWILIO_AUTH_TOKEN", "REDIS_URL", "NOTIFICATIONS_QUEUE_URL"} & set(env)


def test_the_account_sid_reaches_the_functions_when_configured(prod: Synthesized) -> None:
    env = properties(_function(prod, NOTIFIER)[1])["Environment"]["Variables"]
    assert env["TWILIO_ACCOUNT_SID"].startswith("AC")


def test_each_function_may_read_only_the_database_and_twilio_secrets(stage: Synthesized) -> None:
    for handler in (NOTIFIER, SWEEP):
        readable = set()
        for statement in _role_statements(stage, handler):
            if "secretsmanager:GetSecretValue" in as_list(statement["Action"]):
                for resource in as_list(statement["Resource"]):
                    names = [s for s in SECRET_NAMES if s in text(resource)]
                    assert len(names) == 1, resource
                    readable.add(names[0])
        assert readable == {"AppUserSecret", "TwilioAuthToken"}, handler


def test_only_the_notifier_touches_the_queue_and_only_to_consume_it(stage: Synthesized) -> None:
    (work_id, _), _ = _queues(stage)
    notifier_sqs = [s for s in _role_statements(stage, NOTIFIER) if "sqs:" in text(s["Action"])]
    actions = {a for s in notifier_sqs for a in as_list(s["Action"])}
    assert "sqs:ReceiveMessage" in actions and "sqs:DeleteMessage" in actions
    assert not {"sqs:SendMessage", "sqs:PurgeQueue", "sqs:*"} & actions
    assert all(work_id in text(s["Resource"]) for s in notifier_sqs)
    assert not [s for s in _role_statements(stage, SWEEP) if "sqs:" in text(s["Action"])]


def test_only_the_reservations_function_may_publish_and_only_to_this_queue(stage: Synthesized) -> None:
    name = f"frontdesk-{stage.stacks.config.stage}-notifications"
    api = stage.template("api")
    for logical_id, fn in stage.resources("api", "AWS::Lambda::Function").items():
        props = properties(fn)
        role_id = props["Role"]["Fn::GetAtt"][0]
        publishes = [s for s in statements(api, role_id) if "sqs:" in text(s["Action"])]
        env = props.get("Environment", {}).get("Variables", {})
        if props.get("Handler") == "frontdesk.handlers.reservations.handler":
            (statement,) = publishes
            assert statement["Action"] == "sqs:SendMessage" and text(statement["Resource"]).endswith(f':{name}"]]}}')
            assert text(env["NOTIFICATIONS_QUEUE_URL"]).endswith(f'/{name}"]]}}')
        else:
            assert publishes == [] and "NOTIFICATIONS_QUEUE_URL" not in env, logical_id


def test_the_api_stack_does_not_depend_on_this_one_but_this_one_waits_for_the_migrations(
        stage: Synthesized) -> None:
    api, notifications = stage.stacks.api, stage.stacks.notifications
    assert notifications is not None
    assert notifications not in api.dependencies
    assert api in notifications.dependencies  # the migrations custom resource runs first
    assert "Notifications" not in text(stage.json("api"))


def test_the_notifier_and_the_sweep_are_watched_like_the_api_functions(stage: Synthesized) -> None:
    alarms = {properties(a)["AlarmName"]: properties(a)
              for a in stage.resources("observability", "AWS::CloudWatch::Alarm").values()
              if "AlarmName" in properties(a)}
    for group in ("notifier", "sweeper"):
        for suffix, metric in (("errors", "Errors"), ("throttles", "Throttles")):
            (alarm,) = [a for name, a in alarms.items() if name.endswith(f"lambda-{group}-{suffix}")]
            assert alarm["MetricName"] == metric and alarm["AlarmActions"]


def test_the_stack_outputs_what_the_sms_runbook_needs(stage: Synthesized) -> None:
    sweeper_id, sweeper = _function(stage, SWEEP)
    _, notifier = _function(stage, NOTIFIER)
    _, (dlq_id, _) = _queues(stage)
    outputs = {name: out["Value"] for name, out in stage.json("notifications")["Outputs"].items()
               if not name.startswith("PublishOutput")}  # those are cross-stack references, not for people
    assert outputs == {
        "SweeperFunctionName": {"Ref": sweeper_id},
        "NotifierLogGroup": {"Ref": properties(notifier)["LoggingConfig"]["LogGroup"]["Ref"]},
        "SweeperLogGroup": {"Ref": properties(sweeper)["LoggingConfig"]["LogGroup"]["Ref"]},
        "DeadLetterQueueUrl": {"Ref": dlq_id},
        "DeadLetterQueueArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
    }


def test_the_senders_know_the_public_api_url_so_each_text_carries_its_receipt_callback(stage: Synthesized) -> None:
    for handler in (NOTIFIER, SWEEP):
        variables = properties(_function(stage, handler)[1])["Environment"]["Variables"]
        # The API stack's endpoint (an import): the same base the twilio routes sign their URLs with.
        assert "HttpApi" in text(variables["PUBLIC_BASE_URL"]), handler
