"""The doctor's fixes point at lines that exist: every statement it names grants exactly those actions in deploy/."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from diagnostics.doctor.fixes import TEMPLATE_STATEMENTS, statement_of
from diagnostics.doctor.gather import FULL_AWS_ACCESS
from diagnostics.doctor.probes import PROBES, TOOLBOX
from diagnostics.reader import RoleKind, granted_actions, read_operation
from tests.test_deploy import TEMPLATES, _actions, _statements

CASES = [(name, role, documents) for name, role, documents in TEMPLATES]


def _by_sid(documents: list[Mapping[str, Any]]) -> dict[str, set[str]]:
    return {str(s["Sid"]): set(_actions(s)) for d in documents for s in _statements(d)}


@pytest.mark.parametrize(("name", "role", "documents"), CASES, ids=[f"{n}-{r}" for n, r, _ in CASES])
def test_each_statement_the_fixes_name_grants_exactly_those_actions(
    name: str, role: RoleKind, documents: list[Mapping[str, Any]]
) -> None:
    expected = {sid: set(actions) for sid, actions in TEMPLATE_STATEMENTS[role].items()}
    assert _by_sid(documents) == expected


@pytest.mark.parametrize("role", list(RoleKind))
def test_every_permission_a_deployed_role_needs_has_its_statement(role: RoleKind) -> None:
    assert {a for actions in TEMPLATE_STATEMENTS[role].values() for a in actions} == granted_actions(role)
    assert all(statement_of(role, action) is not None for action in granted_actions(role))


def test_every_probe_is_an_allow_listed_read_the_read_role_is_granted() -> None:
    for probe in (*PROBES, TOOLBOX):
        spec = read_operation(probe.service, probe.operation)
        assert spec is not None, f"{probe.id}: {probe.service} {probe.operation} is not in the read allow-list"
        assert RoleKind.READ in spec.granted_to, f"{probe.id}: the read role is not granted {spec.iam_action}"
    assert len({p.id for p in (*PROBES, TOOLBOX)}) == len(PROBES) + 1


def test_the_probes_cover_every_layer_a_diagnosis_reads_in_an_account() -> None:
    from diagnostics.model import Layer

    covered = {layer for p in PROBES for layer in p.layers}
    # SCPs and RCPs are read by the organizations role; a session policy is never readable.
    assert covered == set(Layer) - {Layer.SCP, Layer.RCP, Layer.SESSION}
    assert FULL_AWS_ACCESS == "p-FullAWSAccess"
