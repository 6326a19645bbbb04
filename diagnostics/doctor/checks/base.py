"""What the AWS checks share: the checklist's group names and how a problem's weight depends on the account."""

from __future__ import annotations

from diagnostics.doctor.facts import AccountFacts, DoctorFacts, Read
from diagnostics.doctor.probes import Target
from diagnostics.doctor.report import Status
from diagnostics.reader import CallOutcome

AWS = "AWS"
ORGANIZATIONS = "AWS Organizations"


def account_group(account: AccountFacts) -> str:
    suffix = "" if account.needed else " (the bot's own; not in IAMWHY_ACCOUNTS)"
    return f"AWS account {account.account}{suffix}"


def failure(account: AccountFacts) -> Status:
    """A problem in an account iamwhy is meant to read fails the doctor; in the bot's own account only, it warns."""
    return Status.FAILED if account.needed else Status.WARNING


def target(facts: DoctorFacts, account: AccountFacts) -> Target:
    partition = account.role_arn.split(":")[1] if account.role_arn.startswith("arn:") else "aws"
    return Target(account.account, facts.region, partition, account.role_arn)


def role_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def code_of(read: Read) -> str:
    return read.code or str(read.outcome)


def reachability_problem(read: Read) -> bool:
    """The call did not get an answer from AWS at all (network, throttling, an operation the endpoint lacks)."""
    return read.outcome in (CallOutcome.UNAVAILABLE, CallOutcome.THROTTLED)
