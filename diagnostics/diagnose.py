"""From a gathered Snapshot to a Diagnosis: evaluate, weigh AWS's own evidence, explain, propose verified fixes.

Pure: no AWS calls. The evidence hierarchy of DESIGN.md §2 decides the confidence: AWS's own record of the
denial (verified), then the local evaluation of everything read (evaluated), IAM's policy simulator agreeing
where a layer could not be read (simulated), and otherwise unknown, saying what could not be read or known.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Final

from diagnostics import catalog
from diagnostics.assess import (
    STAND_IN,
    UNREAD_PREFIX,
    Assessment,
    Deduction,
    assess,
    evaluated,
    unknown_keys,
    with_stand_ins,
)
from diagnostics.checks import Facts, run_checks
from diagnostics.commands import DEFAULT_LAYER_ORDER, evidence_commands
from diagnostics.evidence import AwsAccount, from_decoded, from_record, simulated_decision, simulation_blockers
from diagnostics.explain import explain_offline
from diagnostics.fixes import Side, kms_statement, proposals, verify
from diagnostics.model import (
    Blocker,
    Confidence,
    Decision,
    DenialKind,
    DeniedRequest,
    Diagnosis,
    Fix,
    Layer,
    LayerStatus,
    LayerVerdict,
    PrincipalType,
    Reported,
    Unreadable,
)
from diagnostics.policy import EvalRequest, PolicyError, PolicySet, evaluate
from diagnostics.policy.explain import KMS_NO_DELEGATION
from diagnostics.remediation import (
    describe_condition,
    describe_principal,
    fixes_for,
    not_a_role,
    not_a_role_note,
    policy_holder,
    request_action,
    unconfirmed_fixes,
)
from diagnostics.snapshot import Snapshot

_DENIALS: Final = frozenset({Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY})
_SESSION_PRINCIPALS: Final = frozenset({PrincipalType.ASSUMED_ROLE, PrincipalType.FEDERATED_USER})
SESSION_UNKNOWN: Final = "session policies are not readable after the session was created"
_LAYER_WORDS: Final = {
    Layer.IDENTITY: "the identity-based policies",
    Layer.BOUNDARY: "the permissions boundary",
    Layer.SESSION: "the session policy",
    Layer.SCP: "the SCPs",
    Layer.RCP: "the RCPs",
    Layer.RESOURCE: "the resource's policy",
    Layer.TRUST: "the role's trust policy",
    Layer.VPCE: "a VPC endpoint policy",
}


@dataclass(frozen=True)
class _Evaluated:
    """One request (the main one, or the KMS call S3 makes for it) and how it was assessed."""

    request: EvalRequest
    policies: PolicySet
    assessment: Assessment


def diagnose(snapshot: Snapshot) -> Diagnosis:
    """The diagnosis of one gathered denial. Never raises for bad data from AWS: that becomes a finding."""
    request = snapshot.request
    if snapshot.principal is not None:
        request = replace(request, principal=snapshot.principal)
    if snapshot.fallback:
        # Every read failed for the same reason: the warning says it once, no per-layer list repeats it.
        return fallback(request, snapshot.fallback, replace(snapshot, unreadable=()))
    if not snapshot.accounts_read and snapshot.unreadable:
        # Not one read succeeded: the message is all there is to go on.
        return fallback(request, f"none of iamwhy's reads succeeded ({snapshot.unreadable[0].why})", snapshot)
    action = request_action(request)
    if action is None:
        return fallback(request, "the message names no action, so there is nothing to evaluate", snapshot)
    if request.principal is None or request.principal.type is PrincipalType.UNKNOWN:
        return fallback(request, "the caller is not known, so its policies could not be evaluated", snapshot)
    try:
        return _Diagnoser(snapshot, request, action).run()
    except PolicyError as exc:
        return fallback(request, f"a policy read from AWS could not be evaluated: {exc}", snapshot)


def fallback(request: DeniedRequest, why: str, snapshot: Snapshot | None = None) -> Diagnosis:
    """The answer from the message alone, with a warning saying why nothing (more) could be read."""
    offline = explain_offline(request)
    notes = tuple(snapshot.notes) if snapshot is not None else ()
    unreadable = tuple(snapshot.unreadable) if snapshot is not None else ()
    warnings = (*offline.warnings, f"Answered from the message alone: {why}.")
    return replace(offline, warnings=tuple(dict.fromkeys(warnings)), notes=notes, unreadable=unreadable)


class _Diagnoser:
    def __init__(self, snapshot: Snapshot, request: DeniedRequest, action: str) -> None:
        self.snapshot = snapshot
        self.request = request
        self.action = action
        principal = request.principal
        assert principal is not None
        self.principal = principal
        self.evidence = self._evidence()
        self.notes: list[str] = list(snapshot.notes)
        if self.evidence is not None:
            self.notes.extend(self.evidence.notes)

    # ------------------------------------------------------------------------------------------ evaluation

    def _evidence(self) -> AwsAccount | None:
        snapshot = self.snapshot
        if snapshot.record is not None:
            found = from_record(snapshot.record, self.action)
            if found is not None:
                return found
        if snapshot.decoded is not None:
            return from_decoded(snapshot.decoded, snapshot.policies)
        return None

    def _unread(self) -> set[Layer]:
        unread = set(self.snapshot.unreadable_layers())
        if self.principal.type in _SESSION_PRINCIPALS and not (self.evidence and self.evidence.session):
            unread.add(Layer.SESSION)
        return unread

    def _evaluate_main(self) -> _Evaluated:
        snapshot = self.snapshot
        base = snapshot.policies
        if self.evidence is not None and self.evidence.session:
            base = replace(base, session=self.evidence.session)
        policies, synthetic = with_stand_ins(base, self._unread(), self.principal)
        context = dict(snapshot.context)
        if self.evidence is not None:
            # AWS's own request context is complete: a key it does not list was not in the request.
            context.update(self.evidence.context)
            unknown: frozenset[str] = frozenset()
        else:
            unknown = unknown_keys(
                policies,
                context,
                action=self.action,
                absent=snapshot.absent_keys,
                complete_prefixes=snapshot.complete_prefixes,
            )
        request = EvalRequest(
            principal=self.principal,
            action=self.action,
            resource=self.request.resource_arn or "*",
            resource_account=snapshot.resource_account,
            context=context,
            unknown_keys=unknown | synthetic,
            management_account=snapshot.management_account,
            aws_managed_resource=bool(snapshot.resource and snapshot.resource.aws_managed),
        )
        reported = None if self.evidence is not None else self.request.reported
        return _Evaluated(request, policies, assess(request, policies, reported))

    def _evaluate_chain(self, main: _Evaluated) -> _Evaluated | None:
        chain = self.snapshot.kms
        if chain is None:
            return None
        key = chain.key
        policies = replace(
            main.policies,
            resource=key.policy,
            kms_grants=key.kms_grants,
            s3_public_access_block=None,
        )
        context = {**main.request.context, **chain.context}
        unknown = unknown_keys(
            policies,
            context,
            action=chain.action,
            absent=self.snapshot.absent_keys,
            complete_prefixes=self.snapshot.complete_prefixes,
        )
        synthetic = {k for k in main.request.unknown_keys if k.startswith(UNREAD_PREFIX)}
        request = EvalRequest(
            principal=self.principal,
            action=chain.action,
            resource=key.arn,
            resource_account=key.account,
            context=context,
            unknown_keys=unknown | synthetic,
            management_account=self.snapshot.management_account,
            aws_managed_resource=key.aws_managed,
        )
        if _explains(main.assessment):
            # The request was denied for its own sake: AWS's denial says nothing about the KMS call, which counts
            # only for what blocks it whatever the unknowns.
            return _Evaluated(request, policies, evaluated(request, policies))
        return _Evaluated(request, policies, assess(request, policies, None))

    # ------------------------------------------------------------------------------------------ the answer

    def run(self) -> Diagnosis:
        snapshot = self.snapshot
        main = self._evaluate_main()
        chain = self._evaluate_chain(main)
        verdict = self._verdict(main, chain)
        decision, confidence, blockers, chain_blockers, unknown_keys_ = verdict
        fixes = self._fixes(decision, blockers, chain_blockers, main, chain)
        all_blockers = (*blockers, *chain_blockers)
        findings = run_checks(Facts(snapshot, self.request, decision, all_blockers))
        self.notes.extend(f.text for f in findings)
        unreadable = list(snapshot.unreadable)
        if snapshot.kms_unreadable:
            unreadable.append(Unreadable(Layer.RESOURCE, f"KMS: {snapshot.kms_unreadable}"))
        explanation = self._explain(decision, blockers, chain_blockers, main, chain)
        if confidence is Confidence.SIMULATED and snapshot.simulation is not None:
            unread = ", ".join(_LAYER_WORDS[u.layer] for u in snapshot.unreadable)
            explanation += (
                f" iamwhy could not read {unread}; IAM's policy simulator, which reads them, also denies the request."
            )
        return Diagnosis(
            request=self.request,
            decision=decision,
            confidence=confidence,
            explanation=explanation,
            blocked_by=all_blockers,
            unknown_context_keys=unknown_keys_,
            unreadable=tuple(unreadable),
            fixes=fixes,
            commands=self._commands(all_blockers),
            layers=self._layers(main, chain, chain_blockers),
            warnings=self.request.warnings,
            notes=tuple(dict.fromkeys(n for n in self.notes if n)),
        )

    def _verdict(
        self, main: _Evaluated, chain: _Evaluated | None
    ) -> tuple[Decision, Confidence, tuple[Blocker, ...], tuple[Blocker, ...], tuple[str, ...]]:
        snapshot = self.snapshot
        found = main.assessment
        chain_found = chain.assessment if chain is not None else None
        chain_blockers = self._chain_blockers(chain) if chain is not None else ()
        if self.evidence is not None:
            blockers = _merge(self.evidence.blockers, found.blockers)
            if found.decision in _DENIALS and found.decision is not self.evidence.decision:
                self.notes.append(
                    f"Evaluated today, the policies iamwhy read give {found.decision.value.replace('_', ' ')}, not "
                    f"{self.evidence.decision.value.replace('_', ' ')} as AWS recorded: a policy may have changed "
                    "since the denial."
                )
            return self.evidence.decision, Confidence.VERIFIED, blockers, (), ()
        unreadable = bool(snapshot.unreadable) or bool(snapshot.kms_unreadable and chain is None)
        simulated = simulated_decision(snapshot.simulation) if snapshot.simulation is not None else None
        self._cross_check(main)
        if _explains(found):
            decision = found.decision
            blockers = found.blockers
            extra = chain_blockers if chain_found is not None and chain_found.decision in _DENIALS else ()
            if found.conflicts_with_report:
                self.notes.append(self._conflict_note())
            certain = found.determined and not found.conflicts_with_report and decision in _DENIALS
            return decision, self._confidence(certain, unreadable, simulated), blockers, extra, found.unknown_keys
        if chain_found is not None and chain_found.decision in _DENIALS:
            # Everything S3 checks allows it: the denial comes from KMS, which S3 asked as the caller.
            certain = chain_found.determined and not chain_found.unexplained
            confidence = self._confidence(certain, unreadable, simulated)
            return chain_found.decision, confidence, (), chain_blockers, chain_found.unknown_keys
        if unreadable and simulated in _DENIALS and snapshot.simulation is not None:
            assert simulated is not None
            self.notes.append(
                "The layers iamwhy could read allow this request; IAM's policy simulator, which sees the policies "
                "iamwhy's role could not read, denies it."
            )
            return simulated, Confidence.SIMULATED, simulation_blockers(snapshot.simulation), (), ()
        blockers = self._reported_blockers(found)
        return Decision.UNKNOWN, Confidence.UNKNOWN, blockers, (), found.unknown_keys

    def _confidence(self, certain: bool, unreadable: bool, simulated: Decision | None) -> Confidence:
        if certain and not unreadable and self._resource_known():
            return Confidence.EVALUATED
        if certain and simulated in _DENIALS:
            return Confidence.SIMULATED
        return Confidence.UNKNOWN

    def _resource_known(self) -> bool:
        if self.request.resource_arn and self.request.resource_arn != "*":
            return True
        info = catalog.action_info(self.action)
        return info is not None and not info.resource_scoped

    def _chain_blockers(self, chain: _Evaluated) -> tuple[Blocker, ...]:
        subject = _chain_subject(chain)
        return tuple(replace(b, subject=subject) for b in chain.assessment.blockers)

    def _reported_blockers(self, found: Assessment) -> tuple[Blocker, ...]:
        reported = self.request.reported
        if reported.layer is None or reported.kind is None:
            return ()
        if found.unexplained and (reported.layer in found.suspect_layers or reported.layer in self._unread()):
            return (Blocker(reported.layer, reported.kind, detail="reported by AWS; iamwhy could not read this layer"),)
        return ()

    def _conflict_note(self) -> str:
        reported = self.request.reported
        phrase = reported.phrase or f"{reported.kind} deny in the {reported.layer} layer"
        return (
            f"AWS reported {phrase!r}, which none of the policies iamwhy read can produce for this request: a policy "
            "may have changed since the denial, or the request differed from what the message shows."
        )

    def _cross_check(self, main: _Evaluated) -> None:
        """Compare IAM's policy simulator with the local evaluation of the same layers (it has no session, RCP or
        VPC endpoint layer, and treats every context key it was not given as absent)."""
        simulation = self.snapshot.simulation
        if simulation is None:
            if self.snapshot.simulation_note:
                self.notes.append(self.snapshot.simulation_note[:1].upper() + self.snapshot.simulation_note[1:] + ".")
            return
        simulated = simulated_decision(simulation)
        unread = self.snapshot.unreadable_layers()
        if simulated is None or unread & {Layer.IDENTITY, Layer.BOUNDARY, Layer.SCP}:
            return
        keys = {k.lower() for k in simulation.context_keys}
        context = {k: v for k, v in main.request.context.items() if k.lower() in keys}
        policies = replace(
            self.snapshot.policies,
            session=(),
            rcp_levels=(),
            vpce=(),
            resource=self.snapshot.policies.resource if simulation.with_resource_policy else None,
        )
        request = EvalRequest(
            principal=self.principal,
            action=self.action,
            resource=main.request.resource,
            resource_account=main.request.resource_account,
            context=context,
            management_account=main.request.management_account,
            aws_managed_resource=main.request.aws_managed_resource,
        )
        local = evaluate(request, policies).decision
        if local is not simulated:
            missing = simulation.result.get("MissingContextValues") or []
            hint = f" It reported missing context values: {', '.join(missing)}." if missing else ""
            self.notes.append(
                f"Disagreement: IAM's policy simulator answers {_decision_words(simulated)} for "
                f"{simulation.source_arn}, where iamwhy's evaluation of the same layers answers "
                f"{_decision_words(local)}.{hint}"
            )

    # ------------------------------------------------------------------------------------------ fixes

    def _fixes(
        self,
        decision: Decision,
        blockers: Sequence[Blocker],
        chain_blockers: Sequence[Blocker],
        main: _Evaluated,
        chain: _Evaluated | None,
    ) -> tuple[Fix, ...]:
        if not blockers and not chain_blockers:
            return unconfirmed_fixes(self.request, self.request.reported.kind, self.request.reported.layer)
        if decision is Decision.UNKNOWN and main.assessment.unexplained and not chain_blockers:
            # Blockers taken from AWS's message for a layer iamwhy could not read: nothing to re-evaluate.
            return fixes_for(self.request, blockers)
        chain_request = None
        statement = None
        if chain is not None:
            chain_request = replace(
                self.request,
                action=chain.request.action,
                resource_arn=chain.request.resource,
                api_operation=None,
                reported=Reported(),
            )
            # The caller's own grant on the key matters only where its identity policies stand in the KMS call's
            # way (a key policy that names the caller needs nothing from them).
            if any(b.layer is Layer.IDENTITY for b in chain.assessment.result.blocked_by):
                statement = kms_statement(chain.request.action, chain.request.resource)
        resource = self.snapshot.resource
        proposed = proposals(
            self.request,
            blockers,
            chain_request=chain_request,
            chain_blockers=chain_blockers,
            kms_statement=statement,
            needs_known=resource is not None and resource.service == "s3" and resource.encryption_read,
        )
        synthetic = frozenset(k for k in main.request.unknown_keys if k.startswith(UNREAD_PREFIX))
        main_side = Side(main.assessment.requests, main.policies, synthetic)
        chain_side = Side(chain.assessment.requests, chain.policies, synthetic) if chain is not None else None
        involved = (c.key for b in (*blockers, *chain_blockers) for c in b.conditions)
        fixes, note = verify(proposed, main_side, chain_side, involved=involved)
        if note:
            self.notes.append(note)
        if self._unread() - {Layer.SESSION} and any(f.resolves for f in fixes):
            self.notes.append(
                "Fixes were re-evaluated against the layers iamwhy could read; "
                + ", ".join(sorted(layer.value for layer in self._unread() - {Layer.SESSION}))
                + " could not be read and may still block."
            )
        return fixes

    def _commands(self, blockers: Sequence[Blocker]) -> tuple[str, ...]:
        first = [b.layer for b in blockers]
        order = list(dict.fromkeys([*first, *DEFAULT_LAYER_ORDER]))
        # S3 ARNs name no account: the located owner is the account whose RCPs to list.
        owner = self.snapshot.resource_account or self.request.account_id
        return evidence_commands(replace(self.request, account_id=owner), order)

    # ------------------------------------------------------------------------------------------ the checklist

    def _layers(
        self, main: _Evaluated, chain: _Evaluated | None, chain_blockers: Sequence[Blocker]
    ) -> tuple[LayerVerdict, ...]:
        snapshot = self.snapshot
        unread = snapshot.unreadable_layers()
        status = self.evidence.layer_status if self.evidence is not None else {}
        out: list[LayerVerdict] = []
        for verdict in main.assessment.result.layers:
            layer = verdict.layer
            names = tuple(dict.fromkeys(n for n in verdict.policies if not n.startswith(STAND_IN)))
            why = snapshot.why_unreadable(layer)
            if layer in unread and why is not None:
                out.append(LayerVerdict(layer, LayerStatus.UNREADABLE, why, names))
            elif layer is Layer.SESSION and layer in self._unread():
                out.append(LayerVerdict(layer, LayerStatus.UNKNOWN, SESSION_UNKNOWN, ()))
            elif layer in status:
                out.append(LayerVerdict(layer, status[layer], f"AWS's record: {_status_words(status[layer])}", names))
            elif layer in (Layer.SCP, Layer.RCP):
                out.append(self._org_verdict(replace(verdict, policies=names), main.assessment))
            else:
                out.append(replace(verdict, policies=names))
        if chain is not None:
            out.extend(self._chain_rows(chain, chain_blockers))
        return tuple(out)

    def _chain_rows(self, chain: _Evaluated, chain_blockers: Sequence[Blocker]) -> list[LayerVerdict]:
        """The KMS call's rows: its key policy always, and every other layer that blocks it, each qualified."""
        subject = _chain_subject(chain)
        blocking = {b.layer for b in chain_blockers}
        rows = []
        for verdict in chain.assessment.result.layers:
            denies = verdict.status in (LayerStatus.EXPLICIT_DENY, LayerStatus.IMPLICIT_DENY)
            if verdict.layer in blocking or (verdict.layer is Layer.RESOURCE and not denies):
                names = tuple(n for n in verdict.policies if not n.startswith(STAND_IN))
                if verdict.layer in (Layer.SCP, Layer.RCP):
                    verdict = self._org_verdict(verdict, chain.assessment)
                rows.append(replace(verdict, policies=names, subject=subject))
        return rows

    def _org_verdict(self, verdict: LayerVerdict, found: Assessment) -> LayerVerdict:
        layer, status = verdict.layer, verdict.status
        if status is LayerStatus.ALLOWS and layer is Layer.SCP:
            return replace(verdict, summary=self._scp_summary(verdict))
        if status is LayerStatus.EXPLICIT_DENY:
            where = next((b.detail for b in found.blockers if b.layer is layer and b.detail), None)
            return replace(verdict, summary=f"{verdict.summary} {where}" if where else verdict.summary)
        if (
            status is LayerStatus.NOT_APPLICABLE
            and self.snapshot.in_organization
            and verdict.summary.startswith("not in an organization")
        ):
            kind = "SCP" if layer is Layer.SCP else "RCP"
            return replace(
                verdict, summary=f"no {kind} applies: the {kind} policy type is not enabled in the organization"
            )
        return verdict

    def _scp_summary(self, verdict: LayerVerdict) -> str:
        names = self.snapshot.scp_path or self.snapshot.policies.scp_level_names
        allowing = verdict.summary.removeprefix("allowed by ")
        policies = list(dict.fromkeys(part.split(" (")[0] for part in allowing.split("; ")))
        path = " › ".join(names) if names else ""
        return f"{', '.join(policies)} at {path}" if path else verdict.summary

    # ------------------------------------------------------------------------------------------ the "why"

    def _explain(
        self,
        decision: Decision,
        blockers: Sequence[Blocker],
        chain_blockers: Sequence[Blocker],
        main: _Evaluated,
        chain: _Evaluated | None,
    ) -> str:
        parts: list[str] = []
        if self.evidence is not None:
            parts.append(f"From {self.evidence.source}:")
        what = not_a_role(self.request)
        if what is not None:
            # The cause whatever the policies say: first, and instead of "every policy allows it" when they do.
            parts.append(not_a_role_note(self.request, what))
            if main.assessment.unexplained and not chain_blockers:
                return " ".join(parts)
        if chain is not None and chain_blockers:
            parts.append(
                f"The object is encrypted with KMS key {_key_id(chain)} (the bucket's default), so S3 also asks KMS "
                f"for {chain.request.action} as {describe_principal(self.principal)}."
            )
        found = main.assessment
        if found.unexplained and not chain_blockers:
            # Blockers here can only be what AWS's message names for a layer iamwhy could not see.
            parts.append(self._unexplained(found))
            return " ".join(p for p in parts if p)
        parts.extend(self._sentence(b, main) for b in blockers)
        if chain is not None:
            parts.extend(self._sentence(b, chain, chain=True) for b in chain_blockers)
        # Only what the explanation rests on: a deduction about a key no blocker's condition names decides nothing.
        deciding = {c.key.lower() for b in (*blockers, *chain_blockers) for c in b.conditions}
        parts.extend(
            _deduction_sentence(d)
            for d in found.deductions
            if d.layer is None and d.ruled_out and d.key.lower() in deciding
        )
        if not blockers and not chain_blockers:
            parts.append(self._unexplained(found))
        elif len({(b.layer, b.subject) for b in (*blockers, *chain_blockers)}) > 1:
            layers = ", ".join(
                dict.fromkeys(
                    f"{b.layer.value} on the KMS call" if b.subject else b.layer.value
                    for b in (*blockers, *chain_blockers)
                )
            )
            parts.append(f"Several layers block it ({layers}); AWS's message names at most one, and each must change.")
        if found.unknown_keys and decision is not Decision.ALLOWED and blockers:
            keys = ", ".join(found.unknown_keys)
            parts.append(f"The answer depends on request context iamwhy cannot see: {keys}.")
        reported = self.request.reported
        agrees = reported.layer is None or any(
            b.layer is reported.layer and b.kind is reported.kind for b in (*blockers, *chain_blockers)
        )
        if reported.phrase and blockers and agrees and not found.conflicts_with_report and self.evidence is None:
            parts.append(f"That agrees with what AWS reported ({reported.phrase}).")
        return " ".join(p for p in parts if p)

    def _sentence(self, blocker: Blocker, evaluated: _Evaluated, *, chain: bool = False) -> str:
        action = evaluated.request.action
        resource = evaluated.request.resource if chain else self.request.resource_arn
        # What is denied: the request itself, or the KMS call S3 makes on its behalf.
        if chain:
            what = f"the {action} call S3 makes on KMS key {_key_id(evaluated)} as the caller"
        else:
            what = f"{action} on {resource}" if resource else action
        who = describe_principal(self.principal)
        name = blocker.policy or ""
        sid = f" (Sid {blocker.sid})" if blocker.sid else ""
        where = f" {blocker.detail}" if blocker.detail and blocker.layer in (Layer.SCP, Layer.RCP) else ""
        conditions = "; ".join(describe_condition(c) for c in blocker.conditions)
        holder = policy_holder(resource)
        label = holder.label if holder is not None else "resource policy"
        if blocker.kind is DenialKind.EXPLICIT:
            when = f" when {conditions}" if conditions else ""
            owner = {
                Layer.IDENTITY: f"Identity policy {name} of {who}",
                Layer.BOUNDARY: f"Permissions boundary {name}",
                Layer.SESSION: "The session policy",
                Layer.SCP: f"Service control policy {name}{where}",
                Layer.RCP: f"Resource control policy {name}{where}",
                Layer.RESOURCE: f"The {label}",
                Layer.TRUST: f"The {label}",
                Layer.VPCE: f"VPC endpoint policy {name}",
            }[blocker.layer]
            return (
                f"{owner.strip()} denies {what}{sid}{when}; an explicit deny overrides every Allow, so no "
                "Allow anywhere can fix it."
            )
        if blocker.unmet == "condition" and blocker.conditions:
            asked = "the call" if chain else "the request"
            return f"{name}{sid} allows {what} only when {conditions}; {asked} did not meet that."
        match blocker.layer:
            case Layer.IDENTITY:
                read = [p.name for p in self.snapshot.policies.identity]
                known = f" (policies read: {', '.join(read)})" if read else " (it has none)"
                return f"No identity-based policy of {who} allows {what}{known}."
            case Layer.BOUNDARY:
                return (
                    f"Permissions boundary {name or ''} does not allow {what}; effective permissions are the "
                    "intersection of the identity policies and the boundary, so attaching more to the principal "
                    "cannot help."
                ).replace("  ", " ")
            case Layer.SCP:
                return f"No SCP allows {what}{where or ' at some level of the organization'}."
            case Layer.SESSION:
                return f"The session policy does not allow {what}."
            case Layer.VPCE:
                return f"The VPC endpoint policy does not allow {what}."
            case Layer.TRUST:
                return f"The {label} does not allow {who} to call {action}."
        if holder is not None and holder.service == "kms":
            key = resource.rsplit("/", 1)[-1] if resource else "the key"
            plain = describe_principal(replace(self.principal, session_name=None))
            own = (
                f"so {plain}'s own {action} grant has no effect"
                if _layer_allows(evaluated.assessment, Layer.IDENTITY)
                else f"and {plain}'s own policies do not grant {action} either"
            )
            if blocker.detail == KMS_NO_DELEGATION:
                return (
                    f"The key policy of key {key} names no statement for {who} and does not delegate to IAM (it has "
                    f"no statement for the account), {own}."
                )
            return f"The key policy of key {key} has no statement that allows {action} for {who}, {own}."
        detail = f": {blocker.detail}" if blocker.detail else ""
        return f"The {label} does not allow {who} to call {action}{detail}."

    def _unexplained(self, found: Assessment) -> str:
        snapshot = self.snapshot
        suspects: list[str] = []
        for layer in found.suspect_layers or tuple(self._unread()):
            why = SESSION_UNKNOWN if layer is Layer.SESSION else snapshot.why_unreadable(layer) or "not read"
            suspects.append(f"{_LAYER_WORDS[layer]} ({why})")
        if snapshot.kms_unreadable:
            suspects.append(f"the KMS key's policy ({snapshot.kms_unreadable})")
        keys = list(found.unknown_keys)
        lead = "Every policy iamwhy could read allows this request, yet AWS denied it"
        if not suspects and not keys:
            return (
                f"{lead}: a policy may have changed since the denial, or the request differed from what the message "
                "shows (another principal, resource or region)."
            )
        parts = [f"{lead}, so the denial must come from what iamwhy could not see"]
        text = "; ".join(suspects)
        if text:
            parts.append(f": {text}")
        if keys:
            parts.append(f"{';' if text else ':'} or the request context ({', '.join(keys)})")
        phrase = self.request.reported.phrase
        if phrase:
            parts.append(f". AWS reported: {phrase}")
        return "".join(parts) + "."


def _merge(evidence: Sequence[Blocker], local: Sequence[Blocker]) -> tuple[Blocker, ...]:
    """AWS's blockers, completed with the local evaluation's statement details where they name the same thing."""
    out: list[Blocker] = []
    for blocker in evidence:
        twin = next(
            (
                b
                for b in local
                if b.layer is blocker.layer
                and b.kind is blocker.kind
                and (blocker.sid is None or b.sid == blocker.sid)
                and (blocker.policy is None or b.policy == blocker.policy or blocker.sid is not None)
            ),
            None,
        )
        if twin is None:
            out.append(blocker)
            continue
        out.append(
            replace(
                twin,
                policy=blocker.policy or twin.policy,
                policy_arn=blocker.policy_arn or twin.policy_arn,
                sid=blocker.sid or twin.sid,
                conditions=blocker.conditions or twin.conditions,
                detail=blocker.detail or twin.detail,
            )
        )
    return tuple(out)


def _explains(found: Assessment) -> bool:
    """Whether the read layers account for the denial of the request itself (not only its KMS call)."""
    return found.decision in _DENIALS or (bool(found.blockers) and not found.unexplained)


def _key_id(chain: _Evaluated) -> str:
    return chain.request.resource.rsplit("/", 1)[-1]


def _chain_subject(chain: _Evaluated) -> str:
    return f"KMS key {_key_id(chain)}"


def _layer_allows(found: Assessment, layer: Layer) -> bool:
    return any(v.layer is layer and v.status is LayerStatus.ALLOWS for v in found.result.layers)


def _decision_words(decision: Decision) -> str:
    return {
        Decision.ALLOWED: "allowed",
        Decision.EXPLICIT_DENY: "an explicit deny",
        Decision.IMPLICIT_DENY: "an implicit deny",
        Decision.UNKNOWN: "unknown",
    }[decision]


def _status_words(status: LayerStatus) -> str:
    return {
        LayerStatus.ALLOWS: "allows",
        LayerStatus.EXPLICIT_DENY: "explicit deny",
        LayerStatus.IMPLICIT_DENY: "no Allow (implicit deny)",
        LayerStatus.NOT_APPLICABLE: "no impact on this request",
        LayerStatus.UNREADABLE: "could not be read",
        LayerStatus.UNKNOWN: "unknown",
    }[status]


def _deduction_sentence(deduction: Deduction) -> str:
    ruled_out = _or(f"{v}" for v in deduction.ruled_out)
    possible = _or(deduction.possible)
    return f"AWS denied the request, so {deduction.key} cannot have been {ruled_out}" + (
        f" (it was {possible})." if possible else "."
    )


def _or(items: Iterable[str]) -> str:
    values = list(items)
    if len(values) <= 1:
        return "".join(values)
    return ", ".join(values[:-1]) + " or " + values[-1]
