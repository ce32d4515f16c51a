"""Data: PostgreSQL 17 (RDS) behind RDS Proxy, Valkey for holds/call state, and the app's secrets.

Stateful and slow to change, so it deploys rarely and independently of the code stacks.
Decision RDS vs Aurora Serverless v2: see README.md, "Why RDS PostgreSQL, not Aurora Serverless v2".
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra_cdk.common import retention_days
from infra_cdk.config import (
    APP_OWNER_ROLE,
    APP_USER_ROLE,
    DATABASE_NAME,
    DB_MASTER_USERNAME,
    DB_PORT,
    PROXY_PORT,
    REDIS_PORT,
    VPC_CIDR,
    StageConfig,
)
from infra_cdk.nag import acknowledge
from infra_cdk.stacks.network import ClientSecurityGroups

POSTGRES_VERSION = rds.PostgresEngineVersion.VER_17_9
VALKEY_VERSION = "8.2"
VALKEY_PARAMETER_FAMILY = "valkey8"
ROTATION_DAYS = 30


class PostgresDatabase(Construct):
    """RDS PostgreSQL 17 + RDS Proxy (TLS required) + generated, rotated credentials.

    Three secrets, all RDS-shaped JSON (host, port, username, password, dbname, engine):

    * master (``frontdesk_admin``): generated, rotated; only the migrations function reads it, to create
      the two application roles on first deploy and re-assert their passwords;
    * ``app_owner``: owns and migrates the schema; read by the migrations function only;
    * ``app_user``: what the API logs in as.

    ``app_owner`` and ``app_user`` are the proxy's auth secrets. Their ``port`` is the instance port
    (:data:`DB_PORT`), which the rotation functions use; clients of the proxy connect to
    DATABASE_PROXY_HOST on DATABASE_PROXY_PORT (5432: RDS Proxy always listens on the engine default).
    """

    def __init__(
        self, scope: Construct, id: str, *, config: StageConfig, vpc: ec2.IVpc, clients: ClientSecurityGroups,
    ) -> None:
        super().__init__(scope, id)
        self.instance_identifier = f"frontdesk-{config.stage}"
        isolated = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        private = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        vpc_cidr = ec2.Peer.ipv4(VPC_CIDR)

        self.security_group = ec2.SecurityGroup(
            self, "InstanceSg", vpc=vpc, allow_all_outbound=False,
            description="PostgreSQL instance: from RDS Proxy, rotation and migrations only",
        )
        self.proxy_security_group = ec2.SecurityGroup(
            self, "ProxySg", vpc=vpc, allow_all_outbound=False,
            description="RDS Proxy: from the API Lambdas and the migrations function",
        )
        self.rotation_security_group = ec2.SecurityGroup(
            self, "RotationSg", vpc=vpc, allow_all_outbound=False,
            description="Secrets Manager hosted rotation functions for the database secrets",
        )
        # RDS Proxy -> instance rules are added by DatabaseProxy itself (adding them here too would create a
        # duplicate ingress rule, which EC2 rejects at deploy time).
        for client, why in (
            (self.rotation_security_group, "secret rotation"),
            (clients.migrations, "migrations: bootstrap roles as master"),
        ):
            self.security_group.add_ingress_rule(client, ec2.Port.tcp(DB_PORT), why)
        for client, why in ((clients.api_functions, "API Lambdas"), (clients.migrations, "migrations (app_owner)")):
            self.proxy_security_group.add_ingress_rule(client, ec2.Port.tcp(PROXY_PORT), why)
        self.proxy_security_group.add_egress_rule(vpc_cidr, ec2.Port.tcp(443), "Secrets Manager endpoint")
        self.rotation_security_group.add_egress_rule(self.security_group, ec2.Port.tcp(DB_PORT), "To PostgreSQL")
        self.rotation_security_group.add_egress_rule(vpc_cidr, ec2.Port.tcp(443), "Secrets Manager endpoint")

        parameters = rds.ParameterGroup(
            self, "Parameters",
            engine=rds.DatabaseInstanceEngine.postgres(version=POSTGRES_VERSION),
            description="Front Desk PostgreSQL 17",
            parameters={
                "rds.force_ssl": "1",
                "log_min_duration_statement": "500",
                "log_lock_waits": "1",
                "idle_in_transaction_session_timeout": "60000",
            },
        )
        # Created before the instance so retention is ours, without CDK's log-retention Lambda.
        log_groups = [
            logs.LogGroup(
                self, f"{kind.capitalize()}Logs",
                log_group_name=f"/aws/rds/instance/{self.instance_identifier}/{kind}",
                retention=retention_days(config.log_retention_days),
                removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
            )
            for kind in ("postgresql", "upgrade")
        ]
        instance_class, size = config.db_instance_class
        self.instance = rds.DatabaseInstance(
            self, "Instance",
            instance_identifier=self.instance_identifier,
            engine=rds.DatabaseInstanceEngine.postgres(version=POSTGRES_VERSION),
            instance_type=ec2.InstanceType(f"{instance_class}.{size}"),
            vpc=vpc,
            vpc_subnets=isolated,
            security_groups=[self.security_group],
            port=DB_PORT,
            database_name=DATABASE_NAME,
            credentials=rds.Credentials.from_generated_secret(
                DB_MASTER_USERNAME, secret_name=f"frontdesk/{config.stage}/db/master"
            ),
            parameter_group=parameters,
            multi_az=config.is_prod,
            storage_encrypted=True,
            storage_type=rds.StorageType.GP3,
            allocated_storage=config.db_allocated_storage_gib,
            max_allocated_storage=config.db_max_allocated_storage_gib,
            backup_retention=Duration.days(config.db_backup_retention_days),
            preferred_backup_window="03:00-03:30",
            preferred_maintenance_window="sun:04:00-sun:04:30",
            deletion_protection=config.is_prod,
            removal_policy=RemovalPolicy.SNAPSHOT,
            auto_minor_version_upgrade=True,
            ca_certificate=rds.CaCertificate.RDS_CA_RSA2048_G1,
            cloudwatch_logs_exports=["postgresql", "upgrade"],
            enable_performance_insights=config.is_prod,
            copy_tags_to_snapshot=True,
            publicly_accessible=False,
        )
        for group in log_groups:
            self.instance.node.add_dependency(group)
        if not config.is_prod:
            acknowledge(
                self.instance, "AwsSolutions-RDS3",
                "dev stage only: a single-AZ instance halves the cost of a throwaway environment; prod is "
                "Multi-AZ (asserted by tests/infra).",
            )
            acknowledge(
                self.instance, "AwsSolutions-RDS10",
                "dev stage only: deletion protection off so the dev stack can be torn down; a final snapshot "
                "is still taken (RemovalPolicy.SNAPSHOT). prod has deletion protection (asserted by tests).",
            )

        assert self.instance.secret is not None
        self.master_secret = self.instance.secret
        self._rotate(self.master_secret, "MasterRotation", vpc, private, rotate_now=True)

        def app_secret(role: str) -> secretsmanager.ISecret:
            secret = rds.DatabaseSecret(
                self, f"{role.title().replace('_', '')}Secret",
                username=role,
                dbname=DATABASE_NAME,
                secret_name=f"frontdesk/{config.stage}/db/{role}",
            )
            attached = secret.attach(self.instance)
            # The role is created by the migrations function, after this stack: rotating on creation
            # would fail, so the first rotation waits for the schedule.
            self._rotate(attached, "Rotation", vpc, private, rotate_now=False, scope=secret)
            return attached

        self.app_owner_secret = app_secret(APP_OWNER_ROLE)
        self.app_user_secret = app_secret(APP_USER_ROLE)

        self.proxy = rds.DatabaseProxy(
            self, "Proxy",
            db_proxy_name=f"frontdesk-{config.stage}",
            proxy_target=rds.ProxyTarget.from_instance(self.instance),
            secrets=[self.app_user_secret, self.app_owner_secret],
            vpc=vpc,
            vpc_subnets=isolated,
            security_groups=[self.proxy_security_group],
            require_tls=True,
            client_password_auth_type=rds.ClientPasswordAuthType.POSTGRES_SCRAM_SHA_256,
            idle_client_timeout=Duration.minutes(30),
            borrow_timeout=Duration.seconds(30),
            max_connections_percent=90,
            max_idle_connections_percent=50,
            debug_logging=False,
        )

    def _rotate(
        self, secret: secretsmanager.ISecret, id: str, vpc: ec2.IVpc, subnets: ec2.SubnetSelection,
        *, rotate_now: bool, scope: Construct | None = None,
    ) -> None:
        schedule = secretsmanager.RotationSchedule(
            scope or self, id,
            secret=secret,
            hosted_rotation=secretsmanager.HostedRotation.postgre_sql_single_user(
                vpc=vpc, vpc_subnets=subnets, security_groups=[self.rotation_security_group],
            ),
            automatically_after=Duration.days(ROTATION_DAYS),
            rotate_immediately_on_update=rotate_now,
        )
        del schedule


class HoldsCache(Construct):
    """Valkey replication group for the 5-minute holds and call state.

    TLS required, AUTH token from Secrets Manager (CloudFormation resolves it; it is never in the
    template), non-default port, ``maxmemory-policy noeviction``: holds carry TTLs, and the default
    volatile-lru would silently evict promises under memory pressure; refusing writes instead makes the
    app report "degraded" while PostgreSQL keeps bookings safe.
    """

    def __init__(
        self, scope: Construct, id: str, *, config: StageConfig, vpc: ec2.IVpc, clients: ClientSecurityGroups,
    ) -> None:
        super().__init__(scope, id)
        self.replication_group_id = config.redis_replication_group_id
        self.auth_secret = secretsmanager.Secret(
            self, "AuthToken",
            secret_name=f"frontdesk/{config.stage}/redis/auth-token",
            description="Valkey AUTH token (plain string). Used by the API Lambdas and the bridge.",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True, include_space=False
            ),
        )
        acknowledge(
            self.auth_secret, "AwsSolutions-SMG4",
            "ElastiCache AUTH tokens have no Secrets Manager hosted rotation; rotating one is a two-step "
            "ROTATE/SET on the replication group while clients reload the secret. The runbook documents the "
            "manual procedure; the token is 64 random characters, TLS-only, reachable from two SGs.",
        )
        self.security_group = ec2.SecurityGroup(
            self, "Sg", vpc=vpc, allow_all_outbound=False,
            description="Valkey: from the API Lambdas and the bridge tasks only",
        )
        self.security_group.add_ingress_rule(clients.api_functions, ec2.Port.tcp(REDIS_PORT), "API Lambdas")
        self.security_group.add_ingress_rule(clients.bridge_tasks, ec2.Port.tcp(REDIS_PORT), "Bridge tasks")

        subnets = elasticache.CfnSubnetGroup(
            self, "Subnets",
            description="Front Desk Valkey (isolated subnets)",
            subnet_ids=vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnet_ids,
        )
        parameters = elasticache.CfnParameterGroup(
            self, "Parameters",
            cache_parameter_group_family=VALKEY_PARAMETER_FAMILY,
            description="Front Desk holds: never evict (holds are promises with TTLs)",
            properties={"maxmemory-policy": "noeviction"},
        )
        slow_log = logs.LogGroup(
            self, "SlowLog",
            retention=retention_days(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        multi_node = config.redis_nodes > 1
        self.replication_group = elasticache.CfnReplicationGroup(
            self, "ReplicationGroup",
            replication_group_id=self.replication_group_id,
            replication_group_description=f"Front Desk {config.stage} holds and call state",
            engine="valkey",
            engine_version=VALKEY_VERSION,
            cache_node_type=config.redis_node_type,
            num_cache_clusters=config.redis_nodes,
            automatic_failover_enabled=multi_node,
            multi_az_enabled=multi_node,
            port=REDIS_PORT,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            at_rest_encryption_enabled=True,
            auth_token=self.auth_secret.secret_value.unsafe_unwrap(),  # a {{resolve:secretsmanager}} reference
            cache_subnet_group_name=subnets.ref,
            cache_parameter_group_name=parameters.ref,
            security_group_ids=[self.security_group.security_group_id],
            snapshot_retention_limit=1 if config.is_prod else 0,
            auto_minor_version_upgrade=True,
            preferred_maintenance_window="sun:05:00-sun:06:00",
            log_delivery_configurations=[
                elasticache.CfnReplicationGroup.LogDeliveryConfigurationRequestProperty(
                    destination_type="cloudwatch-logs",
                    log_format="json",
                    log_type="slow-log",
                    destination_details=elasticache.CfnReplicationGroup.DestinationDetailsProperty(
                        cloud_watch_logs_details=elasticache.CfnReplicationGroup.CloudWatchLogsDestinationDetailsProperty(
                            log_group=slow_log.log_group_name
                        )
                    ),
                )
            ],
        )
        if not multi_node:
            acknowledge(
                self.replication_group, "AwsSolutions-AEC4",
                "dev stage only: one Valkey node (no replica) keeps the dev bill low; losing it only drops "
                "5-minute holds, which PostgreSQL re-checks at commit. prod runs two nodes with Multi-AZ failover.",
            )
        #: Member cluster ids, for per-node CloudWatch metrics (CacheClusterId dimension).
        self.node_ids = [f"{self.replication_group_id}-{i:03d}" for i in range(1, config.redis_nodes + 1)]
        #: No password in the URL: the AUTH token comes from REDIS_AUTH_SECRET_ARN.
        self.url = (
            f"rediss://{self.replication_group.attr_primary_end_point_address}:"
            f"{self.replication_group.attr_primary_end_point_port}/0"
        )


class AppSecrets(Construct):
    """Secrets the app needs that AWS does not generate for it. Only ARNs ever reach the code."""

    def __init__(self, scope: Construct, id: str, *, config: StageConfig) -> None:
        super().__init__(scope, id)
        keep = RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY

        def external(name: str, what: str) -> secretsmanager.Secret:
            secret = secretsmanager.Secret(
                self, name,
                secret_name=f"frontdesk/{config.stage}/{what}",
                description=(
                    f"{what}: plain string, issued by the vendor. Created with a random placeholder; set it with "
                    "`aws secretsmanager put-secret-value` (see the README, Deploying to AWS)."
                ),
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    password_length=32, exclude_punctuation=True
                ),
                removal_policy=keep,
            )
            acknowledge(
                secret, "AwsSolutions-SMG4",
                f"The {what} is issued by the vendor's console/API, so Secrets Manager cannot rotate it by "
                "itself; it is rotated at the vendor and pasted in per the runbook, then the bridge is redeployed.",
            )
            return secret

        self.twilio_auth_token = external("TwilioAuthToken", "twilio-auth-token")
        self.openai_api_key = external("OpenAiApiKey", "openai-api-key")
        self.stream_token_key = secretsmanager.Secret(
            self, "StreamTokenKey",
            secret_name=f"frontdesk/{config.stage}/stream-token-key",
            description="HMAC key for the per-call stream token (webhook signs, bridge verifies). Plain string.",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True, include_space=False
            ),
            removal_policy=keep,
        )
        acknowledge(
            self.stream_token_key, "AwsSolutions-SMG4",
            "The stream-token HMAC key is shared by the webhook Lambda and the bridge, which verify with a "
            "single key; an unattended rotation would reject calls in flight until both reload it. Rotation is "
            "a runbook step (put-secret-value, then redeploy the bridge) until the contract supports two keys.",
        )


class DataStack(Stack):
    def __init__(
        self, scope: Construct, id: str, *, config: StageConfig, vpc: ec2.IVpc, clients: ClientSecurityGroups,
        **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.database = PostgresDatabase(self, "Postgres", config=config, vpc=vpc, clients=clients)
        self.cache = HoldsCache(self, "Valkey", config=config, vpc=vpc, clients=clients)
        self.secrets = AppSecrets(self, "Secrets", config=config)
