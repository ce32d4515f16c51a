"""Every setting the Lambda side reads, modelled once. Logic never reads os.environ.

In AWS, secrets arrive as ARNs (``*_SECRET_ARN``) and are fetched at runtime; locally the plain
values (``DATABASE_URL``, ``TWILIO_AUTH_TOKEN`` …) are used instead.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    stage: Literal["dev", "prod"] = "dev"

    # PostgreSQL: a URL locally; in AWS a Secrets Manager secret (RDS's JSON shape) plus the proxy host.
    database_url: str | None = None
    database_secret_arn: str | None = None
    database_proxy_host: str | None = None
    # RDS Proxy listens on 5432 whatever port the instance (and so the secret) uses.
    database_proxy_port: int = Field(default=5432, ge=1, le=65535)
    database_pool_max: int = Field(default=10, ge=1, le=200)
    # TLS to RDS Proxy when the URL comes from the secret; tests against a local server set "disable".
    database_sslmode: Literal["disable", "prefer", "require", "verify-ca", "verify-full"] = "require"

    # The deploy-time migrations function: it connects as the master user straight to the instance (the roles
    # may not exist yet), sets the app roles' passwords from their secrets and migrates as app_owner.
    database_master_secret_arn: str | None = None
    database_app_user_secret_arn: str | None = None
    database_host: str | None = None
    database_port: int | None = Field(default=None, ge=1, le=65535)

    # Redis: holds and call state. The AUTH token comes from a secret in AWS.
    redis_url: str | None = None
    redis_auth_secret_arn: str | None = None
    redis_key_prefix: str = "fd:"

    hold_ttl_seconds: int = Field(default=300, ge=5, le=3600)
    max_request_bytes: int = Field(default=64 * 1024, ge=1024)

    # Twilio edge (issue 4 names; part of the contract).
    public_base_url: str = "http://127.0.0.1:8000"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_secret_arn: str | None = None
    twilio_api_base_url: str = "https://api.twilio.com"
    bridge_public_url: str = "ws://127.0.0.1:8080"
    stream_token_secret: str | None = None
    stream_token_secret_arn: str | None = None
    allow_unsigned_twilio: bool = False

    # SMS to guests (issue 7). The outbox is always written; these say how it is delivered.
    # In AWS: the queue the API tells after a change (the notifier Lambda reads it). Unset: no publish.
    notifications_queue_url: str | None = None
    # Sender: a Messaging Service wins; else the restaurant's own Twilio number; else SMS_FROM_NUMBER.
    twilio_messaging_service_sid: str | None = Field(default=None, pattern=r"^MG[0-9a-fA-F]{32}$")
    sms_from_number: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$")
    # `frontdesk serve` / `make dev` deliver in-process (no SQS locally): a daemon thread sweeps the outbox.
    sms_local_sweeper: bool = True
    sms_sweep_interval_seconds: float = Field(default=5.0, ge=0.2, le=3600)
    sms_lease_seconds: int = Field(default=60, ge=5, le=3600)
    sms_max_attempts: int = Field(default=8, ge=1, le=50)
    # Settled outbox rows (with guests' phone numbers) are deleted after this many days by the sweep.
    sms_retention_days: int = Field(default=90, ge=1, le=3650)

    @model_validator(mode="after")
    def _no_unsigned_webhooks_in_prod(self) -> Settings:
        if self.stage == "prod" and self.allow_unsigned_twilio:
            raise ValueError("ALLOW_UNSIGNED_TWILIO=true is refused when STAGE=prod")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
