"""Checks: pure findings about a diagnosed request beyond its verdict, one module each, run from one explicit list.

A check reads the gathered snapshot and the answer and returns plain sentences. A check that raises never
breaks a diagnosis: the runner logs it and reports, as a finding, that the check could not run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from diagnostics.checks import (
    bot_permissions,
    cross_account,
    deleted_principal,
    kms_delegation,
    public_access,
    s3_encryption,
    sso_permission_set,
)
from diagnostics.checks.base import Facts

logger = logging.getLogger("iamwhy.checks")


@dataclass(frozen=True)
class Check:
    id: str
    run: Callable[[Facts], Iterable[str]]


@dataclass(frozen=True)
class Finding:
    check: str
    text: str


CHECKS: tuple[Check, ...] = (
    Check("sso-permission-set", sso_permission_set.check),
    Check("s3-encryption", s3_encryption.check),
    Check("kms-delegation", kms_delegation.check),
    Check("public-access-block", public_access.check),
    Check("deleted-principal", deleted_principal.check),
    Check("cross-account", cross_account.check),
    Check("bot-permissions", bot_permissions.check),
)


def run_checks(facts: Facts, checks: Iterable[Check] = CHECKS) -> tuple[Finding, ...]:
    """Every check's findings, in list order; a check that fails becomes a finding saying so."""
    found: list[Finding] = []
    for check in checks:
        try:
            found.extend(Finding(check.id, text) for text in check.run(facts))
        except Exception:
            logger.exception("check %s failed", check.id)
            found.append(Finding(check.id, f"The {check.id} check could not run (an internal error, logged)."))
    return tuple(found)


__all__ = ["CHECKS", "Check", "Facts", "Finding", "run_checks"]
