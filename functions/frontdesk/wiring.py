"""The one place that picks adapters and builds the use cases from settings. Nothing connects until used."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from frontdesk.config import Settings, get_settings
from frontdesk.core.booking import BookingService


def read_secret(arn: str, *, refresh: bool = False) -> str:
    """A Secrets Manager value through Powertools' cached parameters (imported only when used)."""
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(arn, max_age=300, force_fetch=refresh)
    return value if isinstance(value, str) else value.decode()


def _secret_json(arn: str, refresh: bool = False) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(read_secret(arn, refresh=refresh))
    return doc


def _conninfo(doc: dict[str, Any], host: str, port: int, sslmode: str) -> str:
    return (
        f"postgresql://{quote(doc['username'], safe='')}:{quote(doc['password'], safe='')}"
        f"@{host}:{port}/{doc.get('dbname') or 'frontdesk'}?sslmode={sslmode}"
    )


def database_conninfo(settings: Settings, refresh: bool = False) -> str:
    """What the API connects with: the app_user secret through RDS Proxy in AWS, DATABASE_URL elsewhere."""
    if settings.database_secret_arn:
        doc = _secret_json(settings.database_secret_arn, refresh)
        if settings.database_proxy_host:
            return _conninfo(doc, settings.database_proxy_host, settings.database_proxy_port,
                             settings.database_sslmode)
        return _conninfo(doc, doc["host"], int(doc.get("port", 5432)), settings.database_sslmode)
    if settings.database_url:
        return settings.database_url
    raise RuntimeError("set DATABASE_URL (or DATABASE_SECRET_ARN in AWS)")


def migration_conninfo(settings: Settings) -> tuple[str, dict[str, str]]:
    """The deploy-time migration login (master, straight to the instance) and the app roles' passwords."""
    if not (settings.database_master_secret_arn and settings.database_secret_arn
            and settings.database_app_user_secret_arn):
        raise RuntimeError("the migrations function needs DATABASE_MASTER_SECRET_ARN, DATABASE_SECRET_ARN "
                           "(app_owner) and DATABASE_APP_USER_SECRET_ARN")
    master = _secret_json(settings.database_master_secret_arn, refresh=True)
    host = settings.database_host or master["host"]
    port = settings.database_port or int(master.get("port", 5432))
    passwords = {
        "app_owner": _secret_json(settings.database_secret_arn, refresh=True)["password"],
        "app_user": _secret_json(settings.database_app_user_secret_arn, refresh=True)["password"],
    }
    return _conninfo(master, host, port, settings.database_sslmode), passwords


class Services:
    """Lazily built adapters, reused across requests and Lambda invocations. Each is built once, on first
    use; ``close`` releases what was built (the CLI and tests build many; a Lambda never closes)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.RLock()  # re-entrant: building the booking service builds the store
        self._built: dict[str, Any] = {}
        #: Who hears about committed changes (SMS, issue 7): SQS in AWS, else what the process sets (the
        #: local sweeper of ``frontdesk serve``), else nobody (the sweep still delivers).
        self.change_publisher: Any = _publisher_for(settings)

    def _once(self, name: str, build: Callable[[], Any]) -> Any:
        with self._lock:
            if name not in self._built:
                self._built[name] = build()
            return self._built[name]

    @property
    def database(self) -> Any:
        """The one PostgreSQL pool every store shares (``frontdesk.adapters.pg.Database``)."""

        def build() -> Any:
            from frontdesk.adapters.pg import Database
            from frontdesk.adapters.postgres import domain_error

            settings = self.settings
            return Database(lambda refresh: database_conninfo(settings, refresh), on_error=domain_error,
                            max_size=settings.database_pool_max)

        return self._once("database", build)

    @property
    def store(self) -> Any:
        def build() -> Any:
            from frontdesk.adapters.postgres import PostgresBookingStore

            return PostgresBookingStore(self.database)

        return self._once("store", build)

    @property
    def holds(self) -> Any:
        def build() -> Any:
            from frontdesk.adapters.redis_holds import RedisHoldStore

            settings = self.settings
            password = read_secret(settings.redis_auth_secret_arn) if settings.redis_auth_secret_arn else None
            return RedisHoldStore.from_url(settings.redis_url or "redis://127.0.0.1:6379/0",
                                           prefix=settings.redis_key_prefix, password=password)

        return self._once("holds", build)

    @property
    def booking(self) -> BookingService:
        service: BookingService = self._once("booking", lambda: BookingService(
            self.store, self.holds, hold_ttl=timedelta(seconds=self.settings.hold_ttl_seconds),
            changes=self.change_publisher))
        return service

    # -- SMS (issue 7) ------------------------------------------------------------------------------------

    @property
    def outbox(self) -> Any:
        """The SMS outbox, templates and opt-outs (``frontdesk.adapters.outbox_pg``), on the shared pool."""

        def build() -> Any:
            from frontdesk.adapters.outbox_pg import PostgresOutboxStore

            return PostgresOutboxStore(self.database)

        return self._once("outbox", build)

    @property
    def sms_sender(self) -> Any:
        """The outbox sender on Twilio (``frontdesk.core.notifications.NotificationSender``)."""

        def build() -> Any:
            from frontdesk.adapters.sms_twilio import TwilioSmsGateway, status_callback_url
            from frontdesk.core.notifications import NotificationSender, RetryPolicy
            from frontdesk.twilio_edge.runtime import SecretText
            from frontdesk.twilio_edge.signature import parse_credentials

            settings = self.settings
            secret = SecretText(settings.twilio_auth_token, settings.twilio_secret_arn)

            def auth_token() -> str | None:
                tokens = parse_credentials(secret.get()).auth_tokens
                return tokens[0] if tokens else None

            gateway = TwilioSmsGateway(
                account_sid=settings.twilio_account_sid, auth_token=auth_token,
                base_url=settings.twilio_api_base_url, messaging_service_sid=settings.twilio_messaging_service_sid,
                default_from=settings.sms_from_number,
                status_callback=status_callback_url(settings.public_base_url))
            return NotificationSender(self.outbox, gateway, lease=timedelta(seconds=settings.sms_lease_seconds),
                                      retry=RetryPolicy(max_attempts=settings.sms_max_attempts))

        return self._once("sms_sender", build)

    @property
    def sms_retention(self) -> Any:
        """How long settled outbox rows are kept (``frontdesk.core.notifications.RetentionPolicy``)."""
        from frontdesk.core.notifications import RetentionPolicy

        return RetentionPolicy(days=self.settings.sms_retention_days)

    def close(self) -> None:
        with self._lock:
            built, self._built = self._built, {}
        for name in ("holds", "database"):
            closer = getattr(built.get(name), "close", None)
            if closer is not None:
                closer()

    @property
    def guests(self) -> Any:
        def build() -> Any:
            from frontdesk.adapters.guests_pg import PostgresGuestStore
            from frontdesk.core.guests import GuestBook

            return GuestBook(PostgresGuestStore(self.database), self.store)

        return self._once("guests", build)

    # -- configuration editing (issue 7) ---------------------------------------------------------------

    @property
    def restaurant_admin(self) -> Any:
        """``core.restaurant_admin.RestaurantAdmin`` over the shared pool."""

        def build() -> Any:
            from frontdesk.adapters.restaurant_admin_pg import PostgresRestaurantAdminStore
            from frontdesk.core.restaurant_admin import RestaurantAdmin

            return RestaurantAdmin(PostgresRestaurantAdminStore(self.database))

        return self._once("restaurant_admin", build)

    @property
    def tables(self) -> Any:
        """``core.tables.TableAdmin`` (the floor plan) over the shared pool."""

        def build() -> Any:
            from frontdesk.adapters.tables_pg import PostgresTableStore
            from frontdesk.core.tables import TableAdmin

            return TableAdmin(PostgresTableStore(self.database))

        return self._once("tables", build)


def _publisher_for(settings: Settings) -> Any:
    if settings.notifications_queue_url:
        from frontdesk.adapters.sqs_changes import SqsChangePublisher

        return SqsChangePublisher(settings.notifications_queue_url)
    return None


_services: Services | None = None
_services_lock = threading.Lock()


def services() -> Services:
    global _services
    with _services_lock:
        if _services is None:
            _services = Services(get_settings())
        return _services
