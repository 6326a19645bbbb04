"""The local answer conditioned on AWS's denial: stand-ins for unread layers, unknown keys, deductions."""

from __future__ import annotations

from typing import Any

from diagnostics.arn import parse_principal
from diagnostics.assess import (
    STAND_IN,
    assess,
    referenced_keys,
    unknown_keys,
    unread_key,
    unread_layer,
    with_stand_ins,
)
from diagnostics.model import Decision, DenialKind, Layer, Reported
from diagnostics.policy import EvalRequest, NamedPolicy, PolicySet

USER = parse_principal("arn:aws:iam::111122223333:user/build-bot")
SESSION = parse_principal("arn:aws:sts::111122223333:assumed-role/app/ci-42")
OBJECT = "arn:aws:s3:::prod-artifacts/release.tar.gz"
ADMIN = NamedPolicy(
    "Admin", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def mfa_policy() -> NamedPolicy:
    return NamedPolicy(
        "S3Access",
        doc(
            {
                "Sid": "ReadWithMfa",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            }
        ),
    )


def region_guardrail() -> PolicySet:
    deny = {
        "Sid": "DenyOutsideUS",
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"StringNotLike": {"aws:RequestedRegion": ["us-*"]}},
    }
    full = NamedPolicy("FullAWSAccess", doc({"Effect": "Allow", "Action": "*", "Resource": "*"}))
    return PolicySet(
        identity=(ADMIN,),
        scp_levels=((full,), (full, NamedPolicy("DenyOutsideUSRegions", doc(deny)))),
        scp_level_names=("Root", "111122223333"),
    )


def request(principal: Any = USER, action: str = "s3:GetObject", **kwargs: Any) -> EvalRequest:
    context = kwargs.pop("context", {})
    unknown = frozenset(kwargs.pop("unknown", ()))
    return EvalRequest(principal, action, kwargs.pop("resource", OBJECT), None, context, unknown, **kwargs)


def test_a_condition_the_denial_rules_out_is_deduced_not_left_unknown() -> None:
    policies = PolicySet(identity=(mfa_policy(),))

    found = assess(request(unknown={"aws:MultiFactorAuthPresent"}), policies)

    assert (found.decision, found.determined) == (Decision.IMPLICIT_DENY, True)
    (blocker,) = found.blockers
    assert (blocker.layer, blocker.sid, blocker.unmet) == (Layer.IDENTITY, "ReadWithMfa", "condition")
    # The value the deduction tried is never shown as the request's.
    (condition,) = blocker.conditions
    assert (condition.actual, condition.unknown) == (None, True)
    (deduction,) = found.deductions
    assert deduction.ruled_out == ("true",)
    assert set(deduction.possible) == {"false", "absent"}
    assert found.unknown_keys == ()
    # Fixes are judged against every reading consistent with the denial.
    assert len(found.requests) == 2


def test_the_reported_phrase_picks_between_stories() -> None:
    policies = region_guardrail()
    policies = PolicySet(
        identity=(mfa_policy(),),
        scp_levels=policies.scp_levels,
        scp_level_names=policies.scp_level_names,
    )
    unknown = {"aws:MultiFactorAuthPresent", "aws:RequestedRegion"}

    either = assess(request(unknown=unknown), policies)
    scp = assess(request(unknown=unknown), policies, Reported(Layer.SCP, DenialKind.EXPLICIT))

    # Without the phrase: no MFA (implicit) or a non-US region (explicit); both deny.
    assert either.determined is False
    assert either.decision is Decision.UNKNOWN
    assert set(either.unknown_keys) == {"aws:MultiFactorAuthPresent", "aws:RequestedRegion"}
    # "explicit deny in a service control policy" leaves one story; the MFA key no longer matters to it.
    assert scp.decision is Decision.EXPLICIT_DENY
    assert [(b.layer, b.sid) for b in scp.blockers if b.kind is DenialKind.EXPLICIT] == [(Layer.SCP, "DenyOutsideUS")]
    region = next(d for d in scp.deductions if d.key == "aws:RequestedRegion")
    assert region.ruled_out == ('like "us-*"',)


def test_a_known_value_needs_no_deduction() -> None:
    found = assess(
        request(action="ec2:RunInstances", resource="*", context={"aws:RequestedRegion": "eu-west-1"}),
        region_guardrail(),
    )

    assert (found.decision, found.determined, found.deductions) == (Decision.EXPLICIT_DENY, True, ())
    (blocker,) = found.blockers
    assert blocker.conditions[0].actual == "eu-west-1"


def test_when_everything_read_allows_the_unread_layers_are_the_suspects() -> None:
    policies, keys = with_stand_ins(PolicySet(identity=(ADMIN,)), {Layer.SESSION}, SESSION)

    found = assess(request(SESSION, unknown=keys), policies, Reported(Layer.SESSION, DenialKind.IMPLICIT))

    assert (found.decision, found.unexplained, found.determined) == (Decision.UNKNOWN, True, False)
    assert found.suspect_layers == (Layer.SESSION,)
    assert found.blockers == ()


def test_nothing_unknown_and_everything_allowed_is_unexplained() -> None:
    found = assess(request(), PolicySet(identity=(ADMIN,)))
    assert (found.decision, found.unexplained, found.suspect_layers) == (Decision.UNKNOWN, True, ())


def test_an_unread_layer_does_not_change_a_story_the_read_layers_tell() -> None:
    policies, keys = with_stand_ins(PolicySet(identity=(mfa_policy(),)), {Layer.SESSION}, SESSION)

    found = assess(
        request(SESSION, unknown={*keys, "aws:MultiFactorAuthPresent"}),
        policies,
        Reported(Layer.IDENTITY, DenialKind.IMPLICIT),
    )

    assert (found.decision, found.determined) == (Decision.IMPLICIT_DENY, True)
    assert [b.layer for b in found.blockers] == [Layer.IDENTITY]
    assert all(not (b.policy or "").startswith(STAND_IN) for b in found.blockers)


def tls_only() -> NamedPolicy:
    return NamedPolicy(
        "bucket policy of prod-artifacts",
        doc(
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ),
    )


def test_a_denial_certain_either_way_still_takes_the_way_aws_reported() -> None:
    # No grant at all, so denied whatever the transport; AWS's "explicit deny in a resource-based policy" says the
    # call also used plain HTTP, which the bucket policy denies.
    policies = PolicySet(resource=tls_only())
    unknown = {"aws:SecureTransport"}

    silent = assess(request(unknown=unknown), policies)
    told = assess(request(unknown=unknown), policies, Reported(Layer.RESOURCE, DenialKind.EXPLICIT))

    assert (silent.decision, [b.layer for b in silent.blockers]) == (Decision.IMPLICIT_DENY, [Layer.IDENTITY])
    assert told.decision is Decision.EXPLICIT_DENY
    assert [(b.layer, b.kind) for b in told.blockers] == [
        (Layer.IDENTITY, DenialKind.IMPLICIT),
        (Layer.RESOURCE, DenialKind.EXPLICIT),
    ]
    (deduction,) = told.deductions
    assert (deduction.key, deduction.possible) == ("aws:SecureTransport", ("false",))
    assert told.conflicts_with_report is False


def test_a_denial_certain_either_way_keeps_its_answer_when_no_reading_fits_the_report() -> None:
    policies = PolicySet(resource=tls_only())
    found = assess(request(unknown={"aws:SecureTransport"}), policies, Reported(Layer.SCP, DenialKind.EXPLICIT))
    assert (found.decision, [b.layer for b in found.blockers]) == (Decision.IMPLICIT_DENY, [Layer.IDENTITY])


def test_a_report_no_reading_can_produce_is_flagged() -> None:
    found = assess(
        request(unknown={"aws:MultiFactorAuthPresent"}),
        PolicySet(identity=(mfa_policy(),)),
        Reported(Layer.SCP, DenialKind.EXPLICIT),
    )
    assert found.conflicts_with_report is True
    assert found.decision is Decision.IMPLICIT_DENY


def test_source_ip_deduction_names_the_network() -> None:
    office = NamedPolicy(
        "Office",
        doc(
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}},
            }
        ),
    )
    found = assess(request(unknown={"aws:SourceIp"}), PolicySet(identity=(office,)))
    (deduction,) = found.deductions
    assert deduction.ruled_out == ("in 10.0.0.0/8",)
    assert found.decision is Decision.IMPLICIT_DENY


def test_stand_ins_for_each_kind_of_unread_layer() -> None:
    base = PolicySet(identity=(ADMIN,), rcp_levels=((ADMIN,),))
    policies, keys = with_stand_ins(
        base, {Layer.IDENTITY, Layer.BOUNDARY, Layer.SCP, Layer.RCP, Layer.RESOURCE, Layer.SESSION}, USER
    )
    assert [p.name for p in policies.identity] == ["Admin", f"{STAND_IN} identity"]
    assert [p.name for p in policies.boundary] == [f"{STAND_IN} boundary"]
    assert policies.scp_level_names == (STAND_IN,)
    # An RCP can only take away: an unread one stands for nothing.
    assert policies.rcp_levels == ()
    assert policies.resource is not None
    assert policies.resource.document["Statement"][0]["Principal"] == "*"
    # A user has no session policy to stand in for.
    assert policies.session == ()
    assert keys == {unread_key(layer) for layer in (Layer.IDENTITY, Layer.BOUNDARY, Layer.SCP, Layer.RESOURCE)}
    assert unread_layer(unread_key(Layer.SCP)) is Layer.SCP
    assert unread_layer("aws:SourceIp") is None


def test_unknown_keys_are_those_the_policies_use_and_nobody_knows() -> None:
    statement = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::home/${aws:username}/*",
        "Condition": {
            "Bool": {"aws:MultiFactorAuthPresent": "true"},
            "StringEquals": {
                "aws:PrincipalTag/team": "ci",
                "ec2:Region": "us-east-1",
                "s3:prefix": "home/",
                "aws:SourceVpce": "vpce-1",
            },
        },
    }
    policies = PolicySet(identity=(NamedPolicy("Home", doc(statement)),))

    keys = unknown_keys(
        policies,
        {"aws:SourceVpce": "vpce-1"},
        action="s3:GetObject",
        absent=frozenset({"aws:username"}),
        complete_prefixes=frozenset({"aws:principaltag/"}),
    )

    # ec2:Region is never in an S3 request; the tag and the username are known; the endpoint is in the context.
    assert keys == {"aws:MultiFactorAuthPresent", "s3:prefix"}
    assert referenced_keys(policies)["aws:multifactorauthpresent"] == "aws:MultiFactorAuthPresent"
    assert "aws:username" in referenced_keys(policies)
