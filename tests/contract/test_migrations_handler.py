"""The deploy-time migrations custom resource, with Secrets Manager played by moto and a real PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws

from frontdesk.config import Settings
from frontdesk.wiring import database_conninfo
from tests.support.databases import TestDatabase, create_database, drop_database, unique_name


class Context:
    function_name = "migrations"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:migrations"
    aws_request_id = "req-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("secretsmanager")


@pytest.fixture
def empty_database() -> Iterator[TestDatabase]:
    name = unique_name("deploy")
    create_database(name)
    try:
        yield TestDatabase(name)
    finally:
        drop_database(name)


def secret(client: Any, doc: dict[str, Any]) -> str:
    return str(client.create_secret(Name=f"fd-{uuid.uuid4().hex}", SecretString=json.dumps(doc))["ARN"])


def deploy_env(monkeypatch: pytest.MonkeyPatch, client: Any, database: TestDatabase) -> None:
    master = secret(client, {"username": "postgres", "password": "", "host": "db.internal", "port": 5433,
                             "dbname": database.name})
    monkeypatch.setenv("DATABASE_MASTER_SECRET_ARN", master)
    monkeypatch.setenv("DATABASE_SECRET_ARN", secret(client, {"username": "app_owner", "password": "owner-pw"}))
    monkeypatch.setenv("DATABASE_APP_USER_SECRET_ARN", secret(client, {"username": "app_user", "password": "u-pw"}))
    monkeypatch.setenv("DATABASE_HOST", "127.0.0.1")
    monkeypatch.setenv("DATABASE_PORT", "5432")
    monkeypatch.setenv("DATABASE_SSLMODE", "disable")


def test_a_create_event_migrates_the_database_as_app_owner(
    aws: Any, monkeypatch: pytest.MonkeyPatch, empty_database: TestDatabase
) -> None:
    from frontdesk.handlers.migrations import handler

    deploy_env(monkeypatch, aws, empty_database)
    result = handler({"RequestType": "Create", "ResourceProperties": {}}, Context())
    assert result["PhysicalResourceId"] == "frontdesk-schema-migrations"
    assert "0001_schema.sql" in result["Data"]["Applied"]
    assert empty_database.scalar("SELECT tableowner FROM pg_tables WHERE tablename = 'reservations'") == "app_owner"
    assert empty_database.scalar("SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = 'app_user'")


def test_an_update_event_with_nothing_pending_changes_nothing(
    aws: Any, monkeypatch: pytest.MonkeyPatch, empty_database: TestDatabase
) -> None:
    from frontdesk.handlers.migrations import handler

    deploy_env(monkeypatch, aws, empty_database)
    handler({"RequestType": "Create"}, Context())
    again = handler({"RequestType": "Update", "PhysicalResourceId": "frontdesk-schema-migrations"}, Context())
    assert again["Data"]["Applied"] == "none"


def test_a_delete_event_never_touches_the_data(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from frontdesk.handlers.migrations import handler

    monkeypatch.setenv("DATABASE_MASTER_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:missing")
    result = handler({"RequestType": "Delete", "PhysicalResourceId": "frontdesk-schema-migrations"}, Context())
    assert result == {"PhysicalResourceId": "frontdesk-schema-migrations"}


def test_a_migration_failure_fails_the_deploy(
    aws: Any, monkeypatch: pytest.MonkeyPatch, empty_database: TestDatabase
) -> None:
    from frontdesk.handlers.migrations import handler

    deploy_env(monkeypatch, aws, empty_database)
    monkeypatch.setenv("DATABASE_PORT", "1")  # nothing listens there
    with pytest.raises(psycopg.OperationalError):
        handler({"RequestType": "Create"}, Context())


def test_the_api_connects_through_the_proxy_port_not_the_instance_port(aws: Any) -> None:
    arn = secret(aws, {"username": "app_user", "password": "p@ss/word", "host": "db.internal", "port": 5433,
                       "dbname": "frontdesk"})
    through_proxy = Settings(database_secret_arn=arn, database_proxy_host="proxy.internal")
    info = psycopg.conninfo.conninfo_to_dict(database_conninfo(through_proxy))
    assert (info["host"], info["port"], info["password"], info["sslmode"]) == (
        "proxy.internal", "5432", "p@ss/word", "require")
    direct = psycopg.conninfo.conninfo_to_dict(database_conninfo(Settings(database_secret_arn=arn)))
    assert (direct["host"], direct["port"]) == ("db.internal", "5433")
