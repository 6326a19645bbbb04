"""iamwhy's own read-only roles lacking a permission: which reads failed, so the answer can be made complete."""

from __future__ import annotations

from collections.abc import Iterator

from diagnostics.checks.base import Facts


def check(facts: Facts) -> Iterator[str]:
    denied = facts.snapshot.denied_permissions
    if not denied:
        return
    yield (
        f"iamwhy's read-only roles were denied {', '.join(denied)}: grant {'it' if len(denied) == 1 else 'them'} "
        "(the deploy/ templates list every permission iamwhy uses) and the missing layers will be read next time."
    )
