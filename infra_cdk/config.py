"""Stage settings, read once from CDK context (``-c stage=prod -c domain=... -c certificateArn=...``).

Everything that differs between ``dev`` and ``prod`` lives here so that stacks read typed values
instead of context strings. ``dev`` synthesizes with no context at all; ``prod`` refuses to
synthesize without a domain and a certificate (Twilio Media Streams only connect to ``wss://``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Stage = Literal["dev", "prod"]

#: The VPC range. A literal (not the VPC's CidrBlock attribute) so security-group rules stay analysable.
VPC_CIDR = "10.40.0.0/16"
#: PostgreSQL listens on a non-default port. RDS Proxy always listens on the engine default (5432).
DB_PORT = 5433
PROXY_PORT = 5432
#: Valkey/Redis on a non-default port (TLS + AUTH).
REDIS_PORT = 6380
#: The bridge container's HTTP/websocket port (GET /healthz, /ws/twilio-stream).
BRIDGE_PORT = 8080
#: Seconds the bridge drains calls on SIGTERM; ALB deregistration delay and ECS stopTimeout match it.
BRIDGE_DRAIN_SECONDS = 120
#: The ALB idle timeout: Media Streams are long-lived websockets.
ALB_IDLE_TIMEOUT_SECONDS = 600

DATABASE_NAME = "frontdesk"
DB_MASTER_USERNAME = "frontdesk_admin"
APP_OWNER_ROLE = "app_owner"
APP_USER_ROLE = "app_user"

METRICS_NAMESPACE = "FrontDesk"
#: Powertools' default EMF dimension is ``service`` = POWERTOOLS_SERVICE_NAME.
API_SERVICE_NAME = "api"
BRIDGE_SERVICE_NAME = "bridge"
NOTIFIER_SERVICE_NAME = "notifier"  # the notifier and sweep Lambdas (guest SMS)
REDIS_KEY_PREFIX = "fd:"

_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_CERT_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]+$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


class _ContextSource(Protocol):
    def try_get_context(self, key: str) -> Any: ...


class ConfigError(ValueError):
    """Raised when the context given to the app cannot produce a deployable stage."""


@dataclass(frozen=True)
class StageConfig:
    stage: Stage
    region: str
    #: Hostname Twilio connects to for Media Streams (wss://<domain>/ws/twilio-stream).
    domain: str | None
    certificate_arn: str | None
    hosted_zone_id: str | None
    hosted_zone_name: str | None
    alarm_email: str | None
    twilio_account_sid: str | None
    realtime_model: str
    max_call_seconds: int
    commit_p99_sla_ms: int

    # ---- derived per stage -------------------------------------------------------------------
    @property
    def is_prod(self) -> bool:
        return self.stage == "prod"

    @property
    def title(self) -> str:
        return self.stage.capitalize()

    def stack_id(self, part: str) -> str:
        return f"FrontDesk-{self.stage}-{part}"

    @property
    def has_tls(self) -> bool:
        return self.certificate_arn is not None

    # network
    @property
    def max_azs(self) -> int:
        return 2

    @property
    def nat_gateways(self) -> int:
        return 2 if self.is_prod else 1

    @property
    def extra_interface_endpoints(self) -> tuple[str, ...]:
        """Endpoints beyond Secrets Manager. Prod keeps image pulls and logs off the NAT path."""
        return ("ecr.api", "ecr.dkr", "logs") if self.is_prod else ()

    # data
    @property
    def db_instance_class(self) -> tuple[str, str]:
        """(instance class, size) for ec2.InstanceType.of."""
        return ("t4g", "medium") if self.is_prod else ("t4g", "micro")

    @property
    def db_allocated_storage_gib(self) -> int:
        return 20

    @property
    def db_max_allocated_storage_gib(self) -> int:
        return 200 if self.is_prod else 50

    @property
    def db_backup_retention_days(self) -> int:
        return 14 if self.is_prod else 1

    @property
    def redis_node_type(self) -> str:
        return "cache.t4g.small" if self.is_prod else "cache.t4g.micro"

    @property
    def redis_nodes(self) -> int:
        """Primary + replicas. Two nodes in prod give Multi-AZ automatic failover."""
        return 2 if self.is_prod else 1

    @property
    def redis_replication_group_id(self) -> str:
        return f"frontdesk-{self.stage}-holds"

    # api / bridge
    @property
    def log_retention_days(self) -> int:
        return 90 if self.is_prod else 30

    @property
    def bridge_cpu(self) -> int:
        return 1024 if self.is_prod else 512

    @property
    def bridge_memory_mib(self) -> int:
        return 2048 if self.is_prod else 1024

    @property
    def bridge_min_tasks(self) -> int:
        return 2 if self.is_prod else 1

    @property
    def bridge_max_tasks(self) -> int:
        return 10 if self.is_prod else 2

    @property
    def bridge_target_calls_per_task(self) -> int:
        """Target-tracking value for the ActiveCalls (average per task) scaling policy."""
        return 40 if self.is_prod else 20

    @property
    def api_throttle_rate(self) -> int:
        return 200 if self.is_prod else 50

    @property
    def api_throttle_burst(self) -> int:
        return 400 if self.is_prod else 100

    # ---- construction ------------------------------------------------------------------------
    @classmethod
    def from_context(cls, node: _ContextSource) -> StageConfig:
        def ctx(key: str) -> str | None:
            value = node.try_get_context(key)
            if value is None:
                return None
            value = str(value).strip()
            return value or None

        stage = (ctx("stage") or "dev").lower()
        if stage not in ("dev", "prod"):
            raise ConfigError(f"-c stage must be 'dev' or 'prod', got {stage!r}")
        region = ctx("region") or "us-east-1"
        if not _REGION.match(region):
            raise ConfigError(f"-c region={region!r} is not an AWS region name")

        domain = ctx("domain")
        if domain is not None:
            domain = domain.lower().rstrip(".")
            if not _HOSTNAME.match(domain):
                raise ConfigError(f"-c domain={domain!r} is not a hostname (e.g. bridge.example.com)")
        certificate_arn = ctx("certificateArn")
        if certificate_arn is not None and not _CERT_ARN.match(certificate_arn):
            raise ConfigError(f"-c certificateArn={certificate_arn!r} is not an ACM certificate ARN")
        if certificate_arn is not None and certificate_arn.split(":")[3] != region:
            raise ConfigError(
                f"the certificate is in {certificate_arn.split(':')[3]} but the stacks deploy to {region}; "
                "an ALB needs a certificate from its own region"
            )
        if (domain is None) != (certificate_arn is None):
            raise ConfigError("-c domain and -c certificateArn go together (the certificate must cover the domain)")
        if stage == "prod" and domain is None:
            raise ConfigError(
                "prod needs -c domain=<bridge hostname> and -c certificateArn=<ACM ARN>: "
                "Twilio Media Streams only connect to wss://"
            )

        hosted_zone_id = ctx("hostedZoneId")
        hosted_zone_name = ctx("hostedZoneName")
        if hosted_zone_id is not None:
            if domain is None:
                raise ConfigError("-c hostedZoneId needs -c domain")
            if hosted_zone_name is None:
                # bridge.example.com -> example.com
                hosted_zone_name = domain.split(".", 1)[1]
            hosted_zone_name = hosted_zone_name.lower().rstrip(".")
            if domain != hosted_zone_name and not domain.endswith("." + hosted_zone_name):
                raise ConfigError(f"{domain} is not inside the hosted zone {hosted_zone_name}")

        sid = ctx("twilioAccountSid")
        if sid is not None and not _ACCOUNT_SID.match(sid):
            raise ConfigError("-c twilioAccountSid must look like AC followed by 32 hex digits")

        return cls(
            stage=stage,  # type: ignore[arg-type]
            region=region,
            domain=domain,
            certificate_arn=certificate_arn,
            hosted_zone_id=hosted_zone_id,
            hosted_zone_name=hosted_zone_name if hosted_zone_id else None,
            alarm_email=ctx("alarmEmail"),
            twilio_account_sid=sid,
            realtime_model=ctx("realtimeModel") or "gpt-realtime",
            max_call_seconds=_int(ctx("maxCallSeconds"), 900, "maxCallSeconds", 60, 3600),
            commit_p99_sla_ms=_int(ctx("commitP99SlaMs"), 1000, "commitP99SlaMs", 50, 30000),
        )


def _int(raw: str | None, default: int, name: str, low: int, high: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"-c {name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"-c {name} must be between {low} and {high}, got {value}")
    return value
