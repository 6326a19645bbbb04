"""sts:AssumeRole* on an ARN that is not a role's: the call itself is wrong, whatever the policies say."""

from __future__ import annotations

from collections.abc import Iterator

from diagnostics.checks.base import Facts
from diagnostics.remediation import not_a_role, not_a_role_note


def check(facts: Facts) -> Iterator[str]:
    what = not_a_role(facts.request)
    if what is not None:
        yield not_a_role_note(facts.request, what)
