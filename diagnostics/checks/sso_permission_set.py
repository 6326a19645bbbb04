"""IAM Identity Center roles: their policies come from a permission set, so fixes belong there."""

from __future__ import annotations

from collections.abc import Iterator

from diagnostics.checks.base import Facts


def check(facts: Facts) -> Iterator[str]:
    principal = facts.snapshot.principal
    if principal is None or not principal.sso_permission_set:
        return
    yield (
        f"Role {principal.name} is provisioned by IAM Identity Center from permission set "
        f"{principal.sso_permission_set}: change the permission set (and re-provision it), not the role; "
        "IAM Identity Center overwrites changes made to the role directly."
    )
