"""Stage settings from CDK context: dev needs nothing, prod refuses to synthesize what cannot take calls."""

from __future__ import annotations

from typing import Any

import pytest

from infra_cdk.config import ConfigError, StageConfig

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0b3f5c1e-1111-2222-3333-444455556666"


class Context:
    def __init__(self, **values: Any) -> None:
        self.values = values

    def try_get_context(self, key: str) -> Any:
        return self.values.get(key)


def config(**values: Any) -> StageConfig:
    return StageConfig.from_context(Context(**values))


def test_dev_synthesizes_without_any_context() -> None:
    dev = config()
    assert dev.stage == "dev" and dev.region == "us-east-1"
    assert dev.domain is None and not dev.has_tls


def test_prod_refuses_to_synthesize_without_a_domain_and_a_certificate() -> None:
    with pytest.raises(ConfigError, match="wss://"):
        config(stage="prod")


def test_prod_with_a_domain_and_certificate_is_accepted() -> None:
    prod = config(stage="prod", domain="Bridge.Example.com.", certificateArn=CERT)
    assert prod.domain == "bridge.example.com" and prod.has_tls and prod.is_prod


def test_domain_and_certificate_go_together() -> None:
    with pytest.raises(ConfigError, match="go together"):
        config(domain="bridge.example.com")
    with pytest.raises(ConfigError, match="go together"):
        config(certificateArn=CERT)


def test_the_certificate_must_live_in_the_region_of_the_load_balancer() -> None:
    with pytest.raises(ConfigError, match="its own region"):
        config(region="eu-west-1", domain="bridge.example.com", certificateArn=CERT)


def test_hosted_zone_defaults_to_the_parent_of_the_domain() -> None:
    cfg = config(domain="bridge.example.com", certificateArn=CERT, hostedZoneId="Z123")
    assert cfg.hosted_zone_name == "example.com"
    with pytest.raises(ConfigError, match="needs -c domain"):
        config(hostedZoneId="Z123")
    with pytest.raises(ConfigError, match="not inside the hosted zone"):
        config(domain="bridge.example.com", certificateArn=CERT, hostedZoneId="Z1", hostedZoneName="other.org")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("stage", "staging", "'dev' or 'prod'"),
        ("region", "moon-1", "not an AWS region"),
        ("domain", "not a host", "not a hostname"),
        ("twilioAccountSid", "AC123", "32 hex digits"),
        ("commitP99SlaMs", "fast", "integer"),
        ("maxCallSeconds", "5", "between"),
    ],
)
def test_bad_context_values_are_refused_with_a_clear_message(key: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(**{key: value})


def test_prod_is_sized_for_availability_and_dev_for_cost() -> None:
    dev = config()
    prod = config(stage="prod", domain="bridge.example.com", certificateArn=CERT)
    assert (dev.nat_gateways, prod.nat_gateways) == (1, 2)
    assert (dev.redis_nodes, prod.redis_nodes) == (1, 2)
    assert (dev.bridge_min_tasks, prod.bridge_min_tasks) == (1, 2)
    assert prod.db_backup_retention_days > dev.db_backup_retention_days
    assert "secretsmanager" not in prod.extra_interface_endpoints  # always created, not an "extra"
