"""The checks AWS's own tooling runs: cdk-nag (AwsSolutions) and cfn-lint, on both stages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import lint_by_config

from infra_cdk.app import build_app
from infra_cdk.nag import MIN_REASON_CHARS, NAG_MODE_CONTEXT, RecordedAcknowledgment, acknowledgments, enable_nag
from tests.infra.synth import PROD_CONTEXT, Synthesized, cdk_context

#: cfn-lint warnings we accept, with the reason. Errors are never accepted.
ACCEPTED_CFN_LINT_WARNINGS = {
    # aws-cdk-lib's Function adds an explicit DependsOn on its role (to order the role's policy before the
    # function); cfn-lint notes that a GetAtt already implies it. Harmless and not ours to change.
    "W3005",
}


def test_cdk_nag_reports_nothing_unacknowledged_for_the_app(stage: Synthesized) -> None:
    # Building the fixture already ran the plugin (an unacknowledged finding fails synth); the report agrees.
    report = json.loads((stage.outdir / "validation-report.json").read_text())
    assert [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"] == []


def test_cdk_nag_plugin_fails_synth_on_an_unacknowledged_finding(tmp_path: Path) -> None:
    """Negative control: the same wiring the app uses turns a finding into a failed synth."""
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Control", env=Environment(region="us-east-1"))
    s3.Bucket(stack, "PlainBucket")  # no TLS-only policy, no access logs
    enable_nag(app)
    with pytest.raises(RuntimeError, match="AwsSolutions-S10"):
        app.synth()


def test_cloudformation_validation_built_into_cdk_reports_no_errors(stage: Synthesized) -> None:
    report = json.loads((stage.outdir / "validation-report.json").read_text())
    for plugin in report["pluginReports"]:
        errors = [v for v in plugin["violations"] if v.get("severity") in ("error", "fatal")]
        assert errors == [], plugin["pluginName"]


def _raw_findings(tmp: Path, **context: object) -> tuple[list[RecordedAcknowledgment], list[tuple[str, str]]]:
    """(acknowledgments, every finding) of an app synthesized with the acknowledgments only recorded."""
    app, _ = build_app(context=cdk_context(**{NAG_MODE_CONTEXT: "record"}, **context), outdir=str(tmp))
    app.synth()
    report = AwsSolutionsChecks().validate_scope(app)
    findings = [
        (violation.rule_name, resource.construct_path or "")
        for violation in report.violations
        for resource in violation.violating_resources
    ]
    return acknowledgments(app), findings


@pytest.fixture(scope="module", params=["dev", "prod"])
def raw_findings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    context = PROD_CONTEXT if request.param == "prod" else {}
    return _raw_findings(tmp_path_factory.mktemp(f"nag-raw-{request.param}"), **context)


def test_every_acknowledgment_matches_a_real_finding(raw_findings) -> None:
    acks, findings = raw_findings
    stale = [ack for ack in acks if not any(ack.covers(rule, path) for rule, path in findings)]
    assert stale == [], "acknowledgments that no longer suppress anything: remove them"


def test_every_finding_is_covered_by_a_reviewed_acknowledgment(raw_findings) -> None:
    acks, findings = raw_findings
    uncovered = [(rule, path) for rule, path in findings if not any(a.covers(rule, path) for a in acks)]
    assert uncovered == []


def test_every_acknowledgment_gives_a_reason_a_reviewer_can_judge(raw_findings) -> None:
    acks, _ = raw_findings
    assert acks, "expected some acknowledgments"
    for ack in acks:
        assert len(ack.reason) >= MIN_REASON_CHARS, ack
        assert not any(word in ack.reason.lower() for word in ("todo", "fixme", "placeholder", "ignore")), ack
        # Acknowledged on the narrowest construct, never on a whole stack.
        assert ack.path.count("/") >= 1, ack


def test_cfn_lint_finds_no_errors_in_any_synthesized_template(dev: Synthesized, prod: Synthesized) -> None:
    templates = [str(p) for p in dev.template_files() + prod.template_files()]
    assert len(templates) == len(dev.stacks.all()) + len(prod.stacks.all())  # every stack, both stages
    matches = lint_by_config({"templates": templates, "regions": ["us-east-1"]})
    problems = [
        f"{m.rule.id} {Path(m.filename).name}:{m.linenumber} {m.message}"
        for m in matches
        if not (m.rule.id.startswith("W") and m.rule.id in ACCEPTED_CFN_LINT_WARNINGS) and not m.rule.id.startswith("I")
    ]
    assert problems == []
