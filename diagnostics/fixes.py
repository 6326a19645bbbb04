"""Verified fixes: remediation's proposals for the live blockers, each re-evaluated with the change applied.

Every fix is expressed as a change to the gathered policies (or, for a condition, to the request): add an
identity policy, add a statement to the resource policy or the boundary, remove the denying statement, meet
the condition. The change is applied, the request evaluated again under every reading of the unknowns that
is consistent with AWS's denial, and the fix says whether it alone makes the request allowed, or what still
blocks it. Layers iamwhy could not read are taken to allow, so "resolves" means "as far as the read layers show".
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from diagnostics.assess import MAX_COMBINATIONS, UNREAD_PREFIX, replace_request, witnesses
from diagnostics.model import (
    Blocker,
    ConditionCheck,
    ContextValue,
    Decision,
    DenialKind,
    DeniedRequest,
    Fix,
    Layer,
)
from diagnostics.policy import EvalRequest, NamedPolicy, PolicyError, PolicySet, evaluate
from diagnostics.policy.conditions import (
    CompiledCondition,
    ConditionSyntaxError,
    compile_condition_block,
    evaluate_condition,
)
from diagnostics.remediation import (
    OWNER_CALLER,
    REQUEST_KEYS,
    condition_hint,
    conditional_need_note,
    describe_condition,
    fix_for,
    request_action,
    statement_sid,
)

PROPOSED = "proposed fix"


@dataclass(frozen=True)
class Side:
    """One evaluated request to re-check fixes against: the main request, or the KMS call S3 makes for it."""

    requests: tuple[EvalRequest, ...]
    policies: PolicySet
    # The synthetic "this unread layer allows" keys of the policies' stand-ins.
    unread_keys: frozenset[str] = frozenset()


Change = Callable[[PolicySet, EvalRequest, bool], tuple[PolicySet, EvalRequest]]


@dataclass(frozen=True)
class Proposal:
    """A fix and the change that implements it; ``chain`` marks a change to the KMS side."""

    fix: Fix
    change: Change | None
    chain: bool = False


def proposals(
    request: DeniedRequest,
    blockers: Sequence[Blocker],
    *,
    chain_request: DeniedRequest | None = None,
    chain_blockers: Sequence[Blocker] = (),
    kms_statement: Mapping[str, Any] | None = None,
    needs_known: bool = False,
) -> list[Proposal]:
    """One fix per blocker (remediation's builders), plus a "meet the condition" fix where a condition decides.

    ``needs_known``: what the request needs besides its own action (a KMS key for an SSE-KMS object) was read,
    so the fixes drop their "may also need" caveat (the needed statement, if any, is in ``kms_statement``)."""
    out: list[Proposal] = []
    caveat = conditional_need_note(request_action(request) or "") if needs_known else None
    merged = False
    for blocker in blockers:
        fix = fix_for(request, blocker)
        if caveat and caveat in fix.summary:
            fix = replace(fix, summary=fix.summary.replace(f" {caveat}", "").replace(caveat, ""))
        if kms_statement is not None and blocker.layer is Layer.IDENTITY and fix.policy is not None:
            fix = _with_statement(fix, kms_statement)
            merged = True
        meet = _meet_condition(request, blocker)
        pair = [Proposal(fix, _change(blocker, fix))]
        if meet is not None:
            # An organization guardrail is the org admins' to scope; elsewhere the caller usually just meets it.
            pair.insert(0 if blocker.layer not in (Layer.SCP, Layer.RCP) else 1, meet)
        out.extend(pair)
    if chain_request is not None:
        for blocker in chain_blockers:
            if merged and blocker.layer is Layer.IDENTITY and blocker.kind is DenialKind.IMPLICIT:
                # The caller's grant on the key is already the second statement of the identity fix above.
                continue
            fix = fix_for(chain_request, blocker)
            out.append(Proposal(fix, _change(blocker, fix), chain=True))
    return out


def verify(
    proposed: Sequence[Proposal], main: Side, chain: Side | None, *, involved: Iterable[str] = ()
) -> tuple[tuple[Fix, ...], str | None]:
    """Each fix with ``resolves`` and ``still_blocked_by`` set; and a note when only all of them together resolve.

    ``involved``: the context keys the current blockers' conditions name. Every other key whose value is not known
    has nothing to do with what is being fixed: a fix is judged on the values of those keys under which the request
    would go through, and says what it assumed ("the call used HTTPS").

    When the request is already allowed without any change (the read layers cannot explain the denial), a fix
    cannot be judged: it is returned as it is."""
    sides = _judged([main] if chain is None else [main, chain])
    keys = frozenset(k.lower() for k in involved)
    if _apply((), sides, keys).allowed:
        return tuple(p.fix for p in proposed), None
    verified: list[Fix] = []
    for proposal in proposed:
        if proposal.change is None:
            verified.append(proposal.fix)
            continue
        found = _apply((proposal,), sides, keys)
        verified.append(
            replace(
                proposal.fix,
                resolves=found.allowed,
                still_blocked_by=found.still,
                assuming=_assumption(found.assumed) if found.allowed else None,
            )
        )
    note = None
    changes = [p for p in proposed if p.change is not None]
    together = len(changes) > 1 and not any(f.resolves for f in verified)
    if together and _apply(_one_per_blocker(changes), sides, keys).allowed:
        note = "No single change is enough: applied together, the fixes above make the request allowed."
    return tuple(verified), note


def _one_per_blocker(changes: Sequence[Proposal]) -> list[Proposal]:
    # "Meet the condition" and "change the statement" are alternatives for one blocker: keep the first of each.
    seen: set[str] = set()
    kept = []
    for proposal in changes:
        key = proposal.fix.attach_to or proposal.fix.summary
        if key in seen:
            continue
        seen.add(key)
        kept.append(proposal)
    return kept


@dataclass(frozen=True)
class _Outcome:
    """A change judged on every reading: allowed on all of them, or what still blocks it; and what was assumed."""

    allowed: bool
    still: tuple[Layer, ...] = ()
    # (key, value label) for each unrelated unknown key the allowing readings had to assume.
    assumed: tuple[tuple[str, str], ...] = ()


def _apply(proposed: Iterable[Proposal], sides: Sequence[tuple[Side, bool]], involved: frozenset[str]) -> _Outcome:
    still: list[Layer] = []
    assumed: list[tuple[str, str]] = []
    allowed = True
    for side, is_chain in sides:
        for request in side.requests:
            policies = side.policies
            for proposal in proposed:
                assert proposal.change is not None
                if proposal.chain and not is_chain:
                    continue
                policies, request = proposal.change(policies, request, proposal.chain == is_chain)
            try:
                found = _judge(request, policies, involved)
            except PolicyError:
                return _Outcome(False)
            if found.allowed:
                assumed.extend(found.assumed)
            else:
                allowed = False
                still.extend(found.still)
    return _Outcome(allowed, tuple(dict.fromkeys(still)), tuple(dict.fromkeys(assumed)))


def _judge(request: EvalRequest, policies: PolicySet, involved: frozenset[str]) -> _Outcome:
    """One reading of a changed request. Unknown keys that no current blocker names may take the values under
    which it goes through (and are then said to be assumed); those a blocker names stay as the reading has them."""
    result = evaluate(request, policies)
    if result.decision is Decision.ALLOWED:
        return _Outcome(True)
    free = [
        k for k in result.unknown_context_keys if k.lower() not in involved and not k.lower().startswith(UNREAD_PREFIX)
    ]
    if result.decision is not Decision.UNKNOWN or not free:
        return _Outcome(False, result.blocking_layers)
    options = [[(key, witness) for witness in witnesses(key, policies)] for key in free]
    if math.prod(len(values) for values in options) > MAX_COMBINATIONS:
        return _Outcome(False, result.blocking_layers)
    lowered = {k.lower() for k in free}
    blocking: list[set[Layer]] = []
    for combination in itertools.product(*options):
        context = {k: v for k, v in request.context.items() if k.lower() not in lowered}
        context.update({key: value for key, (_, value) in combination if value is not None})
        unknown = frozenset(k for k in request.unknown_keys if k.lower() not in lowered)
        reading = evaluate(replace_request(request, context=context, unknown=unknown), policies)
        if reading.decision is Decision.ALLOWED:
            return _Outcome(True, assumed=tuple((key, label) for key, (label, _) in combination))
        blocking.append(set(reading.blocking_layers))
    # No values of the unrelated keys let it through: what blocks it on every reading really remains.
    remaining = set.intersection(*blocking) if blocking else set()
    return _Outcome(
        False, tuple(layer for layer in result.blocking_layers if layer in remaining) or result.blocking_layers
    )


# What an assumed value means for how the call was made, for the common keys; others are said as key and value.
_ASSUMED: Mapping[tuple[str, str], str] = {
    ("aws:securetransport", "true"): "the call used HTTPS",
    ("aws:securetransport", "false"): "the call used plain HTTP",
    ("aws:multifactorauthpresent", "true"): "the call was signed with MFA",
    ("aws:multifactorauthpresent", "absent"): "the call was made without MFA",
}


def _assumption(assumed: Sequence[tuple[str, str]]) -> str | None:
    """One short clause for what a verdict assumed ("the call used HTTPS and aws:RequestedRegion was "us-east-1")."""
    if not assumed:
        return None
    parts = []
    for key, label in assumed:
        phrase = _ASSUMED.get((key.lower(), label.strip('"')))
        if phrase is None and key.lower() == "aws:requestedregion" and label.startswith('"'):
            phrase = f"the call went to {label.strip(chr(34))}"
        parts.append(phrase or f"{key} was {label}")
    unique = list(dict.fromkeys(parts))
    return unique[0] if len(unique) == 1 else ", ".join(unique[:-1]) + " and " + unique[-1]


def _judged(sides: Sequence[Side]) -> list[tuple[Side, bool]]:
    """The requests fixes are judged on, per side (the second one is the KMS call): each reading of the unknowns
    consistent with AWS's denial, with every unread layer taken to allow unless its refusal is what explains the
    denial in that reading."""
    hopeful = [_hopeful(side) for side in sides]
    if any(_denied(side) for side in hopeful):
        # The layers read explain the denial on their own: unread layers can be taken to allow everywhere.
        return [(side, i > 0) for i, side in enumerate(hopeful)]
    return [(side, i > 0) for i, side in enumerate(sides)]


def _hopeful(side: Side) -> Side:
    out: dict[str, EvalRequest] = {}
    for request in side.requests:
        unread = {k for k in request.unknown_keys if k.lower().startswith(UNREAD_PREFIX)} | side.unread_keys
        if unread:
            context = {**request.context, **dict.fromkeys(unread, "true")}
            request = replace_request(request, context=context, unknown=request.unknown_keys - unread)
        out.setdefault(repr(sorted(request.context.items())), request)
    return replace(side, requests=tuple(out.values()))


def _denied(side: Side) -> bool:
    try:
        return all(evaluate(r, side.policies).decision is not Decision.ALLOWED for r in side.requests)
    except PolicyError:
        return False


# --- changes -------------------------------------------------------------------------------------------------


def _change(blocker: Blocker, fix: Fix) -> Change | None:
    if blocker.kind is DenialKind.EXPLICIT:
        return _without_statement(blocker) if blocker.statement_index is not None and blocker.policy else None
    if blocker.layer is Layer.IDENTITY and blocker.unmet == "condition" and blocker.conditions:
        return _meeting(blocker.conditions, want=True)
    document = fix.policy
    if document is None:
        return None
    statements = _statements_of(document)
    match blocker.layer:
        case Layer.IDENTITY:
            return _adding("identity", statements)
        case Layer.BOUNDARY:
            return _adding("boundary", statements)
        case Layer.SESSION:
            return _adding("session", statements)
        case Layer.SCP:
            return _adding("scp", statements)
        case Layer.VPCE:
            return _adding("vpce", statements)
        case Layer.RESOURCE | Layer.TRUST:
            return _adding("resource", statements)
    return None


def _statements_of(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    if "Statement" in document:
        raw = document["Statement"]
        return [dict(s) for s in (raw if isinstance(raw, list) else [raw])]
    return [dict(document)]


def _adding(layer: str, statements: list[dict[str, Any]]) -> Change:
    principal_side = layer in ("identity", "boundary", "session", "scp")

    def change(policies: PolicySet, request: EvalRequest, own_side: bool) -> tuple[PolicySet, EvalRequest]:
        # Principal-side policies are shared by the main request and the KMS call; resource policies are not.
        if not own_side and not principal_side:
            return policies, request
        document = {"Version": "2012-10-17", "Statement": statements}
        if layer == "identity":
            return replace(policies, identity=(*policies.identity, NamedPolicy(PROPOSED, document))), request
        if layer == "session":
            return replace(policies, session=(*policies.session, NamedPolicy(PROPOSED, document))), request
        if layer == "boundary":
            return replace(policies, boundary=_extended(policies.boundary, statements)), request
        if layer == "vpce":
            return replace(policies, vpce=_extended(policies.vpce, statements)), request
        if layer == "scp":
            levels = tuple((*level, NamedPolicy(PROPOSED, document)) for level in policies.scp_levels)
            return replace(policies, scp_levels=levels), request
        current = policies.resource
        if current is None:
            return replace(policies, resource=NamedPolicy(PROPOSED, document)), request
        merged = dict(current.document)
        merged["Statement"] = [*_statements_of(current.document), *statements]
        return replace(policies, resource=replace(current, document=merged)), request

    return change


def _extended(named: tuple[NamedPolicy, ...], statements: list[dict[str, Any]]) -> tuple[NamedPolicy, ...]:
    if not named:
        return (NamedPolicy(PROPOSED, {"Version": "2012-10-17", "Statement": statements}),)
    first = named[0]
    merged = dict(first.document)
    merged["Statement"] = [*_statements_of(first.document), *statements]
    return (replace(first, document=merged), *named[1:])


def _without_statement(blocker: Blocker) -> Change:
    def drop(named: NamedPolicy) -> NamedPolicy:
        if named.name != blocker.policy:
            return named
        document = copy.deepcopy(dict(named.document))
        statements = _statements_of(document)
        index = blocker.statement_index
        if index is not None and 0 <= index < len(statements):
            statements.pop(index)
        document["Statement"] = statements
        return replace(named, document=document)

    def change(policies: PolicySet, request: EvalRequest, own_side: bool) -> tuple[PolicySet, EvalRequest]:
        layer = blocker.layer
        if layer is Layer.IDENTITY:
            return replace(policies, identity=tuple(map(drop, policies.identity))), request
        if layer is Layer.BOUNDARY:
            return replace(policies, boundary=tuple(map(drop, policies.boundary))), request
        if layer is Layer.SESSION:
            return replace(policies, session=tuple(map(drop, policies.session))), request
        if layer is Layer.VPCE:
            return replace(policies, vpce=tuple(map(drop, policies.vpce))), request
        if layer is Layer.SCP:
            return replace(policies, scp_levels=tuple(tuple(map(drop, lv)) for lv in policies.scp_levels)), request
        if layer is Layer.RCP:
            return replace(policies, rcp_levels=tuple(tuple(map(drop, lv)) for lv in policies.rcp_levels)), request
        if own_side and policies.resource is not None:
            return replace(policies, resource=drop(policies.resource)), request
        return policies, request

    return change


def _meeting(checks: Sequence[ConditionCheck], *, want: bool) -> Change | None:
    """A change to the request: values that make the conditions hold (want=True) or fail (one is enough)."""
    values: dict[str, ContextValue | None] = {}
    for check in checks:
        found = _value_for(check, want)
        if found is None:
            if want:
                return None
            continue
        values[check.key] = found[0]
        if not want:
            break
    if not values:
        return None

    def change(policies: PolicySet, request: EvalRequest, own_side: bool) -> tuple[PolicySet, EvalRequest]:
        lowered = {k.lower() for k in values}
        context = {k: v for k, v in request.context.items() if k.lower() not in lowered}
        context.update({k: v for k, v in values.items() if v is not None})
        unknown = frozenset(k for k in request.unknown_keys if k.lower() not in lowered)
        return policies, replace_request(request, context=context, unknown=unknown)

    return change


def _value_for(check: ConditionCheck, want: bool) -> tuple[ContextValue | None] | None:
    """A request value (inner None: absent) under which the condition evaluates to ``want``; None if none found."""
    try:
        (condition,) = compile_condition_block({check.operator: {check.key: list(check.values)}}, variables=True)
    except (ConditionSyntaxError, ValueError):
        return None
    for candidate in _candidates(condition):
        context: dict[str, ContextValue] = {} if candidate is None else {check.key.lower(): candidate}
        if evaluate_condition(condition, context, frozenset()) is want:
            return (candidate,)
    return None


def _candidates(condition: CompiledCondition) -> list[ContextValue | None]:
    values = [v for v in condition.values if "${" not in v]
    texts: list[str]
    if condition.base == "bool":
        texts = ["true", "false"]
    elif condition.base.startswith(("string", "arn")):
        texts = [v.replace("*", "x").replace("?", "x") for v in values] + ["iamwhy-other-value"]
    elif condition.base == "ipaddress":
        texts = [v.split("/")[0] for v in values] + ["192.0.2.77"]
    else:
        texts = list(values)
    out: list[ContextValue | None] = [(t,) if condition.set_op is not None else t for t in texts]
    return [*out, None]


def _meet_condition(request: DeniedRequest, blocker: Blocker) -> Proposal | None:
    """For an explicit deny that applies only because of how the call was made: make the call differently."""
    if blocker.kind is not DenialKind.EXPLICIT or not blocker.conditions:
        return None
    deciding = [c for c in blocker.conditions if c.key.lower() in REQUEST_KEYS]
    if not deciding or len(deciding) != len(blocker.conditions):
        return None
    change = _meeting(deciding, want=False)
    if change is None:
        return None
    action = request_action(request) or "the action"
    where = blocker.policy or "a policy"
    where = where[:1].upper() + where[1:]
    sid = f" (statement {blocker.sid})" if blocker.sid else ""
    when = "; ".join(describe_condition(c) for c in deciding)
    hints = [f"{c.key}: {hint}." for c in deciding if (hint := condition_hint(c.key))]
    summary = " ".join(
        [
            f"{where}{sid} denies {action} only when {when}.",
            "That statement is a deliberate control: make the call so it does not apply rather than weakening it.",
            *hints,
        ]
    )
    return Proposal(Fix(summary=summary, owner=OWNER_CALLER), change)


def _with_statement(fix: Fix, statement: Mapping[str, Any]) -> Fix:
    assert fix.policy is not None
    document = dict(fix.policy)
    document["Statement"] = [*_statements_of(fix.policy), dict(statement)]
    action = statement.get("Action")
    return replace(
        fix,
        policy=document,
        summary=f"{fix.summary} The second statement grants {action} on the object's KMS key, which S3 uses as "
        "the caller to encrypt or decrypt it.",
    )


def kms_statement(action: str, key_arn: str) -> dict[str, Any]:
    """The identity statement an SSE-KMS object also needs: the KMS action on the bucket's key."""
    return {"Sid": statement_sid("Allow", action), "Effect": "Allow", "Action": action, "Resource": key_arn}
