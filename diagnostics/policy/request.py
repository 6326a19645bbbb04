"""What the evaluator takes and gives: the request, the policy set, and the result."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from diagnostics.arn import ArnError, parse_arn
from diagnostics.model import Blocker, ContextValue, Decision, Layer, LayerVerdict, Principal, PrincipalType
from diagnostics.policy.documents import NamedPolicy
from diagnostics.policy.s3 import PublicAccessBlock

# Actions a role trust policy authorizes (IAM User Guide, "Granting a user permissions to switch roles").
TRUST_ACTIONS: Final = ("sts:assumerole", "sts:tagsession", "sts:setsourceidentity", "sts:setcontext")
# Principals that carry identity policies (and so permissions boundaries).
IAM_PRINCIPALS: Final = frozenset(
    {PrincipalType.USER, PrincipalType.ROLE, PrincipalType.ASSUMED_ROLE, PrincipalType.FEDERATED_USER}
)
_SLR_PATH: Final = "/aws-service-role/"
_SLR_PREFIX: Final = "AWSServiceRoleFor"


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
    # Derived once per request and reused for every policy set it is evaluated against.
    lowered_context: dict[str, ContextValue] = field(init=False, repr=False, compare=False)
    lowered_unknown: frozenset[str] = field(init=False, repr=False, compare=False)
    facts: RequestFacts = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        normalized: dict[str, ContextValue] = {}
        for key, value in self.context.items():
            normalized[key.lower()] = tuple(value) if isinstance(value, list | tuple) else value
        object.__setattr__(self, "lowered_context", normalized)
        object.__setattr__(self, "lowered_unknown", frozenset(k.lower() for k in self.unknown_keys))
        object.__setattr__(self, "facts", RequestFacts.of(self))


@dataclass(frozen=True)
class RequestFacts:
    """What the evaluator derives from a request alone; computed once per request, reused across policy sets."""

    action: str
    service: str
    resource_account: str | None
    resource_only: bool
    same_account: bool
    is_trust: bool
    is_kms_key: bool
    slr: bool

    @staticmethod
    def of(request: EvalRequest) -> RequestFacts:
        principal = request.principal
        action = request.action.lower()
        resource_account = request.resource_account or arn_account(request.resource) or principal.account_id
        resource_only = principal.type in (PrincipalType.ANONYMOUS, PrincipalType.SERVICE)
        return RequestFacts(
            action=action,
            service=action.partition(":")[0],
            resource_account=resource_account,
            resource_only=resource_only,
            same_account=resource_only or principal.account_id == resource_account,
            is_trust=is_role_arn(request.resource) and action.startswith(TRUST_ACTIONS),
            is_kms_key=is_kms_key(request.resource),
            slr=is_service_linked(principal),
        )


@dataclass(frozen=True)
class StatementMatch:
    """A statement that decided the outcome."""

    layer: Layer
    policy: str
    sid: str | None
    effect: str
    index: int
    policy_arn: str | None = None


@dataclass(frozen=True, init=False)
class EvaluationResult:
    """The decision, every blocking layer, the deciding statements and the per-layer checklist.

    ``statements`` and ``layers`` may be given as zero-argument callables: they are then built on first
    use, so callers that only need the decision (re-evaluating candidate fixes) do not pay for them.
    """

    decision: Decision
    blocked_by: tuple[Blocker, ...]
    unknown_context_keys: tuple[str, ...]
    # Rules that decided outside any policy ("sts:GetCallerIdentity is always allowed", ...).
    notes: tuple[str, ...]
    _statements: tuple[StatementMatch, ...] | Callable[[], tuple[StatementMatch, ...]] = field(
        repr=False, compare=False
    )
    _layers: tuple[LayerVerdict, ...] | Callable[[], tuple[LayerVerdict, ...]] = field(repr=False, compare=False)

    def __init__(
        self,
        decision: Decision,
        blocked_by: tuple[Blocker, ...],
        statements: tuple[StatementMatch, ...] | Callable[[], tuple[StatementMatch, ...]],
        unknown_context_keys: tuple[str, ...],
        layers: tuple[LayerVerdict, ...] | Callable[[], tuple[LayerVerdict, ...]],
        notes: tuple[str, ...] = (),
    ) -> None:
        object.__setattr__(self, "decision", decision)
        object.__setattr__(self, "blocked_by", blocked_by)
        object.__setattr__(self, "unknown_context_keys", unknown_context_keys)
        object.__setattr__(self, "notes", notes)
        object.__setattr__(self, "_statements", statements)
        object.__setattr__(self, "_layers", layers)

    @property
    def statements(self) -> tuple[StatementMatch, ...]:
        value = self._statements
        if callable(value):
            value = value()
            object.__setattr__(self, "_statements", value)
        return value

    @property
    def layers(self) -> tuple[LayerVerdict, ...]:
        value = self._layers
        if callable(value):
            value = value()
            object.__setattr__(self, "_layers", value)
        return value

    @property
    def blocking_layers(self) -> tuple[Layer, ...]:
        return tuple(dict.fromkeys(b.layer for b in self.blocked_by))


def arn_account(text: str) -> str | None:
    try:
        return parse_arn(text).account or None
    except ArnError:
        return None


def is_role_arn(text: str) -> bool:
    parts = text.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and parts[2] == "iam" and parts[5].startswith("role/")


def is_kms_key(text: str) -> bool:
    parts = text.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and parts[2] == "kms" and parts[5].startswith("key/")


def is_service_linked(principal: Principal) -> bool:
    if principal.type is PrincipalType.ROLE:
        return principal.path.startswith(_SLR_PATH)
    if principal.type is PrincipalType.ASSUMED_ROLE:
        # Session ARNs drop the role's path; service-linked role names all start with AWSServiceRoleFor.
        return (principal.name or "").startswith(_SLR_PREFIX)
    return False
