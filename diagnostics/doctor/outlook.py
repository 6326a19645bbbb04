"""The doctor's final word per account: how sure diagnoses can be, and which layers they will report unreadable."""

from __future__ import annotations

from diagnostics.doctor.facts import AccountFacts, DoctorFacts, OrgFacts, Read
from diagnostics.doctor.probes import PROBES, TOOLBOX
from diagnostics.doctor.report import AccountOutlook, LayerGap
from diagnostics.model import Confidence, Layer
from diagnostics.reader import CallOutcome

_ORG_LAYERS = ((Layer.SCP, "SCPs", "SERVICE_CONTROL_POLICY"), (Layer.RCP, "RCPs", "RESOURCE_CONTROL_POLICY"))


def outlook(facts: DoctorFacts) -> tuple[AccountOutlook, ...]:
    if not facts.identity.ok:
        accounts = sorted(facts.config.allowed_accounts) or ["every account"]
        why = "the bot has no working AWS identity"
        return tuple(
            AccountOutlook(a, Confidence.REPORTED, False, (), f"{a}: from the message alone ({why})") for a in accounts
        )
    return tuple(_account(facts, account) for account in facts.accounts)


def _readable(read: Read | None) -> bool:
    return read is not None and read.outcome in (CallOutcome.OK, CallOutcome.NOT_FOUND)


def _account(facts: DoctorFacts, account: AccountFacts) -> AccountOutlook:
    name = account.account
    if not account.assumed:
        summary = f"{name}: from the message alone (`reported`): the read role {account.role_arn} cannot be assumed"
        return AccountOutlook(name, Confidence.REPORTED, False, (), summary)
    gaps: list[LayerGap] = []
    for probe in PROBES:
        read = account.reads.get(probe.id)
        if probe.layers and not _readable(read):
            why = f"{probe.loses}: {read.permission if read else probe.operation} {_failure(read)}"
            gaps.extend(LayerGap(layer, why) for layer in probe.layers)
    org_note, org_gaps = _organization(facts, account)
    gaps.extend(org_gaps)
    toolbox = account.reads.get(TOOLBOX.id)
    verified = toolbox is not None and (_readable(toolbox) or toolbox.outcome is CallOutcome.REJECTED)
    if verified:
        verified_note = f"verified when the error carries an authorization id (iam-toolbox reachable in {facts.region})"
    else:
        verified_note = f"never verified from an authorization id (iam-toolbox {_failure(toolbox)} in {facts.region})"
    notes = "; ".join(n for n in (org_note, _context_note(account)) if n)
    if not gaps:
        head = f"{name}: evaluated" + (f" ({notes})" if notes else "")
        return AccountOutlook(name, Confidence.EVALUATED, verified, (), f"{head}; {verified_note}")
    confidence = Confidence.SIMULATED if _readable(account.reads.get("simulate")) else Confidence.REPORTED
    layers = "; ".join(f"{g.layer}: {g.why}" for g in _merged(gaps))
    head = f"{name}: evaluated, except where an unreadable layer decides ({layers}): those are {confidence} at best"
    if notes:
        head += f" ({notes})"
    return AccountOutlook(name, confidence, verified, tuple(gaps), f"{head}; {verified_note}")


def _merged(gaps: list[LayerGap]) -> list[LayerGap]:
    """One entry per layer, reasons joined (the resource layer may lack several services)."""
    by_layer: dict[Layer, list[str]] = {}
    for gap in gaps:
        by_layer.setdefault(gap.layer, [])
        if gap.why not in by_layer[gap.layer]:
            by_layer[gap.layer].append(gap.why)
    return [LayerGap(layer, ", ".join(whys)) for layer, whys in by_layer.items()]


def _failure(read: Read | None) -> str:
    if read is None:
        return "not tried"
    return {
        CallOutcome.DENIED: "denied",
        CallOutcome.UNAVAILABLE: "unreachable",
        CallOutcome.THROTTLED: "throttled",
    }.get(read.outcome, f"failed ({read.code or read.outcome})")


def _context_note(account: AccountFacts) -> str | None:
    cloudtrail = account.reads.get("cloudtrail")
    if _readable(cloudtrail):
        return None
    return "no CloudTrail request context, so more condition keys stay unknown"


def _organization(facts: DoctorFacts, account: AccountFacts) -> tuple[str | None, list[LayerGap]]:
    member = account.in_organization
    if member is False:
        return "not in an organization: no SCPs or RCPs apply", []
    org = facts.org
    problem = "whether the account is in an organization could not be read" if member is None else None
    problem = problem or _org_problem(org, account)
    if problem is not None:
        return None, [LayerGap(Layer.SCP, problem), LayerGap(Layer.RCP, problem)]
    assert org is not None
    enabled = org.enabled_types or frozenset()
    parts = [f"{label} {'readable' if kind in enabled else 'not enabled'}" for _, label, kind in _ORG_LAYERS]
    return ", ".join(parts), []


def _org_problem(org: OrgFacts | None, account: AccountFacts) -> str | None:
    if org is None:
        return "no organizations read role configured (IAMWHY_ORG_ROLE_ARN)"
    if org.roots.assume_failed:
        return "the organizations read role cannot be assumed"
    for read in (org.roots, org.list_policies, org.describe_policy, org.parents.get(account.account)):
        if read is not None and not read.ok:
            return f"organizations read role: {read.permission or read.operation} {_failure(read)}"
    if org.organization_id and account.organization_id and org.organization_id != account.organization_id:
        return f"IAMWHY_ORG_ROLE_ARN reads {org.organization_id}, not {account.organization_id}"
    return None
