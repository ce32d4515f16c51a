"""Network: the VPC, its endpoints and flow logs, the security-group identities and the public ALB.

Everything here outlives the services: the ALB's DNS name is what Route 53 (and so Twilio) points at, and
the security groups are the identities the data stack admits. Keeping the client security groups here
(not in the API/bridge stacks) lets the data stack reference them without a dependency cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra_cdk.common import retention_days
from infra_cdk.config import (
    ALB_IDLE_TIMEOUT_SECONDS,
    BRIDGE_PORT,
    DB_PORT,
    PROXY_PORT,
    REDIS_PORT,
    VPC_CIDR,
    StageConfig,
)
from infra_cdk.nag import acknowledge

_ENDPOINT_SERVICES = {
    "ecr.api": ec2.InterfaceVpcEndpointAwsService.ECR,
    "ecr.dkr": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
}


class FrontDeskVpc(Construct):
    """Two AZs; public (ALB, NAT), private with egress (Lambdas, bridge), isolated (PostgreSQL, Valkey).

    Interface endpoints keep AWS API traffic inside the VPC: Secrets Manager always (every function reads
    its secrets at runtime), plus ECR and CloudWatch Logs in prod. No execute-api endpoint on purpose: with
    private DNS it would capture *.execute-api names, and an HTTP API is not reachable through it.
    """

    def __init__(self, scope: Construct, id: str, *, config: StageConfig) -> None:
        super().__init__(scope, id)
        self.vpc = ec2.Vpc(
            self, "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(VPC_CIDR),
            max_azs=config.max_azs,
            nat_gateways=config.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20
                ),
                ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24),
            ],
            # Nothing uses the default security group; strip its rules (CIS / Security Hub EC2.2).
            restrict_default_security_group=True,
        )
        flow_log_group = logs.LogGroup(
            self, "FlowLogs",
            retention=retention_days(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY if not config.is_prod else RemovalPolicy.RETAIN,
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )

        self.endpoint_security_group = ec2.SecurityGroup(
            self, "EndpointSg",
            vpc=self.vpc,
            description="Interface endpoints: HTTPS from inside the VPC only",
            allow_all_outbound=False,
        )
        self.endpoint_security_group.add_ingress_rule(
            ec2.Peer.ipv4(VPC_CIDR), ec2.Port.tcp(443), "HTTPS from the VPC"
        )
        private = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        self.vpc.add_interface_endpoint(
            "SecretsManager",
            service=ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
            subnets=private,
            security_groups=[self.endpoint_security_group],
            private_dns_enabled=True,
            open=False,
        )
        for name in config.extra_interface_endpoints:
            self.vpc.add_interface_endpoint(
                name.replace(".", "-"),
                service=_ENDPOINT_SERVICES[name],
                subnets=private,
                security_groups=[self.endpoint_security_group],
                private_dns_enabled=True,
                open=False,
            )
        # Free, and keeps ECR image layers (served from S3) off the NAT gateways.
        self.vpc.add_gateway_endpoint(
            "S3", service=ec2.GatewayVpcEndpointAwsService.S3,
            subnets=[ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)],
        )


@dataclass(frozen=True)
class ClientSecurityGroups:
    """The identities the data stack admits and the ALB forwards to."""

    api_functions: ec2.ISecurityGroup
    migrations: ec2.ISecurityGroup
    bridge_tasks: ec2.ISecurityGroup
    load_balancer: ec2.ISecurityGroup


class SecurityIdentities(Construct):
    """Client security groups with egress limited to what each client talks to."""

    def __init__(self, scope: Construct, id: str, *, vpc: ec2.IVpc, config: StageConfig) -> None:
        super().__init__(scope, id)
        vpc_cidr = ec2.Peer.ipv4(VPC_CIDR)
        anywhere = ec2.Peer.any_ipv4()

        api = ec2.SecurityGroup(
            self, "ApiFunctions", vpc=vpc, allow_all_outbound=False,
            description="Booking and Twilio webhook Lambdas",
        )
        api.add_egress_rule(anywhere, ec2.Port.tcp(443), "HTTPS: Secrets Manager endpoint, Twilio REST")
        api.add_egress_rule(vpc_cidr, ec2.Port.tcp(PROXY_PORT), "PostgreSQL through RDS Proxy")
        api.add_egress_rule(vpc_cidr, ec2.Port.tcp(REDIS_PORT), "Valkey (TLS)")

        migrations = ec2.SecurityGroup(
            self, "Migrations", vpc=vpc, allow_all_outbound=False,
            description="Migrations custom resource Lambda",
        )
        migrations.add_egress_rule(vpc_cidr, ec2.Port.tcp(443), "Secrets Manager endpoint")
        migrations.add_egress_rule(vpc_cidr, ec2.Port.tcp(PROXY_PORT), "PostgreSQL through RDS Proxy (app_owner)")
        migrations.add_egress_rule(vpc_cidr, ec2.Port.tcp(DB_PORT), "PostgreSQL instance (role bootstrap as master)")

        alb = ec2.SecurityGroup(
            self, "LoadBalancer", vpc=vpc, allow_all_outbound=False,
            description="Public ALB in front of the realtime bridge",
        )
        bridge = ec2.SecurityGroup(
            self, "BridgeTasks", vpc=vpc, allow_all_outbound=False,
            description="Realtime bridge Fargate tasks",
        )
        listener_ports = (443, 80) if config.has_tls else (80,)
        for port in listener_ports:
            alb.add_ingress_rule(anywhere, ec2.Port.tcp(port), f"Twilio Media Streams (public) on {port}")
        alb.add_egress_rule(bridge, ec2.Port.tcp(BRIDGE_PORT), "To the bridge tasks")
        bridge.add_ingress_rule(alb, ec2.Port.tcp(BRIDGE_PORT), "From the ALB only")
        bridge.add_egress_rule(anywhere, ec2.Port.tcp(443), "HTTPS: OpenAI Realtime, Twilio REST, booking API, AWS")
        bridge.add_egress_rule(vpc_cidr, ec2.Port.tcp(REDIS_PORT), "Valkey (TLS)")
        acknowledge(
            alb, "AwsSolutions-EC23",
            "The bridge ALB must be reachable from the internet: Twilio Media Streams connect from Twilio's "
            "media edge, which has no fixed address list to allow. Only the listener ports are open; the "
            "websocket is authenticated by a signed per-call token before any model session opens.",
        )
        self.groups = ClientSecurityGroups(
            api_functions=api, migrations=migrations, bridge_tasks=bridge, load_balancer=alb
        )


class PublicIngress(Construct):
    """Internet-facing ALB for the bridge websockets (+ access logs, + optional Route 53 alias).

    Listeners that forward to the bridge live in the bridge stack; here only the HTTP->HTTPS redirect.
    """

    def __init__(
        self, scope: Construct, id: str, *, vpc: ec2.IVpc, security_group: ec2.ISecurityGroup,
        config: StageConfig,
    ) -> None:
        super().__init__(scope, id)
        self.access_logs = s3.Bucket(
            self, "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # ALB log delivery supports SSE-S3 only
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(config.log_retention_days))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.access_logs, "AwsSolutions-S1",
            "This bucket is itself the ALB access-log destination; logging access to it would need another "
            "log bucket whose own access would again be unlogged. It is private, TLS-only and expires objects.",
        )
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self, "Alb",
            vpc=vpc,
            internet_facing=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            security_group=security_group,
            idle_timeout=Duration.seconds(ALB_IDLE_TIMEOUT_SECONDS),
            drop_invalid_header_fields=True,
            deletion_protection=config.is_prod,
            http2_enabled=True,
        )
        self.load_balancer.log_access_logs(self.access_logs, prefix="alb")
        if config.has_tls:
            self.load_balancer.add_redirect(source_port=80, target_port=443, open=False)
            self.public_url = f"wss://{config.domain}"
        else:
            # dev without a certificate: plain ws:// on port 80. It synthesizes and deploys, but Twilio
            # will not stream to it; pass -c domain=... -c certificateArn=... for real calls.
            self.public_url = f"ws://{self.load_balancer.load_balancer_dns_name}"

        if config.hosted_zone_id and config.domain and config.hosted_zone_name:
            zone = route53.HostedZone.from_hosted_zone_attributes(
                self, "Zone", hosted_zone_id=config.hosted_zone_id, zone_name=config.hosted_zone_name
            )
            route53.ARecord(
                self, "BridgeAlias",
                zone=zone,
                record_name=config.domain + ".",
                target=route53.RecordTarget.from_alias(route53_targets.LoadBalancerTarget(self.load_balancer)),
            )


class NetworkStack(Stack):
    def __init__(self, scope: Construct, id: str, *, config: StageConfig, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        network = FrontDeskVpc(self, "Network", config=config)
        self.vpc: ec2.IVpc = network.vpc
        self.security_groups = SecurityIdentities(self, "SecurityGroups", vpc=self.vpc, config=config).groups
        ingress = PublicIngress(
            self, "Ingress", vpc=self.vpc, security_group=self.security_groups.load_balancer, config=config
        )
        self.load_balancer: elbv2.ApplicationLoadBalancer = ingress.load_balancer
        #: What the voice webhook puts in <Stream url=...> (the app appends /ws/twilio-stream).
        self.bridge_public_url: str = ingress.public_url
