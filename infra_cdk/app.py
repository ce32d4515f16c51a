"""CDK entry point: ``python3 -m infra_cdk.app`` (see cdk.json).

Stacks, in deploy order (each only references the ones before it):

    FrontDesk-<stage>-Network        VPC, endpoints, flow logs, security groups, public ALB
    FrontDesk-<stage>-Data           PostgreSQL 17 + RDS Proxy, Valkey, secrets
    FrontDesk-<stage>-Api            HTTP API, Lambdas, migrations custom resource
    FrontDesk-<stage>-Bridge         ECS/Fargate bridge, listener, scaling
    FrontDesk-<stage>-Notifications  guest SMS: queue + DLQ, notifier and minute-sweep Lambdas
    FrontDesk-<stage>-Observability  alarms -> SNS, dashboard
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")

from aws_cdk import App, Environment, Tags

from infra_cdk.config import StageConfig
from infra_cdk.nag import enable_nag
from infra_cdk.stacks.api import ApiStack
from infra_cdk.stacks.bridge import BridgeStack
from infra_cdk.stacks.data import DataStack
from infra_cdk.stacks.network import NetworkStack
from infra_cdk.stacks.notifications import NotificationsStack, allow_publishing
from infra_cdk.stacks.observability import MonitoredResources, ObservabilityStack


@dataclass(frozen=True)
class FrontDeskStacks:
    config: StageConfig
    network: NetworkStack
    data: DataStack
    api: ApiStack
    bridge: BridgeStack
    observability: ObservabilityStack
    notifications: NotificationsStack | None = None

    def all(self) -> tuple[Any, ...]:
        extra = (self.notifications,) if self.notifications is not None else ()
        return (self.network, self.data, self.api, self.bridge, self.observability, *extra)


def build(app: App) -> FrontDeskStacks:
    config = StageConfig.from_context(app.node)
    # Account-agnostic (taken from the deploy credentials) but region-pinned: the ALB access-log bucket
    # policy needs the region's ELB principal, and a fixed region keeps synth free of lookups.
    env = Environment(region=config.region)
    common: dict[str, Any] = {"env": env, "termination_protection": config.is_prod}

    def name(part: str) -> dict[str, Any]:
        return {"stack_name": f"frontdesk-{config.stage}-{part.lower()}", **common}

    network = NetworkStack(app, config.stack_id("Network"), config=config, **name("Network"),
                           description="Front Desk: VPC, endpoints, flow logs, security groups, public ALB")
    data = DataStack(
        app, config.stack_id("Data"), config=config, vpc=network.vpc, clients=network.security_groups,
        **name("Data"), description="Front Desk: PostgreSQL 17 + RDS Proxy, Valkey, secrets",
    )
    api = ApiStack(
        app, config.stack_id("Api"), config=config, vpc=network.vpc,
        function_security_group=network.security_groups.api_functions,
        migrations_security_group=network.security_groups.migrations,
        database=data.database, cache=data.cache, secrets=data.secrets,
        bridge_public_url=network.bridge_public_url,
        deploy_nonce=_optional(app.node.try_get_context("deployNonce")),
        **name("Api"), description="Front Desk: HTTP API, Lambda functions, migrations custom resource",
    )
    bridge = BridgeStack(
        app, config.stack_id("Bridge"), config=config, vpc=network.vpc,
        load_balancer=network.load_balancer, task_security_group=network.security_groups.bridge_tasks,
        booking_api=api.api.reference(),
        bridge_public_url=network.bridge_public_url, cache=data.cache, secrets=data.secrets,
        **name("Bridge"), description="Front Desk: realtime voice bridge on Fargate",
    )
    notifications = NotificationsStack(
        app, config.stack_id("Notifications"), config=config, vpc=network.vpc,
        function_security_group=network.security_groups.api_functions, database=data.database,
        secrets=data.secrets, bundle_hash=api.bundle_hash, after=[api.migrations.resource],
        public_base_url=api.api.url,
        **name("Notifications"), description="Front Desk: guest SMS queue, notifier and sweep Lambdas",
    )
    allow_publishing(api.functions["reservations"], config)
    observability = ObservabilityStack(
        app, config.stack_id("Observability"), config=config,
        watched=MonitoredResources(
            http_api=api.api.http_api,
            functions={**api.functions, **notifications.functions},
            database=data.database.instance,
            proxy=data.database.proxy,
            redis_node_ids=tuple(data.cache.node_ids),
            bridge_service=bridge.bridge.service,
            load_balancer=network.load_balancer,
            bridge_target_group=bridge.bridge.target_group,
            sms_dead_letters=notifications.queues.dead_letters,
        ),
        **name("Observability"), description="Front Desk: alarms to SNS and the operations dashboard",
    )
    stacks = FrontDeskStacks(config, network, data, api, bridge, observability, notifications)
    for stack in stacks.all():
        for key, value in (("project", "frontdesk"), ("stage", config.stage)):
            # CloudFormation's schema has no Tags on DBProxyTargetGroup although CDK thinks it is taggable.
            Tags.of(stack).add(key, value, exclude_resource_types=["AWS::RDS::DBProxyTargetGroup"])
    enable_nag(app)
    return stacks


def _optional(value: object) -> str | None:
    return None if value in (None, "") else str(value)


def build_app(context: dict[str, Any] | None = None, outdir: str | None = None) -> tuple[App, FrontDeskStacks]:
    app = App(context=context, outdir=outdir)
    return app, build(app)


def main() -> None:
    app, _ = build_app()
    app.synth()


if __name__ == "__main__":
    main()
