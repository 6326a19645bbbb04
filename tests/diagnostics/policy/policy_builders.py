"""Small builders for policy documents and requests used across the evaluator tests."""

from __future__ import annotations

from collections import Counter
from typing import Any

from diagnostics.arn import parse_principal
from diagnostics.policy import EvalRequest, NamedPolicy

# (tag, status, outcome) -> count, filled by the conformance test and printed by conftest.py.
CONFORMANCE: Counter[tuple[str, str, str]] = Counter()


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str | list[str] = "*", resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str | list[str] = "*", resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def policy(name: str, *statements: dict[str, Any]) -> NamedPolicy:
    return NamedPolicy(name, doc(*statements))


def request(
    principal: str = "arn:aws:iam::111122223333:user/alice",
    action: str = "s3:GetObject",
    resource: str = "arn:aws:s3:::bucket/key",
    account: str | None = "111122223333",
    context: dict[str, Any] | None = None,
    unknown: tuple[str, ...] = (),
    **extra: Any,
) -> EvalRequest:
    return EvalRequest(
        parse_principal(principal), action, resource, account, context or {}, frozenset(unknown), **extra
    )
