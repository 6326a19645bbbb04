"""Each scenario's pasted error, investigated live in the sandbox, gets exactly the guide's diagnosis: the expected
blockers and no others, a verdict iamwhy is sure of, a checklist that agrees, and fixes that each work."""

from __future__ import annotations

import pytest

from diagnostics.aws import AwsAdapter
from diagnostics.investigate import LiveInvestigator
from diagnostics.model import Confidence, DenialKind, Diagnosis, LayerStatus
from diagnostics.sandbox import SCENARIOS, Scenario

SURE = (Confidence.VERIFIED, Confidence.EVALUATED)
DENYING = (LayerStatus.EXPLICIT_DENY, LayerStatus.IMPLICIT_DENY)


async def _diagnose(adapter: AwsAdapter, scenario: Scenario) -> Diagnosis:
    investigation = await LiveInvestigator(adapter).investigate(scenario.text)
    (diagnosis,) = investigation.diagnoses
    return diagnosis


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_the_diagnosis_is_exactly_the_seeded_cause(scenario: Scenario, adapter: AwsAdapter) -> None:
    diagnosis = await _diagnose(adapter, scenario)
    expected = scenario.expected

    assert diagnosis.decision is expected.decision
    assert diagnosis.confidence in SURE
    assert [(b.layer, b.kind) for b in diagnosis.blocked_by] == [(b.layer, b.kind) for b in expected.blocked_by]
    for blocker, want in zip(diagnosis.blocked_by, expected.blocked_by, strict=True):
        assert blocker.subject is None
        if want.policy is not None:
            assert blocker.policy == want.policy
        if want.kind is DenialKind.EXPLICIT:
            assert blocker.sid == want.sid
        elif want.sid is not None:
            assert (blocker.sid, blocker.unmet) == (want.sid, "condition")
        else:
            assert blocker.unmet != "condition"
    assert diagnosis.unknown_context_keys == ()
    assert diagnosis.unreadable == ()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_the_checklist_marks_exactly_the_blocking_layers(scenario: Scenario, adapter: AwsAdapter) -> None:
    diagnosis = await _diagnose(adapter, scenario)

    marked = {(v.layer, v.subject) for v in diagnosis.layers if v.status in DENYING}
    assert marked == {(b.layer, b.subject) for b in diagnosis.blocked_by}
    assert [v.layer for v in diagnosis.layers if v.status is LayerStatus.UNREADABLE] == []


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_every_fix_alone_makes_the_request_allowed(scenario: Scenario, adapter: AwsAdapter) -> None:
    diagnosis = await _diagnose(adapter, scenario)

    assert diagnosis.fixes
    assert [(f.resolves, f.still_blocked_by) for f in diagnosis.fixes] == [(True, ())] * len(diagnosis.fixes)
