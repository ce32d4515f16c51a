"""Lambda handlers invoked as API Gateway invokes them, with the database credentials in Secrets Manager
(moto). The settings come from the environment, exactly as in AWS, set with ``monkeypatch`` so nothing
outlives the test; each test gets fresh handler modules, as a new execution environment would."""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Iterator

import pytest

from tests.contract.api.apigw_events import LambdaEnv
from tests.support.databases import REDIS_URL, TestDatabase

HANDLERS = ("health", "availability", "reservations", "restaurant_admin")


@pytest.fixture
def lambda_env(database: TestDatabase, redis_prefix: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaEnv]:
    import boto3
    from aws_lambda_powertools.utilities import parameters
    from moto import mock_aws

    from frontdesk import config, wiring
    from frontdesk.api.observability import _Powertools

    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                        "DATABASE_SSLMODE": "disable", "REDIS_URL": REDIS_URL, "REDIS_KEY_PREFIX": redis_prefix,
                        "STAGE": "dev", "POWERTOOLS_METRICS_NAMESPACE": "FrontDesk"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        arn = secrets.create_secret(Name=f"frontdesk/test/{database.name}", SecretString=json.dumps({
            "engine": "postgres", "host": "127.0.0.1", "port": 5432, "dbname": database.name,
            "username": "app_user", "password": ""}))["ARN"]
        monkeypatch.setenv("DATABASE_SECRET_ARN", arn)
        config.get_settings.cache_clear()
        monkeypatch.setattr(wiring, "_services", None)
        parameters.clear_caches()  # values and providers: a new execution environment starts empty
        for name in HANDLERS:  # a fresh app per test: what a new Lambda execution environment gets
            importlib.reload(importlib.import_module(f"frontdesk.handlers.{name}"))
        env = LambdaEnv(database, arn)
        powertools_logger = _Powertools.get_logger()
        capture = logging.StreamHandler(env.logs)
        capture.setFormatter(powertools_logger.registered_formatter)
        logger = logging.getLogger(powertools_logger.name)
        logger.addHandler(capture)
        app_logger = logging.getLogger("frontdesk")  # restyled in Lambda: restored for the other tests
        saved = (list(app_logger.handlers), app_logger.level, app_logger.propagate)
        try:
            yield env
        finally:
            logger.removeHandler(capture)
            app_logger.handlers, app_logger.level, app_logger.propagate = saved
            _Powertools.app_logs_structured = False
            if wiring._services is not None:
                wiring._services.store.close()
            config.get_settings.cache_clear()
            parameters.clear_caches()



@pytest.fixture
def app_services(database: TestDatabase, redis_prefix: str) -> Iterator[object]:
    """Services over this test's database and Redis prefix, passed to the app explicitly."""
    from frontdesk.config import Settings
    from frontdesk.wiring import Services

    services = Services(Settings(database_url=database.app_url, redis_url=REDIS_URL,
                                 redis_key_prefix=redis_prefix))
    try:
        yield services
    finally:
        services.store.close()
