"""aws.organization and aws.org.*: whether SCPs and RCPs can be read for every account that is in an organization.

The read role tells whether its account is in an organization (DescribeOrganization); the organizations read role
(IAMWHY_ORG_ROLE_ARN) must be assumable, see the policy types, list and describe policies, and know each account.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from diagnostics.doctor.checks.base import ORGANIZATIONS, account_group, code_of, failure, role_name
from diagnostics.doctor.facts import AccountFacts, DoctorFacts, OrgFacts, Read
from diagnostics.doctor.fixes import (
    DEFAULT_ORG_ROLE_NAME,
    bot_principal,
    deploy_command,
    grant_fix,
    trust_fix,
    unreachable_fix,
)
from diagnostics.doctor.report import Line, Status
from diagnostics.reader import CallOutcome, RoleKind

_TYPE_NAMES: Mapping[str, str] = {"SERVICE_CONTROL_POLICY": "SCPs", "RESOURCE_CONTROL_POLICY": "RCPs"}


def check(facts: DoctorFacts) -> Iterator[Line]:
    if not facts.identity.ok:
        return
    members = [a for a in facts.accounts if a.in_organization]
    yield from _org_role(facts, members)
    for account in facts.accounts:
        if account.assumed:
            yield _membership(facts, account)


def _org_role(facts: DoctorFacts, members: list[AccountFacts]) -> Iterator[Line]:
    org = facts.org
    if org is None:
        tried = "IAMWHY_ORG_ROLE_ARN"
        unknown = [a.account for a in facts.accounts if a.assumed and a.in_organization is None]
        if not members:
            result = "not set, and not needed: no checked account is in an organization"
            if unknown:
                result = f"not set; whether {', '.join(unknown)} are in an organization could not be read"
            yield Line("aws.org.role", ORGANIZATIONS, "Organizations read role", Status.SKIPPED, tried, result)
            return
        management = next((a.management_account for a in members if a.management_account), None)
        yield Line(
            "aws.org.role",
            ORGANIZATIONS,
            "Organizations read role",
            Status.WARNING,
            tried,
            f"not set: SCPs and RCPs of {', '.join(a.account for a in members)} will be unreadable",
            _configure_org_role(facts, management),
            details={"management_account": management},
        )
        return
    tried = f"sts:AssumeRole into {org.role_arn}, then organizations:ListRoots"
    if org.roots.assume_failed:
        fix = trust_fix(RoleKind.ORG, org.role_arn, facts.caller_arn, external_id_set=bool(facts.config.external_id))
        yield Line(
            "aws.org.role",
            ORGANIZATIONS,
            "Organizations read role",
            Status.FAILED,
            tried,
            f"AWS refused AssumeRole ({code_of(org.roots)})",
            fix,
            details={"role_arn": org.role_arn},
        )
        return
    yield Line(
        "aws.org.role",
        ORGANIZATIONS,
        "Organizations read role",
        Status.OK,
        f"sts:AssumeRole into {org.role_arn}",
        "assumed",
        details={"role_arn": org.role_arn, "organization": org.organization_id},
    )
    yield _policy_types(org)
    yield _list_policies(org)
    yield _describe_policy(org)


def _configure_org_role(facts: DoctorFacts, management: str | None) -> str:
    account = management or "<management account>"
    role_arn = f"arn:aws:iam::{account}:role/{DEFAULT_ORG_ROLE_NAME}"
    bot = bot_principal(facts.caller_arn)[0]
    return "\n".join(
        [
            f"Deploy the organizations read role in the management account {account} (or a delegated administrator "
            "for Organizations policies), with credentials for that account:",
            f"  {deploy_command(RoleKind.ORG, role_arn, bot)}",
            f"then set IAMWHY_ORG_ROLE_ARN={role_arn}",
        ]
    )


def _failed(line_id: str, title: str, tried: str, read: Read, org: OrgFacts) -> Line:
    if read.outcome is CallOutcome.DENIED:
        permission = read.permission or f"organizations:{read.operation}"
        return Line(
            line_id,
            ORGANIZATIONS,
            title,
            Status.FAILED,
            tried,
            f"denied ({code_of(read)}): {role_name(org.role_arn)} lacks {permission}",
            grant_fix(permission, RoleKind.ORG, org.role_arn, None, read.aws_message)
            + "\nThe role must be in the management account or a delegated administrator for policy management.",
        )
    if read.outcome in (CallOutcome.UNAVAILABLE, CallOutcome.THROTTLED):
        return Line(
            line_id,
            ORGANIZATIONS,
            title,
            Status.FAILED,
            tried,
            f"no answer: {read.reason}",
            unreachable_fix("Organizations", "us-east-1"),
        )
    return Line(
        line_id,
        ORGANIZATIONS,
        title,
        Status.FAILED,
        tried,
        f"failed ({code_of(read)}): {read.reason}",
        "The organizations read role must be in the management account or a delegated administrator for policy "
        "management: point IAMWHY_ORG_ROLE_ARN at the role there.",
    )


def _policy_types(org: OrgFacts) -> Line:
    tried = "organizations:ListRoots: the policy types enabled at the root"
    if not org.roots.ok:
        return _failed("aws.org.policy_types", "Policy types", tried, org.roots, org)
    root = org.root or {}
    root_id = str(root.get("Id") or "the root")
    enabled = org.enabled_types or frozenset()
    states = [f"{name} {'enabled' if kind in enabled else 'not enabled'}" for kind, name in _TYPE_NAMES.items()]
    result = f"{', '.join(states)} at {root_id}"
    details = {"root": root_id, "enabled": sorted(enabled)}
    missing = [kind for kind in _TYPE_NAMES if kind not in enabled]
    if not missing:
        return Line("aws.org.policy_types", ORGANIZATIONS, "Policy types", Status.OK, tried, result, details=details)
    names = " and ".join(_TYPE_NAMES[k] for k in missing)
    commands = "\n".join(
        f"  aws organizations enable-policy-type --root-id {root_id} --policy-type {kind}" for kind in missing
    )
    fix = (
        f"No {names} can restrict any account, so iamwhy treats that layer as not applicable: nothing to fix unless "
        f"your organization means to use them. To turn them on (management account):\n{commands}"
    )
    return Line(
        "aws.org.policy_types", ORGANIZATIONS, "Policy types", Status.WARNING, tried, result, fix, details=details
    )


def _list_policies(org: OrgFacts) -> Line:
    read = org.list_policies
    if read is None:
        why = "no policy type is enabled, so there is nothing to list" if org.root else "the root is not known"
        return Line(
            "aws.org.list_policies",
            ORGANIZATIONS,
            "List policies",
            Status.SKIPPED,
            "organizations:ListPoliciesForTarget on the root",
            f"not tried: {why}",
        )
    tried = "organizations:ListPoliciesForTarget on the root"
    if not read.ok:
        return _failed("aws.org.list_policies", "List policies", tried, read, org)
    count = len((read.answer or {}).get("Policies") or [])
    return Line(
        "aws.org.list_policies",
        ORGANIZATIONS,
        "List policies",
        Status.OK,
        tried,
        f"allowed ({count} attached to the root)",
    )


def _describe_policy(org: OrgFacts) -> Line:
    read = org.describe_policy
    tried = "organizations:DescribePolicy on a policy attached to the root (or p-FullAWSAccess)"
    if read is None:
        return Line("aws.org.describe_policy", ORGANIZATIONS, "Describe policies", Status.SKIPPED, tried, "not tried")
    if not read.ok:
        return _failed("aws.org.describe_policy", "Describe policies", tried, read, org)
    summary = ((read.answer or {}).get("Policy") or {}).get("PolicySummary") or {}
    name = summary.get("Name") or summary.get("Id") or "the policy"
    return Line(
        "aws.org.describe_policy", ORGANIZATIONS, "Describe policies", Status.OK, tried, f"allowed (read {name})"
    )


def _membership(facts: DoctorFacts, account: AccountFacts) -> Line:
    group = account_group(account)
    tried = f"organizations:DescribeOrganization as {role_name(account.role_arn)}"
    read = account.organization

    def line(status: Status, result: str, fix: str | None = None, extra: str = "") -> Line:
        details = {"organization": account.organization_id, "management_account": account.management_account}
        return Line(
            "aws.organization", group, "Organization", status, tried + extra, result, fix, account.account, details
        )

    if read is None:
        return line(Status.SKIPPED, "not tried")
    if read.outcome is CallOutcome.NOT_FOUND:
        return line(Status.OK, "not in an organization: no SCPs or RCPs apply")
    if not read.ok:
        if read.outcome is CallOutcome.DENIED:
            permission = read.permission or "organizations:DescribeOrganization"
            return line(
                failure(account),
                f"denied ({code_of(read)}): {role_name(account.role_arn)} lacks {permission}; iamwhy cannot tell "
                "whether SCPs and RCPs apply",
                grant_fix(permission, RoleKind.READ, account.role_arn, account.account, read.aws_message),
            )
        return line(
            failure(account), f"failed ({code_of(read)}): {read.reason}", unreachable_fix("Organizations", facts.region)
        )
    member = f"member of {account.organization_id} (management account {account.management_account})"
    org = facts.org
    if org is None or org.roots.assume_failed:
        # The organizations role line says what to do; here, only which organization this is.
        return line(Status.OK, f"{member}; SCPs and RCPs need the organizations read role (see AWS Organizations)")
    extra = f", then organizations:ListParents as {role_name(org.role_arn)}"
    if org.organization_id and account.organization_id and org.organization_id != account.organization_id:
        return line(
            failure(account),
            f"{member}, but IAMWHY_ORG_ROLE_ARN reads {org.organization_id}",
            f"Point IAMWHY_ORG_ROLE_ARN at the organizations read role in {account.management_account}, the "
            f"management account of {account.organization_id}.",
            extra,
        )
    parents = org.parents.get(account.account)
    if parents is None or parents.ok:
        parent = ((parents.answer or {}).get("Parents") or [{}])[0].get("Id") if parents is not None else None
        where = f" under {parent}" if parent else ""
        return line(Status.OK, f"{member}{where}; its SCPs and RCPs are readable", extra=extra)
    if parents.outcome is CallOutcome.NOT_FOUND:
        return line(
            failure(account),
            f"{member}, but the organizations read role does not find it ({code_of(parents)})",
            f"Point IAMWHY_ORG_ROLE_ARN at the organizations read role in {account.management_account}, the "
            f"management account of {account.organization_id}.",
            extra,
        )
    failed = _failed("aws.organization", "Organization", tried + extra, parents, org)
    return line(failure(account), failed.result, failed.fix, extra)
