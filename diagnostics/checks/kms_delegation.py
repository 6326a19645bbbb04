"""KMS key policies that do not delegate to IAM: identity policies alone can never grant use of the key."""

from __future__ import annotations

from collections.abc import Iterator

from diagnostics.checks.base import Facts, principal_values, statements
from diagnostics.model import Layer
from diagnostics.policy.explain import KMS_NO_DELEGATION
from diagnostics.snapshot import ResourceSide


def check(facts: Facts) -> Iterator[str]:
    snapshot = facts.snapshot
    # The request's own resource, and the key of the KMS call S3 makes for it (whose blockers carry a subject).
    keys = [(snapshot.resource, False), (snapshot.kms.key if snapshot.kms else None, True)]
    for side, chained in keys:
        if side is None or side.service != "kms":
            continue
        if not side.aws_managed and side.policy is not None and not _delegates(side) and _unsaid(facts, chained):
            yield (
                f"The {side.label} has no statement for the account ({_root(side)}): it does not delegate to IAM, so "
                "an identity policy's grant on this key has no effect unless the key policy names the caller itself."
            )
        for fact in side.facts:
            yield fact[:1].upper() + fact[1:] + ("" if fact.endswith(".") else ".")


def _unsaid(facts: Facts, chained: bool) -> bool:
    """Whether the key's policy blocks the request without its blocker already saying it does not delegate."""
    return any(
        b.layer is Layer.RESOURCE and (b.subject is not None) is chained and b.detail != KMS_NO_DELEGATION
        for b in facts.blockers
    )


def _root(side: ResourceSide) -> str:
    return f"arn:aws:iam::{side.account}:root" if side.account else "the account root"


def _delegates(side: ResourceSide) -> bool:
    assert side.policy is not None
    wanted = {side.account, f"arn:aws:iam::{side.account}:root"} if side.account else set()
    for statement in statements(side.policy.document):
        if statement.get("Effect") != "Allow":
            continue
        values = principal_values(statement)
        if any(v in wanted or (v.endswith(":root") and side.account and f"::{side.account}:" in v) for v in values):
            return True
    return False
