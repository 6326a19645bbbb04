"""The doctor's result model (one line per thing tried) and its two plain renderings: terminal text and JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from diagnostics.model import Confidence, Layer


class Status(StrEnum):
    """How one line of the checklist came out."""

    OK = "ok"
    # Something iamwhy needs does not work: the doctor exits non-zero.
    FAILED = "failed"
    # Works, but answers will be weaker than they could be (a layer unreadable, verified answers unavailable).
    WARNING = "warning"
    # Not tried: it does not apply here, or something it depends on failed first.
    SKIPPED = "skipped"


MARKS: Mapping[Status, str] = {Status.OK: "✓", Status.FAILED: "✗", Status.WARNING: "!", Status.SKIPPED: "–"}


@dataclass(frozen=True)
class Line:
    """One thing the doctor tried, how it came out and, when it did not work, the exact fix."""

    # The kind of check, stable and documented ("aws.read.kms"); `subject` says what it was tried on.
    id: str
    group: str
    title: str
    status: Status
    tried: str
    result: str
    fix: str | None = None
    subject: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in (Status.OK, Status.SKIPPED)


@dataclass(frozen=True)
class LayerGap:
    """A layer diagnoses of an account will report unreadable, and why."""

    layer: Layer
    why: str


@dataclass(frozen=True)
class AccountOutlook:
    """What diagnoses about one account will be able to say, given what works."""

    account: str
    # The best confidence a diagnosis can reach without IAM Access Troubleshooter's record.
    confidence: Confidence
    # True when errors carrying an authorization id can be answered `verified`.
    verified: bool
    unreadable: tuple[LayerGap, ...]
    summary: str


@dataclass(frozen=True)
class DoctorReport:
    lines: tuple[Line, ...]
    outlook: tuple[AccountOutlook, ...] = ()
    # Seconds since the epoch when the checks ran, and how long they took.
    checked_at: float = 0.0
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        """True when everything iamwhy needs works (warnings allowed)."""
        return not any(line.status is Status.FAILED for line in self.lines)

    def count(self, status: Status) -> int:
        return sum(1 for line in self.lines if line.status is status)

    def headline(self) -> str:
        failed, warnings = self.count(Status.FAILED), self.count(Status.WARNING)
        if not failed and not warnings:
            return "everything iamwhy needs works"
        parts = []
        if failed:
            parts.append(f"{failed} problem{'s' if failed != 1 else ''}")
        if warnings:
            parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
        verdict = "" if failed else " (everything needed works)"
        return " and ".join(parts) + verdict


def report_json(report: DoctorReport) -> dict[str, Any]:
    """The `iamwhy doctor --json` document: fields that do not apply are null, never missing."""
    return {
        "ok": report.ok,
        "counts": {str(s): report.count(s) for s in Status},
        "checked_at": report.checked_at,
        "duration_ms": report.duration_ms,
        "lines": [
            {
                "id": line.id,
                "subject": line.subject,
                "group": line.group,
                "title": line.title,
                "status": str(line.status),
                "ok": line.ok,
                "tried": line.tried,
                "result": line.result,
                "fix": line.fix,
                "details": dict(line.details),
            }
            for line in report.lines
        ],
        "accounts": [
            {
                "account": o.account,
                "confidence": str(o.confidence),
                "verified": o.verified,
                "unreadable": [{"layer": str(g.layer), "why": g.why} for g in o.unreadable],
                "summary": o.summary,
            }
            for o in report.outlook
        ],
    }


_COLORS: Mapping[Status, str] = {Status.OK: "32", Status.FAILED: "31", Status.WARNING: "33", Status.SKIPPED: "2"}


def render_text(report: DoctorReport, *, color: bool = False) -> str:
    """The checklist for a terminal: groups in order, one line per check, the fix indented under every ✗ and !."""

    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if color else text

    out: list[str] = []
    group: str | None = None
    for line in report.lines:
        if line.group != group:
            if out:
                out.append("")
            group = line.group
            out.append(paint(group, "1"))
        mark = paint(MARKS[line.status], _COLORS[line.status])
        out.append(f"  {mark} {line.title}: {line.result}")
        out.append(paint(f"      tried: {line.tried}", "2"))
        if line.fix and line.status in (Status.FAILED, Status.WARNING):
            fix_lines = line.fix.splitlines() or [""]
            out.append(f"      fix: {fix_lines[0]}")
            out.extend(f"        {rest}" if rest else "" for rest in fix_lines[1:])
    if report.outlook:
        out.append("")
        out.append(paint("What diagnoses will say", "1"))
        out.extend(f"  {o.summary}" for o in report.outlook)
    out.append("")
    verdict = report.headline()
    out.append(paint(f"iamwhy doctor: {verdict}", "32" if report.ok else "31"))
    return "\n".join(out) + "\n"
