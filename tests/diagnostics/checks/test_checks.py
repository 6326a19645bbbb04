"""The checks: one finding each from literal snapshots, and the runner that keeps a failing check from breaking."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from diagnostics.arn import parse_principal
from diagnostics.checks import CHECKS, Check, Facts, Finding, run_checks
from diagnostics.model import Blocker, Decision, DenialKind, DeniedRequest, Layer
from diagnostics.policy import NamedPolicy, PolicySet, PublicAccessBlock
from diagnostics.policy.explain import KMS_NO_DELEGATION
from diagnostics.snapshot import KmsChain, ResourceSide, Snapshot

ACCOUNT = "111122223333"
SSO = parse_principal(f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_DataEngineer_0123456789abcdef/alice")
USER = parse_principal(f"arn:aws:iam::{ACCOUNT}:user/build-bot")
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/abcd-1234"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def facts(principal: Any = USER, blockers: tuple[Blocker, ...] = (), **kwargs: Any) -> Facts:
    denied = DeniedRequest(principal, "s3:GetObject", "arn:aws:s3:::prod-artifacts/a", ACCOUNT)
    snapshot = Snapshot(
        request=denied,
        principal=principal,
        principal_account=kwargs.pop("principal_account", ACCOUNT),
        resource_account=kwargs.pop("resource_account", ACCOUNT),
        policies=PolicySet(),
        **kwargs,
    )
    return Facts(snapshot, denied, Decision.IMPLICIT_DENY, blockers)


def findings(found: Facts, check: str) -> list[str]:
    return [f.text for f in run_checks(found) if f.check == check]


def bucket(**kwargs: Any) -> ResourceSide:
    kwargs.setdefault("policy", None)
    return ResourceSide(
        Layer.RESOURCE, "s3", "arn:aws:s3:::prod-artifacts", "bucket policy of prod-artifacts", ACCOUNT, **kwargs
    )


def key(policy: dict[str, Any], **kwargs: Any) -> ResourceSide:
    return ResourceSide(
        Layer.RESOURCE,
        "kms",
        KEY,
        "key policy of key abcd-1234",
        ACCOUNT,
        NamedPolicy("key policy", policy, KEY),
        **kwargs,
    )


def test_every_check_is_listed_once() -> None:
    assert len({c.id for c in CHECKS}) == len(CHECKS)


def test_an_identity_center_role_sends_the_fix_to_the_permission_set() -> None:
    (text,) = findings(facts(SSO), "sso-permission-set")
    assert "permission set DataEngineer" in text
    assert findings(facts(USER), "sso-permission-set") == []


def test_a_key_policy_that_does_not_delegate_to_iam() -> None:
    closed = key(
        doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/admin"},
                "Action": "kms:*",
                "Resource": "*",
            }
        )
    )
    delegating = key(
        doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        )
    )
    by_id = key(doc({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "kms:*", "Resource": "*"}))
    blocked = (Blocker(Layer.RESOURCE, DenialKind.IMPLICIT),)

    (text,) = findings(facts(resource=closed, blockers=blocked), "kms-delegation")

    assert "does not delegate to IAM" in text
    assert f"arn:aws:iam::{ACCOUNT}:root" in text
    assert findings(facts(resource=delegating, blockers=blocked), "kms-delegation") == []
    assert findings(facts(resource=by_id, blockers=blocked), "kms-delegation") == []
    # A key that blocks nothing, or whose blocker already says it does not delegate, needs no note.
    assert findings(facts(resource=closed), "kms-delegation") == []
    said = (Blocker(Layer.RESOURCE, DenialKind.IMPLICIT, detail=KMS_NO_DELEGATION),)
    assert findings(facts(resource=closed, blockers=said), "kms-delegation") == []
    chain = KmsChain("kms:Decrypt", closed, {})
    on_the_kms_call = (Blocker(Layer.RESOURCE, DenialKind.IMPLICIT, subject="KMS key abcd-1234"),)
    assert len(findings(facts(resource=bucket(), kms=chain, blockers=on_the_kms_call), "kms-delegation")) == 1
    assert findings(facts(resource=bucket(), kms=chain, blockers=blocked), "kms-delegation") == []


def test_default_encryption_speaks_only_where_the_checklist_does_not() -> None:
    managed = "bucket prod-artifacts encrypts new objects with the AWS managed key aws/s3 by default"
    side = bucket(default_kms_key=KEY, facts=(managed,))
    chain = KmsChain("kms:Decrypt", key(doc()), {})

    # The key was read: its row in the checklist says how it stands.
    assert findings(facts(resource=side, kms=chain), "s3-encryption") == [
        "Bucket prod-artifacts encrypts new objects with the AWS managed key aws/s3 by default."
    ]
    unreadable = findings(facts(resource=side, kms_unreadable="the key is in another account"), "s3-encryption")
    assert unreadable[-1] == (
        f"Bucket prod-artifacts encrypts new objects with KMS key {KEY} by default, so S3 calls KMS as the caller "
        "for them; that key could not be checked: the key is in another account."
    )


def test_block_public_access_that_hides_a_public_bucket_policy() -> None:
    public = NamedPolicy(
        "bucket policy", doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"})
    )
    blocked = bucket(policy=public, public_access_block=PublicAccessBlock(restrict_public_buckets=True))

    (text,) = findings(facts(resource=blocked), "public-access-block")

    assert "RestrictPublicBuckets" in text
    assert findings(facts(resource=bucket(policy=public)), "public-access-block") == []


def test_a_principal_named_by_unique_id_was_deleted() -> None:
    policy = NamedPolicy(
        "bucket policy",
        doc({"Effect": "Allow", "Principal": {"AWS": "AROAEXAMPLEUNIQUEID123"}, "Action": "s3:*", "Resource": "*"}),
    )
    (text,) = findings(facts(resource=bucket(policy=policy)), "deleted-principal")
    assert "AROAEXAMPLEUNIQUEID123" in text


def test_cross_account_needs_both_sides() -> None:
    (text,) = findings(facts(resource=bucket(), resource_account="444455556666"), "cross-account")
    assert "account 111122223333" in text
    assert "account 444455556666" in text
    assert findings(facts(resource=bucket()), "cross-account") == []


def test_the_bots_missing_permissions_are_named() -> None:
    (text,) = findings(facts(denied_permissions=("organizations:ListPoliciesForTarget",)), "bot-permissions")
    assert "organizations:ListPoliciesForTarget" in text


def test_a_check_that_raises_becomes_a_finding_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    def broken(_: Facts) -> Iterator[str]:
        raise KeyError("surprise")

    def fine(_: Facts) -> Iterator[str]:
        yield "still here"

    with caplog.at_level(logging.ERROR, logger="iamwhy.checks"):
        found = run_checks(facts(), (Check("broken", broken), Check("fine", fine)))

    assert found == (
        Finding("broken", "The broken check could not run (an internal error, logged)."),
        Finding("fine", "still here"),
    )
    assert "check broken failed" in caplog.text
