"""The evaluator: AWS's documented policy evaluation logic over plain data, with every blocking layer explained."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from diagnostics import catalog
from diagnostics.model import (
    CHECKLIST_ORDER,
    Decision,
    Layer,
    LayerStatus,
    LayerVerdict,
    Principal,
    PrincipalType,
)
from diagnostics.policy.conditions import CompiledCondition, evaluate_condition
from diagnostics.policy.documents import (
    CompiledPolicy,
    CompiledStatement,
    NamedPolicy,
    PolicyKind,
    compile_policy,
)
from diagnostics.policy.explain import KMS_NO_DELEGATION, blockers, layer_order, verdicts
from diagnostics.policy.matching import Grant, Hit
from diagnostics.policy.request import (
    IAM_PRINCIPALS,
    EvalRequest,
    EvaluationResult,
    KmsGrant,
    PolicySet,
    StatementMatch,
)
from diagnostics.policy.s3 import is_public_policy
from diagnostics.policy.variables import Context

# --- internal bookkeeping --------------------------------------------------------------------------

_PRINCIPAL_LAYERS: Final = frozenset({Layer.RESOURCE, Layer.TRUST, Layer.RCP, Layer.VPCE})
# Slots index per-layer lists in the hot loop (hashing enum members costs a Python-level call).
_LAYERS: Final = CHECKLIST_ORDER
_SLOT: Final = {layer: i for i, layer in enumerate(_LAYERS)}
_SLOT_SCP: Final = _SLOT[Layer.SCP]
_SLOT_RCP: Final = _SLOT[Layer.RCP]
_SLOT_RESOURCE: Final = _SLOT[Layer.RESOURCE]
_SLOT_TRUST: Final = _SLOT[Layer.TRUST]
_SESSION_PRINCIPALS: Final = frozenset({PrincipalType.ASSUMED_ROLE, PrincipalType.ROLE, PrincipalType.FEDERATED_USER})
_READ_LEVELS: Final = frozenset({"Read", "List"})
_KMS_ALIAS_ACTIONS: Final = frozenset({"kms:createalias", "kms:updatealias", "kms:deletealias"})
_CANDIDATE_CACHE_LIMIT: Final = 512
# Above this many undecided statements the decisive-key search would be too costly; then every unknown
# key of an undecided statement is reported (over-reporting is safe, under-reporting is not).
_EXACT_UNKNOWN_LIMIT: Final = 10


@dataclass(slots=True)
class Applied:
    """A statement that applies (True) or might apply (None, an unknown key decides) to the request."""

    layer: Layer
    level: int | None
    policy: CompiledPolicy
    statement: CompiledStatement
    value: bool | None
    grant: Grant | None
    unknown_keys: tuple[str, ...] = ()
    uid: int = -1


@dataclass(slots=True)
class _Group:
    """Some statements OR'ed together: definitely true, or true if any undecided statement turns out true."""

    sure: list[Applied] = field(default_factory=list)
    maybe: list[Applied] = field(default_factory=list)

    def add(self, applied: Applied) -> None:
        (self.sure if applied.value else self.maybe).append(applied)

    def value(self, assignment: Mapping[int, bool]) -> bool:
        return bool(self.sure) or any(assignment[a.uid] for a in self.maybe)

    @property
    def all(self) -> list[Applied]:
        return self.sure + self.maybe


@dataclass
class _Special:
    layer: Layer
    detail: str


# --- compiled policy sets -------------------------------------------------------------------------

_SET_CACHE_LIMIT: Final = 256


class _CompiledSet:
    """A PolicySet's documents compiled once, with per-request candidate statements cached by layer."""

    def __init__(self, policies: PolicySet) -> None:
        def compiled(named: Iterable[NamedPolicy], kind: PolicyKind) -> tuple[CompiledPolicy, ...]:
            return tuple(compile_policy(n, kind) for n in named)

        self.source = policies
        self.layers: dict[tuple[Layer, int | None], tuple[CompiledPolicy, ...]] = {
            (Layer.IDENTITY, None): compiled(policies.identity, PolicyKind.IDENTITY),
            (Layer.BOUNDARY, None): compiled(policies.boundary, PolicyKind.BOUNDARY),
            (Layer.SESSION, None): compiled(policies.session, PolicyKind.SESSION),
            (Layer.VPCE, None): compiled(policies.vpce, PolicyKind.VPCE),
        }
        resource = compiled((policies.resource,), PolicyKind.RESOURCE) if policies.resource is not None else ()
        self.layers[(Layer.RESOURCE, None)] = resource
        self.layers[(Layer.TRUST, None)] = resource
        for i, level in enumerate(policies.scp_levels):
            self.layers[(Layer.SCP, i)] = compiled(level, PolicyKind.SCP)
        for i, level in enumerate(policies.rcp_levels):
            self.layers[(Layer.RCP, i)] = compiled(level, PolicyKind.RCP)
        self.names: dict[Layer, tuple[str, ...]] = {}
        self._flat: dict[tuple[str, str], tuple[_Entry, ...]] = {}

    def flat(self, ev: Evaluation) -> tuple[_Entry, ...]:
        """Every statement of every layer whose action and resource parts can match this request."""
        key = (ev.action, ev.resource)
        found = self._flat.get(key)
        if found is None:
            entries = []
            for (layer, level), policies in self.layers.items():
                bearing = layer in _PRINCIPAL_LAYERS
                for policy in policies:
                    for stmt in ev._candidates(policy):
                        trivial = not stmt.conditions and stmt.resource_static and not bearing
                        entries.append(_Entry(_SLOT[layer], layer, level, policy, stmt, bearing, trivial))
            found = tuple(entries)
            if len(self._flat) >= _CANDIDATE_CACHE_LIMIT:
                self._flat.clear()
            self._flat[key] = found
        return found


@dataclass(frozen=True, slots=True)
class _Entry:
    slot: int
    layer: Layer
    level: int | None
    policy: CompiledPolicy
    statement: CompiledStatement
    principal_bearing: bool
    trivial: bool  # applies whenever action and resource match: no principal, no condition, no variable


_sets: dict[int, _CompiledSet] = {}


def _compiled_set(policies: PolicySet) -> _CompiledSet:
    # The cached entry holds the PolicySet itself, so its id cannot be reused while the entry lives.
    hit = _sets.get(id(policies))
    if hit is not None and hit.source is policies:
        return hit
    compiled = _CompiledSet(policies)
    if len(_sets) >= _SET_CACHE_LIMIT:
        _sets.pop(next(iter(_sets)))
    _sets[id(policies)] = compiled
    return compiled


# --- evaluation ----------------------------------------------------------------------------------


def evaluate(request: EvalRequest, policies: PolicySet) -> EvaluationResult:
    """Decide the request the way AWS does, and explain it layer by layer.

    Pure: no AWS calls. Raises PolicyError for a malformed policy document.
    """
    return Evaluation(request, policies).run()


class Evaluation:
    """One request against one policy set: collects the statements that apply, then decides."""

    def __init__(self, request: EvalRequest, policies: PolicySet) -> None:
        self.request = request
        self.policies = policies
        self.principal = request.principal
        self.ptype = request.principal.type
        self.resource = request.resource
        self.context: Context = request.lowered_context
        self.unknown = request.lowered_unknown
        facts = request.facts
        self.action = facts.action
        self.service = facts.service
        self.principal_account = self.principal.account_id
        self.resource_account = facts.resource_account
        self.resource_only = facts.resource_only
        self.same_account = facts.same_account
        self.is_trust = facts.is_trust
        self.is_kms_key = facts.is_kms_key
        self.resource_layer = Layer.TRUST if self.is_trust else Layer.RESOURCE
        self.slr = facts.slr
        self.has_boundary = bool(policies.boundary) and self.ptype in IAM_PRINCIPALS
        self.has_session = bool(policies.session) and self.ptype in _SESSION_PRINCIPALS
        self.federated = self.ptype is PrincipalType.FEDERATED_USER
        self.scp_reason = self._scp_exemption()
        self.rcp_reason = self._rcp_exemption()
        self.vpce_present = bool(policies.vpce)
        self._uid = itertools.count()
        self.applied: list[Applied] = []
        self.compiled = _compiled_set(policies)

    # -- applicability ------------------------------------------------------------------------

    def _scp_exemption(self) -> str | None:
        if not self.policies.scp_levels:
            return "not in an organization (no SCPs)"
        if self.resource_only:
            return "SCPs restrict only the organization's own IAM principals"
        mgmt = self.request.management_account
        if mgmt is not None and self.principal_account == mgmt:
            return "SCPs do not restrict principals of the management account"
        if self.slr:
            return "SCPs do not restrict service-linked roles"
        return None

    def _rcp_exemption(self) -> str | None:
        if not self.policies.rcp_levels:
            return "not in an organization (no RCPs)"
        if self.service not in catalog.rcp_services():
            return f"RCPs do not apply to {self.service or 'this service'}"
        mgmt = self.request.management_account
        if mgmt is not None and self.resource_account == mgmt:
            return "RCPs do not restrict resources of the management account"
        if self.slr:
            return "RCPs do not restrict service-linked roles"
        if self.request.aws_managed_resource:
            return "RCPs do not apply to AWS managed keys"
        if self.action == "kms:retiregrant":
            return "RCPs do not restrict kms:RetireGrant"
        return None

    # -- statements ---------------------------------------------------------------------------

    def _candidates(self, policy: CompiledPolicy) -> tuple[CompiledStatement, ...]:
        key = (self.action, self.resource)
        cached = policy.candidates.get(key)
        if cached is not None:
            return cached
        found = []
        for stmt in policy.statements:
            if stmt.actions.matches(self.action) == stmt.not_action:
                continue
            if stmt.resource_static and self.resource_value(stmt) is not True:
                continue
            found.append(stmt)
        result = tuple(found)
        if len(policy.candidates) >= _CANDIDATE_CACHE_LIMIT:
            policy.candidates.clear()
        policy.candidates[key] = result
        return result

    def resource_value(self, stmt: CompiledStatement) -> bool | None:
        if stmt.resources is None:
            return True
        hits = [p.match(self.resource, self.context, self.unknown) for p in stmt.resources]
        if stmt.not_resource:
            if Hit.MATCH in hits or Hit.FAIL in hits:
                return False
            return None if Hit.UNKNOWN in hits else True
        if Hit.MATCH in hits:
            return True
        return None if Hit.UNKNOWN in hits else False

    def principal_grant(self, stmt: CompiledStatement) -> tuple[bool, Grant | None]:
        """(matches, grant kind) for principal-bearing policy types."""
        if stmt.principal_missing:
            return False, None
        if stmt.principal is None:
            return True, Grant.DIRECT
        grant = stmt.principal.grant_for(self.principal)
        if not stmt.not_principal:
            return grant is not None, grant
        # A Deny with NotPrincipal always denies principals that have a permissions boundary
        # (IAM User Guide, NotPrincipal element).
        if not stmt.allow and self.has_boundary:
            return True, Grant.DIRECT
        if grant is None:
            return True, Grant.DIRECT
        return False, None

    def _statement(
        self, stmt: CompiledStatement, principal_bearing: bool
    ) -> tuple[bool | None, Grant | None, tuple[str, ...]]:
        value: bool | None = True
        unknown_keys: list[str] = []
        if not stmt.resource_static:
            resource = self.resource_value(stmt)
            if resource is False:
                return False, None, ()
            if resource is None:
                value = None
                unknown_keys.extend(self._resource_unknown_keys(stmt))
        grant: Grant | None = None
        if principal_bearing:
            matches, grant = self.principal_grant(stmt)
            if not matches:
                return False, None, ()
        for cond in stmt.conditions:
            outcome = evaluate_condition(cond, self.context, self.unknown)
            if outcome is False:
                return False, None, ()
            if outcome is None:
                value = None
                unknown_keys.extend(_condition_unknown_keys(cond, self.unknown))
        return value, grant, tuple(dict.fromkeys(unknown_keys))

    def _resource_unknown_keys(self, stmt: CompiledStatement) -> list[str]:
        keys: list[str] = []
        for pattern in stmt.resources or ():
            if pattern.template is not None:
                keys.extend(k for k in pattern.template.variable_keys if k in self.unknown)
        return keys

    # -- the decision -------------------------------------------------------------------------

    def run(self) -> EvaluationResult:
        if self.action == "sts:getcalleridentity":
            return self._always_allowed()
        p = self.policies
        skip = [
            self.ptype not in IAM_PRINCIPALS,
            not self.has_boundary,
            not self.has_session,
            self.scp_reason is not None,
            self.rcp_reason is not None,
            self.is_trust,
            not self.is_trust,
            not self.vpce_present,
        ]
        allow_slots: list[_Group | None] = [None] * 8
        deny_slots: list[_Group | None] = [None] * 8
        scp_levels = [_Group() for _ in p.scp_levels] if self.scp_reason is None else []
        resource_allows: dict[Grant, _Group] = {}
        scp, rcp = _SLOT_SCP, _SLOT_RCP
        rl = _SLOT_TRUST if self.is_trust else _SLOT_RESOURCE
        applied_list = self.applied
        for entry in self.compiled.flat(self):
            slot = entry.slot
            stmt = entry.statement
            # Every RCP level carries RCPFullAWSAccess, which cannot be detached: only Denies bite.
            if skip[slot] or (slot == rcp and stmt.allow):
                continue
            if entry.trivial:
                applied = Applied(entry.layer, entry.level, entry.policy, stmt, True, None)
            else:
                value, grant, keys = self._statement(stmt, entry.principal_bearing)
                if value is False:
                    continue
                applied = Applied(entry.layer, entry.level, entry.policy, stmt, value, grant, keys)
                if value is None:
                    applied.uid = next(self._uid)
            applied_list.append(applied)
            if stmt.allow:
                if slot == scp:
                    assert entry.level is not None
                    scp_levels[entry.level].add(applied)
                    continue
                if slot == rl:
                    assert applied.grant is not None
                    by_grant = resource_allows.get(applied.grant)
                    if by_grant is None:
                        by_grant = resource_allows[applied.grant] = _Group()
                    by_grant.add(applied)
                group = allow_slots[slot]
                if group is None:
                    group = allow_slots[slot] = _Group()
                group.add(applied)
            else:
                group = deny_slots[slot]
                if group is None:
                    group = deny_slots[slot] = _Group()
                group.add(applied)
        allows = {_LAYERS[i]: g for i, g in enumerate(allow_slots) if g is not None}
        denies = {_LAYERS[i]: g for i, g in enumerate(deny_slots) if g is not None}
        grant_allows = self._kms_grants()
        specials = self._specials()

        model = Model(
            self,
            denies=denies,
            allows=allows,
            scp_levels=scp_levels,
            resource_allows=resource_allows,
            grant_allows=grant_allows,
            specials=specials,
        )
        undecided = [a for a in self.applied if a.value is None]
        if not undecided:
            return self._result(model, model.decide({}), {}, ())
        best = {a.uid: a.statement.allow for a in undecided}
        worst = {a.uid: not a.statement.allow for a in undecided}
        best_outcome = model.decide(best)
        worst_outcome = model.decide(worst)
        # Only "allowed or not" counts as decisive: denied either way is a denial, stated from the most
        # permissive reading (no unknown Deny assumed to apply).
        if best_outcome.decision is not Decision.ALLOWED:
            return self._result(model, best_outcome, best, ())
        if worst_outcome.decision is Decision.ALLOWED:
            return self._result(model, worst_outcome, worst, ())
        keys = self._decisive_keys(model, undecided)
        return self._result(model, worst_outcome, worst, keys, unknown=True)

    def _decisive_keys(self, model: Model, undecided: list[Applied]) -> tuple[str, ...]:
        if len(undecided) > _EXACT_UNKNOWN_LIMIT:
            relevant = undecided
        else:
            relevant = []
            for target in undecided:
                others = [a for a in undecided if a is not target]
                for bits in itertools.product((False, True), repeat=len(others)):
                    assignment = {a.uid: b for a, b in zip(others, bits, strict=True)}
                    assignment[target.uid] = True
                    on = model.decide(assignment).decision is Decision.ALLOWED
                    assignment[target.uid] = False
                    if (model.decide(assignment).decision is Decision.ALLOWED) is not on:
                        relevant.append(target)
                        break
        # Report each key as the request spelled it (policies may write the same key in another case).
        spelled = {key.lower(): key for key in self.request.unknown_keys}
        keys = [spelled.get(key.lower(), key) for a in relevant for key in a.unknown_keys]
        return tuple(sorted(dict.fromkeys(keys), key=str.lower))

    # -- special rules ------------------------------------------------------------------------

    def _kms_grants(self) -> dict[Grant, list[KmsGrant]]:
        found: dict[Grant, list[KmsGrant]] = {}
        if not self.is_kms_key or not self.action.startswith("kms:"):
            return found
        operation = self.action.partition(":")[2]
        for grant in self.policies.kms_grants:
            if grant.key_arn is not None and grant.key_arn != self.resource:
                continue
            if operation not in {op.lower().removeprefix("kms:") for op in grant.operations}:
                continue
            kind = _grantee_match(grant.grantee_principal, self.principal)
            if kind is None or not self._grant_constraints(grant):
                continue
            found.setdefault(kind, []).append(grant)
        return found

    def _grant_constraints(self, grant: KmsGrant) -> bool:
        prefix = "kms:encryptioncontext:"
        request = {k[len(prefix) :]: v for k, v in self.context.items() if k.startswith(prefix)}
        if grant.encryption_context_equals is not None:
            wanted = {k.lower(): v for k, v in grant.encryption_context_equals.items()}
            if request != wanted:
                return False
        if grant.encryption_context_subset is not None:
            for key, value in grant.encryption_context_subset.items():
                if request.get(key.lower()) != value:
                    return False
        return True

    def _specials(self) -> list[_Special]:
        """Denials that come from AWS rules rather than from any policy statement."""
        out: list[_Special] = []
        if self.is_trust and self.ptype is PrincipalType.ROOT and self.action.startswith("sts:assumerole"):
            out.append(_Special(Layer.TRUST, "the AWS account root user cannot assume roles"))
        if self.federated and not self.policies.session:
            out.append(
                _Special(
                    Layer.SESSION,
                    "a federated user session created without a session policy has no permissions from identity "
                    "policies; only a resource policy naming the session can grant access",
                )
            )
        reserved = self._reserved_resource()
        if reserved:
            out.append(_Special(Layer.RESOURCE, reserved))
        bpa = self.policies.s3_public_access_block
        if (
            bpa is not None
            and bpa.restrict_public_buckets
            and self.service == "s3"
            and self.policies.resource is not None
            and is_public_policy(self.policies.resource.document)
            and self.ptype is not PrincipalType.SERVICE
            and (self.ptype is PrincipalType.ANONYMOUS or not self.same_account)
        ):
            out.append(
                _Special(
                    Layer.RESOURCE,
                    "S3 Block Public Access (RestrictPublicBuckets): the bucket policy is public, so only "
                    "principals of the bucket owner's account and AWS services may use it",
                )
            )
        return out

    def _reserved_resource(self) -> str | None:
        resource = self.resource
        if self.action in _KMS_ALIAS_ACTIONS and ":alias/aws/" in resource:
            return "aliases under alias/aws/ are reserved for AWS managed keys and cannot be changed"
        if not self.action.startswith("iam:"):
            return None
        info = catalog.action_info(self.action)
        if info is None or set(info.access_level.split(", ")) <= _READ_LEVELS:
            return None
        if resource.startswith("arn:") and ":iam::aws:policy/" in resource:
            return "AWS managed policies cannot be created, changed, tagged or deleted"
        if resource.startswith("arn:") and ":role/aws-reserved/" in resource:
            return "roles under /aws-reserved/ are managed by AWS and cannot be changed"
        return None

    # -- results ------------------------------------------------------------------------------

    def _always_allowed(self) -> EvaluationResult:
        note = "sts:GetCallerIdentity is always allowed: no policy can deny it"
        layers = tuple(LayerVerdict(layer, LayerStatus.NOT_APPLICABLE, note) for layer in layer_order(self))
        return EvaluationResult(Decision.ALLOWED, (), (), (), layers, (note,))

    def _result(
        self,
        model: Model,
        outcome: Outcome,
        assignment: Mapping[int, bool],
        unknown_keys: tuple[str, ...],
        *,
        unknown: bool = False,
    ) -> EvaluationResult:
        decision = Decision.UNKNOWN if unknown else outcome.decision
        blocked_by = blockers(model, outcome)

        def statements() -> tuple[StatementMatch, ...]:
            if decision is Decision.EXPLICIT_DENY:
                return tuple(_match(a) for a in outcome.denials)
            if decision is Decision.ALLOWED:
                return tuple(_match(a) for a in model.grants(outcome))
            return ()

        return EvaluationResult(
            decision,
            blocked_by,
            statements,
            unknown_keys,
            lambda: verdicts(model, outcome, unknown=unknown),
        )


# --- the decision model ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Facts:
    """Which layers allow, for one assignment of the undecided statements."""

    identity_ok: bool
    boundary_ok: bool
    session_ok: bool
    scp_ok: bool
    vpce_ok: bool
    direct: bool
    role: bool
    account: bool


@dataclass
class Outcome:
    decision: Decision
    denials: list[Applied]
    via: str | None
    model: Model
    assignment: Mapping[int, bool]
    facts: _Facts
    _path: list[tuple[Layer, bool, str | None]] | None = None

    @property
    def path(self) -> list[tuple[Layer, bool, str | None]]:
        """The chosen way to allowed; its unsatisfied requirements are the implicit blockers."""
        if self._path is None:
            self._path = self.model.chosen_path(self)
        return self._path


class Model:
    """Combines layer results into a decision; evaluated once, or per assignment of undecided statements."""

    def __init__(
        self,
        ev: Evaluation,
        *,
        denies: dict[Layer, _Group],
        allows: dict[Layer, _Group],
        scp_levels: list[_Group],
        resource_allows: dict[Grant, _Group],
        grant_allows: dict[Grant, list[KmsGrant]],
        specials: list[_Special],
    ) -> None:
        self.ev = ev
        self.denies = denies
        self.allows = allows
        self.scp_levels = scp_levels
        self.resource_allows = resource_allows
        self.grant_allows = grant_allows
        self.specials = specials
        self.guard_specials = [x for x in specials if x.layer is not Layer.SESSION]
        self.session_special = next((x for x in specials if x.layer is Layer.SESSION), None)

    def decide(self, assignment: Mapping[int, bool]) -> Outcome:
        ev = self.ev
        denials = [a for g in self.denies.values() for a in g.all if a.value or assignment[a.uid]]
        f = self._facts(assignment)
        root = ev.ptype is PrincipalType.ROOT
        guard_ok = f.scp_ok and f.vpce_ok and not self.guard_specials
        principal_ok = root or (f.identity_ok and f.boundary_ok and f.session_ok)
        via: str | None = None
        if ev.resource_only:
            if f.direct and guard_ok:
                via = "resource"
        elif ev.same_account:
            delegated = not (ev.is_kms_key or ev.is_trust) or f.account or (root and f.direct)
            if principal_ok and delegated and guard_ok:
                via = "identity"
            elif (
                (ev.policies.resource is not None or self.grant_allows or ev.is_kms_key or ev.is_trust)
                and (f.direct or (f.role and f.boundary_ok and f.session_ok))
                and guard_ok
            ):
                via = "resource"
        elif principal_ok and (f.direct or f.role or f.account) and guard_ok:
            via = "both"
        if denials:
            decision = Decision.EXPLICIT_DENY
        elif via is not None:
            decision = Decision.ALLOWED
        else:
            decision = Decision.IMPLICIT_DENY
        return Outcome(decision, denials, via, self, assignment, f)

    def _facts(self, assignment: Mapping[int, bool]) -> _Facts:
        ev = self.ev
        allows = self.allows
        identity = allows.get(Layer.IDENTITY)
        identity_ok = identity is not None and (bool(identity.sure) or identity.value(assignment))
        boundary_ok = True
        if ev.has_boundary:
            group = allows.get(Layer.BOUNDARY)
            boundary_ok = group is not None and (bool(group.sure) or group.value(assignment))
        session_ok = True
        if ev.has_session or ev.federated:
            group = allows.get(Layer.SESSION)
            session_ok = group is not None and (bool(group.sure) or group.value(assignment))
            session_ok = session_ok and not self.session_special
        scp_ok = ev.scp_reason is not None or all(bool(g.sure) or g.value(assignment) for g in self.scp_levels)
        vpce_ok = True
        if ev.vpce_present:
            group = allows.get(Layer.VPCE)
            vpce_ok = group is not None and (bool(group.sure) or group.value(assignment))
        ra = self.resource_allows
        direct = Grant.DIRECT in self.grant_allows
        role = Grant.ROLE in self.grant_allows
        account = False
        if ra:
            group = ra.get(Grant.DIRECT)
            direct = direct or (group is not None and group.value(assignment))
            group = ra.get(Grant.ROLE)
            role = role or (group is not None and group.value(assignment))
            group = ra.get(Grant.ACCOUNT)
            account = group is not None and group.value(assignment)
        return _Facts(identity_ok, boundary_ok, session_ok, scp_ok, vpce_ok, direct, role, account)

    def paths(self, outcome: Outcome) -> list[list[tuple[Layer, bool, str | None]]]:
        """Every way the request could be allowed, as (layer, satisfied, detail) requirements."""
        ev = self.ev
        f = outcome.facts
        rl = ev.resource_layer
        guard: list[tuple[Layer, bool, str | None]] = [(Layer.SCP, f.scp_ok, None), (Layer.VPCE, f.vpce_ok, None)]
        guard += [(s.layer, False, s.detail) for s in self.specials if s.layer is not Layer.SESSION]
        session_detail = self.session_special.detail if self.session_special else None
        limits: list[tuple[Layer, bool, str | None]] = [
            (Layer.BOUNDARY, f.boundary_ok, None),
            (Layer.SESSION, f.session_ok, session_detail),
        ]
        principal_side: list[tuple[Layer, bool, str | None]] = []
        if ev.ptype is not PrincipalType.ROOT:
            principal_side = [(Layer.IDENTITY, f.identity_ok, None), *limits]
        delegation_needed = ev.is_kms_key or ev.is_trust
        delegation_detail = (
            KMS_NO_DELEGATION if ev.is_kms_key else "the role trust policy does not trust this principal or its account"
        )
        paths: list[list[tuple[Layer, bool, str | None]]] = []
        if ev.resource_only:
            paths.append([(rl, f.direct, None), *guard])
        elif ev.same_account:
            identity_path = list(principal_side)
            if delegation_needed:
                root_direct = ev.ptype is PrincipalType.ROOT and f.direct
                identity_path.append((rl, f.account or root_direct, delegation_detail))
            paths.append(identity_path + guard)
            if ev.policies.resource is not None or self.grant_allows or delegation_needed:
                if f.direct:
                    resource_path: list[tuple[Layer, bool, str | None]] = []
                elif f.role:
                    resource_path = list(limits)
                else:
                    resource_path = [(rl, False, None)]
                paths.append(resource_path + guard)
        else:
            paths.append([*principal_side, (rl, f.direct or f.role or f.account, None), *guard])
        return paths

    def chosen_path(self, outcome: Outcome) -> list[tuple[Layer, bool, str | None]]:
        """The path to allowed that needs the fewest layers changed."""
        paths = self.paths(outcome)
        for path in paths:
            if all(ok for _, ok, _ in path):
                return path
        return min(paths, key=_cost)

    def grants(self, outcome: Outcome) -> list[Applied]:
        """The Allow statements that carried an allowed request."""
        via, assignment, f = outcome.via, outcome.assignment, outcome.facts
        ev = self.ev
        out: list[Applied] = []
        layers: tuple[Layer, ...] = (Layer.BOUNDARY, Layer.SESSION, Layer.VPCE)
        if via in ("identity", "both"):
            layers = (Layer.IDENTITY, *layers)
        for layer in layers:
            group = self.allows.get(layer)
            if group is not None:
                out.extend(a for a in group.all if a.value or assignment[a.uid])
        for level in self.scp_levels:
            out.extend(a for a in level.all if a.value or assignment[a.uid])
        rl = ev.resource_layer
        group = self.allows.get(rl)
        if group is not None and (via != "identity" or f.direct or f.role or ev.is_kms_key or ev.is_trust):
            out.extend(a for a in group.all if a.value or assignment[a.uid])
        return out

    # -- explanations -------------------------------------------------------------------------


_NO_LAYERS: frozenset[Layer] = frozenset()


def _cost(path: list[tuple[Layer, bool, str | None]]) -> int:
    # A layer with an explicit deny counts like any other: removing the Deny does not make it grant what the
    # path needs from it.
    return len({layer for layer, ok, _ in path if not ok})


_matches: dict[tuple[bool, int], tuple[CompiledStatement, StatementMatch]] = {}


def _match(applied: Applied) -> StatementMatch:
    stmt = applied.statement
    key = (applied.layer is Layer.TRUST, id(stmt))
    hit = _matches.get(key)
    if hit is not None and hit[0] is stmt:
        return hit[1]
    match = StatementMatch(applied.layer, applied.policy.name, stmt.sid, stmt.effect, stmt.index, applied.policy.arn)
    if len(_matches) >= _SET_CACHE_LIMIT * 64:
        _matches.clear()
    _matches[key] = (stmt, match)
    return match


def _condition_unknown_keys(cond: CompiledCondition, unknown: frozenset[str]) -> list[str]:
    keys = [cond.key] if cond.key_lower in unknown else []
    for template in cond.templates or ():
        keys.extend(k for k in template.variable_keys if k in unknown)
    return keys


def _grantee_match(grantee: str, principal: Principal) -> Grant | None:
    if principal.type is PrincipalType.SERVICE:
        return Grant.DIRECT if grantee.lower() == (principal.name or "").lower() else None
    if grantee == principal.arn:
        return Grant.ROLE if principal.type is PrincipalType.ROLE else Grant.DIRECT
    role_arn = principal.role_arn
    if principal.type is PrincipalType.ASSUMED_ROLE and role_arn is not None:
        parts = grantee.split(":", 5)
        if (
            len(parts) == 6
            and parts[5].startswith("role/")
            and parts[4] == principal.account_id
            and parts[5].rsplit("/", 1)[-1] == principal.name
        ):
            return Grant.ROLE
    return None
