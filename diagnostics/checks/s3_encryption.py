"""S3 default encryption: what the bucket's settings say, and a default KMS key that could not be checked."""

from __future__ import annotations

from collections.abc import Iterator

from diagnostics.checks.base import Facts


def check(facts: Facts) -> Iterator[str]:
    snapshot = facts.snapshot
    resource = snapshot.resource
    if resource is None or resource.service != "s3":
        return
    for fact in resource.facts:
        yield fact[:1].upper() + fact[1:] + ("" if fact.endswith(".") else ".")
    # A key that was read is in the checklist ("Resource (KMS)") and, when it blocks, in the explanation.
    if snapshot.kms is None and snapshot.kms_unreadable:
        bucket = resource.arn.rsplit(":", 1)[-1]
        yield (
            f"Bucket {bucket} encrypts new objects with KMS key {resource.default_kms_key} by default, so S3 calls "
            f"KMS as the caller for them; that key could not be checked: {snapshot.kms_unreadable}."
        )
