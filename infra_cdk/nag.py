"""cdk-nag 3 wiring: ``AwsSolutionsChecks`` as a CDK validation plugin, and one way to acknowledge.

Every acknowledgment goes through :func:`acknowledge`, attached to the narrowest construct that needs it,
with a reason a reviewer can judge. The acknowledgments are also recorded per app so tests can list them
and prove that each one still matches a real finding (no stale suppressions).

Context ``frontdesk:nagMode``:
  * ``enforce`` (default): register the plugin; synth fails on any unacknowledged finding.
  * ``record``: register nothing and only record the acknowledgments (used by tests to get raw findings
    from ``AwsSolutionsChecks().validate_scope(app)``).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Acknowledgment, App, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

MIN_REASON_CHARS = 40
NAG_MODE_CONTEXT = "frontdesk:nagMode"


@dataclass(frozen=True)
class RecordedAcknowledgment:
    path: str
    rule_id: str
    reason: str

    def covers(self, rule_id: str, construct_path: str) -> bool:
        return rule_id == self.rule_id and (construct_path == self.path or construct_path.startswith(self.path + "/"))


#: Per app (keyed by the App object's identity; construct addresses are path-based, so equal across apps).
_RECORDED: dict[int, tuple[App, list[RecordedAcknowledgment]]] = {}


def _mode(scope: IConstruct) -> str:
    return str(scope.node.try_get_context(NAG_MODE_CONTEXT) or "enforce")


def enable_nag(app: App) -> None:
    """Run AWS Solutions checks on the whole app during synth; any unacknowledged finding fails synth."""
    if _mode(app) == "record":
        return
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding (e.g. ``AwsSolutions-IAM5[Resource::*]``) on ``scope`` and below."""
    reason = " ".join(reason.split())
    if len(reason) < MIN_REASON_CHARS:
        raise ValueError(f"the acknowledgment of {rule_id} needs a reason a reviewer can judge, got {reason!r}")
    root = scope.node.root
    _RECORDED.setdefault(id(root), (root, []))[1].append(  # type: ignore[arg-type]
        RecordedAcknowledgment(path=scope.node.path, rule_id=rule_id, reason=reason)
    )
    if _mode(scope) != "record":
        Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def acknowledgments(app: App) -> list[RecordedAcknowledgment]:
    """Every acknowledgment made in ``app``."""
    entry = _RECORDED.get(id(app))
    return list(entry[1]) if entry else []
