"""Verified fixes over literal policy sets: each change applied, the request evaluated again."""

from __future__ import annotations

from typing import Any

from diagnostics.arn import parse_principal
from diagnostics.assess import assess, with_stand_ins
from diagnostics.fixes import Side, kms_statement, proposals, verify
from diagnostics.model import Blocker, DenialKind, DeniedRequest, Layer, Reported
from diagnostics.policy import EvalRequest, NamedPolicy, PolicySet
from diagnostics.remediation import OWNER_CALLER, OWNER_ORG, OWNER_RESOURCE

USER = parse_principal("arn:aws:iam::111122223333:user/build-bot")
OBJECT = "arn:aws:s3:::prod-artifacts/release.tar.gz"
KEY = "arn:aws:kms:us-east-1:111122223333:key/abcd-1234"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def denied(action: str = "s3:GetObject", resource: str = OBJECT) -> DeniedRequest:
    return DeniedRequest(principal=USER, action=action, resource_arn=resource, account_id="111122223333")


def side(policies: PolicySet, action: str = "s3:GetObject", resource: str = OBJECT, **context: Any) -> Side:
    request = EvalRequest(USER, action, resource, None, dict(context))
    return Side((request,), policies)


def verified(policies: PolicySet, blockers: tuple[Blocker, ...], **context: Any) -> tuple[Any, ...]:
    return verify(proposals(denied(), blockers), side(policies, **context), None)


def test_a_missing_grant_is_verified_by_adding_it() -> None:
    policies = PolicySet(
        identity=(NamedPolicy("Deploy", doc({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"})),)
    )
    blockers = assess(side(policies).requests[0], policies).blockers

    (fix,), note = verified(policies, blockers)

    assert (fix.resolves, fix.still_blocked_by, note) == (True, (), None)
    assert fix.policy is not None
    assert fix.policy["Statement"][0]["Resource"] == OBJECT


def test_a_grant_is_not_enough_where_a_deny_remains() -> None:
    guard = NamedPolicy(
        "Guardrail", doc({"Sid": "NoReads", "Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"})
    )
    bucket = NamedPolicy(
        "bucket policy of prod-artifacts",
        doc({"Sid": "KeepOut", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}),
    )
    policies = PolicySet(
        identity=(guard, NamedPolicy("All", doc({"Effect": "Allow", "Action": "*", "Resource": "*"}))), resource=bucket
    )
    blockers = assess(side(policies).requests[0], policies).blockers

    fixes, note = verified(policies, blockers)

    assert [(f.resolves, f.still_blocked_by) for f in fixes] == [(False, (Layer.RESOURCE,)), (False, (Layer.IDENTITY,))]
    assert note == "No single change is enough: applied together, the fixes above make the request allowed."


def test_a_deny_that_applies_only_over_plain_http_is_met_by_calling_over_https() -> None:
    bucket = NamedPolicy(
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
        "arn:aws:s3:::prod-artifacts",
    )
    policies = PolicySet(
        identity=(NamedPolicy("Read", doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})),),
        resource=bucket,
    )
    context = {"aws:SecureTransport": "false"}
    blockers = assess(side(policies, **context).requests[0], policies).blockers

    meet, change = verified(policies, blockers, **context)[0]

    assert meet.owner == OWNER_CALLER
    assert meet.summary.startswith("Bucket policy of prod-artifacts (statement TlsOnly) denies s3:GetObject only when")
    assert "HTTPS" in meet.summary
    assert meet.resolves is True
    assert (change.owner, change.resolves) == (OWNER_RESOURCE, True)


def test_an_organization_guardrail_is_the_org_admins_first() -> None:
    full = NamedPolicy("FullAWSAccess", doc({"Effect": "Allow", "Action": "*", "Resource": "*"}))
    guard = NamedPolicy(
        "DenyOutsideUSRegions",
        doc(
            {
                "Sid": "DenyOutsideUS",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringNotLike": {"aws:RequestedRegion": "us-*"}},
            }
        ),
    )
    policies = PolicySet(identity=(full,), scp_levels=((full, guard),))
    context = {"aws:RequestedRegion": "eu-west-1"}
    blockers = assess(side(policies, **context).requests[0], policies).blockers

    org, meet = verified(policies, blockers, **context)[0]

    assert (org.owner, org.resolves) == (OWNER_ORG, True)
    assert (meet.owner, meet.resolves) == (OWNER_CALLER, True)


def test_a_blocker_without_its_statement_cannot_be_re_evaluated() -> None:
    blocker = Blocker(Layer.IDENTITY, DenialKind.EXPLICIT, policy="Guardrail")
    guard = NamedPolicy("Guardrail", doc({"Effect": "Deny", "Action": "*", "Resource": "*"}))

    (fix,), _ = verified(PolicySet(identity=(guard,)), (blocker,))

    assert fix.resolves is None


def test_a_request_already_allowed_leaves_every_fix_unjudged() -> None:
    allowing = PolicySet(identity=(NamedPolicy("All", doc({"Effect": "Allow", "Action": "*", "Resource": "*"})),))
    (fix,), note = verified(allowing, (Blocker(Layer.SESSION, DenialKind.IMPLICIT),))
    assert (fix.resolves, note) == (None, None)


def test_an_unread_layer_that_explains_nothing_is_taken_to_allow() -> None:
    policies, keys = with_stand_ins(PolicySet(), {Layer.RESOURCE}, USER)
    request = EvalRequest(USER, "s3:GetObject", OBJECT, None, {}, keys)
    found = assess(request, policies, Reported(Layer.IDENTITY, DenialKind.IMPLICIT))

    fixes, _ = verify(proposals(denied(), found.blockers), Side(found.requests, policies, keys), None)

    # The unread bucket policy did not allow it (AWS denied); the grant alone carries it.
    assert fixes[0].resolves is True


def test_the_kms_side_is_fixed_with_the_identity_statement_or_the_key_policy() -> None:
    identity = NamedPolicy("Read", doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}))
    key_policy = NamedPolicy(
        "key policy of abcd-1234",
        doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ),
    )
    main = side(PolicySet(identity=(identity,)))
    chain_policies = PolicySet(identity=(identity,), resource=key_policy)
    chain = side(chain_policies, "kms:Decrypt", KEY)
    chain_blockers = assess(chain.requests[0], chain_policies).blockers
    assert [b.layer for b in chain_blockers] == [Layer.IDENTITY]

    fixes, _ = verify(
        proposals(
            denied(),
            (),
            chain_request=denied("kms:Decrypt", KEY),
            chain_blockers=chain_blockers,
        ),
        main,
        chain,
    )

    (fix,) = fixes
    assert fix.resolves is True
    assert fix.policy is not None
    assert fix.policy["Statement"][0]["Action"] == "kms:Decrypt"
    assert kms_statement("kms:Decrypt", KEY) == {
        "Sid": "AllowKmsDecrypt",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": KEY,
    }


def test_the_s3_grant_carries_the_kms_statement_the_object_needs() -> None:
    nothing = PolicySet()
    key_policy = NamedPolicy(
        "key policy of abcd-1234",
        doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ),
    )
    blockers = assess(side(nothing).requests[0], nothing).blockers

    (fix,), _ = verify(
        proposals(denied(), blockers, kms_statement=kms_statement("kms:Decrypt", KEY), needs_known=True),
        side(nothing),
        side(PolicySet(resource=key_policy), "kms:Decrypt", KEY),
    )

    assert fix.policy is not None
    assert [s["Action"] for s in fix.policy["Statement"]] == ["s3:GetObject", "kms:Decrypt"]
    assert "may also need" not in fix.summary
    assert fix.resolves is True


TLS_ONLY = NamedPolicy(
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
    "arn:aws:s3:::prod-artifacts",
)


def test_an_unknown_that_no_blocker_names_is_assumed_to_let_the_request_through() -> None:
    # Denied by the identity guardrail whatever the transport; whether the call used HTTPS is not known, and only
    # the bucket policy, which blocks nothing here, cares.
    guard = NamedPolicy(
        "Guardrail", doc({"Sid": "NoReads", "Effect": "Deny", "Action": "s3:GetObject", "Resource": OBJECT})
    )
    work = NamedPolicy("Work", doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}))
    policies = PolicySet(identity=(guard, work), resource=TLS_ONLY)
    request = EvalRequest(USER, "s3:GetObject", OBJECT, None, {}, frozenset({"aws:SecureTransport"}))
    found = assess(request, policies)
    assert [(b.layer, b.sid) for b in found.blockers] == [(Layer.IDENTITY, "NoReads")]

    involved = [c.key for b in found.blockers for c in b.conditions]
    (fix,), _ = verify(proposals(denied(), found.blockers), Side(found.requests, policies), None, involved=involved)

    assert (fix.resolves, fix.still_blocked_by, fix.assuming) == (True, (), "the call used HTTPS")


def test_a_blocker_that_remains_is_still_named_whatever_is_assumed() -> None:
    # The call used plain HTTP, so the bucket policy blocks it besides an SCP that allows only EC2; where the call
    # came from is not known and matters only to an office-only Deny. Each fix alone leaves the other blocker.
    office = {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    work = NamedPolicy(
        "Work",
        doc(
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": office},
        ),
    )
    ec2_only = NamedPolicy("Ec2Only", doc({"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}))
    policies = PolicySet(identity=(work,), scp_levels=((ec2_only,),), resource=TLS_ONLY)
    context = {"aws:SecureTransport": "false"}
    request = EvalRequest(USER, "s3:GetObject", OBJECT, None, context, frozenset({"aws:SourceIp"}))
    found = assess(request, policies)
    assert {b.layer for b in found.blockers} == {Layer.SCP, Layer.RESOURCE}

    involved = [c.key for b in found.blockers for c in b.conditions]
    fixes, _ = verify(proposals(denied(), found.blockers), Side(found.requests, policies), None, involved=involved)

    judged = {f.owner: (f.resolves, f.still_blocked_by, f.assuming) for f in fixes}
    assert judged[OWNER_ORG] == (False, (Layer.RESOURCE,), None)
    assert judged[OWNER_CALLER] == (False, (Layer.SCP,), None)


def test_an_unknown_that_cannot_let_the_request_through_is_not_assumed_away() -> None:
    # Once the deny is gone, the only Allow needs a tag the caller does not carry in any reading of the unknown
    # region: still blocked by identity.
    region = {"StringEquals": {"aws:RequestedRegion": "us-east-1"}, "Null": {"aws:PrincipalTag/team": "false"}}
    guard = NamedPolicy(
        "Guardrail", doc({"Sid": "NoReads", "Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"})
    )
    allow = NamedPolicy(
        "Read", doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": region})
    )
    policies = PolicySet(identity=(guard, allow))
    request = EvalRequest(USER, "s3:GetObject", OBJECT, None, {}, frozenset({"aws:RequestedRegion"}))
    found = assess(request, policies)

    (fix,), _ = verify(proposals(denied(), found.blockers), Side(found.requests, policies), None)

    assert (fix.resolves, fix.still_blocked_by, fix.assuming) == (False, (Layer.IDENTITY,), None)
