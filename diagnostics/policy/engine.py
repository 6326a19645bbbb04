"""The evaluator: AWS's documented policy evaluation logic over plain data, with every blocking layer explained."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from diagnostics import catalog
from diagnostics.arn import ArnError, parse_arn
from diagnostics.model import (
    Blocker,
    ConditionCheck,
    ContextValue,
    Decision,
    DenialKind,
    Layer,
    LayerStatus,
    LayerVerdict,
    Principal,
    PrincipalType,
)
from diagnostics.policy.conditions import CompiledCondition, describe_value, evaluate_condition
from diagnostics.policy.documents import (
    CompiledPolicy,
    CompiledStatement,
    NamedPolicy,
    PolicyKind,
    compile_policy,
)
from diagnostics.policy.matching import Grant, Hit
from diagnostics.policy.s3 import PublicAccessBlock, is_public_policy
from diagnostics.policy.variables import Context

# --- inputs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KmsGrant:
    """A KMS grant: lets ``grantee_principal`` perform ``operations`` on the key, within its constraints."""

    grant_id: str
    grantee_principal: str
    operations: tuple[str, ...]
    key_arn: str | None = None
    encryption_context_equals: Mapping[str, str] | None = None
    encryption_context_subset: Mapping[str, str] | None = None
    name: str | None = None


@dataclass(frozen=True)
class PolicySet:
    """Every policy layer that can bear on one request. Empty tuples mean the layer is absent."""

    identity: tuple[NamedPolicy, ...] = ()
    boundary: tuple[NamedPolicy, ...] = ()
    session: tuple[NamedPolicy, ...] = ()
    scp_levels: tuple[tuple[NamedPolicy, ...], ...] = ()
    rcp_levels: tuple[tuple[NamedPolicy, ...], ...] = ()
    resource: NamedPolicy | None = None
    vpce: tuple[NamedPolicy, ...] = ()
    # Display names of the organization levels, root first ("Root", "ou-ab12 (Workloads)", "111122223333").
    scp_level_names: tuple[str, ...] = ()
    rcp_level_names: tuple[str, ...] = ()
    kms_grants: tuple[KmsGrant, ...] = ()
    s3_public_access_block: PublicAccessBlock | None = None


@dataclass(frozen=True)
class EvalRequest:
    """One request: who, what, on which resource, with which request context.

    ``context`` is the complete request context (a key not listed is absent); ``unknown_keys`` names keys whose
    value is not known. ``management_account`` is the organization's management account, whose principals and
    resources SCPs and RCPs do not restrict. ``aws_managed_resource`` marks an AWS managed KMS key.
    """

    principal: Principal
    action: str
    resource: str
    resource_account: str | None
    context: Mapping[str, ContextValue]
    unknown_keys: frozenset[str] = frozenset()
    management_account: str | None = None
    aws_managed_resource: bool = False
    _context: dict[str, ContextValue] = field(init=False, repr=False, compare=False)
    _unknown: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        normalized: dict[str, ContextValue] = {}
        for key, value in self.context.items():
            normalized[key.lower()] = tuple(value) if isinstance(value, list | tuple) else value
        object.__setattr__(self, "_context", normalized)
        object.__setattr__(self, "_unknown", frozenset(k.lower() for k in self.unknown_keys))


@dataclass(frozen=True)
class StatementMatch:
    """A statement that decided the outcome."""

    layer: Layer
    policy: str
    sid: str | None
    effect: str
    index: int
    policy_arn: str | None = None


@dataclass(frozen=True)
class EvaluationResult:
    decision: Decision
    blocked_by: tuple[Blocker, ...]
    statements: tuple[StatementMatch, ...]
    unknown_context_keys: tuple[str, ...]
    layers: tuple[LayerVerdict, ...]
    # Rules that decided outside any policy ("sts:GetCallerIdentity is always allowed", ...).
    notes: tuple[str, ...] = ()

    @property
    def blocking_layers(self) -> tuple[Layer, ...]:
        return tuple(dict.fromkeys(b.layer for b in self.blocked_by))


# --- internal bookkeeping --------------------------------------------------------------------------

_KIND_BY_LAYER: Final = {
    Layer.IDENTITY: PolicyKind.IDENTITY,
    Layer.BOUNDARY: PolicyKind.BOUNDARY,
    Layer.SESSION: PolicyKind.SESSION,
    Layer.SCP: PolicyKind.SCP,
    Layer.RCP: PolicyKind.RCP,
    Layer.RESOURCE: PolicyKind.RESOURCE,
    Layer.TRUST: PolicyKind.RESOURCE,
    Layer.VPCE: PolicyKind.VPCE,
}
_IAM_PRINCIPALS: Final = frozenset(
    {PrincipalType.USER, PrincipalType.ROLE, PrincipalType.ASSUMED_ROLE, PrincipalType.FEDERATED_USER}
)
_SESSION_PRINCIPALS: Final = frozenset({PrincipalType.ASSUMED_ROLE, PrincipalType.ROLE, PrincipalType.FEDERATED_USER})
# Actions a role trust policy authorizes (IAM User Guide, "Granting a user permissions to switch roles").
_TRUST_ACTIONS: Final = ("sts:assumerole", "sts:tagsession", "sts:setsourceidentity", "sts:setcontext")
_SLR_PATH: Final = "/aws-service-role/"
_SLR_PREFIX: Final = "AWSServiceRoleFor"
_READ_LEVELS: Final = frozenset({"Read", "List"})
_KMS_ALIAS_ACTIONS: Final = frozenset({"kms:createalias", "kms:updatealias", "kms:deletealias"})
_CANDIDATE_CACHE_LIMIT: Final = 512
# Above this many undecided statements the decisive-key search would be too costly; then every unknown
# key of an undecided statement is reported (over-reporting is safe, under-reporting is not).
_EXACT_UNKNOWN_LIMIT: Final = 10


@dataclass
class _Applied:
    """A statement that applies (True) or might apply (None, an unknown key decides) to the request."""

    layer: Layer
    level: int | None
    policy: CompiledPolicy
    statement: CompiledStatement
    value: bool | None
    grant: Grant | None
    unknown_keys: tuple[str, ...] = ()
    uid: int = -1


@dataclass
class _Group:
    """Some statements OR'ed together: definitely true, or true if any undecided statement turns out true."""

    sure: list[_Applied] = field(default_factory=list)
    maybe: list[_Applied] = field(default_factory=list)

    def add(self, applied: _Applied) -> None:
        (self.sure if applied.value else self.maybe).append(applied)

    def value(self, assignment: Mapping[int, bool]) -> bool:
        return bool(self.sure) or any(assignment[a.uid] for a in self.maybe)

    @property
    def all(self) -> list[_Applied]:
        return self.sure + self.maybe


@dataclass
class _Special:
    layer: Layer
    detail: str


# --- evaluation ----------------------------------------------------------------------------------


def evaluate(request: EvalRequest, policies: PolicySet) -> EvaluationResult:
    """Decide the request the way AWS does, and explain it layer by layer.

    Pure: no AWS calls. Raises PolicyError for a malformed policy document.
    """
    return _Evaluation(request, policies).run()


class _Evaluation:
    def __init__(self, request: EvalRequest, policies: PolicySet) -> None:
        self.request = request
        self.policies = policies
        self.principal = request.principal
        self.ptype = request.principal.type
        self.action = request.action.lower()
        self.resource = request.resource
        self.context: Context = request._context
        self.unknown = request._unknown
        self.service = self.action.partition(":")[0]
        self.principal_account = self.principal.account_id
        self.resource_account = request.resource_account or _arn_account(request.resource) or self.principal_account
        self.resource_only = self.ptype in (PrincipalType.ANONYMOUS, PrincipalType.SERVICE)
        self.same_account = self.resource_only or self.principal_account == self.resource_account
        self.is_trust = _is_role_arn(request.resource) and self.action.startswith(_TRUST_ACTIONS)
        self.is_kms_key = _is_kms_key(request.resource)
        self.resource_layer = Layer.TRUST if self.is_trust else Layer.RESOURCE
        self.slr = _is_service_linked(self.principal)
        self.has_boundary = bool(policies.boundary) and self.ptype in _IAM_PRINCIPALS
        self.has_session = bool(policies.session) and self.ptype in _SESSION_PRINCIPALS
        self.federated = self.ptype is PrincipalType.FEDERATED_USER
        self.scp_reason = self._scp_exemption()
        self.rcp_reason = self._rcp_exemption()
        self.vpce_present = bool(policies.vpce)
        self._uid = itertools.count()
        self.applied: list[_Applied] = []

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
            if stmt.resource_static and self._resource_value(stmt) is not True:
                continue
            found.append(stmt)
        result = tuple(found)
        if len(policy.candidates) >= _CANDIDATE_CACHE_LIMIT:
            policy.candidates.clear()
        policy.candidates[key] = result
        return result

    def _resource_value(self, stmt: CompiledStatement) -> bool | None:
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

    def _principal_grant(self, stmt: CompiledStatement) -> tuple[bool, Grant | None]:
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

    def _statement(self, layer: Layer, stmt: CompiledStatement) -> tuple[bool | None, Grant | None, tuple[str, ...]]:
        value: bool | None = True
        unknown_keys: list[str] = []
        if not stmt.resource_static:
            resource = self._resource_value(stmt)
            if resource is False:
                return False, None, ()
            if resource is None:
                value = None
                unknown_keys.extend(self._resource_unknown_keys(stmt))
        grant: Grant | None = None
        if _KIND_BY_LAYER[layer] in (PolicyKind.RESOURCE, PolicyKind.RCP, PolicyKind.VPCE):
            matches, grant = self._principal_grant(stmt)
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

    def _scan(self, layer: Layer, policies: Iterable[NamedPolicy], level: int | None = None) -> list[_Applied]:
        out = []
        kind = _KIND_BY_LAYER[layer]
        for named in policies:
            policy = compile_policy(named, kind)
            for stmt in self._candidates(policy):
                value, grant, keys = self._statement(layer, stmt)
                if value is False:
                    continue
                applied = _Applied(layer, level, policy, stmt, value, grant, keys)
                if value is None:
                    applied.uid = next(self._uid)
                self.applied.append(applied)
                out.append(applied)
        return out

    # -- the decision -------------------------------------------------------------------------

    def run(self) -> EvaluationResult:
        if self.action == "sts:getcalleridentity":
            return self._always_allowed()
        p = self.policies
        denies: dict[Layer, _Group] = {}
        allows: dict[Layer, _Group] = {}

        def collect(layer: Layer, applied: list[_Applied]) -> None:
            for a in applied:
                target = allows if a.statement.allow else denies
                target.setdefault(layer, _Group()).add(a)

        if self.ptype in _IAM_PRINCIPALS:
            collect(Layer.IDENTITY, self._scan(Layer.IDENTITY, p.identity))
        if self.has_boundary:
            collect(Layer.BOUNDARY, self._scan(Layer.BOUNDARY, p.boundary))
        if self.has_session:
            collect(Layer.SESSION, self._scan(Layer.SESSION, p.session))
        scp_levels: list[_Group] = []
        if self.scp_reason is None:
            for i, level in enumerate(p.scp_levels):
                applied = self._scan(Layer.SCP, level, i)
                group = _Group()
                for a in applied:
                    if a.statement.allow:
                        group.add(a)
                    else:
                        denies.setdefault(Layer.SCP, _Group()).add(a)
                scp_levels.append(group)
        if self.rcp_reason is None:
            # Every RCP level carries RCPFullAWSAccess, which cannot be detached: only Deny statements bite.
            for i, level in enumerate(p.rcp_levels):
                for a in self._scan(Layer.RCP, level, i):
                    if not a.statement.allow:
                        denies.setdefault(Layer.RCP, _Group()).add(a)
        resource_allows: dict[Grant, _Group] = {g: _Group() for g in Grant}
        if p.resource is not None:
            for a in self._scan(self.resource_layer, (p.resource,)):
                if a.statement.allow:
                    assert a.grant is not None
                    resource_allows[a.grant].add(a)
                    allows.setdefault(self.resource_layer, _Group()).add(a)
                else:
                    denies.setdefault(self.resource_layer, _Group()).add(a)
        grant_allows = self._kms_grants()
        if self.vpce_present:
            collect(Layer.VPCE, self._scan(Layer.VPCE, p.vpce))
        specials = self._specials()

        model = _Model(
            self,
            denies=denies,
            allows=allows,
            scp_levels=scp_levels,
            resource_allows=resource_allows,
            grant_allows=grant_allows,
            specials=specials,
        )
        undecided = [a for a in self.applied if a.value is None]
        best = {a.uid: a.statement.allow for a in undecided}
        worst = {a.uid: not a.statement.allow for a in undecided}
        best_outcome = model.decide(best)
        worst_outcome = model.decide(worst)
        if best_outcome.decision is worst_outcome.decision:
            return self._result(model, worst_outcome, worst, ())
        keys = self._decisive_keys(model, undecided)
        return self._result(model, worst_outcome, worst, keys, unknown=True)

    def _decisive_keys(self, model: _Model, undecided: list[_Applied]) -> tuple[str, ...]:
        if len(undecided) > _EXACT_UNKNOWN_LIMIT:
            relevant = undecided
        else:
            relevant = []
            for target in undecided:
                others = [a for a in undecided if a is not target]
                for bits in itertools.product((False, True), repeat=len(others)):
                    assignment = {a.uid: b for a, b in zip(others, bits, strict=True)}
                    assignment[target.uid] = True
                    on = model.decide(assignment).decision
                    assignment[target.uid] = False
                    if model.decide(assignment).decision is not on:
                        relevant.append(target)
                        break
        keys = [key for a in relevant for key in a.unknown_keys]
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
        layers = tuple(LayerVerdict(layer, LayerStatus.NOT_APPLICABLE, note) for layer in _layer_order(self))
        return EvaluationResult(Decision.ALLOWED, (), (), (), layers, (note,))

    def _result(
        self,
        model: _Model,
        outcome: _Outcome,
        assignment: Mapping[int, bool],
        unknown_keys: tuple[str, ...],
        *,
        unknown: bool = False,
    ) -> EvaluationResult:
        decision = Decision.UNKNOWN if unknown else outcome.decision
        blockers = model.blockers(outcome, assignment)
        statements: list[StatementMatch] = []
        if decision is Decision.EXPLICIT_DENY:
            statements = [_match(a) for a in outcome.denials]
        elif decision is Decision.ALLOWED:
            statements = [_match(a) for a in outcome.grants]
        layers = model.verdicts(outcome, assignment, unknown=unknown)
        return EvaluationResult(decision, blockers, tuple(statements), unknown_keys, layers)


# --- the decision model ----------------------------------------------------------------------------


@dataclass
class _Outcome:
    decision: Decision
    denials: list[_Applied]
    grants: list[_Applied]
    # The chosen way to allowed: (layer, satisfied) requirements; failing ones are the implicit blockers.
    path: list[tuple[Layer, bool, str | None]]


class _Model:
    """Combines layer results into a decision; evaluated once, or per assignment of undecided statements."""

    def __init__(
        self,
        ev: _Evaluation,
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

    def _allowed(self, layer: Layer, assignment: Mapping[int, bool]) -> bool:
        group = self.allows.get(layer)
        return group is not None and group.value(assignment)

    def decide(self, assignment: Mapping[int, bool]) -> _Outcome:
        ev = self.ev
        rl = ev.resource_layer
        denials = [a for g in self.denies.values() for a in g.all if a.value or assignment[a.uid]]
        special_layers = {s.layer for s in self.specials}

        identity_ok = ev.ptype is PrincipalType.ROOT or self._allowed(Layer.IDENTITY, assignment)
        boundary_ok = not ev.has_boundary or self._allowed(Layer.BOUNDARY, assignment)
        if ev.federated:
            session_ok = bool(ev.policies.session) and self._allowed(Layer.SESSION, assignment)
        else:
            session_ok = not ev.has_session or self._allowed(Layer.SESSION, assignment)
        scp_ok = ev.scp_reason is not None or all(g.value(assignment) for g in self.scp_levels)
        vpce_ok = not ev.vpce_present or self._allowed(Layer.VPCE, assignment)

        direct = self.resource_allows[Grant.DIRECT].value(assignment) or Grant.DIRECT in self.grant_allows
        role = self.resource_allows[Grant.ROLE].value(assignment) or Grant.ROLE in self.grant_allows
        account = self.resource_allows[Grant.ACCOUNT].value(assignment)
        resource_any = direct or role or account
        has_resource_policy = ev.policies.resource is not None or bool(self.grant_allows)

        guard: list[tuple[Layer, bool, str | None]] = [(Layer.SCP, scp_ok, None), (Layer.VPCE, vpce_ok, None)]
        guard += [(s.layer, False, s.detail) for s in self.specials if s.layer is not Layer.SESSION]
        limits: list[tuple[Layer, bool, str | None]] = [(Layer.BOUNDARY, boundary_ok, None)]
        limits.append((Layer.SESSION, session_ok and Layer.SESSION not in special_layers, None))
        principal_side: list[tuple[Layer, bool, str | None]] = []
        if ev.ptype is not PrincipalType.ROOT:
            principal_side = [(Layer.IDENTITY, identity_ok, None), *limits]
            if ev.federated and Layer.SESSION in special_layers:
                detail = next(s.detail for s in self.specials if s.layer is Layer.SESSION)
                principal_side[2] = (Layer.SESSION, False, detail)

        delegation_needed = ev.is_kms_key or ev.is_trust
        delegation_detail = (
            "the key policy does not allow the account's IAM policies to grant this (no statement for the account)"
            if ev.is_kms_key
            else "the role trust policy does not trust this principal or its account"
        )
        paths: list[list[tuple[Layer, bool, str | None]]] = []
        if ev.resource_only:
            paths.append([(rl, direct, None), *guard])
        elif ev.same_account:
            identity_path = list(principal_side)
            if delegation_needed:
                identity_path.append((rl, account or (ev.ptype is PrincipalType.ROOT and direct), delegation_detail))
            paths.append(identity_path + guard)
            if has_resource_policy or delegation_needed:
                if direct:
                    resource_path: list[tuple[Layer, bool, str | None]] = []
                elif role:
                    resource_path = list(limits)
                else:
                    resource_path = [(rl, False, None)]
                paths.append(resource_path + guard)
        else:
            paths.append([*principal_side, (rl, resource_any, None), *guard])

        satisfied = [path for path in paths if all(ok for _, ok, _ in path)]
        grants: list[_Applied] = []
        if denials:
            decision = Decision.EXPLICIT_DENY
        elif satisfied:
            decision = Decision.ALLOWED
        else:
            decision = Decision.IMPLICIT_DENY
        deny_layers = {a.layer for a in denials}
        chosen = satisfied[0] if satisfied else min(paths, key=lambda path: _cost(path, deny_layers))
        if decision is Decision.ALLOWED:
            grants = self._grants(chosen, assignment, direct=direct, role=role)
        return _Outcome(decision, denials, grants, chosen)

    def _grants(
        self, path: list[tuple[Layer, bool, str | None]], assignment: Mapping[int, bool], *, direct: bool, role: bool
    ) -> list[_Applied]:
        layers = {layer for layer, _, _ in path}
        out: list[_Applied] = []
        for layer in (Layer.IDENTITY, Layer.BOUNDARY, Layer.SESSION, Layer.VPCE):
            if layer in layers and layer in self.allows:
                out.extend(a for a in self.allows[layer].all if a.value or assignment[a.uid])
        if Layer.SCP in layers:
            for group in self.scp_levels:
                out.extend(a for a in group.all if a.value or assignment[a.uid])
        rl = self.ev.resource_layer
        if rl in layers or not self.ev.same_account or direct or role:
            for grant_kind in Grant:
                out.extend(a for a in self.resource_allows[grant_kind].all if a.value or assignment[a.uid])
        return out

    # -- explanations -------------------------------------------------------------------------

    def blockers(self, outcome: _Outcome, assignment: Mapping[int, bool]) -> tuple[Blocker, ...]:
        if outcome.decision is Decision.ALLOWED:
            return ()
        out: list[Blocker] = []
        seen: set[Layer] = set()
        for denial in outcome.denials:
            if denial.layer in seen:
                continue
            seen.add(denial.layer)
            out.append(self._explicit(denial))
        for layer, ok, detail in outcome.path:
            if ok or layer in seen:
                continue
            seen.add(layer)
            out.append(self._implicit(layer, detail))
        order = {layer: i for i, layer in enumerate(_LAYER_ORDER)}
        return tuple(sorted(out, key=lambda b: order[b.layer]))

    def _explicit(self, applied: _Applied) -> Blocker:
        stmt = applied.statement
        checks = tuple(_check(cond, self.ev.context, self.ev.unknown) for cond in stmt.conditions)
        return Blocker(
            layer=applied.layer,
            kind=DenialKind.EXPLICIT,
            policy=applied.policy.name,
            policy_arn=applied.policy.arn,
            sid=stmt.sid,
            statement_index=stmt.index,
            conditions=checks,
            detail=self._level_detail(applied.layer, applied.level),
            statement=stmt.raw,
        )

    def _implicit(self, layer: Layer, detail: str | None) -> Blocker:
        ev = self.ev
        if detail is not None and layer is not Layer.SCP:
            return Blocker(layer=layer, kind=DenialKind.IMPLICIT, detail=detail)
        policies: list[tuple[CompiledPolicy, int | None]] = []
        level_detail: str | None = None
        if layer is Layer.SCP:
            failing = self._failing_scp_level()
            level_detail = self._level_detail(Layer.SCP, failing)
            if failing is not None:
                policies = [(compile_policy(n, PolicyKind.SCP), failing) for n in ev.policies.scp_levels[failing]]
            if failing is not None and not ev.policies.scp_levels[failing]:
                level_detail = f"no SCP attached at {self._level_name(Layer.SCP, failing)}, so nothing is allowed there"
        else:
            named: tuple[NamedPolicy, ...] = ()
            if layer is Layer.IDENTITY:
                named = ev.policies.identity
            elif layer is Layer.BOUNDARY:
                named = ev.policies.boundary
            elif layer is Layer.SESSION:
                named = ev.policies.session
            elif layer is Layer.VPCE:
                named = ev.policies.vpce
            elif layer in (Layer.RESOURCE, Layer.TRUST) and ev.policies.resource is not None:
                named = (ev.policies.resource,)
            policies = [(compile_policy(n, _KIND_BY_LAYER[layer]), None) for n in named]
        closest = _closest_allow(ev, layer, [p for p, _ in policies])
        if closest is None:
            text = level_detail or _no_allow_text(ev, layer, bool(policies))
            return Blocker(layer=layer, kind=DenialKind.IMPLICIT, detail=text)
        policy, stmt, unmet, checks = closest
        return Blocker(
            layer=layer,
            kind=DenialKind.IMPLICIT,
            policy=policy.name,
            policy_arn=policy.arn,
            sid=stmt.sid,
            statement_index=stmt.index,
            conditions=checks,
            unmet=unmet,
            detail=level_detail or detail,
            statement=stmt.raw,
        )

    def _failing_scp_level(self) -> int | None:
        for i, group in enumerate(self.scp_levels):
            if not group.sure:
                return i
        return None

    def _level_name(self, layer: Layer, level: int | None) -> str:
        if level is None:
            return ""
        names = self.ev.policies.scp_level_names if layer is Layer.SCP else self.ev.policies.rcp_level_names
        if level < len(names):
            return names[level]
        count = len(self.ev.policies.scp_levels if layer is Layer.SCP else self.ev.policies.rcp_levels)
        if level == 0:
            return "the organization root"
        if level == count - 1:
            return "the account"
        return f"organization level {level}"

    def _level_detail(self, layer: Layer, level: int | None) -> str | None:
        if layer not in (Layer.SCP, Layer.RCP) or level is None:
            return None
        return f"at {self._level_name(layer, level)}"

    def verdicts(self, outcome: _Outcome, assignment: Mapping[int, bool], *, unknown: bool) -> tuple[LayerVerdict, ...]:
        ev = self.ev
        deny_layers = {a.layer for a in outcome.denials}
        blocking = {layer for layer, ok, _ in outcome.path if not ok}
        out: list[LayerVerdict] = []
        for layer in _layer_order(ev):
            names = _policy_names(ev, layer)
            reason = _not_applicable(ev, layer)
            undecided = any(a.value is None for a in self.ev.applied if a.layer is layer)
            if reason is not None:
                out.append(LayerVerdict(layer, LayerStatus.NOT_APPLICABLE, reason, names))
            elif unknown and undecided:
                out.append(
                    LayerVerdict(layer, LayerStatus.UNKNOWN, "depends on context keys whose value is not known", names)
                )
            elif layer in deny_layers:
                denial = next(a for a in outcome.denials if a.layer is layer)
                out.append(LayerVerdict(layer, LayerStatus.EXPLICIT_DENY, f"denied by {_describe(denial)}", names))
            elif layer in blocking:
                out.append(
                    LayerVerdict(layer, LayerStatus.IMPLICIT_DENY, _no_allow_text(ev, layer, bool(names)), names)
                )
            else:
                allowing = [
                    a
                    for a in ev.applied
                    if a.layer is layer and a.statement.allow and (a.value or assignment.get(a.uid, False))
                ]
                if allowing:
                    summary = "allowed by " + "; ".join(_describe(a) for a in allowing[:3])
                    out.append(LayerVerdict(layer, LayerStatus.ALLOWS, summary, names))
                elif layer in (Layer.RESOURCE, Layer.TRUST):
                    out.append(
                        LayerVerdict(
                            layer,
                            LayerStatus.IMPLICIT_DENY,
                            "no statement grants this principal; not needed on its own",
                            names,
                        )
                        if names
                        else LayerVerdict(layer, LayerStatus.NOT_APPLICABLE, "no resource policy", names)
                    )
                elif layer is Layer.RCP:
                    out.append(
                        LayerVerdict(layer, LayerStatus.ALLOWS, "no RCP denies it (RCPFullAWSAccess applies)", names)
                    )
                else:
                    out.append(
                        LayerVerdict(layer, LayerStatus.IMPLICIT_DENY, _no_allow_text(ev, layer, bool(names)), names)
                    )
        return tuple(out)


_LAYER_ORDER: Final = (
    Layer.IDENTITY,
    Layer.BOUNDARY,
    Layer.SESSION,
    Layer.SCP,
    Layer.RCP,
    Layer.RESOURCE,
    Layer.TRUST,
    Layer.VPCE,
)


def _layer_order(ev: _Evaluation) -> tuple[Layer, ...]:
    skip = Layer.RESOURCE if ev.is_trust else Layer.TRUST
    return tuple(layer for layer in _LAYER_ORDER if layer is not skip)


def _policy_names(ev: _Evaluation, layer: Layer) -> tuple[str, ...]:
    p = ev.policies
    if layer is Layer.IDENTITY:
        return tuple(n.name for n in p.identity)
    if layer is Layer.BOUNDARY:
        return tuple(n.name for n in p.boundary)
    if layer is Layer.SESSION:
        return tuple(n.name for n in p.session)
    if layer is Layer.SCP:
        return tuple(n.name for level in p.scp_levels for n in level)
    if layer is Layer.RCP:
        return tuple(n.name for level in p.rcp_levels for n in level)
    if layer is Layer.VPCE:
        return tuple(n.name for n in p.vpce)
    names = (p.resource.name,) if p.resource is not None else ()
    return names + tuple(f"grant {g.name or g.grant_id}" for g in p.kms_grants)


def _not_applicable(ev: _Evaluation, layer: Layer) -> str | None:
    if layer is Layer.IDENTITY:
        if ev.ptype is PrincipalType.ROOT:
            return "the root user is not limited by identity policies"
        if ev.ptype not in _IAM_PRINCIPALS:
            return f"a {ev.ptype.value.replace('_', ' ')} principal has no identity policies"
        return None
    if layer is Layer.BOUNDARY:
        return None if ev.has_boundary else "no permissions boundary"
    if layer is Layer.SESSION:
        if ev.federated:
            return None
        return None if ev.has_session else "no session policy"
    if layer is Layer.SCP:
        return ev.scp_reason
    if layer is Layer.RCP:
        return ev.rcp_reason
    if layer is Layer.VPCE:
        return None if ev.vpce_present else "not through a VPC endpoint"
    if ev.policies.resource is None and not ev.policies.kms_grants and not ev.is_kms_key and not ev.is_trust:
        return "no resource policy"
    return None


def _no_allow_text(ev: _Evaluation, layer: Layer, has_policies: bool) -> str:
    action = ev.request.action
    if layer is Layer.SCP:
        return f"an SCP level does not allow {action}"
    if layer is Layer.RESOURCE and ev.is_kms_key and not has_policies:
        return "no key policy was given; a KMS key is usable only through its key policy"
    if layer is Layer.TRUST and not has_policies:
        return "no trust policy was given; a role can only be assumed when its trust policy allows it"
    if not has_policies:
        return f"no {layer.value} policy allows {action}"
    return f"no statement allows {action} for this request"


def _cost(path: list[tuple[Layer, bool, str | None]], deny_layers: set[Layer]) -> int:
    return len({layer for layer, ok, _ in path if not ok and layer not in deny_layers})


def _describe(applied: _Applied) -> str:
    stmt = applied.statement
    label = f"Sid {stmt.sid}" if stmt.sid else f"statement #{stmt.index}"
    return f"{applied.policy.name} ({label})"


def _match(applied: _Applied) -> StatementMatch:
    stmt = applied.statement
    return StatementMatch(applied.layer, applied.policy.name, stmt.sid, stmt.effect, stmt.index, applied.policy.arn)


def _check(cond: CompiledCondition, context: Context, unknown: frozenset[str]) -> ConditionCheck:
    return cond.check(context, cond.key_lower in unknown)


def _condition_unknown_keys(cond: CompiledCondition, unknown: frozenset[str]) -> list[str]:
    keys = [cond.key] if cond.key_lower in unknown else []
    for template in cond.templates or ():
        keys.extend(k for k in template.variable_keys if k in unknown)
    return keys


def _closest_allow(
    ev: _Evaluation, layer: Layer, policies: list[CompiledPolicy]
) -> tuple[CompiledPolicy, CompiledStatement, str, tuple[ConditionCheck, ...]] | None:
    """The Allow statement that came closest to applying, and the first part of it that did not."""
    best: tuple[int, CompiledPolicy, CompiledStatement, str, tuple[ConditionCheck, ...]] | None = None
    kind = _KIND_BY_LAYER[layer]
    for policy in policies:
        for stmt in policy.statements:
            if not stmt.allow:
                continue
            score, unmet, checks = _explain_statement(ev, kind, stmt)
            if best is None or score > best[0]:
                best = (score, policy, stmt, unmet, checks)
    if best is None:
        return None
    return best[1], best[2], best[3], best[4]


def _explain_statement(
    ev: _Evaluation, kind: PolicyKind, stmt: CompiledStatement
) -> tuple[int, str, tuple[ConditionCheck, ...]]:
    if stmt.actions.matches(ev.action) == stmt.not_action:
        return 0, "action", ()
    if ev._resource_value(stmt) is False:
        return 1, "resource", ()
    if kind in (PolicyKind.RESOURCE, PolicyKind.RCP, PolicyKind.VPCE):
        matches, _ = ev._principal_grant(stmt)
        if not matches:
            return 2, "principal", ()
    failing = []
    for cond in stmt.conditions:
        outcome = evaluate_condition(cond, ev.context, ev.unknown)
        if outcome is not True:
            failing.append(_check(cond, ev.context, ev.unknown))
    if failing:
        return 3, "condition", tuple(failing)
    return 4, "principal", ()


def _arn_account(text: str) -> str | None:
    try:
        return parse_arn(text).account or None
    except ArnError:
        return None


def _is_role_arn(text: str) -> bool:
    parts = text.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and parts[2] == "iam" and parts[5].startswith("role/")


def _is_kms_key(text: str) -> bool:
    parts = text.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and parts[2] == "kms" and parts[5].startswith("key/")


def _is_service_linked(principal: Principal) -> bool:
    if principal.type is PrincipalType.ROLE:
        return principal.path.startswith(_SLR_PATH)
    if principal.type is PrincipalType.ASSUMED_ROLE:
        # Session ARNs drop the role's path; service-linked role names all start with AWSServiceRoleFor.
        return (principal.name or "").startswith(_SLR_PREFIX)
    return False


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


__all__ = [
    "EvalRequest",
    "EvaluationResult",
    "KmsGrant",
    "PolicySet",
    "StatementMatch",
    "describe_value",
    "evaluate",
]
