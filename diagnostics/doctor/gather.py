"""The doctor's AWS reads, through the read-only adapter: who the bot is, each account's read role, the org role.

Every read is made concurrently where it can be, and ends as data (a Read): an AWS error is an outcome to judge,
never an exception, so the checks that follow are pure.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from diagnostics.arn import ArnError, parse_arn
from diagnostics.doctor.facts import AccountFacts, DoctorFacts, OrgFacts, Read
from diagnostics.doctor.probes import PROBES, TOOLBOX, Probe, Target
from diagnostics.reader import AwsConfig, AwsReader, CallOutcome, ReadDenied, ReadError, RoleKind, read_operation

logger = logging.getLogger("iamwhy.doctor")

# Every organization has this AWS managed SCP; DescribePolicy on it works whether or not SCPs are in use.
FULL_AWS_ACCESS = "p-FullAWSAccess"
POLICY_TYPES = ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")


async def read(
    reader: AwsReader,
    service: str,
    operation: str,
    params: Mapping[str, Any] | None = None,
    *,
    account: str | None = None,
    role: RoleKind | None = RoleKind.READ,
    region: str | None = None,
) -> Read:
    """One call, its outcome captured. role=None: the bot's own credentials."""
    spec = read_operation(service, operation)
    permission = spec.iam_action if spec is not None else None
    try:
        answer = await reader.call(
            service, operation, params, account=account, role=role or RoleKind.READ, region=region
        )
    except ReadDenied as exc:
        return Read(
            service, operation, role, account, exc.outcome, None, exc.code, exc.reason, exc.permission, exc.aws_message
        )
    except ReadError as exc:
        return Read(service, operation, role, account, exc.outcome, None, exc.code, exc.reason, permission)
    except Exception:
        ref = uuid.uuid4().hex[:8]
        logger.exception("doctor read failed ref=%s", ref)
        reason = f"an internal error (reference {ref}; details are in the log)"
        return Read(service, operation, role, account, CallOutcome.ERROR, None, None, reason, permission)
    return Read(service, operation, role, account, CallOutcome.OK, dict(answer), permission=permission)


async def collect(reader: AwsReader, config: AwsConfig, *, region: str) -> DoctorFacts:
    """Everything the checks judge. The bot's own account is checked too: the investigation reads it like any other."""
    identity = await read(reader, "sts", "GetCallerIdentity", role=None)
    if not identity.ok:
        return DoctorFacts(config, region, identity)
    answer = identity.answer or {}
    own = str(answer.get("Account") or "")
    partition = _partition(str(answer.get("Arn") or ""))
    accounts = sorted(config.allowed_accounts | ({own} if own else set()))
    needed = config.allowed_accounts or frozenset({own})
    org = (
        asyncio.ensure_future(_organization(reader, config.org_role_arn, accounts, region))
        if config.org_role_arn
        else None
    )
    try:
        checked = await asyncio.gather(
            *(_account(reader, config, a, needed=a in needed, region=region, partition=partition) for a in accounts)
        )
    finally:
        org_facts = await org if org is not None else None
    return DoctorFacts(config, region, identity, tuple(checked), org_facts)


async def _account(
    reader: AwsReader, config: AwsConfig, account: str, *, needed: bool, region: str, partition: str
) -> AccountFacts:
    target = Target(account, region, partition, config.role_arn(account, partition))

    async def probe(p: Probe) -> Read:
        return await read(reader, p.service, p.operation, p.params(target), account=account, region=region)

    # The first read assumes the role; the rest share its credentials (or its failure, which they need not repeat).
    first, *rest = PROBES
    assume = await probe(first)
    if assume.assume_failed:
        return AccountFacts(account, target.role_arn, needed, {}, assume)
    others = [*rest, TOOLBOX]
    results = await asyncio.gather(
        *(probe(p) for p in others),
        read(reader, "organizations", "DescribeOrganization", account=account, region=region),
    )
    reads = {first.id: assume, **{p.id: r for p, r in zip(others, results[:-1], strict=True)}}
    return AccountFacts(account, target.role_arn, needed, reads, assume, results[-1])


async def _organization(reader: AwsReader, role_arn: str, accounts: Sequence[str], region: str) -> OrgFacts:
    def org(operation: str, params: Mapping[str, Any] | None = None) -> Any:
        return read(reader, "organizations", operation, params, role=RoleKind.ORG, region=region)

    roots = await org("ListRoots")
    if roots.assume_failed:
        return OrgFacts(role_arn, roots)
    parents = asyncio.gather(*(org("ListParents", {"ChildId": a}) for a in accounts))
    facts = OrgFacts(role_arn, roots)
    enabled = facts.enabled_types
    root = facts.root
    # Listing needs the root and an enabled policy type: SCPs if they are on, else RCPs.
    policy_filter = next((t for t in POLICY_TYPES if enabled is not None and t in enabled), None)
    listed: Read | None = None
    if root is not None and root.get("Id") and policy_filter is not None:
        listed = await org("ListPoliciesForTarget", {"TargetId": str(root["Id"]), "Filter": policy_filter})
    found = [p for p in ((listed.answer or {}).get("Policies") or [] if listed is not None else []) if p.get("Id")]
    described = await org("DescribePolicy", {"PolicyId": str(found[0]["Id"]) if found else FULL_AWS_ACCESS})
    return OrgFacts(role_arn, roots, listed, described, dict(zip(accounts, await parents, strict=True)))


def _partition(arn: str) -> str:
    try:
        return parse_arn(arn).partition
    except ArnError:
        return "aws"
