"""The investigation entry point: pasted text in, one Diagnosis per denial out (Slack and the CLI both call it)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from diagnostics.explain import explain_scan_offline
from diagnostics.model import Diagnosis, ScanResult
from diagnostics.parse import scan


@dataclass(frozen=True)
class Investigation:
    """Everything found in one piece of text, and the answer for each denial, in the order they appeared."""

    scan: ScanResult
    diagnoses: tuple[Diagnosis, ...]
    duration_ms: float


class Investigator(Protocol):
    async def investigate(self, text: str, *, correlation_id: str | None = None) -> Investigation: ...


class OfflineInvestigator:
    """Answers from the message alone: nothing is read from AWS (`iamwhy explain --offline`)."""

    async def investigate(self, text: str, *, correlation_id: str | None = None) -> Investigation:
        started = time.perf_counter()
        found = scan(text)
        diagnoses = explain_scan_offline(found)
        return Investigation(found, diagnoses, (time.perf_counter() - started) * 1000)
