"""aws.identity: whose AWS credentials the bot has (sts:GetCallerIdentity), the principal every trust policy names."""

from __future__ import annotations

from collections.abc import Iterator

from diagnostics.arn import parse_principal
from diagnostics.doctor.checks.base import AWS, code_of
from diagnostics.doctor.facts import DoctorFacts
from diagnostics.doctor.fixes import credentials_fix, unreachable_fix
from diagnostics.doctor.report import Line, Status
from diagnostics.model import PrincipalType
from diagnostics.reader import CallOutcome

TRIED = "sts:GetCallerIdentity with the bot's own credentials (the standard AWS credential chain)"


def check(facts: DoctorFacts) -> Iterator[Line]:
    read = facts.identity
    if read.ok:
        arn, account = facts.caller_arn or "?", facts.own_account or "?"
        details = {"arn": arn, "account": account, "region": facts.region}
        result = f"the bot runs as {arn} (account {account}; region {facts.region})"
        if parse_principal(arn).type is PrincipalType.ROOT:
            fix = "Run the bot as an IAM role (or a user) with only sts:AssumeRole on the read roles, never as root."
            yield Line("aws.identity", AWS, "Bot identity", Status.WARNING, TRIED, result, fix, details=details)
        else:
            yield Line("aws.identity", AWS, "Bot identity", Status.OK, TRIED, result, details=details)
        return
    if read.outcome is CallOutcome.CREDENTIALS:
        result = str(read.reason)
        fix = credentials_fix(read.code)
    elif read.outcome in (CallOutcome.UNAVAILABLE, CallOutcome.THROTTLED):
        result = f"AWS STS did not answer: {read.reason}"
        fix = unreachable_fix("STS", facts.region)
    else:
        result = f"failed ({code_of(read)}): {read.reason}"
        fix = credentials_fix(read.code)
    failed = {"code": read.code, "outcome": str(read.outcome)}
    yield Line("aws.identity", AWS, "Bot identity", Status.FAILED, TRIED, result, fix, details=failed)
