"""Reading case files: both shapes, every field, and one clear message per kind of mistake."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from diagnostics.model import Decision, Layer, PrincipalType
from diagnostics.policy import CaseError, PolicyError, load_cases
from diagnostics.policy.cases import load_case_file

CASE: dict[str, Any] = {
    "request": {
        "principal": "arn:aws:sts::111122223333:assumed-role/app/s1",
        "action": "s3:GetObject",
        "resource": "arn:aws:s3:::bucket/key",
        "resource_account": "111122223333",
        "context": {"aws:SourceIp": "203.0.113.5", "aws:TagKeys": ["a", "b"], "aws:SecureTransport": True},
        "unknown": ["aws:MultiFactorAuthPresent"],
        "management_account": "999988887777",
    },
    "policies": {
        "identity": [{"name": "inline-1", "document": {"Version": "2012-10-17", "Statement": []}}],
        "boundary": [],
        "session": [],
        "scp_levels": [
            [
                {
                    "name": "FullAWSAccess",
                    "document": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
                }
            ]
        ],
        "scp_level_names": ["Root"],
        "rcp_levels": [],
        "resource": None,
        "vpce": [],
        "kms_grants": [
            {"grant_id": "g1", "grantee_principal": "arn:aws:iam::111122223333:role/app", "operations": ["Decrypt"]}
        ],
        "s3_public_access_block": {"restrict_public_buckets": True},
    },
    "expected": {"decision": "implicit_deny", "blocked_by": ["identity"], "statements": []},
}


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_reads_a_single_case(tmp_path: Path) -> None:
    cases, is_array = load_case_file(write(tmp_path, CASE))
    assert not is_array
    (case,) = cases
    assert case.label == "case 0"
    assert case.request.principal.type is PrincipalType.ASSUMED_ROLE
    assert case.request.context["aws:TagKeys"] == ("a", "b")
    assert case.request.context["aws:SecureTransport"] == "true"
    assert case.request.unknown_keys == frozenset({"aws:MultiFactorAuthPresent"})
    assert case.request.management_account == "999988887777"
    assert case.policies.scp_level_names == ("Root",)
    assert case.policies.kms_grants[0].operations == ("Decrypt",)
    assert case.policies.s3_public_access_block is not None
    assert case.expected is not None
    assert (case.expected.decision, case.expected.blocked_by) == (Decision.IMPLICIT_DENY, (Layer.IDENTITY,))


def test_reads_an_array(tmp_path: Path) -> None:
    cases, is_array = load_case_file(write(tmp_path, [CASE, {**CASE, "id": "second"}]))
    assert is_array
    assert [c.label for c in cases] == ["case 0", "second"]


def mutate(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(CASE))
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "the array holds no cases"),
        ("text", "case 0: a case must be a JSON object"),
        ({**CASE, "expect": {}}, "unknown key(s) expect"),
        (mutate(("request", "principal"), "bob"), "request.principal 'bob' is not a user, role"),
        (mutate(("request", "action"), "GetObject"), "is not of the form service:Action"),
        (mutate(("request", "actoin"), "x"), "unknown request key(s) actoin"),
        (mutate(("request", "context"), {"k": {"a": 1}}), "request.context['k'] must be a string or a list"),
        (mutate(("request", "unknown"), ["aws:SourceIp"]), "both in request.context and request.unknown"),
        (mutate(("policies", "scp_levels"), {"a": 1}), "policies.scp_levels must be a list of levels"),
        (
            mutate(("policies", "identity"), [{"name": "x"}]),
            "policies.identity[0] must be an object with name and document",
        ),
        (mutate(("policies", "scp_level_names"), ["a", "b"]), "names 2 levels but there are 1"),
        (
            mutate(("policies", "kms_grants"), [{"grantee_principal": "x"}]),
            "needs grantee_principal (string) and operations",
        ),
        (mutate(("policies", "s3_public_access_block"), {"restrict": True}), "s3_public_access_block must map"),
        (mutate(("expected", "decision"), "maybe"), "expected: 'maybe' is not a valid Decision"),
        (
            {
                **CASE,
                "id": "x1",
                "policies": {"identity": []},
                "request": {**CASE["request"], "principal": "arn:aws:iam::1:group/g"},
            },
            "x1: request.principal",
        ),
    ],
)
def test_mistakes_are_named(tmp_path: Path, data: Any, message: str) -> None:
    with pytest.raises(CaseError) as caught:
        load_cases(write(tmp_path, data))
    assert message in str(caught.value)
    assert "case.json" in str(caught.value)


def test_malformed_policy_names_file_case_slot_and_statement(tmp_path: Path) -> None:
    data = mutate(
        ("policies", "identity"), [{"name": "inline-1", "document": {"Statement": [{"Sid": "S", "Effect": "Allow"}]}}]
    )
    data["id"] = "my-case"
    with pytest.raises(PolicyError) as caught:
        load_cases(write(tmp_path, data))
    assert str(caught.value).endswith(
        "my-case: identity[0], policy 'inline-1', statement 'S': needs Action or NotAction"
    )


def test_file_problems(tmp_path: Path) -> None:
    with pytest.raises(CaseError, match="no such file"):
        load_cases(tmp_path / "missing.json")
    with pytest.raises(CaseError, match="is a directory"):
        load_cases(tmp_path)
    broken = tmp_path / "broken.json"
    broken.write_text('{"request": ', encoding="utf-8")
    with pytest.raises(CaseError, match="not valid JSON: Expecting value at line 1 column 13"):
        load_cases(broken)
