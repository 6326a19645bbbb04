"""The AWS side of the doctor: pure checks over what was read, one module each, run from one explicit list.

A check that raises never ends the doctor: it becomes a ✗ line carrying a reference that is logged with the
traceback.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from diagnostics.doctor.checks import identity, organization, reads, roles
from diagnostics.doctor.facts import DoctorFacts
from diagnostics.doctor.report import Line, Status

logger = logging.getLogger("iamwhy.doctor")


@dataclass(frozen=True)
class Check:
    id: str
    run: Callable[[DoctorFacts], Iterable[Line]]


CHECKS: tuple[Check, ...] = (
    Check("identity", identity.check),
    Check("roles", roles.check),
    Check("reads", reads.check),
    Check("organization", organization.check),
)


def run_checks(facts: DoctorFacts, checks: Iterable[Check] = CHECKS) -> tuple[Line, ...]:
    lines: list[Line] = []
    for check in checks:
        try:
            lines.extend(check.run(facts))
        except Exception:
            ref = uuid.uuid4().hex[:8]
            logger.exception("doctor check %s failed ref=%s", check.id, ref)
            lines.append(
                Line(
                    "check",
                    "AWS",
                    f"The {check.id} check",
                    Status.FAILED,
                    f"the {check.id} check over what was read from AWS",
                    f"could not run: an internal error (reference {ref})",
                    f"The log line with reference {ref} has the details; the other lines still stand.",
                    subject=check.id,
                )
            )
    return tuple(lines)


__all__ = ["CHECKS", "Check", "run_checks"]
