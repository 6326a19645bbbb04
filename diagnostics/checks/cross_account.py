"""Cross-account requests: both the caller's policies and the resource's policy must allow them."""

from __future__ import annotations

from collections.abc import Iterator

from diagnostics.checks.base import Facts


def check(facts: Facts) -> Iterator[str]:
    snapshot = facts.snapshot
    caller, owner = snapshot.principal_account, snapshot.resource_account
    resource = snapshot.resource
    if not caller or not owner or caller == owner or resource is None:
        return
    yield (
        f"The caller (account {caller}) and the resource (account {owner}) are in different accounts: the caller's "
        f"identity-based policy and the {resource.label} must both allow the request."
    )
