"""Each scenario, evaluated from what the adapter reads in the sandbox, reaches the guide's verdict, and only by it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest

from diagnostics.aws import AwsAdapter
from diagnostics.model import Decision, DenialKind, Layer
from diagnostics.parse import scan
from diagnostics.policy import EvalRequest, NamedPolicy, PolicySet, evaluate
from diagnostics.sandbox import SCENARIOS, ExpectedBlocker, Scenario
from diagnostics.sandbox.world import WORKLOAD_ACCOUNT
from tests.diagnostics.sandbox.policy_reads import gather

BY_NAME = {s.name: s for s in SCENARIOS}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_the_seed_reproduces_the_scenario(scenario: Scenario, adapter: AwsAdapter) -> None:
    request, policies = await gather(adapter, scenario.request)

    result = evaluate(request, policies)

    assert result.decision is scenario.expected.decision
    assert result.blocking_layers == scenario.expected.layers
    for blocker, expected in zip(result.blocked_by, scenario.expected.blocked_by, strict=True):
        assert blocker.kind is expected.kind
        if expected.policy is not None:
            assert blocker.policy == expected.policy
        if expected.kind is DenialKind.EXPLICIT:
            assert blocker.sid == expected.sid
        elif expected.sid is not None:
            # An Allow that covers the request but for a condition.
            assert (blocker.sid, blocker.unmet) == (expected.sid, "condition")
        else:
            # No Allow covers the request at all: the closest one misses on something other than a condition.
            assert blocker.unmet != "condition"
    assert result.unknown_context_keys == ()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_the_expected_blockers_are_the_whole_cause(scenario: Scenario, adapter: AwsAdapter) -> None:
    # Counterfactual: lift exactly the expected blockers (drop the denying statement, or add the missing Allow)
    # and the request goes through. Anything else in the seed that also blocked it would keep it denied.
    request, policies = await gather(adapter, scenario.request)
    for blocker in scenario.expected.blocked_by:
        policies = _lift(policies, blocker, request)

    assert evaluate(request, policies).decision is Decision.ALLOWED


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_the_pasted_error_is_what_aws_says_about_that_request(scenario: Scenario) -> None:
    found = scan(scenario.text)

    assert len(found.denials) == 1
    assert found.other_errors == ()
    assert not found.secrets_found
    denial = found.denials[0]
    truth = scenario.request
    assert (denial.principal_arn, denial.action, denial.resource_arn) == (
        truth.principal,
        truth.action,
        truth.resource,
    )
    assert denial.account_id == WORKLOAD_ACCOUNT
    # AWS's reason phrase names the first blocking layer of the truth.
    first = scenario.expected.blocked_by[0]
    assert (denial.reported.layer, denial.reported.kind) == (first.layer, first.kind)


def test_the_scenarios_are_seed_md_in_order_with_varied_wrappers() -> None:
    assert [s.name for s in SCENARIOS] == [
        "missing-grant",
        "explicit-deny",
        "scp-region",
        "permissions-boundary",
        "bucket-policy-tls",
        "mfa-condition",
        "kms-key-policy",
    ]
    formats = {scan(s.text).denials[0].source_format for s in SCENARIOS}
    assert {"cli", "go-sdk", "js-sdk", "s3-xml"} <= formats
    assert {layer for s in SCENARIOS for layer in s.expected.layers} == {
        Layer.IDENTITY,
        Layer.SCP,
        Layer.BOUNDARY,
        Layer.RESOURCE,
    }


def test_the_kms_scenario_is_the_s3_kms_chain() -> None:
    denial = scan(BY_NAME["kms-key-policy"].text).denials[0]
    assert (denial.api_operation, denial.action) == ("GetObject", "kms:Decrypt")


# ------------------------------------------------------------------------------------------------- helpers


def _lift(policies: PolicySet, blocker: ExpectedBlocker, request: EvalRequest) -> PolicySet:
    if blocker.kind is DenialKind.EXPLICIT:
        return _without_sid(policies, blocker.layer, blocker.sid)
    grant: dict[str, Any] = {"Effect": "Allow", "Action": request.action, "Resource": request.resource}
    if blocker.layer is Layer.IDENTITY:
        return replace(policies, identity=(*policies.identity, NamedPolicy("lifted", _document(grant))))
    if blocker.layer is Layer.BOUNDARY:
        return replace(policies, boundary=(*policies.boundary, NamedPolicy("lifted", _document(grant))))
    if blocker.layer is Layer.RESOURCE:
        assert policies.resource is not None
        grant["Principal"] = {"AWS": request.principal.role_arn or request.principal.arn}
        document = {**policies.resource.document, "Statement": [*_statements(policies.resource.document), grant]}
        return replace(policies, resource=replace(policies.resource, document=document))
    raise AssertionError(f"no counterfactual for an implicit deny in {blocker.layer}")


def _without_sid(policies: PolicySet, layer: Layer, sid: str | None) -> PolicySet:
    removed = 0

    def strip(named: NamedPolicy) -> NamedPolicy:
        nonlocal removed
        statements = _statements(named.document)
        kept = [s for s in statements if s.get("Sid") != sid]
        removed += len(statements) - len(kept)
        return replace(named, document={**named.document, "Statement": kept})

    if layer is Layer.IDENTITY:
        lifted = replace(policies, identity=tuple(map(strip, policies.identity)))
    elif layer is Layer.SCP:
        lifted = replace(policies, scp_levels=tuple(tuple(map(strip, level)) for level in policies.scp_levels))
    elif layer is Layer.RESOURCE and policies.resource is not None:
        lifted = replace(policies, resource=strip(policies.resource))
    else:
        raise AssertionError(f"no counterfactual for an explicit deny in {layer}")
    assert removed, f"no statement {sid} in the {layer} layer"
    return lifted


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document["Statement"]
    return list(statements) if isinstance(statements, list) else [statements]


def _document(statement: Mapping[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [statement]}
