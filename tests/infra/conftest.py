"""The CDK app, synthesized once per test session per stage (dev with no context, prod with all of it).

Bundling is switched off (``aws:cdk:bundling-stacks = []``) so nothing here needs pip, PyPI or Docker;
``infra_cdk/synth.sh`` does the real bundling. The cdk-nag plugin is registered exactly as in
``cdk synth``: if any finding were unacknowledged, building these fixtures would fail.
"""

from __future__ import annotations

import pytest

from tests.infra.synth import PROD_CONTEXT, Synthesized, synthesize


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk-dev"))


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk-prod"), **PROD_CONTEXT)


@pytest.fixture(scope="session", params=["dev", "prod"])
def stage(request: pytest.FixtureRequest) -> Synthesized:
    """Both stages, for behaviour that must hold everywhere."""
    return request.getfixturevalue(request.param)
