"""Runs the independent iam-cases conformance suite (beside the repository in CI) through the evaluator."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from policy_builders import CONFORMANCE

from diagnostics.model import Decision, LayerStatus
from diagnostics.policy import Case, evaluate, load_cases

ROOT = Path(__file__).resolve().parents[3]
# The suite sits beside the repository (../shared/iam-cases); IAMWHY_IAM_CASES points elsewhere for checkouts
# that live in another layout.
SUITE = Path(os.environ.get("IAMWHY_IAM_CASES") or ROOT.parent / "shared" / "iam-cases")
OWN_CASES = ROOT / "tests" / "cases"

if not SUITE.is_dir():
    pytest.skip(
        f"conformance suite not found at {SUITE} (it sits beside the repository in CI)", allow_module_level=True
    )

# Every capability tag of the suite that the evaluator implements; a case needing any other tag is skipped.
SUPPORTED_TAGS = frozenset(
    {
        "core",
        "condition-operator",
        "resource-matching",
        "kms",
        "sts-trust",
        "vpce",
        "s3-bpa",
        "iam-reserved",
        "s3-abac",
        "action-metadata",
    }
)


def _cases() -> list[Case]:
    cases: list[Case] = []
    for path in sorted(SUITE.glob("*.json")):
        cases.extend(load_cases(path))
    return cases


CASES = _cases()


def _record(case: Case, outcome: str) -> None:
    for tag in case.requires:
        CONFORMANCE[(tag, case.status or "agreed", outcome)] += 1


def _departures() -> dict[str, str]:
    """Disputed suite case id -> the own case that tests AWS's documented behaviour instead."""
    found: dict[str, str] = {}
    for path in sorted(OWN_CASES.glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8")):
            note = case.get("note", "")
            for word in note.replace(".", " ").split():
                if word.startswith("iamsim/"):
                    found[word] = case["id"]
    return found


def test_suite_is_complete() -> None:
    assert len(CASES) >= 400, f"expected several hundred cases in {SUITE}, found {len(CASES)}"


@pytest.mark.parametrize("case", [c for c in CASES if c.status != "disputed"], ids=lambda c: c.label)
def test_agreed_case(case: Case) -> None:
    missing = sorted(set(case.requires) - SUPPORTED_TAGS)
    if missing:
        _record(case, "skipped")
        pytest.skip(f"needs unsupported capability: {', '.join(missing)}")
    assert case.expected is not None
    result = evaluate(case.request, case.policies)
    passed = result.decision is case.expected.decision and (
        case.expected.blocked_by is None or set(result.blocking_layers) == set(case.expected.blocked_by)
    )
    _record(case, "passed" if passed else "failed")
    assert result.decision is case.expected.decision, case.name
    if case.expected.blocked_by is not None:
        assert set(result.blocking_layers) == set(case.expected.blocked_by), case.name


@pytest.mark.parametrize("case", [c for c in CASES if c.status == "disputed"], ids=lambda c: c.label)
def test_disputed_case_follows_aws_documentation(case: Case) -> None:
    # The suite's expectation contradicts AWS documentation: the evaluator must disagree with it, and an own
    # case must pin the documented behaviour (its note cites the document and names the disputed case).
    assert case.expected is not None
    departures = _departures()
    assert case.label in departures, f"no own case documents the departure from {case.label}"
    result = evaluate(case.request, case.policies)
    _record(case, "passed" if result.decision is not case.expected.decision else "failed")
    assert result.decision is not case.expected.decision


def test_the_checklist_marks_exactly_the_blocking_layers() -> None:
    # Every case of the suite and of tests/cases: a row reads as denying if and only if its layer blocks.
    own = [case for path in sorted(OWN_CASES.glob("*.json")) for case in load_cases(path)]
    denying = {LayerStatus.EXPLICIT_DENY, LayerStatus.IMPLICIT_DENY}
    checked = 0
    for case in (*CASES, *own):
        result = evaluate(case.request, case.policies)
        if result.decision is Decision.UNKNOWN:
            continue
        rows = {v.layer for v in result.layers if v.status in denying}
        assert rows == set(result.blocking_layers), case.label
        checked += 1
    assert checked >= 400
