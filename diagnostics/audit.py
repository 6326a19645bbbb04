"""The audit trail's records: built from an investigation, written as JSON, read back, and printed by `iamwhy audit`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from diagnostics.investigate import Investigation
from diagnostics.model import Diagnosis
from diagnostics.reader import CallRecord
from diagnostics.state import AuditedDiagnosis, AuditEntry, AuditRead

# The logger whose lines are the durable audit trail, and the message each of its lines carries.
AUDIT_LOGGER = "iamwhy.audit"
AUDIT_MESSAGE = "audit"

_AGO = re.compile(r"^(?P<n>\d{1,6})\s*(?P<unit>s|m|min|h|d|w)$")
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class AuditRecordError(ValueError):
    """A stored or logged audit record that cannot be read back."""


def audit_entry(
    *,
    id: str,
    at: float,
    trigger: str,
    user: str | None,
    channel: str | None,
    thread_ts: str | None,
    investigation: Investigation | None,
    outcome: str,
    correlation_id: str | None,
) -> AuditEntry:
    """The record of one investigation (None when it failed before producing anything)."""
    diagnoses = investigation.diagnoses if investigation is not None else ()
    reads = investigation.reads if investigation is not None else ()
    accounts = {a for a in (_account(d) for d in diagnoses) if a}
    accounts.update(r.account for r in reads if r.account)
    return AuditEntry(
        id=id,
        at=at,
        trigger=trigger,
        user=user,
        channel=channel,
        thread_ts=thread_ts,
        accounts=tuple(sorted(accounts)),
        diagnoses=tuple(_audited(d) for d in diagnoses),
        reads=tuple(_read(r) for r in reads),
        outcome=outcome,
        correlation_id=correlation_id,
    )


def _account(diagnosis: Diagnosis) -> str | None:
    request = diagnosis.request
    principal = request.principal
    return request.account_id or (principal.account_id if principal is not None else None)


def _audited(diagnosis: Diagnosis) -> AuditedDiagnosis:
    request = diagnosis.request
    return AuditedDiagnosis(
        action=request.action,
        principal_arn=request.principal_arn,
        resource_arn=request.resource_arn,
        account_id=_account(diagnosis),
        decision=str(diagnosis.decision),
        confidence=str(diagnosis.confidence),
        blocked_by=tuple(dict.fromkeys(str(b.layer) for b in diagnosis.blocked_by)),
    )


def _read(record: CallRecord) -> AuditRead:
    return AuditRead(record.service, record.operation, record.account, str(record.outcome), record.cached)


# ---------------------------------------------------------------------------------------------------------------
# JSON


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": _iso(entry.at),
        "trigger": entry.trigger,
        "user": entry.user,
        "channel": entry.channel,
        "thread_ts": entry.thread_ts,
        "accounts": list(entry.accounts),
        "diagnoses": [
            {
                "action": d.action,
                "principal_arn": d.principal_arn,
                "resource_arn": d.resource_arn,
                "account_id": d.account_id,
                "decision": d.decision,
                "confidence": d.confidence,
                "blocked_by": list(d.blocked_by),
            }
            for d in entry.diagnoses
        ],
        "reads": [
            {
                "service": r.service,
                "operation": r.operation,
                "account": r.account,
                "outcome": r.outcome,
                "cached": r.cached,
            }
            for r in entry.reads
        ],
        "outcome": entry.outcome,
        "correlation_id": entry.correlation_id,
    }


def entry_from_json(data: Mapping[str, Any]) -> AuditEntry:
    """The entry `entry_json` wrote; AuditRecordError names what is missing or malformed."""
    try:
        return AuditEntry(
            id=_text(data["id"]),
            at=parse_time(_text(data["at"])),
            trigger=_text(data["trigger"]),
            user=_optional(data.get("user")),
            channel=_optional(data.get("channel")),
            thread_ts=_optional(data.get("thread_ts")),
            accounts=tuple(_text(a) for a in _list(data.get("accounts"))),
            diagnoses=tuple(
                AuditedDiagnosis(
                    action=_optional(d.get("action")),
                    principal_arn=_optional(d.get("principal_arn")),
                    resource_arn=_optional(d.get("resource_arn")),
                    account_id=_optional(d.get("account_id")),
                    decision=_text(d["decision"]),
                    confidence=_text(d["confidence"]),
                    blocked_by=tuple(_text(b) for b in _list(d.get("blocked_by"))),
                )
                for d in (_mapping(x) for x in _list(data.get("diagnoses")))
            ),
            reads=tuple(
                AuditRead(
                    service=_text(r["service"]),
                    operation=_text(r["operation"]),
                    account=_optional(r.get("account")),
                    outcome=_text(r["outcome"]),
                    cached=bool(r.get("cached")),
                )
                for r in (_mapping(x) for x in _list(data.get("reads")))
            ),
            outcome=_text(data["outcome"]),
            correlation_id=_optional(data.get("correlation_id")),
        )
    except KeyError as exc:
        raise AuditRecordError(f"an audit record lacks {exc.args[0]!r}") from None


def read_audit_log(lines: Iterable[str]) -> tuple[list[AuditEntry], int]:
    """The audit records among JSON log lines (every other line is passed over), and how many audit lines could
    not be read back."""
    entries: list[AuditEntry] = []
    skipped = 0
    for line in lines:
        text = line.strip()
        if not text.startswith("{"):
            continue
        try:
            data = json.loads(text)
        except ValueError:
            continue
        if not isinstance(data, dict) or data.get("logger") != AUDIT_LOGGER or data.get("message") != AUDIT_MESSAGE:
            continue
        try:
            entries.append(entry_from_json(data))
        except AuditRecordError:
            skipped += 1
    return entries, skipped


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise AuditRecordError(f"an audit record has {type(value).__name__} where text belongs")
    return value


def _optional(value: Any) -> str | None:
    return None if value is None else _text(value)


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise AuditRecordError(f"an audit record has {type(value).__name__} where a list belongs")
    return value


def _mapping(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise AuditRecordError(f"an audit record has {type(value).__name__} where an object belongs")
    return value


# ---------------------------------------------------------------------------------------------------------------
# Time


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> float:
    """An ISO 8601 time (2026-11-29T10:00Z, ...:00+01:00, or a bare date, UTC unless it says otherwise)."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise AuditRecordError(f"{text!r} is not a time like 2026-11-29T10:00Z") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def parse_since(text: str, now: float) -> float:
    """`--since`: an age (90s, 30m, 1h, 2d, 1w) or a time (2026-11-29T10:00Z); the epoch seconds it starts at."""
    ago = _AGO.match(text.strip().lower())
    if ago is not None:
        return now - int(ago.group("n")) * _UNITS[ago.group("unit")]
    try:
        return parse_time(text)
    except AuditRecordError:
        raise AuditRecordError(f"--since {text!r}: give an age (30m, 1h, 2d) or a time (2026-11-29T10:00Z)") from None


# ---------------------------------------------------------------------------------------------------------------
# Text


def format_entries(entries: Iterable[AuditEntry]) -> str:
    """One block per entry, newest first as given: when, who, where, what came out, and every AWS read."""
    blocks = [_format(entry) for entry in entries]
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def _format(entry: AuditEntry) -> str:
    where = f"in {entry.channel}" if entry.channel else "privately"
    if entry.thread_ts:
        where += f" (thread {entry.thread_ts})"
    who = entry.user or "a bot or integration"
    accounts = ", ".join(entry.accounts) or "none"
    lines = [
        f"{_iso(entry.at)}  {entry.trigger} by {who} {where}: {entry.outcome}",
        f"  id {entry.id}" + (f" · correlation {entry.correlation_id}" if entry.correlation_id else ""),
        f"  accounts: {accounts}",
    ]
    for d in entry.diagnoses:
        blocked = f", blocked by {', '.join(d.blocked_by)}" if d.blocked_by else ""
        lines.append(
            f"  {d.action or 'an action'} for {d.principal_arn or 'an unnamed caller'}: "
            f"{d.decision} ({d.confidence}){blocked}"
        )
    lines.append(f"  AWS reads: {len(entry.reads)}")
    lines.extend(
        f"    {r.service} {r.operation} {r.account or '-'} {r.outcome}{' (cached)' if r.cached else ''}"
        for r in entry.reads
    )
    return "\n".join(lines)
