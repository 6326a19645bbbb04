"""Audit records: built from an investigation, written as JSON and read back, times and ages, the printed form."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest

from diagnostics.audit import (
    AuditRecordError,
    audit_entry,
    entry_from_json,
    entry_json,
    format_entries,
    parse_since,
    parse_time,
    read_audit_log,
)
from diagnostics.explain import explain_offline
from diagnostics.investigate import Investigation
from diagnostics.model import Blocker, Decision, DenialKind, Layer
from diagnostics.parse import scan
from diagnostics.reader import CallOutcome, CallRecord
from diagnostics.state import AuditedDiagnosis, AuditEntry, AuditRead

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC).timestamp()
TEXT = (
    "User: arn:aws:iam::222222222222:user/build-bot is not authorized to perform: s3:GetObject on resource: "
    '"arn:aws:s3:::prod-artifacts/release.tar.gz" because no identity-based policy allows the s3:GetObject action'
)


def _entry(**changes: object) -> AuditEntry:
    found = scan(TEXT)
    diagnosis = explain_offline(found.denials[0])
    blockers = (Blocker(Layer.IDENTITY, DenialKind.IMPLICIT), Blocker(Layer.IDENTITY, DenialKind.IMPLICIT))
    diagnosis = dataclasses.replace(diagnosis, blocked_by=blockers)
    reads = (
        CallRecord("sts", "AssumeRole", "222222222222", "us-east-1", CallOutcome.OK, False, 12.0),
        CallRecord("iam", "GetUser", "222222222222", "us-east-1", CallOutcome.OK, False, 5.0),
        CallRecord("s3", "GetBucketPolicy", "333333333333", "us-east-1", CallOutcome.DENIED, True, 0.1),
        CallRecord("organizations", "ListRoots", None, "us-east-1", CallOutcome.NOT_CONFIGURED, False, 0.0),
    )
    values: dict[str, object] = {
        "id": "a1",
        "at": NOW,
        "trigger": "paste",
        "user": "U1",
        "channel": "C1",
        "thread_ts": "1700000000.000100",
        "investigation": Investigation(found, (diagnosis,), 10.0, reads),
        "outcome": "answered",
        "correlation_id": "Ev1",
    }
    values.update(changes)
    return audit_entry(**values)  # type: ignore[arg-type]


def test_an_entry_holds_the_outcome_of_each_diagnosis_and_every_read() -> None:
    entry = _entry()
    assert entry.accounts == ("222222222222", "333333333333")
    assert entry.diagnoses == (
        AuditedDiagnosis(
            "s3:GetObject",
            "arn:aws:iam::222222222222:user/build-bot",
            "arn:aws:s3:::prod-artifacts/release.tar.gz",
            "222222222222",
            str(Decision.IMPLICIT_DENY),
            "reported",
            ("identity",),
        ),
    )
    assert entry.reads[2] == AuditRead("s3", "GetBucketPolicy", "333333333333", "denied", True)
    assert entry.reads[3] == AuditRead("organizations", "ListRoots", None, "not_configured", False)


def test_a_failed_investigation_has_an_empty_entry() -> None:
    entry = _entry(investigation=None, outcome="failed")
    assert (entry.accounts, entry.diagnoses, entry.reads, entry.outcome) == ((), (), (), "failed")


def test_json_round_trip() -> None:
    entry = _entry()
    document = entry_json(entry)
    assert document["at"] == "2026-11-29T12:00:00.000Z"
    assert document["reads"][0] == {
        "service": "sts",
        "operation": "AssumeRole",
        "account": "222222222222",
        "outcome": "ok",
        "cached": False,
    }
    assert entry_from_json(json.loads(json.dumps(document))) == entry


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"id": None}, "has NoneType where text belongs"),
        ({"at": "yesterday"}, "'yesterday' is not a time"),
        ({"diagnoses": "x"}, "has str where a list belongs"),
        ({"reads": [1]}, "has int where an object belongs"),
    ],
)
def test_a_malformed_record_is_named(change: dict[str, object], words: str) -> None:
    with pytest.raises(AuditRecordError, match=words):
        entry_from_json({**entry_json(_entry()), **change})
    document = entry_json(_entry())
    del document["outcome"]
    with pytest.raises(AuditRecordError, match="lacks 'outcome'"):
        entry_from_json(document)


def test_audit_lines_are_found_among_other_log_lines() -> None:
    entry = _entry()
    line = json.dumps({"level": "info", "logger": "iamwhy.audit", "message": "audit", **entry_json(entry)})
    broken = json.dumps({"level": "info", "logger": "iamwhy.audit", "message": "audit", "id": 3})
    lines = [
        "not json at all",
        json.dumps({"level": "info", "logger": "iamwhy.slack", "message": "answered"}),
        line,
        "{truncated",
        broken,
        json.dumps([1, 2]),
    ]
    assert read_audit_log(lines) == ([entry], 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", NOW - 90),
        ("30m", NOW - 1800),
        ("30min", NOW - 1800),
        ("1h", NOW - 3600),
        ("2d", NOW - 2 * 86400),
        ("1w", NOW - 7 * 86400),
        ("2026-11-29T10:00Z", NOW - 7200),
        ("2026-11-29T10:00:00+01:00", NOW - 3 * 3600),
        ("2026-11-29", NOW - 12 * 3600),
    ],
)
def test_since_takes_an_age_or_a_time(text: str, expected: float) -> None:
    assert parse_since(text, NOW) == expected


@pytest.mark.parametrize("text", ["1 fortnight", "-1h", "yesterday", "", "2026-13-01"])
def test_a_bad_since_says_what_it_takes(text: str) -> None:
    with pytest.raises(AuditRecordError, match="give an age"):
        parse_since(text, NOW)


def test_parse_time_reads_what_the_entries_write() -> None:
    assert parse_time("2026-11-29T12:00:00.000Z") == NOW


def test_the_printed_form() -> None:
    assert format_entries([_entry()]) == (
        "2026-11-29T12:00:00.000Z  paste by U1 in C1 (thread 1700000000.000100): answered\n"
        "  id a1 · correlation Ev1\n"
        "  accounts: 222222222222, 333333333333\n"
        "  s3:GetObject for arn:aws:iam::222222222222:user/build-bot: implicit_deny (reported), blocked by identity\n"
        "  AWS reads: 4\n"
        "    sts AssumeRole 222222222222 ok\n"
        "    iam GetUser 222222222222 ok\n"
        "    s3 GetBucketPolicy 333333333333 denied (cached)\n"
        "    organizations ListRoots - not_configured\n"
    )
    assert format_entries([]) == ""
