"""Loads the message fixture table and turns parser output into the same plain records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from diagnostics.model import DeniedRequest, ScanResult

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "messages"

# Every field a fixture row's expectation can name, with the value it has when the row leaves it out.
DENIAL_DEFAULTS: dict[str, Any] = {
    "principal_arn": None,
    "principal_type": None,
    "role_arn": None,
    "sso_permission_set": None,
    "action": None,
    "resource_arn": None,
    "account_id": None,
    "api_operation": None,
    "region": None,
    "reported": {"layer": None, "kind": None, "policy_arn": None, "phrase": None},
    "authorization_id": None,
    "authorization_region": None,
    "encoded_message": None,
    "error_code": None,
    "source_format": None,
    "context": {},
    "warnings": [],
}


def denial_record(denial: DeniedRequest) -> dict[str, Any]:
    """Every field of a parsed denial (bar the snippet, checked on its own) as plain JSON values."""
    principal = denial.principal
    return {
        "principal_arn": principal.arn if principal else None,
        "principal_type": str(principal.type) if principal else None,
        "role_arn": principal.role_arn if principal else None,
        "sso_permission_set": principal.sso_permission_set if principal else None,
        "action": denial.action,
        "resource_arn": denial.resource_arn,
        "account_id": denial.account_id,
        "api_operation": denial.api_operation,
        "region": denial.region,
        "reported": {
            "layer": denial.reported.layer and str(denial.reported.layer),
            "kind": denial.reported.kind and str(denial.reported.kind),
            "policy_arn": denial.reported.policy_arn,
            "phrase": denial.reported.phrase,
        },
        "authorization_id": denial.authorization_id,
        "authorization_region": denial.authorization_region,
        "encoded_message": denial.encoded_message,
        "error_code": denial.error_code,
        "source_format": denial.source_format,
        "context": {key: list(value) if isinstance(value, tuple) else value for key, value in denial.context.items()},
        "warnings": list(denial.warnings),
    }


def scan_record(result: ScanResult) -> dict[str, Any]:
    return {
        "denials": [denial_record(d) for d in result.denials],
        "other_errors": [other.code for other in result.other_errors],
        "secrets_found": result.secrets_found,
    }


def expected_record(expected: dict[str, Any]) -> dict[str, Any]:
    """A row's expectation with every field it leaves out filled with that field's default."""
    denials = []
    for denial in expected.get("denials", []):
        unknown = set(denial) - set(DENIAL_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown fields in a fixture expectation: {sorted(unknown)}")
        full = {**DENIAL_DEFAULTS, **denial}
        full["reported"] = {**DENIAL_DEFAULTS["reported"], **denial.get("reported", {})}
        denials.append(full)
    return {
        "denials": denials,
        "other_errors": expected.get("other_errors", []),
        "secrets_found": expected.get("secrets_found", False),
    }


def compact(record: dict[str, Any]) -> dict[str, Any]:
    """The record with default-valued fields left out: the form fixture rows are written in."""
    out: dict[str, Any] = {}
    denials = []
    for denial in record["denials"]:
        row = {k: v for k, v in denial.items() if k != "reported" and v != DENIAL_DEFAULTS[k]}
        reported = {k: v for k, v in denial["reported"].items() if v is not None}
        if reported:
            row["reported"] = reported
        denials.append(row)
    out["denials"] = denials
    if record["other_errors"]:
        out["other_errors"] = record["other_errors"]
    if record["secrets_found"]:
        out["secrets_found"] = True
    return out


def rows() -> list[tuple[str, dict[str, Any]]]:
    """Every fixture row, as (file:name, row)."""
    found = []
    for path in sorted(FIXTURES.glob("*.json")):
        for row in json.loads(path.read_text(encoding="utf-8")):
            found.append((f"{path.stem}:{row['name']}", row))
    return found
