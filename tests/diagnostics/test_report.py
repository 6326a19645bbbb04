"""The JSON contract of `explain --json`, golden outputs for representative denials, and the terminal report."""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from diagnostics.explain import explain_offline
from diagnostics.model import (
    Blocker,
    ConditionCheck,
    Confidence,
    Decision,
    DenialKind,
    Diagnosis,
    Fix,
    Layer,
    LayerStatus,
    LayerVerdict,
    OtherError,
    Provenance,
    ScanResult,
    Unreadable,
)
from diagnostics.report import NO_DENIAL, render_text, to_json
from tests.diagnostics.denials import (
    GUARDRAIL_ARN,
    OBJECT,
    OTHER_ACCOUNT,
    ROLE,
    SCP_ARN,
    SESSION,
    SSO_SESSION,
    USER,
    denial,
)

GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "golden" / "explain"
# Set to regenerate the golden files after a deliberate change; review the diff before committing it.
UPDATE = os.environ.get("IAMWHY_UPDATE_GOLDEN") == "1"

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"

CASES = {
    "identity_implicit_user": lambda: denial(
        USER, "s3:GetObject", OBJECT, layer=Layer.IDENTITY, kind=DenialKind.IMPLICIT
    ),
    "identity_explicit_authorization_id": lambda: denial(
        USER,
        "iam:CreateInstanceProfile",
        "arn:aws:iam::123456789012:instance-profile/my-instance-profile",
        layer=Layer.IDENTITY,
        kind=DenialKind.EXPLICIT,
        policy_arn=GUARDRAIL_ARN,
        authorization_id="example1a2b3c4d5e6f7g8h9i0j",
        authorization_region="us-east-1",
    ),
    "scp_explicit_session": lambda: denial(
        SESSION,
        "ec2:RunInstances",
        "arn:aws:ec2:sa-east-1:123456789012:instance/*",
        layer=Layer.SCP,
        kind=DenialKind.EXPLICIT,
        policy_arn=SCP_ARN,
        region="sa-east-1",
    ),
    "boundary_implicit_role": lambda: denial(
        ROLE, "s3:GetObject", OBJECT, layer=Layer.BOUNDARY, kind=DenialKind.IMPLICIT
    ),
    "resource_explicit_bucket": lambda: denial(
        SESSION, "s3:PutObject", OBJECT, layer=Layer.RESOURCE, kind=DenialKind.EXPLICIT
    ),
    "unknown_sso_cross_account_encoded": lambda: denial(
        SSO_SESSION,
        "kms:Decrypt",
        f"arn:aws:kms:us-east-1:{OTHER_ACCOUNT}:key/abcd-1234",
        encoded_message="EncodedBlob" * 200,
    ),
    "unknown_assume_role": lambda: denial(SESSION, "sts:AssumeRole", f"arn:aws:iam::{OTHER_ACCOUNT}:role/deployer"),
}

# Every key of the JSON document, level by level: the contract of DESIGN.md §3 plus the documented additions.
REQUEST_KEYS = {
    "principal_arn",
    "action",
    "resource_arn",
    "account_id",
    "api_operation",
    "region",
    "reported",
    "authorization_id",
    "encoded_message",
}
REPORTED_KEYS = {"layer", "kind", "policy_arn"}
DENIAL_KEYS = {
    "request",
    "decision",
    "confidence",
    "blocked_by",
    "unknown_context_keys",
    "unreadable",
    "fix",
    "commands",
    "explanation",
    "warnings",
    "layers",
    "fixes",
    "notes",
    "provenance",
}
PROVENANCE_KEYS = {"checked_as", "aws_reads", "duration_ms"}
BLOCKER_KEYS = {"layer", "kind", "policy", "policy_arn", "sid", "conditions", "detail", "subject"}
CONDITION_KEYS = {"key", "operator", "values", "actual"}
FIX_KEYS = {"summary", "owner", "attach_to", "policy", "resolves", "still_blocked_by", "assuming"}
LAYER_KEYS = {"layer", "status", "summary", "policies", "subject"}
VOCABULARY = {
    "layer": {str(layer) for layer in Layer},
    "kind": {str(kind) for kind in DenialKind},
    "decision": {str(d) for d in Decision},
    "confidence": {str(c) for c in Confidence},
    "status": {str(s) for s in LayerStatus},
}


def _check_contract(document: dict[str, Any]) -> None:
    assert set(document) == {"denials", "other_errors", "secrets_found"}
    assert isinstance(document["secrets_found"], bool)
    for error in document["other_errors"]:
        assert set(error) == {"code", "explanation"}
    for item in document["denials"]:
        assert set(item) == DENIAL_KEYS
        request = item["request"]
        assert set(request) == REQUEST_KEYS
        assert set(request["reported"]) == REPORTED_KEYS
        assert isinstance(request["encoded_message"], bool)
        assert request["reported"]["layer"] in VOCABULARY["layer"] | {None}
        assert request["reported"]["kind"] in VOCABULARY["kind"] | {None}
        assert item["decision"] in VOCABULARY["decision"]
        assert item["confidence"] in VOCABULARY["confidence"]
        for blocker in item["blocked_by"]:
            assert set(blocker) == BLOCKER_KEYS
            assert blocker["layer"] in VOCABULARY["layer"]
            assert blocker["kind"] in VOCABULARY["kind"]
            for condition in blocker["conditions"]:
                assert set(condition) == CONDITION_KEYS
                assert isinstance(condition["values"], list)
        for unreadable in item["unreadable"]:
            assert set(unreadable) == {"layer", "why"}
            assert unreadable["layer"] in VOCABULARY["layer"]
        assert item["fix"] is None or set(item["fix"]) == FIX_KEYS
        assert item["fix"] == (item["fixes"][0] if item["fixes"] else None)
        for fix in item["fixes"]:
            assert set(fix) == FIX_KEYS
            assert all(layer in VOCABULARY["layer"] for layer in fix["still_blocked_by"])
        for verdict in item["layers"]:
            assert set(verdict) == LAYER_KEYS
            assert verdict["layer"] in VOCABULARY["layer"]
            assert verdict["status"] in VOCABULARY["status"]
        assert all(isinstance(c, str) for c in item["commands"])
        assert all(isinstance(k, str) for k in item["unknown_context_keys"])
        assert isinstance(item["explanation"], str)
        assert isinstance(item["warnings"], list)
        assert all(isinstance(n, str) for n in item["notes"])
        assert set(item["provenance"]) == PROVENANCE_KEYS
        assert isinstance(item["provenance"]["aws_reads"], int)
    json.dumps(document)


def _scan_of(*diagnoses: Diagnosis, **kwargs: Any) -> ScanResult:
    return ScanResult(denials=tuple(d.request for d in diagnoses), **kwargs)


def _live_like_diagnosis() -> Diagnosis:
    """A diagnosis with every optional field filled, as the live investigation produces them."""
    request = denial(
        USER, "s3:GetObject", OBJECT, layer=Layer.IDENTITY, kind=DenialKind.IMPLICIT, encoded_message="blob"
    )
    return Diagnosis(
        request=request,
        decision=Decision.IMPLICIT_DENY,
        confidence=Confidence.EVALUATED,
        explanation="S3Access allows s3:GetObject only with MFA.",
        blocked_by=(
            Blocker(
                Layer.IDENTITY,
                DenialKind.IMPLICIT,
                policy="S3Access",
                policy_arn="arn:aws:iam::123456789012:policy/S3Access",
                sid="ReadWithMfa",
                conditions=(
                    ConditionCheck("aws:MultiFactorAuthPresent", "Bool", ("true",), None),
                    ConditionCheck("aws:PrincipalTag/team", "StringEquals", ("a",), ("b", "c")),
                ),
                unmet="condition",
                detail="the Allow needs MFA",
            ),
        ),
        unknown_context_keys=("aws:SourceVpce",),
        unreadable=(Unreadable(Layer.SCP, "no organizations read role configured"),),
        fixes=(
            Fix("use MFA", "account admins", USER, None, resolves=True, assuming="the call used HTTPS"),
            Fix("also", "org admins", None, {"Version": "2012-10-17", "Statement": []}, False, (Layer.SCP,)),
        ),
        commands=("aws sts get-caller-identity",),
        layers=(LayerVerdict(Layer.IDENTITY, LayerStatus.IMPLICIT_DENY, "condition not met", ("S3Access",)),),
        warnings=("clipped",),
        notes=("bucket prod-artifacts encrypts new objects with KMS key abcd-1234 by default",),
        provenance=Provenance(checked_as="IamWhyReadOnly in 123456789012", aws_reads=9, duration_ms=1234.5),
    )


# --- JSON ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_json(name: str) -> None:
    diagnosis = explain_offline(CASES[name]())
    document = to_json(_scan_of(diagnosis), [diagnosis])
    _check_contract(document)
    path = GOLDEN / f"{name}.json"
    rendered = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8")) == document


def test_golden_text() -> None:
    diagnosis = explain_offline(CASES["identity_implicit_user"]())
    text = render_text(_scan_of(diagnosis), [diagnosis], color=False)
    path = GOLDEN / "identity_implicit_user.txt"
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_contract_holds_for_a_fully_populated_diagnosis() -> None:
    diagnosis = _live_like_diagnosis()
    document = to_json(_scan_of(diagnosis, secrets_found=True), [diagnosis])
    _check_contract(document)
    item = document["denials"][0]
    assert item["request"]["encoded_message"] is True
    assert item["blocked_by"][0]["conditions"] == [
        {"key": "aws:MultiFactorAuthPresent", "operator": "Bool", "values": ["true"], "actual": None},
        {"key": "aws:PrincipalTag/team", "operator": "StringEquals", "values": ["a"], "actual": ["b", "c"]},
    ]
    assert item["blocked_by"][0]["detail"] == "the Allow needs MFA"
    assert item["unreadable"] == [{"layer": "scp", "why": "no organizations read role configured"}]
    assert item["unknown_context_keys"] == ["aws:SourceVpce"]
    assert (item["fix"]["resolves"], item["fix"]["assuming"]) == (True, "the call used HTTPS")
    assert item["fixes"][1]["still_blocked_by"] == ["scp"]
    assert document["secrets_found"] is True


def test_encoded_message_is_a_boolean_and_never_echoed() -> None:
    diagnosis = explain_offline(CASES["unknown_sso_cross_account_encoded"]())
    document = to_json(_scan_of(diagnosis), [diagnosis])
    assert document["denials"][0]["request"]["encoded_message"] is True
    assert "EncodedBlob" not in json.dumps(document)


def test_no_denial_is_an_empty_document_with_look_alikes() -> None:
    scan = ScanResult(
        denials=(),
        other_errors=(OtherError("ExpiredToken", "The session token has expired: get new credentials."),),
    )
    document = to_json(scan, [])
    _check_contract(document)
    assert document == {
        "denials": [],
        "other_errors": [
            {"code": "ExpiredToken", "explanation": "The session token has expired: get new credentials."}
        ],
        "secrets_found": False,
    }


def test_json_redacts_credentials_everywhere() -> None:
    request = denial(
        USER,
        "s3:GetObject",
        f"arn:aws:s3:::bucket/{ACCESS_KEY}.txt",
        layer=Layer.IDENTITY,
        kind=DenialKind.IMPLICIT,
        warnings=(f"key {ACCESS_KEY} seen",),
    )
    diagnosis = explain_offline(request)
    scan = ScanResult(
        denials=(request,), other_errors=(OtherError("InvalidClientTokenId", f"{ACCESS_KEY} is not valid"),)
    )
    document = to_json(scan, [diagnosis])
    dumped = json.dumps(document)
    assert ACCESS_KEY not in dumped
    assert "[redacted access key id]" in document["denials"][0]["request"]["resource_arn"]
    assert "[redacted access key id]" in json.dumps(document["denials"][0]["fix"]["policy"])
    assert "[redacted access key id]" in document["other_errors"][0]["explanation"]


# --- text ---------------------------------------------------------------------------------------------------------


def test_text_for_no_denial() -> None:
    scan = ScanResult(denials=(), other_errors=(OtherError("ExpiredToken", "The session token has expired."),))
    text = render_text(scan, [], color=False)
    assert text.startswith(NO_DENIAL + "\n")
    assert "ExpiredToken" in text
    assert "The session token has expired." in text


def test_text_for_nothing_at_all() -> None:
    assert render_text(ScanResult(denials=()), [], color=False) == NO_DENIAL + "\n"


def test_text_shows_who_what_verdict_fix_and_commands() -> None:
    diagnosis = explain_offline(CASES["scp_explicit_session"]())
    text = render_text(_scan_of(diagnosis), [diagnosis], color=False)
    lines = text.splitlines()
    assert lines[0] == "ec2:RunInstances denied for role build-bot-role (session ci-42)"
    assert f"  Principal  {SESSION} (account 123456789012)" in lines
    assert (
        "  Verdict    Explicit deny · reported (AWS reported: with an explicit deny in a service control policy: "
        f"{SCP_ARN})"
    ) in lines
    assert "Fix (owner: org admins) → " + SCP_ARN in lines
    assert "  $ aws sts get-caller-identity" in lines
    assert any(line.startswith("  ✗ SCPs") for line in lines)
    assert "organizations commands from the management or a delegated-admin account" in text.replace("\n  ", " ")


def test_text_shows_the_authorization_id_as_sensitive() -> None:
    diagnosis = explain_offline(CASES["identity_explicit_authorization_id"]())
    text = render_text(_scan_of(diagnosis), [diagnosis], color=False)
    assert "  Auth id    example1a2b3c4d5e6f7g8h9i0j (sensitive" in text


def test_text_never_shows_the_encoded_blob() -> None:
    diagnosis = explain_offline(CASES["unknown_sso_cross_account_encoded"]())
    text = render_text(_scan_of(diagnosis), [diagnosis], color=False)
    assert "EncodedBlob" not in text
    assert "set the shell variable ENCODED" in text.replace("\n  ", " ")
    assert "Could not tell · confidence unknown (the message gives no reason)" in text
    assert f"resource-policy commands from account {OTHER_ACCOUNT}, which owns the resource" in text.replace(
        "\n  ", " "
    )


def test_text_never_splits_an_arn_across_lines() -> None:
    diagnosis = explain_offline(CASES["scp_explicit_session"]())
    text = render_text(_scan_of(diagnosis), [diagnosis], color=False)
    # Joining the lines back without the indentation would reveal an ARN that was split.
    assert re.sub(r"\n\s*", "", text).count(SCP_ARN) == text.count(SCP_ARN)
    assert text.count(SCP_ARN) >= 3


def test_text_numbers_several_denials_and_warns_about_secrets() -> None:
    first = explain_offline(CASES["identity_implicit_user"]())
    second = explain_offline(CASES["boundary_implicit_role"]())
    text = render_text(_scan_of(first, second, secrets_found=True), [first, second], color=False)
    assert text.startswith("Warning: the input contained AWS credentials.")
    assert "\nDenial 1 of 2: s3:GetObject denied for user build-bot\n" in text
    assert "\nDenial 2 of 2: s3:GetObject denied for role build-bot-role\n" in text


def test_colour_only_when_asked() -> None:
    diagnosis = explain_offline(CASES["identity_implicit_user"]())
    scan = _scan_of(diagnosis)
    plain = render_text(scan, [diagnosis], color=False)
    coloured = render_text(scan, [diagnosis], color=True)
    assert "\x1b[" not in plain
    assert "\x1b[1ms3:GetObject denied for user build-bot\x1b[0m" in coloured
    assert "\x1b[31m✗\x1b[0m Identity" in coloured


def test_text_redacts_credentials() -> None:
    request = denial(
        USER,
        "s3:GetObject",
        f"arn:aws:s3:::bucket/{ACCESS_KEY}",
        layer=Layer.IDENTITY,
        kind=DenialKind.IMPLICIT,
        warnings=(f"saw {ACCESS_KEY}",),
    )
    diagnosis = explain_offline(request)
    for color in (False, True):
        text = render_text(_scan_of(diagnosis), [diagnosis], color=color)
        assert ACCESS_KEY not in text
        assert "[redacted access key id]" in text


def test_text_shows_live_only_sections() -> None:
    diagnosis = _live_like_diagnosis()
    text = render_text(_scan_of(diagnosis), [diagnosis], color=False)
    assert "Could not read\n  SCPs: no organizations read role configured" in text
    assert "unknown request context: aws:SourceVpce" in text
    assert "✓ re-evaluated: this change alone makes the request allowed, assuming the call used HTTPS" in text
    assert "! re-evaluated: still denied by SCPs" in text
    assert "Warnings\n  ! clipped" in text


def test_rows_about_the_kms_call_are_qualified() -> None:
    kms = "KMS key abcd-1234"
    diagnosis = replace(
        _live_like_diagnosis(),
        layers=(
            LayerVerdict(Layer.IDENTITY, LayerStatus.ALLOWS, "allowed by Read", ("Read",)),
            LayerVerdict(Layer.SCP, LayerStatus.EXPLICIT_DENY, "denied by NoKms (Sid NoKms)", ("NoKms",), kms),
            LayerVerdict(Layer.RESOURCE, LayerStatus.ALLOWS, "allowed by key policy of abcd-1234", (), kms),
        ),
    )
    text = render_text(_scan_of(diagnosis), [diagnosis], color=False)
    assert "\n  ✓ Identity        allowed by Read [Read]\n" in text
    assert "\n  ✗ SCPs (KMS)      denied by NoKms (Sid NoKms) [NoKms]\n" in text
    assert "\n  ✓ Resource (KMS)  allowed by key policy of abcd-1234\n" in text
    layers = to_json(_scan_of(diagnosis), [diagnosis])["denials"][0]["layers"]
    assert [row["subject"] for row in layers] == [None, kms, kms]


def test_a_ten_kilobyte_policy_still_renders() -> None:
    statements = [
        {"Sid": f"S{i}", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::b/{i:04d}/*"}
        for i in range(150)
    ]
    policy = {"Version": "2012-10-17", "Statement": statements}
    assert len(json.dumps(policy)) > 10_000
    base = _live_like_diagnosis()
    diagnosis = Diagnosis(
        request=base.request,
        decision=base.decision,
        confidence=base.confidence,
        explanation=base.explanation,
        fixes=(Fix("attach", "account admins", USER, policy),),
    )
    text = render_text(_scan_of(diagnosis), [diagnosis], color=False)
    assert '"Resource": "arn:aws:s3:::b/0149/*"' in text
    assert to_json(_scan_of(diagnosis), [diagnosis])["denials"][0]["fix"]["policy"] == policy


def test_text_neutralises_terminal_escapes_from_the_input() -> None:
    request = denial(
        USER, "s3:GetObject", "arn:aws:s3:::b/\x1b[2Jgone\nfake line", layer=Layer.IDENTITY, kind=DenialKind.IMPLICIT
    )
    diagnosis = explain_offline(request)
    text = render_text(_scan_of(diagnosis), [diagnosis], color=False)
    assert "\x1b" not in text
    assert "arn:aws:s3:::b/\\x1b[2Jgone fake line" in text
