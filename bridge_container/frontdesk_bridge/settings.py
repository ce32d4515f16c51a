"""Every setting the bridge reads, modelled once. Logic never reads ``os.environ``.

Names are the contract of the bridge issue (``OPENAI_API_KEY``, ``REALTIME_MODEL``, ``BRIDGE_PORT`` …).
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class BridgeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    bridge_host: str = "0.0.0.0"  # noqa: S104 - a container listens on all interfaces
    bridge_port: int = Field(default=8080, ge=0, le=65535)
    # The public wss:// base Twilio connects to; used to check Twilio's signature on the handshake.
    bridge_public_url: str | None = None

    openai_api_key: SecretStr = SecretStr("")
    realtime_model: str = "gpt-realtime"
    openai_realtime_url: str = "wss://api.openai.com/v1/realtime"
    realtime_voice: str = "marin"
    # Server VAD idle prompt: after this much silence the model asks whether the caller is still there.
    realtime_idle_timeout_ms: int = Field(default=8000, ge=5000, le=30000)

    booking_api_url: str = "http://127.0.0.1:8000"
    booking_api_timeout_seconds: float = Field(default=4.0, gt=0)
    # The returning-guest lookup runs beside the restaurant fetch; past this it is dropped, never waited for.
    guest_lookup_timeout_seconds: float = Field(default=0.8, gt=0, le=5)
    # When set, requests to the booking API are SigV4-signed for API Gateway IAM auth ("execute-api").
    aws_region: str | None = None

    redis_url: str | None = "redis://127.0.0.1:6379/0"
    # AUTH token of the managed Redis/Valkey in AWS (injected as a secret; the URL is rediss:// there).
    redis_auth_token: SecretStr | None = None
    redis_key_prefix: str = "fd:"

    stream_token_secret: SecretStr | None = None

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_api_base_url: str = "https://api.twilio.com"

    max_call_seconds: float = Field(default=900, gt=0)
    # SIGTERM: live calls may continue this long before they are transferred to the restaurant.
    drain_seconds: float = Field(default=110, ge=0)
    # Twilio `start` must arrive this soon after the websocket opens.
    start_timeout_seconds: float = Field(default=5.0, gt=0)
    # A lost model socket gets one reconnect, which must succeed within this budget.
    model_reconnect_seconds: float = Field(default=3.0, gt=0)
    # After end_call / transfer_to_host, how long we wait for the goodbye to finish playing.
    playback_drain_seconds: float = Field(default=10.0, gt=0)
    # Unanswered idle prompts before the bridge says goodbye and hangs up.
    idle_prompts_before_hangup: int = Field(default=2, ge=1)

    log_level: str = "INFO"
    metrics_namespace: str = "FrontDesk"
    metrics_service: str = "bridge"
