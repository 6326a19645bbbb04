"""Resource policies naming a principal by unique id: the principal was deleted, and recreating it does not help."""

from __future__ import annotations

import re
from collections.abc import Iterator

from diagnostics.checks.base import Facts, principal_values, statements

# IAM unique ids: AIDA (user), AROA (role), ... followed by 16+ upper-case letters and digits.
_UNIQUE_ID = re.compile(r"^A(?:IDA|ROA|GPA|NPA|NVA|PKA|SCA|SIA)[A-Z0-9]{12,}$")


def check(facts: Facts) -> Iterator[str]:
    resource = facts.snapshot.resource
    if resource is None or resource.policy is None:
        return
    ids = sorted(
        {
            value
            for statement in statements(resource.policy.document)
            for value in principal_values(statement)
            if _UNIQUE_ID.match(value)
        }
    )
    if ids:
        yield (
            f"The {resource.label} names {', '.join(ids)} as a principal: AWS shows a principal that way after it was "
            "deleted. A new user or role with the same name is a different principal; put its ARN in the policy again."
        )
