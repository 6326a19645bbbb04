"""Gathering: every read-only AWS call one diagnosis needs, concurrent wherever the calls are independent.

The result is a Snapshot; nothing after this module talks to AWS. A read that fails is a finding: the layer
it belongs to is recorded as unreadable, with the reason, and gathering goes on with everything else.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from diagnostics import catalog
from diagnostics.model import ContextValue, DeniedRequest, Layer, Principal, PrincipalType, Unreadable
from diagnostics.parse import scan
from diagnostics.policy import NamedPolicy, PolicySet
from diagnostics.reader import (
    AccountNotAllowed,
    AssumeRoleFailed,
    AwsReader,
    CredentialsError,
    NotConfigured,
    NotFound,
    ReadDenied,
    ReadError,
    ReadsPaused,
    RequestRejected,
    RoleKind,
    Unavailable,
)
from diagnostics.remediation import policy_holder, request_action
from diagnostics.resources import ResourceMissing, ResourceTarget, document, key_holder, read_key, reader_for
from diagnostics.snapshot import (
    AuthorizationRecord,
    DecodedMessage,
    KmsChain,
    ResourceSide,
    Simulation,
    Snapshot,
)

T = TypeVar("T")

# S3 calls KMS as the caller for these object operations on an SSE-KMS object.
KMS_CHAIN_ACTIONS: Mapping[str, str] = {
    "s3:GetObject": "kms:Decrypt",
    "s3:GetObjectVersion": "kms:Decrypt",
    "s3:PutObject": "kms:GenerateDataKey",
    "s3:CreateMultipartUpload": "kms:GenerateDataKey",
    "s3:UploadPart": "kms:GenerateDataKey",
}
# CloudTrail's LookupEvents returns management events only; these are data events, never found there.
_DATA_EVENTS = frozenset(
    {
        "lambda:InvokeFunction",
        "lambda:InvokeFunctionUrl",
        "sns:Publish",
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        "dynamodb:BatchGetItem",
        "dynamodb:BatchWriteItem",
        "kinesis:PutRecord",
        "kinesis:PutRecords",
        "kinesis:GetRecords",
    }
)
_DENIAL_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Client.UnauthorizedOperation"}
)
# Services whose every request is served from us-east-1, so aws:RequestedRegion is known without a region.
_GLOBAL_SERVICES = frozenset({"iam", "organizations", "cloudfront", "route53"})
_MAX_ORG_DEPTH = 8
_MAX_RECORD_POLICIES = 12
# ContextKeyType for SimulatePrincipalPolicy, by key; everything else is a string (or a string list).
_KEY_TYPES: Mapping[str, str] = {
    "aws:securetransport": "boolean",
    "aws:multifactorauthpresent": "boolean",
    "aws:viaawsservice": "boolean",
    "aws:principalisawsservice": "boolean",
    "aws:sourceip": "ip",
    "aws:vpcsourceip": "ip",
    "aws:multifactorauthage": "numeric",
    "aws:epochtime": "numeric",
    "aws:currenttime": "date",
    "aws:tokenissuetime": "date",
}
# Where the simulator takes a resource policy (iam:SimulatePrincipalPolicy, ResourcePolicy parameter).
_SIMULATED_RESOURCE_SERVICES = frozenset({"s3", "sqs", "sns", "kms", "secretsmanager", "lambda", "ecr"})


@dataclass(frozen=True)
class GatherOptions:
    """How far gathering goes; LiveInvestigator fills it from its settings and the adapter's configuration."""

    own_account: str
    allowed_accounts: frozenset[str]
    # When set, the only accounts that may be read at all (a Slack channel's scope): the bot's own included.
    limit: frozenset[str] | None = None
    authorization_attempts: int = 4
    authorization_delay: float = 0.5
    bucket_owner_candidates: int = 5
    lookup_window: timedelta = timedelta(hours=24)
    simulate: bool = True
    # True when the pasted text carried a long-term access key id (AKIA...): no MFA, no session.
    long_term_key: bool = False


@dataclass(frozen=True)
class _Identity:
    policies: tuple[NamedPolicy, ...]
    boundary: tuple[NamedPolicy, ...]
    # The principal as IAM knows it (a role's path).
    principal: Principal | None
    context: Mapping[str, ContextValue]
    complete_tags: bool


@dataclass(frozen=True)
class _Org:
    scp_levels: tuple[tuple[NamedPolicy, ...], ...] = ()
    scp_names: tuple[str, ...] = ()
    # The same levels by name alone ("Root", "Workloads", the account), for a one-line path.
    scp_short_names: tuple[str, ...] = ()
    rcp_levels: tuple[tuple[NamedPolicy, ...], ...] = ()
    rcp_names: tuple[str, ...] = ()
    management_account: str | None = None
    organization_id: str | None = None
    org_path: str | None = None
    # False: the account is in no organization (so no SCP or RCP applies); None: not known.
    member: bool | None = None
    # The policy types the organization has enabled; None: not known.
    enabled: frozenset[str] | None = None


@dataclass(frozen=True)
class _Levels:
    """One account's chain of organization levels, root first, and the policies attached at each."""

    # "Root", "Workloads (ou-ab12-cdefgh34)", the account id; and the same by name alone.
    names: tuple[str, ...]
    short_names: tuple[str, ...]
    scp_levels: tuple[tuple[NamedPolicy, ...], ...]
    rcp_levels: tuple[tuple[NamedPolicy, ...], ...]
    # The OU path below the organization id ("r-ab12/ou-ab12-cdefgh34/").
    path: str
    # The policy types the organization has enabled; None: not asked, or not known.
    enabled: frozenset[str] | None = None


class Gatherer:
    """Reads everything one denial needs through one recording reader (a ReadScope)."""

    def __init__(self, reader: AwsReader, request: DeniedRequest, options: GatherOptions) -> None:
        self.reader = reader
        self.request = request
        self.options = options
        self.unreadable: dict[Layer, str] = {}
        self.kms_unreadable: str | None = None
        self.notes: list[str] = []
        self.denied: list[str] = []
        self.accounts: list[str] = []
        # The account the caller is in: a role there that cannot be assumed leaves nothing to diagnose with.
        self.home: str | None = None
        self.fatal: ReadError | None = None

    # ------------------------------------------------------------------------------------------ entry point

    async def run(self) -> Snapshot:
        request = self.request
        principal = (
            request.principal if request.principal and request.principal.type is not PrincipalType.UNKNOWN else None
        )
        holder = policy_holder(request.resource_arn)
        account = (principal.account_id if principal else None) or request.account_id or _holder_account(holder)
        context: dict[str, ContextValue] = dict(request.context)
        trail: asyncio.Task[DeniedRequest | None] | None = None
        if account is not None and self._wants_trail(principal):
            trail = asyncio.ensure_future(self._trail(account, principal))
            if principal is None:
                found = await trail
                trail = None
                if found is not None and found.principal is not None:
                    principal = found.principal
                    context = {**found.context, **context}
                    self.notes.append(f"CloudTrail names the caller: {principal.arn}.")
                    account = principal.account_id or account
        principal_account = principal.account_id if principal else account
        self.home = principal_account
        identity = asyncio.ensure_future(self._identity(principal, principal_account))
        # One turn of the loop: the identity's first calls, which head the longest chains (its groups' and managed
        # policies), are handed to the adapter before the other branches' first calls compete with them.
        await asyncio.sleep(0)
        resource = asyncio.ensure_future(self._resource(holder, principal_account))
        org = asyncio.ensure_future(self._org(principal_account, resource, holder))
        record = asyncio.ensure_future(self._record(principal_account))
        decoded = asyncio.ensure_future(self._decoded(principal_account))
        simulation = asyncio.ensure_future(self._simulate(principal, principal_account, resource, context))
        chain = asyncio.ensure_future(self._chain(resource, principal, principal_account, context))
        await asyncio.gather(identity, resource, org, record, decoded, simulation, chain)
        identity_facts, resource_side, org_facts = identity.result(), resource.result(), org.result()
        simulated = simulation.result()
        if trail is not None:
            found = await trail
            if found is not None:
                context = {**found.context, **context}
        resolved = identity_facts.principal or principal
        context.update({k: v for k, v in identity_facts.context.items() if k not in context})
        context.update(self._request_context(resolved, principal_account, resource_side, org_facts, context))
        return Snapshot(
            request=request,
            principal=resolved,
            principal_account=principal_account,
            resource_account=resource_side.account if resource_side else _holder_account(holder),
            policies=PolicySet(
                identity=identity_facts.policies,
                boundary=identity_facts.boundary,
                scp_levels=org_facts.scp_levels,
                rcp_levels=org_facts.rcp_levels,
                resource=resource_side.policy if resource_side else None,
                scp_level_names=org_facts.scp_names,
                rcp_level_names=org_facts.rcp_names,
                kms_grants=resource_side.kms_grants if resource_side else (),
                s3_public_access_block=resource_side.public_access_block if resource_side else None,
            ),
            context=context,
            absent_keys=self._absent_keys(resolved, org_facts, identity_facts),
            complete_prefixes=frozenset({"aws:principaltag/"}) if identity_facts.complete_tags else frozenset(),
            scp_path=org_facts.scp_short_names,
            management_account=org_facts.management_account,
            in_organization=org_facts.member,
            unreadable=tuple(Unreadable(layer, why) for layer, why in self.unreadable.items()),
            resource=resource_side,
            kms=chain.result(),
            kms_unreadable=self.kms_unreadable,
            record=record.result(),
            decoded=decoded.result(),
            simulation=simulated[0],
            simulation_note=simulated[1],
            notes=tuple(dict.fromkeys(self.notes)),
            accounts_read=tuple(dict.fromkeys(self.accounts)),
            denied_permissions=tuple(dict.fromkeys(self.denied)),
            fallback=self._fallback_reason(),
        )

    # ------------------------------------------------------------------------------------------ reading helpers

    async def call(
        self,
        service: str,
        operation: str,
        params: Mapping[str, Any] | None = None,
        *,
        account: str | None = None,
        role: RoleKind = RoleKind.READ,
        region: str | None = None,
        paginate: bool = False,
    ) -> Mapping[str, Any]:
        try:
            answer = await self.reader.call(
                service, operation, params, account=account, role=role, region=region, paginate=paginate
            )
        except ReadDenied as exc:
            self.denied.append(exc.permission)
            raise
        except CredentialsError as exc:
            self.fatal = self.fatal or exc
            raise
        except (AssumeRoleFailed, ReadsPaused) as exc:
            if role is RoleKind.READ and account == self.home:
                self.fatal = self.fatal or exc
            raise
        if account is not None and role is RoleKind.READ:
            self.accounts.append(account)
        return answer

    def fail(self, layer: Layer, error: BaseException | str) -> None:
        """Record that a layer could not be read (the first reason wins: it is usually the root cause)."""
        why = error if isinstance(error, str) else _reason(error)
        self.unreadable.setdefault(layer, why)

    async def _managed(self, arn: str, account: str) -> NamedPolicy:
        meta = (await self.call("iam", "GetPolicy", {"PolicyArn": arn}, account=account)).get("Policy") or {}
        version = await self.call(
            "iam", "GetPolicyVersion", {"PolicyArn": arn, "VersionId": meta.get("DefaultVersionId")}, account=account
        )
        name = str(meta.get("PolicyName") or arn.rsplit("/", 1)[-1])
        return NamedPolicy(name, document((version.get("PolicyVersion") or {}).get("Document")), arn)

    async def _inline(self, kind: str, name: str, account: str, label: str = "") -> list[NamedPolicy]:
        noun = kind.capitalize()
        listed = await self.call("iam", f"List{noun}Policies", {f"{noun}Name": name}, account=account, paginate=True)
        names = [str(n) for n in listed.get("PolicyNames") or []]
        answers = await asyncio.gather(
            *(
                self.call("iam", f"Get{noun}Policy", {f"{noun}Name": name, "PolicyName": n}, account=account)
                for n in names
            )
        )
        return [
            NamedPolicy(f"{n}{label}", document(a.get("PolicyDocument"))) for n, a in zip(names, answers, strict=True)
        ]

    async def _attached(self, kind: str, name: str, account: str) -> list[NamedPolicy]:
        noun = kind.capitalize()
        listed = await self.call(
            "iam", f"ListAttached{noun}Policies", {f"{noun}Name": name}, account=account, paginate=True
        )
        arns = [str(p["PolicyArn"]) for p in listed.get("AttachedPolicies") or []]
        return list(await asyncio.gather(*(self._managed(arn, account) for arn in arns)))

    # ------------------------------------------------------------------------------------------ identity

    async def _identity(self, principal: Principal | None, account: str | None) -> _Identity:
        none = _Identity((), (), principal, {}, False)
        if principal is None:
            action = request_action(self.request)
            if action is not None and not _management_event(action):
                why = f"the message does not name the caller (CloudTrail's event history has no {action} data events)"
            else:
                why = "the message does not name the caller, and CloudTrail did not either"
            self.fail(Layer.IDENTITY, why)
            self.fail(Layer.BOUNDARY, "the caller is not known")
            return none
        match principal.type:
            case PrincipalType.USER if principal.name and account:
                return await self._user(principal, account)
            case PrincipalType.ROLE | PrincipalType.ASSUMED_ROLE if principal.name and account:
                return await self._role(principal, account)
            case PrincipalType.FEDERATED_USER:
                self.fail(
                    Layer.IDENTITY,
                    "a federated user's permissions come from the IAM user that called GetFederationToken, which "
                    "the message does not name",
                )
        return none

    async def _user(self, principal: Principal, account: str) -> _Identity:
        name = principal.name or ""
        # The longest chains first (a group's managed policies are four calls deep, the user's own three, inline ones
        # two): the calls that start them leave ahead of the rest of the first round.
        groups, attached, inline, user = await asyncio.gather(
            self._groups(name, account),
            self._attached("user", name, account),
            self._inline("user", name, account),
            self._details("GetUser", {"UserName": name}, account),
            return_exceptions=True,
        )
        policies: list[NamedPolicy] = []
        for part in (inline, attached, groups):
            if isinstance(part, BaseException):
                self._identity_failure(part, f"user {name}", account)
            else:
                policies.extend(part)
        if isinstance(user, BaseException):
            self._identity_failure(user, f"user {name}", account)
            self.fail(Layer.BOUNDARY, user if not isinstance(user, NotFound) else "the user could not be read")
            return _Identity(tuple(policies), (), principal, {}, False)
        details, boundary = user
        context = {"aws:username": name, **_caller_context(details, principal)}
        path = str(details.get("Path") or principal.path)
        resolved = replace(principal, path=path)
        return _Identity(tuple(policies), self._boundary(boundary), resolved, context, True)

    async def _groups(self, user: str, account: str) -> list[NamedPolicy]:
        listed = await self.call("iam", "ListGroupsForUser", {"UserName": user}, account=account, paginate=True)
        names = [str(g["GroupName"]) for g in listed.get("Groups") or []]
        parts = await asyncio.gather(
            *(self._inline("group", g, account, f" (group {g})") for g in names),
            *(self._attached("group", g, account) for g in names),
        )
        return [policy for part in parts for policy in part]

    async def _role(self, principal: Principal, account: str) -> _Identity:
        name = principal.name or ""
        # The longest chains first: managed policies are three calls deep, inline ones two.
        attached, inline, role = await asyncio.gather(
            self._attached("role", name, account),
            self._inline("role", name, account),
            self._details("GetRole", {"RoleName": name}, account),
            return_exceptions=True,
        )
        policies: list[NamedPolicy] = []
        for part in (inline, attached):
            if isinstance(part, BaseException):
                self._identity_failure(part, f"role {name}", account)
            else:
                policies.extend(part)
        if isinstance(role, BaseException):
            self._identity_failure(role, f"role {name}", account)
            self.fail(Layer.BOUNDARY, role if not isinstance(role, NotFound) else "the role could not be read")
            return _Identity(tuple(policies), (), principal, {}, False)
        details, boundary = role
        context = _caller_context(details, principal)
        resolved = replace(principal, path=str(details.get("Path") or principal.path), path_known=True)
        # A session may carry session tags that add to or override the role's tags: only a role's own are complete.
        complete = principal.type is PrincipalType.ROLE
        return _Identity(tuple(policies), self._boundary(boundary), resolved, context, complete)

    async def _details(
        self, operation: str, params: Mapping[str, Any], account: str
    ) -> tuple[Mapping[str, Any], tuple[NamedPolicy, ...] | str]:
        """GetUser or GetRole, and the permissions boundary it names, read as soon as the answer names it rather than
        after every identity policy. A boundary that could not be read comes back as the reason."""
        answer = await self.call("iam", operation, params, account=account)
        details: Mapping[str, Any] = answer.get("User" if operation == "GetUser" else "Role") or {}
        arn = (details.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        if not arn:
            return details, ()
        try:
            return details, (await self._managed(str(arn), account),)
        except (ReadError, ValueError) as exc:
            return details, f"the permissions boundary {arn} could not be read: {_reason(exc)}"

    def _boundary(self, read: tuple[NamedPolicy, ...] | str) -> tuple[NamedPolicy, ...]:
        if isinstance(read, str):
            self.fail(Layer.BOUNDARY, read)
            return ()
        return read

    def _identity_failure(self, error: BaseException, who: str, account: str) -> None:
        if isinstance(error, NotFound):
            self.fail(
                Layer.IDENTITY,
                f"{who} was not found in account {account}: it may have been deleted or renamed since the error",
            )
        elif isinstance(error, ReadError | ValueError):
            self.fail(Layer.IDENTITY, error)
        else:
            raise error

    # ------------------------------------------------------------------------------------------ organizations

    async def _org(self, account: str | None, resource: asyncio.Task[ResourceSide | None], holder: Any) -> _Org:
        """SCPs along the caller's account's OU chain; RCPs along the resource owner's (often the same chain)."""
        if account is None:
            self.fail(Layer.SCP, "the caller's account is not known")
            self.fail(Layer.RCP, "the resource's account is not known")
            return _Org()
        action = request_action(self.request) or ""
        wants_rcp = action.partition(":")[0].lower() in catalog.rcp_services()
        # The resource is usually in the caller's account: read its RCPs on the same walk up the chain.
        caller = await self._org_side(account, scps=True, rcps=wants_rcp, roots=True)
        enabled = caller.enabled
        scp_levels = caller.scp_levels if enabled is None or "SERVICE_CONTROL_POLICY" in enabled else ()
        rcp, rcp_names = caller.rcp_levels, caller.rcp_names
        if wants_rcp:
            resolved = await resource
            owner = resolved.account if resolved is not None else _holder_account(holder)
            if owner and owner != account:
                # The caller's chain was read for nothing: what it said about RCPs does not apply.
                self.unreadable.pop(Layer.RCP, None)
                if owner in self._readable():
                    other = await self._org_side(owner, scps=False, rcps=True, roots=enabled is None)
                    rcp, rcp_names = other.rcp_levels, other.rcp_names
                    enabled = enabled if enabled is not None else other.enabled
                else:
                    self.fail(Layer.RCP, f"the resource's account {owner} is {self._unreadable_account(owner)}")
                    rcp, rcp_names = (), ()
            if enabled is not None and "RESOURCE_CONTROL_POLICY" not in enabled:
                rcp = ()
        return replace(caller, scp_levels=scp_levels, rcp_levels=rcp if wants_rcp else (), rcp_names=rcp_names)

    async def _org_side(self, account: str, *, scps: bool, rcps: bool, roots: bool = False) -> _Org:
        """One account's organization, and the SCPs and/or RCPs on its chain (and, with `roots`, the policy types the
        organization has enabled)."""
        # The walk up the levels first: it is a chain of calls, the description a single one.
        chain = asyncio.ensure_future(self._optional(self._chain_levels(account, scps=scps, rcps=rcps, roots=roots)))
        described = asyncio.ensure_future(
            self._optional(self.call("organizations", "DescribeOrganization", account=account))
        )
        organization = await described
        if isinstance(organization, NotFound):
            # Not in an organization: no SCP or RCP applies, whatever the organizations role says.
            await chain
            return _Org(member=False)
        details = (organization.get("Organization") or {}) if isinstance(organization, Mapping) else {}
        management = str(details.get("MasterAccountId") or "") or None
        org_id = str(details.get("Id") or "") or None
        levels = await chain
        if not isinstance(levels, _Levels):
            reason = _chain_failure(levels, account)
            if scps:
                self.fail(Layer.SCP, reason)
            if rcps:
                self.fail(Layer.RCP, reason)
            return _Org(management_account=management, organization_id=org_id)
        return _Org(
            scp_levels=levels.scp_levels,
            scp_names=levels.names,
            scp_short_names=levels.short_names,
            rcp_levels=levels.rcp_levels,
            rcp_names=levels.names,
            management_account=management,
            organization_id=org_id,
            org_path=f"{org_id}/{levels.path}" if org_id and levels.path else None,
            member=True,
            enabled=levels.enabled,
        )

    async def _chain_levels(self, account: str, *, scps: bool, rcps: bool, roots: bool = False) -> _Levels:
        """The levels from the root down to the account, with their names and policies (and, with `roots`, the policy
        types the organization has enabled).

        ListParents walks up one level per call; each level's policies (and an OU's name) are read as soon as the
        level is known."""
        filters = [f for f, wanted in (("SERVICE_CONTROL_POLICY", scps), ("RESOURCE_CONTROL_POLICY", rcps)) if wanted]
        tasks: dict[tuple[str, str], asyncio.Task[tuple[NamedPolicy, ...]]] = {}
        ou_names: dict[str, asyncio.Task[str | None]] = {}

        def start(target: str) -> None:
            for policy_filter in filters:
                tasks[(target, policy_filter)] = asyncio.ensure_future(self._policies_for(target, policy_filter))

        targets: list[tuple[str, str]] = [(account, "ACCOUNT")]
        listed_roots: asyncio.Task[Mapping[str, Any] | ReadError | ValueError] | None = None
        try:
            current = account
            for level in range(_MAX_ORG_DEPTH):
                answer = await self.call(
                    "organizations", "ListParents", {"ChildId": current}, account=None, role=RoleKind.ORG
                )
                if level == 0:
                    # The organizations role sees the account: only now are the account's own policies and the
                    # organization's root worth asking for. No chain waits longer for it (the root's policies wait
                    # on this answer anyway), and an account in no organization, or in another, spares the calls.
                    start(account)
                    if roots:
                        listed_roots = asyncio.ensure_future(
                            self._optional(self.call("organizations", "ListRoots", account=None, role=RoleKind.ORG))
                        )
                parent = (answer.get("Parents") or [{}])[0]
                parent_id, kind = str(parent.get("Id") or ""), str(parent.get("Type") or "")
                if not parent_id:
                    break
                targets.append((parent_id, kind))
                start(parent_id)
                if kind == "ORGANIZATIONAL_UNIT":
                    ou_names[parent_id] = asyncio.ensure_future(self._ou_name(parent_id))
                if kind == "ROOT":
                    break
                current = parent_id
            found = {key: await task for key, task in tasks.items()}
            named = {ou: await task for ou, task in ou_names.items()}
            root_answer = await listed_roots if listed_roots is not None else None
        finally:
            pending = [*tasks.values(), *ou_names.values(), *([listed_roots] if listed_roots is not None else [])]
            await asyncio.gather(*pending, return_exceptions=True)
        targets.reverse()
        short = tuple("Root" if kind == "ROOT" else named.get(target) or target for target, kind in targets)
        names = tuple(
            f"{name} ({target})" if named.get(target) else name
            for name, (target, _) in zip(short, targets, strict=True)
        )
        return _Levels(
            names=names,
            short_names=short,
            scp_levels=tuple(found[(t, "SERVICE_CONTROL_POLICY")] for t, _ in targets) if scps else (),
            rcp_levels=tuple(found[(t, "RESOURCE_CONTROL_POLICY")] for t, _ in targets) if rcps else (),
            path="".join(f"{t}/" for t, kind in targets if kind != "ACCOUNT"),
            enabled=_enabled_types(root_answer) if isinstance(root_answer, Mapping) else None,
        )

    async def _ou_name(self, ou: str) -> str | None:
        """An OU's name, for people (its id is what policies and paths use); None when it cannot be read."""
        try:
            answer = await self.call(
                "organizations",
                "DescribeOrganizationalUnit",
                {"OrganizationalUnitId": ou},
                account=None,
                role=RoleKind.ORG,
            )
        except ReadError:
            return None
        return str((answer.get("OrganizationalUnit") or {}).get("Name") or "") or None

    async def _policies_for(self, target: str, policy_filter: str) -> tuple[NamedPolicy, ...]:
        listed = await self.call(
            "organizations",
            "ListPoliciesForTarget",
            {"TargetId": target, "Filter": policy_filter},
            account=None,
            role=RoleKind.ORG,
            paginate=True,
        )
        ids = [str(p["Id"]) for p in listed.get("Policies") or []]
        described = await asyncio.gather(
            *(
                self.call("organizations", "DescribePolicy", {"PolicyId": i}, account=None, role=RoleKind.ORG)
                for i in ids
            )
        )
        policies = []
        for answer in described:
            policy = answer.get("Policy") or {}
            summary = policy.get("PolicySummary") or {}
            name = str(summary.get("Name") or summary.get("Id"))
            policies.append(NamedPolicy(name, document(policy.get("Content")), summary.get("Arn")))
        return tuple(policies)

    # ------------------------------------------------------------------------------------------ the resource side

    async def _resource(self, holder: Any, principal_account: str | None) -> ResourceSide | None:
        if holder is None:
            return None
        read = reader_for(holder)
        if read is None:
            return None
        layer = Layer.TRUST if holder.service == "iam" else Layer.RESOURCE
        accounts = self._resource_accounts(holder, principal_account)
        if not accounts:
            self.fail(layer, f"the account that owns {holder.arn} is not known")
            return None
        if holder.account_id and holder.account_id not in self._readable():
            self.fail(
                layer,
                f"the resource is in account {holder.account_id}, which is "
                f"{self._unreadable_account(holder.account_id)}, so iamwhy does not read it",
            )
            return None
        try:
            side = await read(self, ResourceTarget(holder, accounts, self._region(holder)))
        except ResourceMissing as exc:
            self.fail(layer, str(exc))
            return None
        except (ReadError, ValueError) as exc:
            self.fail(layer, f"the {holder.label} could not be read: {_reason(exc)}")
            return None
        if side.service == "s3":
            # Looking for a bucket's owner, every other account refuses the read: no permission is missing there.
            self.denied = [p for p in self.denied if p != "s3:GetBucketPolicy"]
        return side

    def _readable(self) -> frozenset[str]:
        readable = self.options.allowed_accounts | {self.options.own_account}
        return readable if self.options.limit is None else readable & self.options.limit

    def _unreadable_account(self, account: str) -> str:
        """Why `account` is not read, to complete "account X is ..."."""
        if account in self.options.allowed_accounts or account == self.options.own_account:
            return "not one this channel may read (IAMWHY_CHANNEL_ACCOUNTS)"
        return "not in IAMWHY_ACCOUNTS"

    def _resource_accounts(self, holder: Any, principal_account: str | None) -> tuple[str, ...]:
        if holder.account_id:
            return (holder.account_id,)
        readable = self._readable()
        ordered = [a for a in (principal_account, self.request.account_id) if a and a in readable]
        ordered.extend(sorted(readable))
        unique = list(dict.fromkeys(ordered))
        return tuple(unique[: max(self.options.bucket_owner_candidates, 1)])

    def _region(self, holder: Any) -> str | None:
        return holder.region or self.request.region

    async def _chain(
        self,
        resource: asyncio.Task[ResourceSide | None],
        principal: Principal | None,
        principal_account: str | None,
        context: Mapping[str, ContextValue],
    ) -> KmsChain | None:
        action = request_action(self.request)
        kms_action = KMS_CHAIN_ACTIONS.get(action or "")
        if kms_action is None:
            return None
        side = await resource
        if side is None or side.service != "s3" or side.default_kms_key is None:
            return None
        key_arn = _key_arn(side.default_kms_key, side.region or self.request.region, side.account)
        holder = key_holder(key_arn) if key_arn else None
        if holder is None or holder.account_id is None:
            self.kms_unreadable = f"the bucket's default KMS key {side.default_kms_key} is not a key iamwhy can locate"
            return None
        if holder.account_id not in self._readable():
            self.kms_unreadable = (
                f"the bucket's default KMS key is in account {holder.account_id}, which is "
                f"{self._unreadable_account(holder.account_id)}"
            )
            return None
        try:
            key = await read_key(self, ResourceTarget(holder, (holder.account_id,), holder.region))
        except (ReadError, ValueError, ResourceMissing) as exc:
            self.kms_unreadable = f"the key policy of KMS key {side.default_kms_key} could not be read: {_reason(exc)}"
            return None
        # S3 calls KMS in the key's region (a bucket's default key must be in the bucket's region).
        region = holder.region or side.region or self.request.region or "us-east-1"
        chain_context: dict[str, ContextValue] = {
            "aws:RequestedRegion": region,
            "kms:ViaService": f"s3.{region}.amazonaws.com",
            "kms:EncryptionContext:aws:s3:arn": self.request.resource_arn or side.arn,
        }
        if principal_account:
            chain_context["kms:CallerAccount"] = principal_account
        return KmsChain(kms_action, key, chain_context)

    # ------------------------------------------------------------------------------------------ evidence

    async def _record(self, account: str | None) -> AuthorizationRecord | None:
        authorization_id = self.request.authorization_id
        if not authorization_id or account is None:
            return None
        region = self.request.authorization_region or self.request.region
        params = {"authorizationId": authorization_id}
        delay = self.options.authorization_delay
        details: Mapping[str, Any] | None = None
        attempts = max(self.options.authorization_attempts, 1)
        for attempt in range(attempts):
            try:
                details = await self.call(
                    "iam-toolbox",
                    "GetRequestAuthorizationDetails",
                    params,
                    account=account,
                    region=region,
                    paginate=True,
                )
                break
            except NotFound:
                # AWS writes the record asynchronously: a fresh denial's record can take a few seconds to appear.
                if attempt + 1 < attempts:
                    await asyncio.sleep(delay)
                    delay *= 2
            except ReadError as exc:
                self.notes.append(
                    f"IAM Access Troubleshooter's record of this denial could not be read: {_reason(exc)}."
                )
                return None
        if details is None:
            self.notes.append(
                f"IAM Access Troubleshooter has no record for authorization id {authorization_id} yet "
                f"(asked {attempts} times); records appear within seconds and are kept for at least 24 hours."
            )
            return None
        uris = _cited_policies(details)
        answers = await asyncio.gather(
            *(
                self.call(
                    "iam-toolbox",
                    "GetRequestAuthorizationPolicy",
                    {"authorizationId": authorization_id, "policyUri": uri},
                    account=account,
                    region=region,
                )
                for uri in uris
            ),
            return_exceptions=True,
        )
        documents: dict[str, Mapping[str, Any]] = {}
        for uri, answer in zip(uris, answers, strict=True):
            if isinstance(answer, Mapping) and isinstance(answer.get("policyDocument"), Mapping):
                documents[uri] = answer["policyDocument"]
            elif isinstance(answer, ReadError):
                self.notes.append(f"the evaluated policy {uri} could not be fetched: {_reason(answer)}.")
            elif isinstance(answer, BaseException):
                raise answer
        return AuthorizationRecord(authorization_id, details, documents)

    async def _decoded(self, account: str | None) -> DecodedMessage | None:
        encoded = self.request.encoded_message
        if not encoded or account is None:
            return None
        try:
            answer = await self.call("sts", "DecodeAuthorizationMessage", {"EncodedMessage": encoded}, account=account)
            decoded = json.loads(str(answer.get("DecodedMessage") or ""))
        except RequestRejected:
            self.notes.append(
                "AWS could not decode the encoded authorization message: it may be cut short, or it belongs to "
                "another account."
            )
            return None
        except ReadError as exc:
            self.notes.append(f"the encoded authorization message could not be decoded: {_reason(exc)}.")
            return None
        except ValueError:
            self.notes.append("the decoded authorization message is not JSON.")
            return None
        return DecodedMessage(decoded) if isinstance(decoded, dict) else None

    async def _simulate(
        self,
        principal: Principal | None,
        account: str | None,
        resource: asyncio.Task[ResourceSide | None],
        context: Mapping[str, ContextValue],
    ) -> tuple[Simulation | None, str | None]:
        action = request_action(self.request)
        if not self.options.simulate or principal is None or account is None or action is None:
            return None, None
        if principal.type not in (PrincipalType.USER, PrincipalType.ROLE, PrincipalType.ASSUMED_ROLE):
            return None, None
        source, facts = await self._simulation_source(principal, account)
        side = await resource
        known = {**context, **facts}
        # What follows from the caller and the resource (ARN, type, accounts, the region) is known without the org.
        known.update(self._request_context(principal, account, side, _Org(), known))
        params: dict[str, Any] = {"PolicySourceArn": source, "ActionNames": [action]}
        resource_arn = self.request.resource_arn
        if resource_arn and resource_arn != "*":
            params["ResourceArns"] = [resource_arn]
        entries = [_context_entry(k, v) for k, v in sorted(known.items())]
        if entries:
            params["ContextEntries"] = entries
        with_policy = False
        if side is not None and side.policy is not None and side.service in _SIMULATED_RESOURCE_SERVICES:
            params["ResourcePolicy"] = json.dumps(side.policy.document)
            with_policy = True
            if side.account and side.service == "s3":
                params["ResourceOwner"] = f"arn:{principal.partition or 'aws'}:iam::{side.account}:root"
        try:
            answer = await self.call("iam", "SimulatePrincipalPolicy", params, account=account, paginate=True)
        except ReadDenied as exc:
            return None, f"no cross-check with IAM's policy simulator: {exc}"
        except Unavailable:
            return None, "no cross-check with IAM's policy simulator: it did not answer here"
        except ReadError as exc:
            return None, f"no cross-check with IAM's policy simulator: {_reason(exc)}"
        results = answer.get("EvaluationResults") or []
        if not results:
            return None, "IAM's policy simulator returned no result"
        keys = tuple(str(e["ContextKeyName"]) for e in entries)
        return Simulation(source, results[0], keys, with_policy), None

    async def _simulation_source(self, principal: Principal, account: str) -> tuple[str, Mapping[str, ContextValue]]:
        """The ARN to simulate (a role's real ARN, with its path) and what IAM tells of the caller's context.

        The identity branch makes the same GetUser or GetRole call: the adapter sends it once and both share it,
        so the simulation need not wait for every policy of the identity branch."""
        is_user = principal.type is PrincipalType.USER
        fallback = principal.arn if is_user else principal.role_arn or principal.arn
        try:
            if is_user:
                answer = (await self.call("iam", "GetUser", {"UserName": principal.name}, account=account)).get("User")
            else:
                answer = (await self.call("iam", "GetRole", {"RoleName": principal.name}, account=account)).get("Role")
        except ReadError:
            return fallback, {}
        details = answer or {}
        return str(details.get("Arn") or fallback), _caller_context(details, principal)

    # ------------------------------------------------------------------------------------------ CloudTrail

    def _wants_trail(self, principal: Principal | None) -> bool:
        """CloudTrail is asked when the message lacks the caller or the request context, and could have the event:
        LookupEvents has management events only."""
        action = request_action(self.request)
        if action is not None and not _management_event(action):
            return False
        if principal is None:
            return True
        return not self.request.context and action is not None

    async def _trail(self, account: str, principal: Principal | None) -> DeniedRequest | None:
        action = request_action(self.request)
        operation = self.request.api_operation or (action.partition(":")[2] if action else None)
        if not operation:
            return None
        start = datetime.now(UTC) - self.options.lookup_window
        params = {
            "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": operation}],
            "StartTime": start,
            "MaxResults": 50,
        }
        try:
            answer = await self.call("cloudtrail", "LookupEvents", params, account=account, region=self.request.region)
        except ReadError as exc:
            self.notes.append(f"CloudTrail could not be searched for this denial: {_reason(exc)}.")
            return None
        for event in answer.get("Events") or []:
            found = _event_denial(event, self.request, principal)
            if found is not None:
                when = event.get("EventTime")
                at = f" at {when.isoformat(timespec='seconds')}" if isinstance(when, datetime) else ""
                self.notes.append(f"CloudTrail recorded this denial{at}; its request context was used.")
                return found
        return None

    # ------------------------------------------------------------------------------------------ context

    def _request_context(
        self,
        principal: Principal | None,
        account: str | None,
        resource: ResourceSide | None,
        org: _Org,
        known: Mapping[str, ContextValue],
    ) -> dict[str, ContextValue]:
        """Context keys that follow from who the caller is and what it called (only keys not already known)."""
        out: dict[str, ContextValue] = {}
        action = request_action(self.request)
        holder = policy_holder(self.request.resource_arn)
        # A request on a resource is served in the resource's region: its ARN's, or where AWS says a bucket is.
        region = (
            self.request.region
            or (holder.region if holder is not None else None)
            or (resource.region if resource is not None else None)
        )
        service = action.partition(":")[0].lower() if action else ""
        if not region and service in _GLOBAL_SERVICES:
            region = "us-east-1"
        if region:
            out["aws:RequestedRegion"] = region
        if principal is not None:
            if principal.type is PrincipalType.SERVICE:
                out["aws:PrincipalServiceName"] = principal.name or ""
                out["aws:PrincipalIsAWSService"] = "true"
            elif principal.type is not PrincipalType.ANONYMOUS:
                out["aws:PrincipalIsAWSService"] = "false"
                if principal.account_id:
                    out["aws:PrincipalAccount"] = principal.account_id
                out["aws:PrincipalType"] = {
                    PrincipalType.USER: "User",
                    PrincipalType.ROOT: "Account",
                    PrincipalType.FEDERATED_USER: "FederatedUser",
                }.get(principal.type, "AssumedRole")
                if principal.type is PrincipalType.ROOT and principal.account_id:
                    out["aws:userid"] = principal.account_id
                arn = self._principal_arn(principal)
                if arn:
                    out["aws:PrincipalArn"] = arn
        if org.organization_id and principal is not None and principal.type is not PrincipalType.ANONYMOUS:
            out["aws:PrincipalOrgID"] = org.organization_id
            if org.org_path:
                out["aws:PrincipalOrgPaths"] = (org.org_path,)
        if resource is not None and resource.account:
            out["aws:ResourceAccount"] = resource.account
            if org.organization_id and resource.account == account:
                out["aws:ResourceOrgID"] = org.organization_id
        return {k: v for k, v in out.items() if k not in known}

    def _principal_arn(self, principal: Principal) -> str | None:
        return principal.role_arn if principal.type is PrincipalType.ASSUMED_ROLE else principal.arn

    def _absent_keys(self, principal: Principal | None, org: _Org, identity: _Identity) -> frozenset[str]:
        absent: set[str] = set()
        if principal is None:
            return frozenset()
        if principal.type is not PrincipalType.USER:
            absent.add("aws:username")
        if principal.type is not PrincipalType.SERVICE:
            absent.update({"aws:principalservicename", "aws:principalservicenamelist"})
        if principal.type is PrincipalType.USER and self.options.long_term_key:
            # Long-term access keys carry no MFA and no session: these keys are not in the request at all.
            absent.update({"aws:multifactorauthpresent", "aws:multifactorauthage", "aws:tokenissuetime"})
        if org.member is False:
            absent.update({"aws:principalorgid", "aws:principalorgpaths", "aws:resourceorgid", "aws:resourceorgpaths"})
        return frozenset(absent)

    def _fallback_reason(self) -> str | None:
        error = self.fatal
        if error is None:
            return None
        if isinstance(error, AssumeRoleFailed | ReadsPaused):
            return error.reason
        return f"iamwhy could not use its AWS credentials: {error.reason}"

    async def _optional(self, call: Awaitable[T]) -> T | ReadError | ValueError:
        try:
            return await call
        except (ReadError, ValueError) as exc:
            return exc


async def gather(reader: AwsReader, request: DeniedRequest, options: GatherOptions) -> Snapshot:
    """Read everything the diagnosis of ``request`` needs; failures become unreadable layers, never exceptions."""
    return await Gatherer(reader, request, options).run()


def _reason(error: BaseException) -> str:
    if isinstance(error, NotConfigured):
        return "no organizations read role configured (IAMWHY_ORG_ROLE_ARN)"
    if isinstance(error, AccountNotAllowed):
        return str(error)
    if isinstance(error, ReadError):
        return error.reason
    if isinstance(error, ValueError):
        return f"AWS returned a policy iamwhy cannot read ({error})"
    return str(error) or type(error).__name__


def _holder_account(holder: Any) -> str | None:
    return holder.account_id if holder is not None else None


def _caller_context(details: Mapping[str, Any], principal: Principal) -> dict[str, ContextValue]:
    """What GetUser or GetRole tells of the request context: aws:userid (role id and session) and the tags."""
    context: dict[str, ContextValue] = _tags(details)
    unique = details.get("UserId") or details.get("RoleId")
    if unique:
        session = principal.session_name if principal.type is PrincipalType.ASSUMED_ROLE else None
        context["aws:userid"] = f"{unique}:{session}" if session else str(unique)
    return context


def _tags(details: Mapping[str, Any]) -> dict[str, ContextValue]:
    return {f"aws:PrincipalTag/{t['Key']}": str(t.get("Value", "")) for t in details.get("Tags") or [] if "Key" in t}


def _enabled_types(answer: Mapping[str, Any]) -> frozenset[str]:
    roots = answer.get("Roots") or []
    types = (roots[0].get("PolicyTypes") or []) if roots else []
    return frozenset(str(t.get("Type")) for t in types if t.get("Status") == "ENABLED")


def _management_event(action: str) -> bool:
    if action in _DATA_EVENTS:
        return False
    if action.startswith("s3:"):
        info = catalog.action_info(action)
        return info is None or not any(rt.name == "object" for rt in info.resource_types)
    return True


def _key_arn(key: str, region: str | None, account: str | None) -> str | None:
    if key.startswith("arn:"):
        return key
    if not region or not account:
        return None
    return f"arn:aws:kms:{region}:{account}:{key if key.startswith('alias/') else 'key/' + key}"


def _cited_policies(details: Mapping[str, Any]) -> list[str]:
    """The policy URIs worth fetching: those behind a denying check, and any session policy (never readable later)."""
    uris: list[str] = []
    for evaluation in details.get("evaluations") or []:
        for check in evaluation.get("checks") or []:
            if check.get("evaluatedEffect") in ("EXPLICIT_DENY", "IMPLICIT_DENY"):
                uris.extend(str(m.get("uri")) for m in check.get("matchedPolicies") or [] if m.get("uri"))
    uris.extend(
        str(p.get("uri")) for p in details.get("policies") or [] if p.get("type") == "SESSION_POLICY" and p.get("uri")
    )
    return list(dict.fromkeys(uris))[:_MAX_RECORD_POLICIES]


def _context_entry(key: str, value: ContextValue) -> dict[str, Any]:
    kind = _KEY_TYPES.get(key.lower(), "string")
    values = list(value) if isinstance(value, tuple) else [value]
    if isinstance(value, tuple):
        kind = f"{kind}List"
    return {"ContextKeyName": key, "ContextKeyValues": values, "ContextKeyType": kind}


def _event_denial(
    event: Mapping[str, Any], request: DeniedRequest, principal: Principal | None
) -> DeniedRequest | None:
    """The denial a CloudTrail event records, if it is this one (same action, caller and resource, when known)."""
    raw = event.get("CloudTrailEvent")
    try:
        record = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    if not isinstance(record, dict) or str(record.get("errorCode") or "") not in _DENIAL_CODES:
        return None
    found = scan(json.dumps(record)).denials
    if not found:
        return None
    denial = found[0]
    if request.action and denial.action and denial.action.lower() != request.action.lower():
        return None
    if principal is not None and denial.principal is not None and denial.principal.arn != principal.arn:
        return None
    if request.resource_arn and denial.resource_arn and denial.resource_arn != request.resource_arn:
        return None
    return denial


def _chain_failure(error: BaseException, account: str) -> str:
    if isinstance(error, NotFound):
        return f"account {account} was not found in the organization that the organizations read role reads"
    return _reason(error)
