"""The domain model shared by every part of iamwhy: frozen dataclasses and StrEnums, DESIGN.md §2's vocabulary.

Nothing here knows about Slack, boto3 or rendering; it is plain data that the parser, the evaluator,
the investigation and the renderers pass between them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Layer(StrEnum):
    """A policy layer that can allow or deny a request."""

    IDENTITY = "identity"
    RESOURCE = "resource"
    TRUST = "trust"
    BOUNDARY = "boundary"
    SESSION = "session"
    SCP = "scp"
    RCP = "rcp"
    VPCE = "vpce"


# The order a person reads the layers in: the caller's own policies, then the ceilings above them, then the
# resource side. Every per-layer checklist uses it.
CHECKLIST_ORDER: tuple[Layer, ...] = (
    Layer.IDENTITY,
    Layer.BOUNDARY,
    Layer.SESSION,
    Layer.SCP,
    Layer.RCP,
    Layer.RESOURCE,
    Layer.TRUST,
    Layer.VPCE,
)


class DenialKind(StrEnum):
    EXPLICIT = "explicit"
    IMPLICIT = "implicit"


class Decision(StrEnum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicit_deny"
    IMPLICIT_DENY = "implicit_deny"
    UNKNOWN = "unknown"


class Confidence(StrEnum):
    """Evidence hierarchy, strongest first (DESIGN.md §2)."""

    VERIFIED = "verified"
    EVALUATED = "evaluated"
    SIMULATED = "simulated"
    REPORTED = "reported"
    UNKNOWN = "unknown"


class PrincipalType(StrEnum):
    USER = "user"
    ROLE = "role"
    ASSUMED_ROLE = "assumed_role"
    FEDERATED_USER = "federated_user"
    ROOT = "root"
    SERVICE = "service"
    ANONYMOUS = "anonymous"
    UNKNOWN = "unknown"


class LayerStatus(StrEnum):
    """How one layer stood on one request, for the per-layer checklist."""

    ALLOWS = "allows"
    EXPLICIT_DENY = "explicit_deny"
    IMPLICIT_DENY = "implicit_deny"
    NOT_APPLICABLE = "not_applicable"
    UNREADABLE = "unreadable"
    UNKNOWN = "unknown"


# A request-context value: a single string or a multi-valued key.
ContextValue = str | tuple[str, ...]


@dataclass(frozen=True)
class Principal:
    """Who made the request, as far as an ARN (or the word "anonymous") tells."""

    arn: str
    type: PrincipalType
    partition: str | None = None
    account_id: str | None = None
    name: str | None = None
    path: str = "/"
    session_name: str | None = None
    # Set for IAM Identity Center roles (AWSReservedSSO_<PermissionSet>_<suffix>).
    sso_permission_set: str | None = None
    # False while ``path`` is only assumed: a session's ARN drops its role's path, which IAM must be asked for.
    path_known: bool = False

    @property
    def role_arn(self) -> str | None:
        """The role behind a role or assumed-role principal (for a session, with its path once that is known)."""
        if self.type is PrincipalType.ROLE:
            return self.arn
        if self.type is PrincipalType.ASSUMED_ROLE and self.partition and self.account_id and self.name:
            return f"arn:{self.partition}:iam::{self.account_id}:role{self.path}{self.name}"
        return None


@dataclass(frozen=True)
class Reported:
    """What the error message itself said about why: its reason phrase, if any."""

    layer: Layer | None = None
    kind: DenialKind | None = None
    policy_arn: str | None = None
    # The reason phrase as printed ("because no identity-based policy allows the s3:GetObject action").
    phrase: str | None = None


@dataclass(frozen=True)
class DeniedRequest:
    """One access denial found in pasted text."""

    principal: Principal | None
    action: str | None
    resource_arn: str | None
    account_id: str | None
    api_operation: str | None = None
    region: str | None = None
    reported: Reported = field(default_factory=Reported)
    authorization_id: str | None = None
    authorization_region: str | None = None
    encoded_message: str | None = None
    error_code: str | None = None
    # Which message shape it was found in ("cli", "go-sdk", "cloudtrail", "s3-xml", ...).
    source_format: str | None = None
    # Request-context keys the text itself revealed (CloudTrail: aws:SourceIp, aws:SourceVpce, ...).
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    # The part of the input the denial came from, secrets redacted, clipped.
    snippet: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def principal_arn(self) -> str | None:
        return self.principal.arn if self.principal else None


@dataclass(frozen=True)
class OtherError:
    """A look-alike that is not an access denial (ExpiredToken, SignatureDoesNotMatch, ...)."""

    code: str
    explanation: str
    snippet: str = ""


@dataclass(frozen=True)
class ScanResult:
    """Everything found in one piece of pasted text."""

    denials: tuple[DeniedRequest, ...]
    other_errors: tuple[OtherError, ...] = ()
    secrets_found: bool = False


@dataclass(frozen=True)
class ConditionCheck:
    """One condition of a statement, with the value the request had (None: absent or unknown)."""

    key: str
    operator: str
    values: tuple[str, ...]
    actual: ContextValue | None = None
    # True when the request value is not known (three-valued evaluation), False when known or absent.
    unknown: bool = False


@dataclass(frozen=True)
class Blocker:
    """A layer that stops the request, and the statement (or missing statement) that does it."""

    layer: Layer
    kind: DenialKind
    policy: str | None = None
    policy_arn: str | None = None
    sid: str | None = None
    # Position of the statement in its policy, for statements without a Sid.
    statement_index: int | None = None
    conditions: tuple[ConditionCheck, ...] = ()
    # For an implicit deny: the first unmet part of the closest Allow ("action", "resource", "principal", "condition").
    unmet: str | None = None
    # Plain-language detail ("KMS key policy does not delegate to IAM", "S3 Block Public Access", ...).
    detail: str | None = None
    statement: Mapping[str, Any] | None = None
    # Set when the blocker stops a call made on the request's behalf, not the request itself: the KMS call S3
    # makes as the caller for an SSE-KMS object ("KMS key abcd-1234"; its first word names the service).
    subject: str | None = None


@dataclass(frozen=True)
class LayerVerdict:
    """One line of the per-layer checklist."""

    layer: Layer
    status: LayerStatus
    summary: str
    policies: tuple[str, ...] = ()
    # Set for a row about a call made on the request's behalf, like Blocker.subject ("KMS key abcd-1234"):
    # the text report shows that row as "Resource (KMS)".
    subject: str | None = None


@dataclass(frozen=True)
class Unreadable:
    """A layer iamwhy could not read, and why."""

    layer: Layer
    why: str


@dataclass(frozen=True)
class Fix:
    """A proposed change, who must make it, and whether re-evaluation shows it works."""

    summary: str
    owner: str
    attach_to: str | None = None
    policy: Mapping[str, Any] | None = None
    # None: not re-evaluated; True: this change alone makes the request allowed.
    resolves: bool | None = None
    still_blocked_by: tuple[Layer, ...] = ()
    # What "resolves" assumed about request context iamwhy cannot see and no blocker depends on
    # ("the call used HTTPS"); None when it assumed nothing.
    assuming: str | None = None


@dataclass(frozen=True)
class Provenance:
    """How a diagnosis was obtained: the footer under every answer."""

    # Whose eyes read the account ("IamWhyReadOnly in 123456789012"); None when nothing was read.
    checked_as: str | None = None
    # Requests actually sent to AWS (cache hits excluded).
    aws_reads: int = 0
    duration_ms: float | None = None


@dataclass(frozen=True)
class Diagnosis:
    """The answer for one denial."""

    request: DeniedRequest
    decision: Decision
    confidence: Confidence
    explanation: str
    blocked_by: tuple[Blocker, ...] = ()
    unknown_context_keys: tuple[str, ...] = ()
    unreadable: tuple[Unreadable, ...] = ()
    fixes: tuple[Fix, ...] = ()
    commands: tuple[str, ...] = ()
    layers: tuple[LayerVerdict, ...] = ()
    warnings: tuple[str, ...] = ()
    # Findings of the checks beyond the verdict itself ("the object is encrypted with KMS key ...").
    notes: tuple[str, ...] = ()
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def fix(self) -> Fix | None:
        return self.fixes[0] if self.fixes else None
