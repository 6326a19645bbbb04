"""The evaluator's decisions and explanations: blockers, closest Allow, layer checklist, unknown keys."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_builders import allow, deny, policy, request

from diagnostics.model import ConditionCheck, Decision, DenialKind, Layer, LayerStatus
from diagnostics.policy import KmsGrant, PolicyError, PolicySet, evaluate

BUCKET = "arn:aws:s3:::prod-artifacts/release.tar.gz"
USER = "arn:aws:iam::123456789012:user/build-bot"
SESSION = "arn:aws:sts::123456789012:assumed-role/build-bot-role/ci-42"


def ask(**kwargs: object) -> object:
    return request(principal=USER, resource=BUCKET, account="123456789012", **kwargs)  # type: ignore[arg-type]


def test_mfa_condition_names_the_unmet_condition() -> None:
    s3_access = policy(
        "S3Access",
        {"Sid": "S3ReadMfa", **allow("s3:GetObject", "*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})},
    )
    result = evaluate(ask(), PolicySet(identity=(s3_access,)))
    assert result.decision is Decision.IMPLICIT_DENY
    (blocker,) = result.blocked_by
    assert (blocker.layer, blocker.kind, blocker.policy, blocker.sid) == (
        Layer.IDENTITY,
        DenialKind.IMPLICIT,
        "S3Access",
        "S3ReadMfa",
    )
    assert blocker.unmet == "condition"
    assert blocker.conditions == (ConditionCheck("aws:MultiFactorAuthPresent", "Bool", ("true",), None),)
    assert result.statements == ()


def test_closest_allow_is_the_one_that_matched_most() -> None:
    identity = policy(
        "Mixed",
        {"Sid": "OtherAction", **allow("s3:PutObject", "arn:aws:s3:::prod-artifacts/*")},
        {"Sid": "OtherBucket", **allow("s3:GetObject", "arn:aws:s3:::staging/*")},
    )
    (blocker,) = evaluate(ask(), PolicySet(identity=(identity,))).blocked_by
    assert (blocker.sid, blocker.unmet, blocker.statement_index) == ("OtherBucket", "resource", 1)


def test_no_statement_at_all_says_so() -> None:
    (blocker,) = evaluate(ask(), PolicySet()).blocked_by
    assert blocker.layer is Layer.IDENTITY
    assert blocker.policy is None
    assert blocker.detail == "no identity policy allows s3:GetObject"


def test_explicit_deny_reports_the_statement_and_request_values() -> None:
    guard = policy(
        "Guardrail",
        {
            "Sid": "DenyProdDeletes",
            **deny(
                "s3:DeleteObject",
                "arn:aws:s3:::prod-*/*",
                Condition={"StringNotEquals": {"aws:PrincipalTag/team": "release"}},
            ),
        },
    )
    result = evaluate(
        ask(action="s3:DeleteObject", context={"aws:PrincipalTag/team": "build"}),
        PolicySet(identity=(policy("Admin", allow()), guard)),
    )
    assert result.decision is Decision.EXPLICIT_DENY
    (blocker,) = result.blocked_by
    assert (blocker.layer, blocker.kind, blocker.sid, blocker.policy) == (
        Layer.IDENTITY,
        DenialKind.EXPLICIT,
        "DenyProdDeletes",
        "Guardrail",
    )
    assert blocker.conditions[0].actual == "build"
    assert blocker.statement is not None
    assert blocker.statement["Sid"] == "DenyProdDeletes"
    assert [(s.layer, s.sid, s.effect) for s in result.statements] == [(Layer.IDENTITY, "DenyProdDeletes", "Deny")]


def test_every_blocking_layer_is_listed() -> None:
    policies = PolicySet(
        identity=(policy("Admin", allow()),),
        boundary=(policy("DevBoundary", allow("ec2:*")),),
        scp_levels=((policy("FullAWSAccess", allow()),), (policy("OnlyEC2", allow("ec2:*")),)),
        scp_level_names=("Root", "ou-ab12 (Workloads)"),
        vpce=(policy("endpoint", allow("s3:ListBucket", Principal="*")),),
    )
    result = evaluate(request(principal=SESSION, resource=BUCKET, account="123456789012"), policies)
    assert result.decision is Decision.IMPLICIT_DENY
    assert result.blocking_layers == (Layer.BOUNDARY, Layer.SCP, Layer.VPCE)
    scp = next(b for b in result.blocked_by if b.layer is Layer.SCP)
    assert scp.detail == "at ou-ab12 (Workloads)"
    assert scp.policy == "OnlyEC2"
    assert scp.unmet == "action"


def test_explicit_and_implicit_blockers_together() -> None:
    policies = PolicySet(
        identity=(policy("Admin", allow()),),
        boundary=(policy("B", deny("s3:*")),),
        scp_levels=((policy("OnlyEC2", allow("ec2:*")),),),
    )
    result = evaluate(request(principal=SESSION, resource=BUCKET, account="123456789012"), policies)
    assert result.decision is Decision.EXPLICIT_DENY
    kinds = {b.layer: b.kind for b in result.blocked_by}
    assert kinds == {Layer.BOUNDARY: DenialKind.EXPLICIT, Layer.SCP: DenialKind.IMPLICIT}


def test_layer_checklist() -> None:
    policies = PolicySet(
        identity=(policy("ArtifactsRead", {"Sid": "Read", **allow("s3:GetObject")}),),
        scp_levels=((policy("FullAWSAccess", allow()),),),
    )
    layers = {v.layer: v for v in evaluate(ask(), policies).layers}
    assert layers[Layer.IDENTITY].status is LayerStatus.ALLOWS
    assert layers[Layer.IDENTITY].summary == "allowed by ArtifactsRead (Sid Read)"
    assert layers[Layer.BOUNDARY].status is LayerStatus.NOT_APPLICABLE
    assert layers[Layer.SCP].status is LayerStatus.ALLOWS
    assert layers[Layer.VPCE].summary == "not through a VPC endpoint"
    assert Layer.TRUST not in layers


def test_a_resource_policy_without_the_caller_stops_nothing_in_the_same_account() -> None:
    tls_only = policy(
        "bucket policy of prod-artifacts",
        {"Sid": "TlsOnly", **deny("s3:*", Principal="*", Condition={"Bool": {"aws:SecureTransport": "false"}})},
    )
    secure = {"aws:SecureTransport": "true"}
    denied = evaluate(ask(context=secure), PolicySet(resource=tls_only))
    allowed = evaluate(
        ask(context=secure), PolicySet(identity=(policy("Read", allow("s3:GetObject")),), resource=tls_only)
    )

    assert (denied.decision, denied.blocking_layers) == (Decision.IMPLICIT_DENY, (Layer.IDENTITY,))
    for result in (denied, allowed):
        resource = next(v for v in result.layers if v.layer is Layer.RESOURCE)
        assert (resource.status, resource.summary) == (
            LayerStatus.NOT_APPLICABLE,
            "no statement allows this principal; not needed in the same account",
        )


def test_a_cross_account_request_without_a_resource_policy_is_blocked_there() -> None:
    result = evaluate(
        request(principal=USER, resource=BUCKET, account="444455556666"),
        PolicySet(identity=(policy("Read", allow("s3:GetObject")),)),
    )
    assert result.blocking_layers == (Layer.RESOURCE,)
    resource = next(v for v in result.layers if v.layer is Layer.RESOURCE)
    assert (resource.status, resource.summary) == (LayerStatus.IMPLICIT_DENY, "no resource policy allows s3:GetObject")


def test_an_identity_policy_the_resource_policy_makes_unneeded_is_not_a_blocker() -> None:
    bucket = policy(
        "bucket policy", allow("s3:GetObject", Principal={"AWS": "arn:aws:iam::123456789012:role/build-bot-role"})
    )
    result = evaluate(
        request(principal=SESSION, resource=BUCKET, account="123456789012"),
        PolicySet(boundary=(policy("DevBoundary", allow("ec2:*")),), resource=bucket),
    )
    assert result.blocking_layers == (Layer.BOUNDARY,)
    identity = next(v for v in result.layers if v.layer is Layer.IDENTITY)
    assert identity.status is LayerStatus.NOT_APPLICABLE


def test_an_explicit_deny_and_a_missing_grant_are_both_blockers() -> None:
    # Removing the bucket policy's Deny does not make the bucket policy grant anything: the missing identity grant
    # is as much in the way.
    bucket = policy("bucket policy", {"Sid": "KeepOut", **deny("s3:*", Principal="*")})
    result = evaluate(ask(), PolicySet(resource=bucket))
    assert result.decision is Decision.EXPLICIT_DENY
    assert [(b.layer, b.kind) for b in result.blocked_by] == [
        (Layer.IDENTITY, DenialKind.IMPLICIT),
        (Layer.RESOURCE, DenialKind.EXPLICIT),
    ]


def test_a_kms_grant_that_allows_the_request_is_the_key_sides_allow() -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/abcd-1234"
    admins = policy("key policy", allow("kms:*", Principal={"AWS": "arn:aws:iam::123456789012:role/KeyAdmins"}))
    grant = KmsGrant("g-1", "arn:aws:iam::123456789012:role/build-bot-role", ("Decrypt",), key, name="ci-decrypt")
    result = evaluate(
        request(principal=SESSION, action="kms:Decrypt", resource=key, account="123456789012"),
        PolicySet(resource=admins, kms_grants=(grant,)),
    )
    assert result.decision is Decision.ALLOWED
    resource = next(v for v in result.layers if v.layer is Layer.RESOURCE)
    assert (resource.status, resource.summary) == (LayerStatus.ALLOWS, "allowed by KMS grant ci-decrypt")


def test_kms_blocker_explains_missing_delegation() -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/abcd-1234"
    key_policy = policy(
        "key-policy",
        {"Sid": "Admins", **allow("kms:Describe*", Principal={"AWS": "arn:aws:iam::123456789012:role/admin"})},
    )
    result = evaluate(
        request(principal=SESSION, action="kms:Decrypt", resource=key, account="123456789012"),
        PolicySet(identity=(policy("Kms", allow("kms:Decrypt", key)),), resource=key_policy),
    )
    (blocker,) = result.blocked_by
    assert blocker.layer is Layer.RESOURCE
    assert blocker.detail is not None
    assert "does not allow the account's IAM policies" in blocker.detail
    row = next(v for v in result.layers if v.layer is Layer.RESOURCE)
    assert (row.status, row.summary) == (
        LayerStatus.IMPLICIT_DENY,
        "no statement allows kms:Decrypt for this request; no delegation to IAM (no statement for the account)",
    )


def test_trust_layer_and_root_rule() -> None:
    trust = policy(
        "trust", {"Sid": "Account", "Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole"}
    )
    result = evaluate(
        request(
            principal="arn:aws:iam::123456789012:root",
            action="sts:AssumeRole",
            resource="arn:aws:iam::123456789012:role/x",
        ),
        PolicySet(resource=trust),
    )
    assert result.decision is Decision.IMPLICIT_DENY
    assert result.blocked_by[0].layer is Layer.TRUST
    assert result.blocked_by[0].detail == "the AWS account root user cannot assume roles"
    assert Layer.RESOURCE not in {v.layer for v in result.layers}


def test_get_caller_identity_is_always_allowed() -> None:
    result = evaluate(request(action="sts:GetCallerIdentity", resource="*"), PolicySet(identity=(policy("D", deny()),)))
    assert result.decision is Decision.ALLOWED
    assert result.notes


def test_unknown_keys_beyond_the_exact_search_are_all_reported() -> None:
    # Eleven undecided Allows, each on its own key: the exhaustive search is skipped and every key is listed.
    statements = [allow("s3:GetObject", Condition={"StringEquals": {f"aws:PrincipalTag/k{i}": "x"}}) for i in range(11)]
    unknown = tuple(f"aws:PrincipalTag/k{i}" for i in range(11))
    result = evaluate(ask(unknown=unknown), PolicySet(identity=(policy("Many", *statements),)))
    assert result.decision is Decision.UNKNOWN
    assert len(result.unknown_context_keys) == 11


def test_malformed_policy_raises_policy_error() -> None:
    bad = policy("Broken", {"Effect": "Allow", "Action": "*", "Resource": "*", "Extra": 1})
    with pytest.raises(PolicyError, match=r"policy 'Broken', statement #0: unknown element\(s\) 'Extra'"):
        evaluate(ask(), PolicySet(identity=(bad,)))


def test_reevaluating_a_fix() -> None:
    base = PolicySet(identity=(policy("Nothing", allow("ec2:*")),))
    assert evaluate(ask(), base).decision is Decision.IMPLICIT_DENY
    fixed = replace(
        base, identity=(*base.identity, policy("Fix", allow("s3:GetObject", "arn:aws:s3:::prod-artifacts/*")))
    )
    assert evaluate(ask(), fixed).decision is Decision.ALLOWED
    assert evaluate(ask(), base).decision is Decision.IMPLICIT_DENY


ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:*", "ec2:*", "*", "s3:Get*"]
RESOURCES = ["*", "arn:aws:s3:::prod-artifacts/*", "arn:aws:s3:::other/*", BUCKET]
CONDITIONS = [None, {"Bool": {"aws:SecureTransport": "true"}}, {"StringEquals": {"aws:PrincipalTag/team": "build"}}]


@st.composite
def statements(draw: st.DrawFn, effect: str | None = None) -> dict[str, object]:
    statement: dict[str, object] = {
        "Effect": effect or draw(st.sampled_from(["Allow", "Deny"])),
        "Action": draw(st.sampled_from(ACTIONS)),
        "Resource": draw(st.sampled_from(RESOURCES)),
    }
    condition = draw(st.sampled_from(CONDITIONS))
    if condition:
        statement["Condition"] = condition
    return statement


CONTEXT = {"aws:SecureTransport": "true", "aws:PrincipalTag/team": "ops"}


@settings(max_examples=150, deadline=None)
@given(st.lists(statements(), min_size=1, max_size=6), statements(effect="Allow"))
def test_adding_an_allow_never_takes_access_away(base: list[dict[str, object]], extra: dict[str, object]) -> None:
    before = evaluate(ask(context=CONTEXT), PolicySet(identity=(policy("p", *base),)))
    after = evaluate(ask(context=CONTEXT), PolicySet(identity=(policy("p", *base, extra),)))
    if before.decision is Decision.ALLOWED:
        assert after.decision is Decision.ALLOWED
    if before.decision is Decision.EXPLICIT_DENY:
        assert after.decision is Decision.EXPLICIT_DENY


@settings(max_examples=150, deadline=None)
@given(st.lists(statements(), min_size=1, max_size=6))
def test_results_are_consistent(stmts: list[dict[str, object]]) -> None:
    result = evaluate(ask(context=CONTEXT), PolicySet(identity=(policy("p", *stmts),)))
    if result.decision is Decision.ALLOWED:
        assert result.blocked_by == ()
        assert all(s.effect == "Allow" for s in result.statements)
    elif result.decision is Decision.EXPLICIT_DENY:
        assert result.statements
        assert all(s.effect == "Deny" for s in result.statements)
        assert any(b.kind is DenialKind.EXPLICIT for b in result.blocked_by)
    else:
        assert result.decision is Decision.IMPLICIT_DENY
        assert [b.kind for b in result.blocked_by] == [DenialKind.IMPLICIT]


@settings(max_examples=100, deadline=None)
@given(st.lists(statements(), min_size=0, max_size=5))
def test_a_matching_deny_anywhere_wins(stmts: list[dict[str, object]]) -> None:
    guard = policy("guard", deny("s3:GetObject", BUCKET))
    for policies in (
        PolicySet(identity=(policy("p", *stmts, allow()), guard)),
        PolicySet(identity=(policy("p", *stmts, allow()),), scp_levels=((policy("full", allow()), guard),)),
        PolicySet(
            identity=(policy("p", *stmts, allow()),),
            resource=policy("bucket", {**deny("s3:GetObject", BUCKET), "Principal": "*"}),
        ),
    ):
        assert evaluate(ask(context=CONTEXT), policies).decision is Decision.EXPLICIT_DENY


def test_unknown_keys_are_reported_as_the_request_spells_them() -> None:
    mfa = policy("Mfa", allow("s3:GetObject", Condition={"Bool": {"AWS:MULTIFACTORAUTHPRESENT": "true"}}))
    result = evaluate(ask(unknown=("aws:MultiFactorAuthPresent",)), PolicySet(identity=(mfa,)))
    assert result.decision is Decision.UNKNOWN
    assert result.unknown_context_keys == ("aws:MultiFactorAuthPresent",)
