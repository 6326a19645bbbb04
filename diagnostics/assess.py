"""Local evaluation of what was gathered, conditioned on the one thing certain: AWS denied the request.

Layers that could not be read and context keys whose value is not known are unknowns. Each unread layer
stands in as an Allow guarded by a synthetic key ("did this layer allow?"); each unknown key takes the values
its conditions distinguish. Every combination that still allows is ruled out by AWS's denial (and, when the
message gave one, by its reason phrase); when the remaining combinations all tell the same story about the
layers that were read, that story is the answer, and what was ruled out is said plainly.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from diagnostics.model import (
    Blocker,
    ConditionCheck,
    ContextValue,
    Decision,
    DenialKind,
    Layer,
    Principal,
    PrincipalType,
    Reported,
)
from diagnostics.policy import EvalRequest, EvaluationResult, NamedPolicy, PolicyError, PolicySet, evaluate
from diagnostics.policy.conditions import CompiledCondition, ConditionSyntaxError, compile_condition_block

# A witness: a label for people ("like \"us-*\"", "absent") and the value it stands for (None: absent).
Witness = tuple[str, ContextValue | None]
World = tuple[tuple[Witness, ...], EvaluationResult, EvalRequest]

# Synthetic context keys: "the unread layer allows this request". Never shown; translated back to layers.
UNREAD_PREFIX: Final = "iamwhy:unread/"
STAND_IN: Final = "(not read)"
# Bounds on the search: beyond them the answer stays "unknown" with every decisive key named.
_MAX_KEYS: Final = 6
MAX_COMBINATIONS: Final = 512
_MAX_WITNESSES: Final = 6
_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_MAX_WORLDS: Final = 32
_DENIALS: Final = frozenset({Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY})


@dataclass(frozen=True)
class Deduction:
    """What AWS's denial implies about one unknown: the values it rules out, and the ones left."""

    key: str
    ruled_out: tuple[str, ...]
    possible: tuple[str, ...]

    @property
    def layer(self) -> Layer | None:
        return unread_layer(self.key)


@dataclass(frozen=True)
class Assessment:
    """The local answer for one request."""

    decision: Decision
    # The evaluation the answer rests on (for a deduced answer, one combination consistent with the denial).
    result: EvaluationResult
    request: EvalRequest
    policies: PolicySet
    # Blocking layers among those read (stand-ins for unread layers never appear here).
    blockers: tuple[Blocker, ...]
    # Unknowns that still change the answer: context keys, and unread layers that could be the cause.
    unknown_keys: tuple[str, ...] = ()
    suspect_layers: tuple[Layer, ...] = ()
    deductions: tuple[Deduction, ...] = ()
    # True when the answer does not depend on any unknown (once AWS's denial is taken into account).
    determined: bool = True
    # True when nothing read can deny the request: the denial must come from what could not be seen.
    unexplained: bool = False
    # True when no combination agrees with the reason phrase AWS printed.
    conflicts_with_report: bool = False
    # The requests (one per combination of unknowns) consistent with the denial: fixes are checked against all.
    worlds: tuple[EvalRequest, ...] = ()

    @property
    def requests(self) -> tuple[EvalRequest, ...]:
        return self.worlds or (self.request,)


def unread_key(layer: Layer) -> str:
    return f"{UNREAD_PREFIX}{layer.value}"


def unread_layer(key: str) -> Layer | None:
    if not key.lower().startswith(UNREAD_PREFIX):
        return None
    return Layer(key[len(UNREAD_PREFIX) :].lower())


def _stand_in(layer: Layer) -> NamedPolicy:
    statement: dict[str, Any] = {
        "Sid": "NotRead",
        "Effect": "Allow",
        "Action": "*",
        "Resource": "*",
        "Condition": {"Bool": {unread_key(layer): "true"}},
    }
    if layer in (Layer.RESOURCE, Layer.TRUST):
        statement["Principal"] = "*"
    return NamedPolicy(f"{STAND_IN} {layer.value}", {"Version": "2012-10-17", "Statement": [statement]})


def with_stand_ins(
    policies: PolicySet, unread: Iterable[Layer], principal: Principal | None
) -> tuple[PolicySet, frozenset[str]]:
    """The policy set with an "allows if it allowed" stand-in for every unread layer that can allow, and the
    synthetic keys those stand-ins depend on (to be marked unknown).

    RCPs and VPC endpoint policies can only take away, so an unread one stands for nothing; explicit denies
    hidden in unread layers are not guessed at (they would add a blocker, never remove one)."""
    unread = set(unread)
    changes: dict[str, Any] = {}
    added: list[Layer] = []
    if Layer.IDENTITY in unread:
        changes["identity"] = (*policies.identity, _stand_in(Layer.IDENTITY))
        added.append(Layer.IDENTITY)
    if Layer.BOUNDARY in unread:
        changes["boundary"] = (*policies.boundary, _stand_in(Layer.BOUNDARY))
        added.append(Layer.BOUNDARY)
    if Layer.SESSION in unread and principal is not None and principal.type in _SESSION_PRINCIPALS:
        changes["session"] = (*policies.session, _stand_in(Layer.SESSION))
        added.append(Layer.SESSION)
    if Layer.SCP in unread:
        changes["scp_levels"] = ((_stand_in(Layer.SCP),),)
        changes["scp_level_names"] = (STAND_IN,)
        added.append(Layer.SCP)
    if Layer.RCP in unread:
        changes["rcp_levels"] = ()
    for layer in (Layer.RESOURCE, Layer.TRUST):
        if layer in unread and policies.resource is None:
            changes["resource"] = _stand_in(layer)
            added.append(layer)
    updated = replace(policies, **changes) if changes else policies
    return updated, frozenset(unread_key(layer) for layer in added)


_SESSION_PRINCIPALS: Final = frozenset({PrincipalType.ASSUMED_ROLE, PrincipalType.FEDERATED_USER})


def referenced_keys(policies: PolicySet) -> dict[str, str]:
    """Every context key the policies' conditions and policy variables refer to: lower-cased -> as first written."""
    keys: dict[str, str] = {}
    for named in _all_policies(policies):
        for statement in _statements(named.document):
            condition = statement.get("Condition")
            if isinstance(condition, Mapping):
                for entries in condition.values():
                    if isinstance(entries, Mapping):
                        for key in entries:
                            keys.setdefault(str(key).lower(), str(key))
            for key in _VARIABLE.findall(repr(statement)):
                keys.setdefault(key.lower(), key)
    return keys


def unknown_keys(
    policies: PolicySet,
    context: Mapping[str, ContextValue],
    *,
    action: str,
    absent: frozenset[str] = frozenset(),
    complete_prefixes: frozenset[str] = frozenset(),
) -> frozenset[str]:
    """The referenced keys whose value is not known: not in the context, not known absent, and able to be present.

    A key of another service than the action's (an ec2: key on an s3: request) is never in the request."""
    known = {k.lower() for k in context}
    service = action.partition(":")[0].lower()
    out: set[str] = set()
    for key, spelled in referenced_keys(policies).items():
        if key in known or key in absent or key.startswith(UNREAD_PREFIX):
            continue
        if any(key.startswith(prefix) for prefix in complete_prefixes):
            continue
        if key.partition(":")[0] not in ("aws", service):
            continue
        out.add(spelled)
    return frozenset(out)


def assess(request: EvalRequest, policies: PolicySet, reported: Reported | None = None) -> Assessment:
    """Evaluate ``request`` and condition the answer on AWS having denied it. Raises PolicyError on a bad policy."""
    first = evaluate(request, policies)
    if first.decision in _DENIALS:
        plain = Assessment(first.decision, first, request, policies, _read_blockers(first.blocked_by))
        if reported is None or reported.kind is None or _fits(first, reported) or not request.unknown_keys:
            return plain
        # Denied whatever the unknowns, but not the way AWS said: the unknowns may still settle how, as AWS saw it
        # (a plain-HTTP call that a bucket policy denies besides the missing grant).
        unknown = sorted(request.unknown_keys, key=str.lower)
        settled = _conditioned(first, request, policies, reported, unknown)
        return plain if settled.conflicts_with_report or not settled.blockers else settled
    decisive = [k for k in first.unknown_context_keys if k.lower() in request.lowered_unknown]
    if first.decision is Decision.ALLOWED or not decisive:
        # Nothing unknown can deny it: what allowed it locally must differ from what AWS saw.
        return Assessment(Decision.UNKNOWN, first, request, policies, (), determined=False, unexplained=True)
    return _conditioned(first, request, policies, reported, decisive)


def _conditioned(
    first: EvaluationResult,
    request: EvalRequest,
    policies: PolicySet,
    reported: Reported | None,
    decisive: Sequence[str],
) -> Assessment:
    """The answer over every reading of the ``decisive`` unknowns that AWS's denial (and reason phrase) allows."""
    options = [(key, witnesses(key, policies)) for key in decisive]
    combos = 1
    for _, values in options:
        combos *= len(values)
    if len(decisive) > _MAX_KEYS or combos > MAX_COMBINATIONS:
        return _undetermined(first, request, policies, decisive)
    worlds: list[World] = []
    lowered = {k.lower() for k in decisive}
    remaining = frozenset(k for k in request.unknown_keys if k.lower() not in lowered)
    for combination in itertools.product(*(values for _, values in options)):
        context = {k: v for k, v in request.context.items() if k.lower() not in lowered}
        for (key, _), (_, value) in zip(options, combination, strict=True):
            if value is not None:
                context[key] = value
        world = replace_request(request, context=context, unknown=remaining)
        worlds.append((combination, evaluate(world, policies), world))
    denying = [w for w in worlds if w[1].decision in _DENIALS or w[1].decision is Decision.UNKNOWN]
    conflict = False
    if reported is not None and reported.kind is not None:
        fitting = [w for w in denying if _fits(w[1], reported)]
        conflict = bool(denying) and not fitting
        denying = fitting or denying
    if not denying:
        return Assessment(Decision.UNKNOWN, first, request, policies, (), determined=False, unexplained=True)
    stories = {_signature(w[1]) for w in denying}
    decisions = {w[1].decision for w in denying}
    deductions = _deductions(options, worlds, denying)
    readable = [w for w in denying if _signature(w[1])]
    if not readable:
        # Every denying combination blames something unread: the read layers allow it.
        suspects = tuple(dict.fromkeys(layer for d in deductions if (layer := d.layer) is not None))
        keys = tuple(d.key for d in deductions if d.layer is None)
        return Assessment(
            Decision.UNKNOWN,
            denying[0][1],
            denying[0][2],
            policies,
            (),
            unknown_keys=keys,
            suspect_layers=suspects,
            deductions=deductions,
            determined=False,
            unexplained=True,
            conflicts_with_report=conflict,
            worlds=_requests(denying),
        )
    if len(stories) == 1 and Decision.UNKNOWN not in decisions:
        _, result, world = readable[0]
        blockers = _masked(_read_blockers(result.blocked_by), decisive)
        return Assessment(
            result.decision,
            result,
            world,
            policies,
            blockers,
            deductions=deductions,
            conflicts_with_report=conflict,
            worlds=_requests(readable),
        )
    common = set.intersection(*(set(_signature(w[1])) for w in readable))
    _, result, world = readable[0]
    blockers = tuple(b for b in _masked(_read_blockers(result.blocked_by), decisive) if _identity(b) in common)
    decision = decisions.pop() if len(decisions) == 1 else Decision.UNKNOWN
    keys = tuple(d.key for d in deductions if d.layer is None and len(d.possible) > 1)
    suspects = tuple(dict.fromkeys(layer for d in deductions if (layer := d.layer) is not None))
    return Assessment(
        decision,
        result,
        world,
        policies,
        blockers,
        unknown_keys=keys or tuple(k for k in decisive if unread_layer(k) is None),
        suspect_layers=suspects,
        deductions=deductions,
        determined=False,
        conflicts_with_report=conflict,
        worlds=_requests(readable),
    )


def evaluated(request: EvalRequest, policies: PolicySet) -> Assessment:
    """``request`` evaluated as it is, not conditioned on a denial: for a call AWS's denial says nothing about (the
    KMS call S3 makes when the request was already denied for its own sake). Its blockers hold whatever the unknowns.
    Raises PolicyError on a bad policy."""
    result = evaluate(request, policies)
    denied = result.decision in _DENIALS
    return Assessment(
        result.decision,
        result,
        request,
        policies,
        _read_blockers(result.blocked_by) if denied else (),
        unknown_keys=result.unknown_context_keys,
        determined=result.decision is not Decision.UNKNOWN,
    )


def _requests(worlds: Sequence[World]) -> tuple[EvalRequest, ...]:
    return tuple(w[2] for w in worlds[:_MAX_WORLDS])


def replace_request(
    request: EvalRequest,
    *,
    context: Mapping[str, ContextValue] | None = None,
    unknown: Iterable[str] | None = None,
    action: str | None = None,
    resource: str | None = None,
    resource_account: str | None = None,
) -> EvalRequest:
    """A copy of ``request`` with some parts changed (EvalRequest derives its lookups at construction)."""
    return EvalRequest(
        principal=request.principal,
        action=action or request.action,
        resource=resource or request.resource,
        resource_account=resource_account or request.resource_account,
        context=dict(request.context if context is None else context),
        unknown_keys=frozenset(request.unknown_keys if unknown is None else unknown),
        management_account=request.management_account,
        aws_managed_resource=request.aws_managed_resource,
    )


def _undetermined(
    first: EvaluationResult, request: EvalRequest, policies: PolicySet, decisive: Sequence[str]
) -> Assessment:
    suspects = tuple(layer for k in decisive if (layer := unread_layer(k)) is not None)
    keys = tuple(k for k in decisive if unread_layer(k) is None)
    return Assessment(
        Decision.UNKNOWN,
        first,
        request,
        policies,
        _masked(_read_blockers(first.blocked_by), decisive),
        unknown_keys=keys,
        suspect_layers=suspects,
        determined=False,
    )


def _fits(result: EvaluationResult, reported: Reported) -> bool:
    kind = reported.kind
    if result.decision is Decision.UNKNOWN:
        return True
    wanted = Decision.EXPLICIT_DENY if kind is DenialKind.EXPLICIT else Decision.IMPLICIT_DENY
    if result.decision is not wanted:
        return False
    if reported.layer is None:
        return True
    return any(b.layer is reported.layer and b.kind is kind for b in result.blocked_by)


def _read_blockers(blockers: Iterable[Blocker]) -> tuple[Blocker, ...]:
    return tuple(b for b in blockers if not (b.policy or "").startswith(STAND_IN) and not _stand_in_level(b))


def _stand_in_level(blocker: Blocker) -> bool:
    return blocker.layer is Layer.SCP and STAND_IN in (blocker.detail or "")


def _identity(blocker: Blocker) -> tuple[Any, ...]:
    return (blocker.layer, blocker.kind, blocker.policy, blocker.sid, blocker.statement_index)


def _signature(result: EvaluationResult) -> tuple[tuple[Any, ...], ...]:
    return tuple(sorted((_identity(b) for b in _read_blockers(result.blocked_by)), key=repr))


def _masked(blockers: Iterable[Blocker], keys: Sequence[str]) -> tuple[Blocker, ...]:
    """Blockers without the stand-in values a combination put in: a deduced key's value stays unknown."""
    lowered = {k.lower() for k in keys}

    def check(c: ConditionCheck) -> ConditionCheck:
        return replace(c, actual=None, unknown=True) if c.key.lower() in lowered else c

    return tuple(replace(b, conditions=tuple(check(c) for c in b.conditions)) for b in blockers)


def _deductions(
    options: Sequence[tuple[str, list[Witness]]], worlds: Sequence[World], denying: Sequence[World]
) -> tuple[Deduction, ...]:
    out = []
    kept = {id(w[0]) for w in denying}
    for position, (key, values) in enumerate(options):
        labels = [label for label, _ in values]
        possible = {w[0][position][0] for w in worlds if id(w[0]) in kept}
        ruled_out = tuple(label for label in labels if label not in possible)
        out.append(Deduction(key, ruled_out, tuple(label for label in labels if label in possible)))
    return tuple(out)


# --- witnesses: one value per way a key's conditions can go -------------------------------------------


def witnesses(key: str, policies: PolicySet) -> list[Witness]:
    """One value per way the policies' conditions on ``key`` can go (and "absent"), each with a label for people."""
    if unread_layer(key) is not None:
        return [("allows", "true"), ("does not allow", None)]
    lowered = key.lower()
    found: list[Witness] = []
    for condition in _conditions(policies):
        if condition.key_lower != lowered:
            continue
        found.extend(_for_condition(condition))
    found.append(("absent", None))
    unique: dict[str, Witness] = {}
    for label, value in found:
        unique.setdefault(repr(value), (label, value))
    values = list(unique.values())
    if len(values) > _MAX_WITNESSES:
        values = [*values[: _MAX_WITNESSES - 1], ("absent", None)]
    return values


def _for_condition(condition: CompiledCondition) -> list[Witness]:
    base, values = condition.base, [v for v in condition.values if "${" not in v]
    multi = condition.set_op is not None
    out: list[tuple[str, str]] = []
    if base == "bool":
        out = [("true", "true"), ("false", "false")]
    elif base.startswith(("string", "arn")):
        for value in values:
            wild = "*" in value or "?" in value
            concrete = value.replace("*", "x").replace("?", "x")
            out.append((f'like "{value}"' if wild else f'"{value}"', concrete))
        other = "arn:aws:iam::000000000000:role/iamwhy-other" if base.startswith("arn") else "iamwhy-other-value"
        out.append(("another value", other))
    elif base.startswith("numeric"):
        for value in values:
            try:
                number = Decimal(value)
            except InvalidOperation:
                continue
            out.extend([(value, str(number)), (f"above {value}", str(number + 1)), (f"below {value}", str(number - 1))])
    elif base.startswith("date"):
        out.extend((value, value) for value in values)
        out.extend([("an earlier time", "1970-01-02T00:00:00Z"), ("a later time", "2999-01-01T00:00:00Z")])
    elif base == "ipaddress":
        for value in values:
            try:
                network = ipaddress.ip_network(value, strict=False)
            except ValueError:
                continue
            out.append((f"in {value}", str(next(iter(network.hosts()), network.network_address))))
        out.append(("another address", "192.0.2.77"))
    elif base == "null":
        out.append(("present", "iamwhy-present"))
    return [(label, (value,) if multi and isinstance(value, str) else value) for label, value in out]


def _conditions(policies: PolicySet) -> Iterable[CompiledCondition]:
    for named in _all_policies(policies):
        for statement in _statements(named.document):
            block = statement.get("Condition")
            if not isinstance(block, dict):
                continue
            try:
                yield from compile_condition_block(block, variables=True)
            except (ConditionSyntaxError, PolicyError):
                continue


def _all_policies(policies: PolicySet) -> Iterable[NamedPolicy]:
    yield from policies.identity
    yield from policies.boundary
    yield from policies.session
    for level in (*policies.scp_levels, *policies.rcp_levels):
        yield from level
    if policies.resource is not None:
        yield policies.resource
    yield from policies.vpce


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document.get("Statement") if isinstance(document, Mapping) else None
    if isinstance(statements, Mapping):
        return [statements]
    if isinstance(statements, list):
        return [s for s in statements if isinstance(s, Mapping)]
    return []
