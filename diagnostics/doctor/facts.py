"""What the doctor read from AWS, as plain data: every read and how it ended. The checks are pure functions of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from diagnostics.reader import AwsConfig, CallOutcome, RoleKind


@dataclass(frozen=True)
class Read:
    """One call and how it ended (an answer, or the error the adapter translated it into)."""

    service: str
    operation: str
    # None: the bot's own credentials.
    role: RoleKind | None
    account: str | None
    outcome: CallOutcome
    answer: Mapping[str, Any] | None = None
    code: str | None = None
    reason: str | None = None
    # The IAM action the call needs.
    permission: str | None = None
    aws_message: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is CallOutcome.OK

    @property
    def assume_failed(self) -> bool:
        return self.outcome is CallOutcome.ASSUME_ROLE_FAILED


@dataclass(frozen=True)
class AccountFacts:
    """Everything read in one account through its read role."""

    account: str
    role_arn: str
    # False for the bot's own account when IAMWHY_ACCOUNTS lists others: problems there are warnings.
    needed: bool
    # Probe id ("iam", "kms", ..., "toolbox") -> its read; empty when the read role could not be assumed.
    reads: Mapping[str, Read] = field(default_factory=dict)
    # The first read, which assumed the role (its failure, if any, is the role's).
    assume: Read | None = None
    # organizations:DescribeOrganization as the read role: which organization the account belongs to.
    organization: Read | None = None

    @property
    def assumed(self) -> bool:
        return self.assume is not None and not self.assume.assume_failed

    @property
    def organization_id(self) -> str | None:
        details = _organization(self.organization)
        return str(details.get("Id")) if details.get("Id") else None

    @property
    def management_account(self) -> str | None:
        details = _organization(self.organization)
        return str(details.get("MasterAccountId")) if details.get("MasterAccountId") else None

    @property
    def in_organization(self) -> bool | None:
        """True or False when DescribeOrganization answered; None when it could not be asked or was refused."""
        read = self.organization
        if read is None:
            return None
        if read.ok:
            return True
        if read.outcome is CallOutcome.NOT_FOUND:
            return False
        return None


@dataclass(frozen=True)
class OrgFacts:
    """What the organizations read role (IAMWHY_ORG_ROLE_ARN) read."""

    role_arn: str
    roots: Read
    list_policies: Read | None = None
    describe_policy: Read | None = None
    # Account -> organizations:ListParents of that account.
    parents: Mapping[str, Read] = field(default_factory=dict)

    @property
    def root(self) -> Mapping[str, Any] | None:
        roots = (self.roots.answer or {}).get("Roots") or [] if self.roots.ok else []
        return roots[0] if roots and isinstance(roots[0], Mapping) else None

    @property
    def enabled_types(self) -> frozenset[str] | None:
        root = self.root
        if root is None:
            return None
        return frozenset(str(t.get("Type")) for t in root.get("PolicyTypes") or [] if t.get("Status") == "ENABLED")

    @property
    def organization_id(self) -> str | None:
        """The organization the role reads, from the root's ARN (arn:aws:organizations::<mgmt>:root/o-x/r-y)."""
        root = self.root
        arn = str(root.get("Arn") or "") if root else ""
        parts = arn.split(":", 5)[-1].split("/") if arn else []
        return parts[1] if len(parts) >= 3 and parts[0] == "root" else None


@dataclass(frozen=True)
class DoctorFacts:
    config: AwsConfig
    region: str
    identity: Read
    accounts: tuple[AccountFacts, ...] = ()
    # None: no IAMWHY_ORG_ROLE_ARN configured.
    org: OrgFacts | None = None

    @property
    def caller_arn(self) -> str | None:
        return str((self.identity.answer or {}).get("Arn") or "") or None if self.identity.ok else None

    @property
    def own_account(self) -> str | None:
        return str((self.identity.answer or {}).get("Account") or "") or None if self.identity.ok else None


def _organization(read: Read | None) -> Mapping[str, Any]:
    if read is None or not read.ok:
        return {}
    details = (read.answer or {}).get("Organization")
    return details if isinstance(details, Mapping) else {}
