"""Data stack: PostgreSQL 17 + RDS Proxy, Valkey, and the secrets."""

from __future__ import annotations

from aws_cdk.assertions import Match

from infra_cdk.config import (
    APP_OWNER_ROLE,
    APP_USER_ROLE,
    DB_PORT,
    PROXY_PORT,
    REDIS_PORT,
)
from tests.infra.support import find, ingress_sources, logical_id_of, only, properties, text
from tests.infra.synth import Synthesized


def _db(synth: Synthesized) -> dict:
    return properties(only(synth.resources("data", "AWS::RDS::DBInstance"))[1])


def test_postgres_is_a_current_17_minor_encrypted_on_a_non_default_port(stage: Synthesized) -> None:
    db = _db(stage)
    assert db["Engine"] == "postgres"
    major, minor = (int(x) for x in db["EngineVersion"].split("."))
    assert major == 17 and minor >= 5, "17.1-17.4 are deprecated (cfn-lint refuses them)"
    assert db["StorageEncrypted"] is True
    assert int(db["Port"]) == DB_PORT != 5432
    assert db["PubliclyAccessible"] is False
    assert db["AutoMinorVersionUpgrade"] is True


def test_prod_database_is_multi_az_with_deletion_protection_and_two_weeks_of_backups(prod: Synthesized) -> None:
    db = _db(prod)
    assert db["MultiAZ"] is True
    assert db["DeletionProtection"] is True
    assert db["BackupRetentionPeriod"] >= 14


def test_dev_database_is_single_az_and_can_be_torn_down(dev: Synthesized) -> None:
    db = _db(dev)
    assert db["MultiAZ"] is False
    assert db["DeletionProtection"] is False
    assert only(dev.resources("data", "AWS::RDS::DBInstance"))[1]["DeletionPolicy"] == "Snapshot"


def test_database_refuses_connections_without_tls(stage: Synthesized) -> None:
    stage.template("data").has_resource_properties(
        "AWS::RDS::DBParameterGroup", {"Family": "postgres17", "Parameters": Match.object_like({"rds.force_ssl": "1"})}
    )


def test_database_lives_in_the_isolated_subnets(stage: Synthesized) -> None:
    _, group = only(stage.resources("data", "AWS::RDS::DBSubnetGroup"))
    assert "isolatedSubnet" in text(properties(group)["SubnetIds"])
    assert "privateSubnet" not in text(properties(group)["SubnetIds"])


def test_database_log_groups_exist_before_the_instance_with_retention(stage: Synthesized) -> None:
    template = stage.template("data")
    for kind in ("postgresql", "upgrade"):
        template.has_resource_properties(
            "AWS::Logs::LogGroup",
            {"LogGroupName": f"/aws/rds/instance/frontdesk-{stage.stacks.config.stage}/{kind}",
             "RetentionInDays": Match.any_value()},
        )
    (db_id, db) = only(stage.resources("data", "AWS::RDS::DBInstance"))
    assert len([d for d in db.get("DependsOn", []) if "Logs" in d]) == 2, db_id


def test_every_database_credential_is_generated_and_rotated(stage: Synthesized) -> None:
    template = stage.template("data")
    found = find(template, "AWS::SecretsManager::Secret").values()
    secrets = {properties(r)["Name"]: properties(r) for r in found}
    prefix = f"frontdesk/{stage.stacks.config.stage}/db/"
    for role in ("master", APP_OWNER_ROLE, APP_USER_ROLE):
        secret = secrets[prefix + role]
        assert "GenerateSecretString" in secret and "SecretString" not in secret
    schedules = [properties(r) for r in find(template, "AWS::SecretsManager::RotationSchedule").values()]
    assert len(schedules) == 3
    for schedule in schedules:
        assert schedule["HostedRotationLambda"]["RotationType"] == "PostgreSQLSingleUser"
        assert schedule["RotationRules"]["ScheduleExpression"] == "rate(30 days)"
        assert "privateSubnet" in text(schedule["HostedRotationLambda"]["VpcSubnetIds"])
    # The app roles are created by the migrations function after this stack: no rotation before that.
    immediately = sorted(s["RotateImmediatelyOnUpdate"] for s in schedules)
    assert immediately == [False, False, True]
    assert "AWS::SecretsManager-2024-09-16" in text(template.to_json()["Transform"])


def test_rds_proxy_requires_tls_and_authenticates_app_user_and_app_owner(stage: Synthesized) -> None:
    template = stage.template("data")
    _, proxy = only(stage.resources("data", "AWS::RDS::DBProxy"))
    props = properties(proxy)
    assert props["RequireTLS"] is True
    assert props["EngineFamily"] == "POSTGRESQL"
    auth_secrets = sorted(a["SecretArn"]["Ref"] for a in props["Auth"])
    assert all(a["ClientPasswordAuthType"] == "POSTGRES_SCRAM_SHA_256" for a in props["Auth"])
    owner = logical_id_of(template, "AWS::SecretsManager::SecretTargetAttachment",
                          {"SecretId": {"Ref": Match.string_like_regexp("AppOwnerSecret")}})
    user = logical_id_of(template, "AWS::SecretsManager::SecretTargetAttachment",
                         {"SecretId": {"Ref": Match.string_like_regexp("AppUserSecret")}})
    assert auth_secrets == sorted([owner, user])
    assert "isolatedSubnet" in text(props["VpcSubnetIds"])


def _group(synth: Synthesized, description_start: str) -> str:
    return logical_id_of(synth.template("data"), "AWS::EC2::SecurityGroup",
                         {"GroupDescription": Match.string_like_regexp("^" + description_start)})


def test_database_admits_only_the_proxy_rotation_and_migrations(stage: Synthesized) -> None:
    template = stage.template("data")
    rules = ingress_sources(template, _group(stage, "PostgreSQL instance"))
    sources = sorted(text(r["SourceSecurityGroupId"]) for r in rules)
    assert len(sources) == 3
    assert any("ProxySg" in s for s in sources)
    assert any("RotationSg" in s for s in sources)
    assert any("SecurityGroupsMigrations" in s for s in sources)
    assert all("CidrIp" not in r for r in rules)


def test_proxy_admits_only_the_api_functions_and_the_migrations(stage: Synthesized) -> None:
    rules = ingress_sources(stage.template("data"), _group(stage, "RDS Proxy"))
    assert sorted(r["FromPort"] for r in rules) == [PROXY_PORT, PROXY_PORT]
    sources = " ".join(text(r["SourceSecurityGroupId"]) for r in rules)
    assert "SecurityGroupsApiFunctions" in sources and "SecurityGroupsMigrations" in sources


def test_valkey_encrypts_in_transit_and_at_rest_and_requires_auth_on_a_non_default_port(stage: Synthesized) -> None:
    _, group = only(stage.resources("data", "AWS::ElastiCache::ReplicationGroup"))
    props = properties(group)
    assert props["Engine"] == "valkey"
    assert props["TransitEncryptionEnabled"] is True
    assert props["TransitEncryptionMode"] == "required"
    assert props["AtRestEncryptionEnabled"] is True
    assert props["Port"] == REDIS_PORT != 6379
    # The AUTH token is resolved by CloudFormation from Secrets Manager: never a literal in the template.
    token = text(props["AuthToken"])
    assert "{{resolve:secretsmanager:" in token and "ValkeyAuthToken" in token


def test_valkey_never_evicts_holds(stage: Synthesized) -> None:
    stage.template("data").has_resource_properties(
        "AWS::ElastiCache::ParameterGroup", {"Properties": {"maxmemory-policy": "noeviction"}}
    )
    _, group = only(stage.resources("data", "AWS::ElastiCache::ReplicationGroup"))
    assert "Ref" in properties(group)["CacheParameterGroupName"]


def test_valkey_admits_only_the_api_functions_and_the_bridge(stage: Synthesized) -> None:
    rules = ingress_sources(stage.template("data"), _group(stage, "Valkey"))
    assert sorted(r["FromPort"] for r in rules) == [REDIS_PORT, REDIS_PORT]
    sources = " ".join(text(r["SourceSecurityGroupId"]) for r in rules)
    assert "SecurityGroupsApiFunctions" in sources and "SecurityGroupsBridgeTasks" in sources


def test_prod_valkey_has_a_replica_with_multi_az_failover(prod: Synthesized, dev: Synthesized) -> None:
    prod_group = properties(only(prod.resources("data", "AWS::ElastiCache::ReplicationGroup"))[1])
    assert prod_group["NumCacheClusters"] == 2
    assert prod_group["MultiAZEnabled"] is True and prod_group["AutomaticFailoverEnabled"] is True
    dev_group = properties(only(dev.resources("data", "AWS::ElastiCache::ReplicationGroup"))[1])
    assert dev_group["NumCacheClusters"] == 1


def test_vendor_secrets_exist_without_any_value_in_the_template(stage: Synthesized) -> None:
    names = {
        properties(r)["Name"]: properties(r) for r in stage.resources("data", "AWS::SecretsManager::Secret").values()
    }
    for what in ("twilio-auth-token", "openai-api-key", "stream-token-key", "redis/auth-token"):
        secret = names[f"frontdesk/{stage.stacks.config.stage}/{what}"]
        assert "SecretString" not in secret
        assert "GenerateSecretString" in secret
