"""S3 default encryption with a customer managed KMS key: object reads and writes also need the key."""

from __future__ import annotations

from collections.abc import Iterator

from diagnostics.checks.base import Facts


def check(facts: Facts) -> Iterator[str]:
    snapshot = facts.snapshot
    resource = snapshot.resource
    if resource is None or resource.service != "s3":
        return
    yield from resource.facts
    chain = snapshot.kms
    if chain is not None:
        yield (
            f"S3 calls KMS as the caller for this object: {chain.action} on {chain.key.arn} must be allowed by the "
            "caller's policies and by the key policy (or a grant), or the request fails with a generic Access Denied."
        )
    elif snapshot.kms_unreadable:
        yield f"The object's KMS key could not be checked: {snapshot.kms_unreadable}."
