"""Prints the conformance table (per requires tag) at the end of the run."""

from __future__ import annotations

from typing import Any

from policy_builders import CONFORMANCE


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not CONFORMANCE:
        return
    tags = sorted({tag for tag, _, _ in CONFORMANCE})
    write = terminalreporter.write_line
    terminalreporter.section("iam-cases conformance (per requires tag)")
    write(f"{'tag':<20} {'passed':>7} {'failed':>7} {'skipped':>8} {'disputed*':>10}")
    for tag in tags:
        counts = {o: CONFORMANCE[(tag, "agreed", o)] for o in ("passed", "failed", "skipped")}
        disputed = sum(CONFORMANCE[(tag, "disputed", o)] for o in ("passed", "failed", "skipped"))
        write(f"{tag:<20} {counts['passed']:>7} {counts['failed']:>7} {counts['skipped']:>8} {disputed:>10}")
    skipped = sorted({tag for tag, _, outcome in CONFORMANCE if outcome == "skipped"})
    write(f"skipped tags: {', '.join(skipped) if skipped else 'none'}")
    write("* disputed: checked against AWS's documented behaviour instead (tests/cases/documented-departures.json)")
