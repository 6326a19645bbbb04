"""aws.read.* and aws.toolbox: one harmless read per part of a diagnosis, in every account whose read role works."""

from __future__ import annotations

from collections.abc import Iterator

from diagnostics.doctor.checks.base import account_group, code_of, failure, role_name, target
from diagnostics.doctor.facts import AccountFacts, DoctorFacts, Read
from diagnostics.doctor.fixes import grant_fix, unreachable_fix
from diagnostics.doctor.probes import PROBES, TOOLBOX, Probe
from diagnostics.doctor.report import Line, Status
from diagnostics.reader import CallOutcome, RoleKind


def check(facts: DoctorFacts) -> Iterator[Line]:
    for account in facts.accounts:
        if not account.assumed:
            continue
        for probe in (*PROBES, TOOLBOX):
            read = account.reads.get(probe.id)
            if read is not None:
                yield _line(facts, account, probe, read)


def line_id(probe: Probe) -> str:
    return "aws.toolbox" if probe is TOOLBOX else f"aws.read.{probe.id}"


def _line(facts: DoctorFacts, account: AccountFacts, probe: Probe, read: Read) -> Line:
    where = target(facts, account)
    tried = f"{probe.describe(where)}, as {role_name(account.role_arn)}"
    details = {"account": account.account, "permission": read.permission, "code": read.code, "region": facts.region}
    # Reads that only strengthen an answer (CloudTrail context, the simulator, AWS's own record) warn when missing;
    # a read that a layer depends on fails.
    weight = failure(account) if probe.layers else Status.WARNING

    def line(status: Status, result: str, fix: str | None = None) -> Line:
        return Line(
            line_id(probe), account_group(account), probe.title, status, tried, result, fix, account.account, details
        )

    if read.ok:
        reached = f" in {facts.region}" if probe is TOOLBOX else ""
        return line(Status.OK, f"allowed{reached}")
    if read.outcome is CallOutcome.NOT_FOUND:
        if probe.not_found_proves:
            return line(Status.OK, f"allowed ({code_of(read)}: AWS checks the permission first)")
        return line(
            Status.OK,
            f"reachable ({code_of(read)}: AWS checks permissions only on names that exist, so {read.permission} is "
            "not proven)",
        )
    if read.outcome is CallOutcome.DENIED:
        permission = read.permission or f"{probe.service}:{probe.operation}"
        result = f"denied ({code_of(read)}): {role_name(account.role_arn)} lacks {permission}"
        return line(
            weight, result, grant_fix(permission, RoleKind.READ, account.role_arn, account.account, read.aws_message)
        )
    if read.outcome in (CallOutcome.UNAVAILABLE, CallOutcome.THROTTLED):
        if probe is TOOLBOX:
            fix = (
                f"Without it, errors that carry an authorization id are answered `evaluated`, not `verified`. If IAM "
                f"Access Troubleshooter is offered in {facts.region}, let the bot reach it over HTTPS (egress, "
                "proxies; AWS_ENDPOINT_URL_IAM_TOOLBOX if set); if it is not, nothing needs fixing."
            )
            return line(weight, f"unreachable in {facts.region}: {read.reason}", fix)
        return line(weight, f"no answer: {read.reason}", unreachable_fix(probe.service, facts.region))
    if read.outcome is CallOutcome.REJECTED and probe is TOOLBOX:
        return line(Status.OK, f"reachable in {facts.region} (AWS answered {code_of(read)})")
    if read.outcome is CallOutcome.ERROR:
        return line(weight, f"failed: {read.reason}", "The log line with that reference has the details.")
    return line(
        weight,
        f"rejected ({code_of(read)}): {read.reason}",
        f"AWS refused the request itself, not the permission: check that {facts.region} (AWS_REGION or "
        f"AWS_DEFAULT_REGION) is a region enabled for account {account.account}, then run the doctor again.",
    )
