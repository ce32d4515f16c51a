"""Synthesizing the CDK app for tests: context, and a thin wrapper around the result."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")

from aws_cdk import App
from aws_cdk.assertions import Template

from infra_cdk.app import FrontDeskStacks, build_app

ROOT = Path(__file__).resolve().parents[2]

PROD_CONTEXT = {
    "stage": "prod",
    "domain": "bridge.example.com",
    "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0b3f5c1e-1111-2222-3333-444455556666",
    "hostedZoneId": "Z0123456789EXAMPLE",
    "alarmEmail": "oncall@example.com",
    "twilioAccountSid": "AC" + "0123456789abcdef" * 2,
}


def cdk_context(**extra: Any) -> dict[str, Any]:
    """cdk.json's context (feature flags), bundling off, plus ``extra``."""
    context = dict(json.loads((ROOT / "cdk.json").read_text())["context"])
    context["aws:cdk:bundling-stacks"] = []
    context.update(extra)
    return context


@dataclass
class Synthesized:
    app: App
    stacks: FrontDeskStacks
    outdir: Path
    _templates: dict[str, Template] = field(default_factory=dict)

    def template(self, part: str) -> Template:
        """Template of one stack: "network", "data", "api", "bridge" or "observability"."""
        if part not in self._templates:
            self._templates[part] = Template.from_stack(getattr(self.stacks, part))
        return self._templates[part]

    def json(self, part: str) -> dict[str, Any]:
        return self.template(part).to_json()

    def resources(self, part: str, type_: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.json(part)["Resources"].items() if v["Type"] == type_}

    def template_files(self) -> list[Path]:
        return sorted(self.outdir.glob("*.template.json"))


def synthesize(tmp: Path, **context: Any) -> Synthesized:
    app, stacks = build_app(context=cdk_context(**context), outdir=str(tmp))
    app.synth()
    return Synthesized(app=app, stacks=stacks, outdir=tmp)
