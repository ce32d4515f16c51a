"""Small helpers for reading synthesized templates in assertions."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Template


def only(resources: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    assert len(resources) == 1, f"expected exactly one resource, found {sorted(resources)}"
    return next(iter(resources.items()))


def find(template: Template, type_: str, props: Any = None) -> dict[str, dict[str, Any]]:
    return template.find_resources(type_, {"Properties": props} if props is not None else None)


def properties(resource: dict[str, Any]) -> dict[str, Any]:
    return resource.get("Properties", {})


def text(value: Any) -> str:
    """Any template fragment as a string, to look for references and literals in it."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def logical_id_of(template: Template, type_: str, props: Any) -> str:
    return only(find(template, type_, props))[0]


def ingress_sources(template: Template, group_logical_id: str) -> list[dict[str, Any]]:
    """Ingress rules (standalone and inline) of one security group in one template."""
    rules: list[dict[str, Any]] = []
    for resource in template.find_resources("AWS::EC2::SecurityGroupIngress").values():
        props = properties(resource)
        if props.get("GroupId") == {"Fn::GetAtt": [group_logical_id, "GroupId"]}:
            rules.append(props)
    group = template.to_json()["Resources"].get(group_logical_id)
    if group:
        rules += properties(group).get("SecurityGroupIngress", [])
    return rules


def statements(template: Template, role_logical_id: str) -> list[dict[str, Any]]:
    """Every policy statement attached to a role (inline policies and AWS::IAM::Policy resources)."""
    found: list[dict[str, Any]] = []
    for resource in template.find_resources("AWS::IAM::Policy").values():
        props = properties(resource)
        if {"Ref": role_logical_id} in props.get("Roles", []):
            found += props["PolicyDocument"]["Statement"]
    role = template.to_json()["Resources"][role_logical_id]
    for policy in properties(role).get("Policies", []):
        found += policy["PolicyDocument"]["Statement"]
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
