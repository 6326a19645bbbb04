"""S3 Block Public Access: the settings, and whether a bucket policy counts as public."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final


@dataclass(frozen=True)
class PublicAccessBlock:
    """The effective (account and bucket combined) S3 Block Public Access settings."""

    block_public_acls: bool = False
    ignore_public_acls: bool = False
    block_public_policy: bool = False
    restrict_public_buckets: bool = False


# Keys that, pinned to fixed values, make a "*" grant non-public (Amazon S3 User Guide, "The meaning of public").
_RESTRICTING_KEYS: Final = frozenset(
    {
        "aws:sourcearn",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceaccount",
        "aws:sourceowner",
        "aws:sourceorgid",
        "aws:principalorgid",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:userid",
        "aws:sourceip",
        "s3:dataaccesspointarn",
        "s3:dataaccesspointaccount",
    }
)
_FIXED_OPERATORS: Final = frozenset({"stringequals", "arnequals", "stringlike", "arnlike", "ipaddress"})
_OPEN_NETWORKS: Final = frozenset({"0.0.0.0/0", "::/0"})


def is_public_policy(document: Mapping[str, Any]) -> bool:
    """True when some Allow statement grants to everyone without pinning a restricting key to fixed values."""
    statements = document.get("Statement", [])
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list):
        return False
    return any(_public_statement(s) for s in statements if isinstance(s, Mapping))


def _public_statement(statement: Mapping[str, Any]) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    if "NotPrincipal" in statement:
        return True
    principal = statement.get("Principal")
    everyone = principal == "*" or (
        isinstance(principal, Mapping)
        and (principal.get("AWS") == "*" or (isinstance(principal.get("AWS"), list) and "*" in principal["AWS"]))
    )
    if not everyone:
        return False
    return not _restricted(statement.get("Condition"))


def _restricted(condition: Any) -> bool:
    if not isinstance(condition, Mapping):
        return False
    for operator, entries in condition.items():
        if not isinstance(operator, str) or ":" in operator or not isinstance(entries, Mapping):
            continue
        # IfExists variants do not restrict: a request without the key still gets in.
        if operator.lower() not in _FIXED_OPERATORS:
            continue
        for key, raw in entries.items():
            if not isinstance(key, str) or key.lower() not in _RESTRICTING_KEYS:
                continue
            values = raw if isinstance(raw, list) else [raw]
            texts = [str(v) for v in values]
            if any("*" in t or "?" in t for t in texts):
                continue
            if key.lower() == "aws:sourceip" and any(t in _OPEN_NETWORKS for t in texts):
                continue
            return True
    return False
