"""What one diagnosis read from AWS, as plain frozen data: the input of every pure step after gathering."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from diagnostics.model import ContextValue, DeniedRequest, Layer, Principal, Unreadable
from diagnostics.policy import KmsGrant, NamedPolicy, PolicySet, PublicAccessBlock


@dataclass(frozen=True)
class ResourceSide:
    """The resource's own side of a request: its policy and what else governs it, as one registry reader found it."""

    layer: Layer
    service: str
    # The resource that holds the policy (the bucket of an object, the key, the queue, the role...).
    arn: str
    label: str
    account: str | None
    # None: the resource has no policy (not: the policy could not be read; that is an Unreadable).
    policy: NamedPolicy | None
    kms_grants: tuple[KmsGrant, ...] = ()
    public_access_block: PublicAccessBlock | None = None
    # An AWS managed KMS key (alias/aws/...): its key policy is AWS's, and RCPs do not apply to it.
    aws_managed: bool = False
    # S3: the customer managed KMS key the bucket encrypts new objects with by default (SSE-KMS), if any,
    # and whether the default encryption could be read at all.
    default_kms_key: str | None = None
    encryption_read: bool = False
    # Plain facts the reader learnt on the way ("default encryption: SSE-KMS with key ...").
    facts: tuple[str, ...] = ()
    # The region the resource is in (its ARN's, or the location AWS reported for a bucket); None: not known.
    region: str | None = None


@dataclass(frozen=True)
class KmsChain:
    """The KMS side of an S3 request on an SSE-KMS object: S3 calls KMS as the caller, so the key must allow it too."""

    action: str
    key: ResourceSide
    # The request context S3 sends KMS (kms:ViaService, kms:EncryptionContext:aws:s3:arn, kms:CallerAccount).
    context: Mapping[str, ContextValue]


@dataclass(frozen=True)
class AuthorizationRecord:
    """IAM Access Troubleshooter's record of the denial (GetRequestAuthorizationDetails) and the policies it cites."""

    authorization_id: str
    details: Mapping[str, Any]
    # policy uri -> the document AWS evaluated (GetRequestAuthorizationPolicy).
    documents: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class DecodedMessage:
    """An encoded authorization message as sts:DecodeAuthorizationMessage decoded it."""

    document: Mapping[str, Any]


@dataclass(frozen=True)
class Simulation:
    """iam:SimulatePrincipalPolicy's answer for the request, and what it was asked."""

    source_arn: str
    result: Mapping[str, Any]
    # The context keys it was given (it treats every other key as absent).
    context_keys: tuple[str, ...] = ()
    with_resource_policy: bool = False


@dataclass(frozen=True)
class Snapshot:
    """Everything gathered for one denial. Layers that could not be read are listed in ``unreadable``."""

    request: DeniedRequest
    # The caller, with what IAM told about it (a role's path); None when nothing names it.
    principal: Principal | None
    principal_account: str | None
    resource_account: str | None
    policies: PolicySet
    # Request-context keys whose value is known; every other key is unknown unless listed as absent.
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    # Lower-cased keys known to be absent, and prefixes under which every present key is known (principal tags).
    absent_keys: frozenset[str] = frozenset()
    complete_prefixes: frozenset[str] = frozenset()
    # The SCP levels by name alone, root first ("Root", "Workloads", the account), for a one-line path.
    scp_path: tuple[str, ...] = ()
    management_account: str | None = None
    # Whether the caller's account is in an organization (None: not known).
    in_organization: bool | None = None
    unreadable: tuple[Unreadable, ...] = ()
    resource: ResourceSide | None = None
    kms: KmsChain | None = None
    # Why the S3 -> KMS chain could not be read (the bucket encrypts with a key iamwhy could not read).
    kms_unreadable: str | None = None
    record: AuthorizationRecord | None = None
    decoded: DecodedMessage | None = None
    simulation: Simulation | None = None
    # Why the simulator could not be asked, when it could not.
    simulation_note: str | None = None
    # Facts about the gathering itself ("the authorization record was not found after 3 tries", ...).
    notes: tuple[str, ...] = ()
    # The accounts whose read-only role was used, in the order first read.
    accounts_read: tuple[str, ...] = ()
    # The IAM actions the bot's roles were denied while reading ("organizations:ListPoliciesForTarget").
    denied_permissions: tuple[str, ...] = ()
    # Set when nothing could be read at all (the read role could not be assumed, no credentials): why.
    fallback: str | None = None

    def unreadable_layers(self) -> frozenset[Layer]:
        return frozenset(u.layer for u in self.unreadable)

    def why_unreadable(self, layer: Layer) -> str | None:
        return next((u.why for u in self.unreadable if u.layer is layer), None)
