"""Runs the doc-derived case files in tests/cases: decisions, blocking layers, Sid-level deciding statements."""

from __future__ import annotations

from pathlib import Path

import pytest

from diagnostics.policy import Case, evaluate, load_cases

CASES_DIR = Path(__file__).resolve().parents[2] / "cases"
CASES = [case for path in sorted(CASES_DIR.glob("*.json")) for case in load_cases(path)]


def test_there_are_enough_doc_derived_cases() -> None:
    assert len(CASES) >= 40
    assert len({c.label for c in CASES}) == len(CASES), "case ids must be unique"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.label)
def test_case(case: Case) -> None:
    assert case.note, "every own case cites the AWS documentation it comes from"
    assert case.expected is not None
    result = evaluate(case.request, case.policies)
    assert result.decision is case.expected.decision
    if case.expected.blocked_by is not None:
        assert set(result.blocking_layers) == set(case.expected.blocked_by)
    if case.expected.statements is not None:
        got = {(s.layer, s.policy, s.sid, s.effect) for s in result.statements}
        want = {(s.layer, s.policy, s.sid, s.effect) for s in case.expected.statements}
        assert got == want
    if case.expected.unknown_context_keys is not None:
        assert list(result.unknown_context_keys) == list(case.expected.unknown_context_keys)
