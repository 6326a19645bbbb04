"""aws.role and aws.external_id: whether the bot can assume the read role in every account it may read, and how."""

from __future__ import annotations

from collections.abc import Iterator

from diagnostics.doctor.checks.base import AWS, account_group, code_of, failure, role_name
from diagnostics.doctor.facts import DoctorFacts
from diagnostics.doctor.fixes import EXAMPLE_EXTERNAL_ID, credentials_fix, trust_fix, unreachable_fix
from diagnostics.doctor.report import Line, Status
from diagnostics.reader import CallOutcome, RoleKind


def check(facts: DoctorFacts) -> Iterator[Line]:
    config = facts.config
    with_id = "with the ExternalId in IAMWHY_EXTERNAL_ID" if config.external_id else "without an ExternalId"
    if not facts.identity.ok:
        for name in sorted(config.allowed_accounts):
            yield Line(
                "aws.role",
                f"AWS account {name}",
                "Read role",
                Status.SKIPPED,
                f"sts:AssumeRole into {config.role_arn(name)}",
                "not tried: the bot has no working AWS identity (see Bot identity)",
                subject=name,
            )
        return
    for account in facts.accounts:
        tried = f"sts:AssumeRole into {account.role_arn} {with_id}"
        details = {"account": account.account, "role_arn": account.role_arn}
        if account.assumed:
            yield Line(
                "aws.role",
                account_group(account),
                "Read role",
                Status.OK,
                tried,
                "assumed",
                subject=account.account,
                details=details,
            )
            continue
        read = account.assume
        assert read is not None
        if read.outcome is CallOutcome.ASSUME_ROLE_FAILED:
            result = f"AWS refused ({code_of(read)})"
            fix = trust_fix(RoleKind.READ, account.role_arn, facts.caller_arn, external_id_set=bool(config.external_id))
        elif read.outcome is CallOutcome.CREDENTIALS:
            result = f"the bot's credentials were refused ({code_of(read)})"
            fix = credentials_fix(read.code)
        else:
            result = f"could not tell: {read.reason}"
            fix = unreachable_fix("STS", facts.region)
        if not account.needed:
            result += "; only errors in the bot's own account need this role"
        yield Line(
            "aws.role",
            account_group(account),
            "Read role",
            failure(account),
            tried,
            result,
            fix,
            subject=account.account,
            details={**details, "code": read.code},
        )
    assumed = [a.account for a in facts.accounts if a.assumed]
    if not config.external_id and assumed:
        names = ", ".join(f"{role_name(a.role_arn)} in {a.account}" for a in facts.accounts if a.assumed)
        yield Line(
            "aws.external_id",
            AWS,
            "ExternalId",
            Status.WARNING,
            "sts:AssumeRole without an ExternalId (IAMWHY_EXTERNAL_ID is not set)",
            f"{names} accepted the bot without an ExternalId",
            "Choose an ExternalId, require it in the roles' trust policies (the deploy/ templates do: redeploy with "
            f'ExternalId="$IAMWHY_EXTERNAL_ID"), and set it for the bot, for example '
            f"IAMWHY_EXTERNAL_ID={EXAMPLE_EXTERNAL_ID}. It keeps another tool trusted with the same principal from "
            "being talked into reading your accounts (the confused deputy problem).",
            details={"accounts": assumed},
        )
