"""S3 Block Public Access: public bucket policies that AWS ignores for callers outside the bucket's account."""

from __future__ import annotations

from collections.abc import Iterator

from diagnostics.checks.base import Facts
from diagnostics.policy.s3 import is_public_policy


def check(facts: Facts) -> Iterator[str]:
    resource = facts.snapshot.resource
    if resource is None or resource.service != "s3" or resource.public_access_block is None:
        return
    block = resource.public_access_block
    if block.restrict_public_buckets and resource.policy is not None and is_public_policy(resource.policy.document):
        yield (
            f"S3 Block Public Access (RestrictPublicBuckets) is on for bucket {resource.arn.rsplit(':', 1)[-1]}, and "
            "its policy grants access to everyone: AWS honours that grant only for principals of the bucket owner's "
            "account and AWS services."
        )
