"""KMS key policies that do not delegate to IAM: identity policies alone can never grant use of the key."""

from __future__ import annotations

from collections.abc import Iterator

from diagnostics.checks.base import Facts, principal_values, statements
from diagnostics.snapshot import ResourceSide


def check(facts: Facts) -> Iterator[str]:
    snapshot = facts.snapshot
    keys = [side for side in (snapshot.resource, snapshot.kms.key if snapshot.kms else None) if side is not None]
    for side in keys:
        if side.service == "kms" and not side.aws_managed and side.policy is not None and not _delegates(side):
            yield (
                f"The {side.label} has no statement for the account ({_root(side)}): it does not delegate to IAM, so "
                "an identity policy's grant on this key has no effect unless the key policy names the caller itself."
            )
        for fact in side.facts if side.service == "kms" else ():
            yield fact[:1].upper() + fact[1:] + ("" if fact.endswith(".") else ".")


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
