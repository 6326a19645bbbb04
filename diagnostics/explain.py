"""Offline explanation: a Diagnosis from the error message alone, with nothing read from AWS."""

from __future__ import annotations

from diagnostics import catalog
from diagnostics.arn import ArnError, has_taken_out_part, parse_arn
from diagnostics.commands import CALLER_IDENTITY_COMMAND, ENCODED_MESSAGE_VARIABLE, evidence_commands, layer_commands
from diagnostics.model import (
    CHECKLIST_ORDER,
    Blocker,
    Confidence,
    Decision,
    DenialKind,
    DeniedRequest,
    Diagnosis,
    Layer,
    LayerStatus,
    LayerVerdict,
    Principal,
    PrincipalType,
    ScanResult,
)
from diagnostics.remediation import (
    FEDERATED_ACTIONS,
    FIND_KMS_KEY,
    TRUST_ACTIONS,
    action_service,
    can_simulate,
    cross_account,
    describe_principal,
    fixes_for,
    lake_formation_need,
    lambda_environment_decrypt,
    not_a_role,
    not_a_role_note,
    policy_holder,
    policy_name,
    request_action,
    root_cannot_assume,
    simulation_steps,
    unconfirmed_fixes,
    unsigned_api_call,
)

NOT_CHECKED = "not checked (offline)"

# Which layers' commands confirm a reported layer: the resource and trust sides also need the caller's side.
_CONFIRMING_LAYERS: dict[Layer, tuple[Layer, ...]] = {
    Layer.IDENTITY: (Layer.IDENTITY,),
    Layer.RESOURCE: (Layer.RESOURCE, Layer.IDENTITY),
    Layer.TRUST: (Layer.TRUST, Layer.IDENTITY),
    Layer.BOUNDARY: (Layer.BOUNDARY,),
    Layer.SESSION: (Layer.SESSION,),
    Layer.SCP: (Layer.SCP,),
    Layer.RCP: (Layer.RCP,),
    Layer.VPCE: (Layer.VPCE, Layer.IDENTITY),
}

_DECISIONS = {DenialKind.EXPLICIT: Decision.EXPLICIT_DENY, DenialKind.IMPLICIT: Decision.IMPLICIT_DENY}


def explain_offline(request: DeniedRequest) -> Diagnosis:
    """Explain one denial from what its message says: the reported layer, what it means, the fix, the evidence."""
    reported = request.reported
    kind = reported.kind
    decision = _DECISIONS[kind] if kind is not None else Decision.UNKNOWN
    blocked_by: tuple[Blocker, ...] = ()
    if reported.layer is not None and kind is not None:
        blocked_by = (
            Blocker(
                layer=reported.layer,
                kind=kind,
                policy=policy_name(reported.policy_arn),
                policy_arn=reported.policy_arn,
            ),
        )
    fixes = fixes_for(request, blocked_by) if blocked_by else unconfirmed_fixes(request, kind, reported.layer)
    return Diagnosis(
        request=request,
        decision=decision,
        confidence=Confidence.REPORTED if kind is not None else Confidence.UNKNOWN,
        explanation=explanation(request),
        blocked_by=blocked_by,
        fixes=fixes,
        commands=_evidence(request),
        layers=offline_checklist(request),
        warnings=request.warnings,
    )


def _evidence(request: DeniedRequest) -> tuple[str, ...]:
    """The commands an offline diagnosis shows: those that confirm the reported layer, or every layer's."""
    reported = request.reported
    confirm = (
        _CONFIRMING_LAYERS.get(reported.layer) if reported.layer is not None and reported.kind is not None else None
    )
    return evidence_commands(request, confirm)


def _checks_below(request: DeniedRequest) -> bool:
    """Whether the commands shown do more than name the caller: read a policy, simulate, or decode AWS's record."""
    return any(command != CALLER_IDENTITY_COMMAND for command in _evidence(request))


def _finds_statements(request: DeniedRequest) -> bool:
    """Whether a command shown lists the statements that matched: the simulation, or AWS's own record."""
    return can_simulate(request) or bool(request.encoded_message) or bool(request.authorization_id)


def explain_scan_offline(scan: ScanResult) -> tuple[Diagnosis, ...]:
    """One offline diagnosis per denial found in the text, in order."""
    return tuple(explain_offline(request) for request in scan.denials)


def explanation(request: DeniedRequest) -> str:
    """What the reported layer means for this request, what the message does not say, and what is special here."""
    reported = request.reported
    if reported.kind is not None and reported.layer is not None:
        parts = [_layer_meaning(request, reported.layer, reported.kind), _limits(request, reported.kind)]
    else:
        parts = [_without_layer(request)]
    what = not_a_role(request)
    if what is not None:
        # The cause, whatever layer the message names: said first, and instead of guesses when it names none.
        parts = [not_a_role_note(request, what), *(parts if reported.layer is not None else [])]
    parts.extend(_special_cases(request))
    return " ".join(p for p in parts if p)


def offline_checklist(request: DeniedRequest) -> tuple[LayerVerdict, ...]:
    """The per-layer checklist from the message alone: the reported layer, layers that cannot apply, others unknown."""
    reported = request.reported
    verdicts: list[LayerVerdict] = []
    for layer in CHECKLIST_ORDER:
        if layer is reported.layer and reported.kind is not None:
            status = LayerStatus.EXPLICIT_DENY if reported.kind is DenialKind.EXPLICIT else LayerStatus.IMPLICIT_DENY
            policies = (reported.policy_arn,) if reported.policy_arn else ()
            verdicts.append(LayerVerdict(layer, status, _reported_summary(request), policies))
            continue
        reason = _not_applicable(request, layer)
        if reason is not None:
            verdicts.append(LayerVerdict(layer, LayerStatus.NOT_APPLICABLE, reason))
        else:
            verdicts.append(LayerVerdict(layer, LayerStatus.UNKNOWN, NOT_CHECKED))
    return tuple(verdicts)


def _reported_summary(request: DeniedRequest) -> str:
    reported = request.reported
    if reported.phrase:
        return f"AWS reported: {reported.phrase}"
    what = "an explicit deny" if reported.kind is DenialKind.EXPLICIT else "no Allow"
    return f"AWS reported {what} in this layer"


def _not_applicable(request: DeniedRequest, layer: Layer) -> str | None:
    """Why a layer cannot take part in this request, when the message alone makes that certain."""
    principal = request.principal
    ptype = principal.type if principal is not None else PrincipalType.UNKNOWN
    action = request_action(request)
    if layer is Layer.TRUST and action is not None and action not in TRUST_ACTIONS:
        return "applies only to sts:AssumeRole* and sts:TagSession calls"
    if layer is Layer.SESSION and ptype in (PrincipalType.USER, PrincipalType.ROOT):
        return "an IAM user's or root's own credentials carry no session policy"
    if layer in (Layer.IDENTITY, Layer.BOUNDARY, Layer.SESSION, Layer.SCP) and ptype in (
        PrincipalType.ANONYMOUS,
        PrincipalType.SERVICE,
    ):
        caller = "an unsigned request" if ptype is PrincipalType.ANONYMOUS else "an AWS service principal"
        return f"does not apply to {caller}"
    if layer is Layer.BOUNDARY and ptype is PrincipalType.ROOT:
        return "the root user cannot have a permissions boundary"
    if layer is Layer.RCP:
        service = action_service(action)
        if service is not None and catalog.service_exists(service) and service not in catalog.rcp_services():
            return f"RCPs do not apply to {service}"
    return None


def _layer_meaning(request: DeniedRequest, layer: Layer, kind: DenialKind) -> str:
    who = describe_principal(request.principal)
    action = request_action(request) or "the action"
    on = f" on {request.resource_arn}" if request.resource_arn else ""
    holder = policy_holder(request.resource_arn)
    named = _named_policy(request)
    explicit = kind is DenialKind.EXPLICIT
    overrides = "An explicit deny overrides every Allow in every policy, so the denying statement itself must change."
    match layer:
        case Layer.IDENTITY if explicit:
            return (
                f"A Deny statement in an identity-based policy{named} of {who} matches {action}{on}. {overrides} "
                "Denies like this are usually deliberate guardrails: check with whoever owns that policy."
            )
        case Layer.IDENTITY:
            return (
                f"No identity-based policy of {who} ({_identity_sources(request.principal)}) has an Allow statement "
                f"matching {action}{on}. AWS denies whatever is not explicitly allowed, so the caller needs a "
                "statement that allows this action on this resource, with any conditions met."
            )
        case Layer.RESOURCE if explicit:
            label = holder.label if holder is not None else "resource-based policy"
            return (
                f"A Deny statement in the {label} matches {action} by {who}. Resource policies often deny on a "
                "condition — aws:SecureTransport (plain HTTP), aws:SourceVpce or aws:SourceIp (network path), "
                f"aws:PrincipalOrgID (callers outside the organization) — so compare its Condition with how the call "
                f"was made. {overrides}"
            )
        case Layer.RESOURCE:
            label = holder.label if holder is not None else "resource-based policy"
            return (
                f"The {label} does not allow {who} to call {action}, and no other policy grants it. Within one account "
                "an identity-based Allow is usually enough; the resource's own policy must name the caller when the "
                "caller is in another account, and always for a KMS key whose key policy does not delegate to IAM."
            )
        case Layer.BOUNDARY if explicit:
            return f"The permissions boundary{named} of {who} has a Deny statement matching {action}{on}. {overrides}"
        case Layer.BOUNDARY:
            return (
                f"{_sentence_start(request.principal)} has a permissions boundary{named} that does not allow {action}. "
                "A boundary caps what identity-based policies can grant — effective permissions are the intersection "
                "of the two — so the request is denied even when an attached policy allows it."
            )
        case Layer.SESSION if explicit:
            return (
                f"The session policy passed when this session of {who} was created has a Deny statement matching "
                f"{action}{on}. {overrides}"
            )
        case Layer.SESSION:
            return (
                f"This session of {who} was created with a session policy that does not allow {action}. A session gets "
                "the intersection of its role's (or user's) policies and the session policy passed to AssumeRole, "
                "AssumeRoleWithSAML, AssumeRoleWithWebIdentity or GetFederationToken, so the role can allow the "
                "action and the session still cannot."
            )
        case Layer.SCP:
            whose = (
                f"principals in account {_account(request)}"
                if _account(request)
                else "the principals of the caller's account"
            )
            if explicit:
                return (
                    f"A service control policy{named} denies {action}{on} for {whose}. SCP denies are "
                    "organization guardrails (regions, services, protected resources); they bind every principal of a "
                    "member account, administrators and the root user included, and nothing in the account's IAM can "
                    "override them."
                )
            above = f"account {_account(request)}" if _account(request) else "the account"
            return (
                f"No service control policy allows {action} at some level of the organization above {above}. "
                "SCPs cap every principal of a member account, administrators included: an Allow must exist at "
                "every level, from the root through each OU to the account, and nothing in the account's IAM can "
                "lift the cap."
            )
        case Layer.RCP:
            owner_account = holder.account_id if holder is not None and holder.account_id else request.account_id
            account = f" in account {owner_account}" if owner_account else ""
            if explicit:
                return (
                    f"A resource control policy{named} denies {action} on resources{account}. RCPs are organization "
                    "guardrails on resources (for example: only callers from the organization, only over TLS); they "
                    "apply whoever the caller is, and neither IAM nor the resource's own policy can override them."
                )
            return (
                f"No resource control policy allows {action} on resources{account} at some level of the organization. "
                "RCPs cap access to the resources of member accounts whoever the caller is; an Allow is needed at "
                "every level, and nothing in IAM or the resource policy can lift the cap."
            )
        case Layer.VPCE:
            endpoint = request.context.get("aws:SourceVpce")
            which = f" {endpoint}" if isinstance(endpoint, str) and endpoint else ""
            if explicit:
                return (
                    f"The request went through VPC endpoint{which}, whose policy has a Deny statement matching "
                    f"{action}{on}. {overrides}"
                )
            return (
                f"The request went through VPC endpoint{which}, whose policy does not allow {action}{on} for {who}. "
                "An endpoint policy is a separate gate on every request through the endpoint: IAM and the resource "
                "policy can allow it and the endpoint still denies it."
            )
        case Layer.TRUST:
            role = holder.name if holder is not None and holder.service == "iam" else "the target role"
            if explicit:
                return f"The trust policy of role {role} has a Deny statement matching {action} by {who}. {overrides}"
            return (
                f"The trust policy of role {role} does not allow {who} to call {action}. A role can be assumed only by "
                "principals its trust policy allows and, across accounts, only if the caller's own identity-based "
                "policy also allows it."
            )
    return f"AWS reported a denial in the {layer} layer for {action}{on}."


def _limits(request: DeniedRequest, kind: DenialKind) -> str:
    if kind is DenialKind.EXPLICIT:
        # Only where several policies of the layer could hold the statement is a missing name worth saying.
        layer = request.reported.layer
        several = layer in (Layer.IDENTITY, Layer.SCP, Layer.RCP)
        named = ""
        if several and layer is not None and not request.reported.policy_arn:
            named = f" The message does not name the denying policy{_finding_the_policy(request, layer)}"
        return (
            "AWS names at most one reason per message: once this statement is changed, another layer can still deny "
            f"the request.{named}"
        )
    if request.reported.layer is Layer.IDENTITY:
        return (
            "AWS names at most one reason per message, and an implicit deny in identity-based policies can hide "
            "another one: an SCP, a permissions boundary or the resource's policy may still deny the request once "
            "the grant exists."
        )
    return "AWS names at most one reason per message: once this is fixed, another layer can still deny the request."


def _with_the_checks(request: DeniedRequest, alternative: str = "") -> str:
    """The words that send the reader to the commands, where they check more than who the caller is; nothing where
    they cannot (the fixes then say what to find first)."""
    return f" with the commands below{alternative}" if _checks_below(request) else ""


def _finding_statements(request: DeniedRequest) -> str:
    if _finds_statements(request):
        return " with the commands below."
    steps = simulation_steps(request, "lists the matched statements")
    return f": {steps}" if steps else " in the policies that apply to this caller."


def _finding_the_policy(request: DeniedRequest, layer: Layer) -> str:
    """How to find the policy that holds an explicit deny the message does not name, ending its sentence."""
    if layer_commands(request, layer):
        return "; the commands below find it."
    if layer is Layer.IDENTITY:
        steps = simulation_steps(request, "lists the matched statements")
        return f": {steps}" if steps else "."
    kind = "SERVICE_CONTROL_POLICY" if layer is Layer.SCP else "RESOURCE_CONTROL_POLICY"
    whose = "caller's" if layer is Layer.SCP else "resource's"
    return (
        f": aws organizations list-policies-for-target --target-id <account id> --filter {kind}, run from the "
        f"management account, lists the {layer.value.upper()}s attached to the {whose} account once its id is known, "
        "and each OU above it (aws organizations list-parents) can hold one too."
    )


def _without_layer(request: DeniedRequest) -> str:
    action = request_action(request) or "the action"
    on = f" on {request.resource_arn}" if request.resource_arn else ""
    reported = request.reported
    need = lake_formation_need(request)
    if need is not None:
        what = f"the Lake Formation permission {need.permission}" if need.permission else "a Lake Formation permission"
        target = (
            " on the Data Catalog"
            if need.resource == '{"Catalog": {}}'
            else f" on {need.target}"
            if need.target
            else ""
        )
        call = action if request_action(request) else "the call"
        return (
            f"Lake Formation refused {call}: the caller lacks {what}{target}. Lake Formation permissions are a "
            "second gate on the Data Catalog and the data lake, beside IAM: the call needs both, and IAM policies "
            "cannot grant Lake Formation permissions, so this is fixed with a Lake Formation grant."
        )
    if unsigned_api_call(request):
        if reported.kind is DenialKind.EXPLICIT:
            verdict = "a Deny statement in that policy matches it"
        elif reported.kind is DenialKind.IMPLICIT:
            verdict = "that policy does not allow it"
        else:
            verdict = "that policy does not allow it, or a Deny statement in it matches"
        return (
            f"API Gateway checked this unsigned (anonymous) call to {action}{on} against the API's resource policy "
            f"alone (no identity-based policy, boundary or SCP applies to a caller without credentials), and "
            f"{verdict}."
        )
    if reported.kind is DenialKind.EXPLICIT:
        return (
            f"The message says an explicit Deny matched {action}{on}, but not in which policy: an identity-based "
            "policy, the permissions boundary, a session policy, an SCP, an RCP, the resource's policy or a VPC "
            "endpoint policy. An explicit deny overrides every Allow, so adding permissions cannot help; find the "
            f"statement{_finding_statements(request)}"
        )
    if reported.kind is DenialKind.IMPLICIT:
        return (
            f"The message says no policy allows {action}{on}, but not which layer is missing the Allow: identity-based "
            "policies, the permissions boundary, a session policy, SCPs, RCPs, the resource's policy or a VPC endpoint "
            f"policy. Confirm it{_with_the_checks(request)} before changing anything."
        )
    if reported.layer is not None:
        reading = " with the commands below" if layer_commands(request, reported.layer) else ""
        region = ""
        if reported.phrase and "does not exist in this region" in reported.phrase.lower():
            region = (
                " It also allows a third cause: the resource does not exist in this Region, as for data encrypted "
                "under a KMS key of another Region, or a key since deleted or scheduled for deletion."
            )
        return (
            f"The message points at the {reported.layer} layer for {action}{on} but does not say whether a Deny "
            f"matched or no Allow did; confirm it{reading} before changing anything.{region}"
        )
    if root_cannot_assume(request):
        return (
            f"STS refused {action} because the call was made with the root user's credentials: roles may not be "
            "assumed by the root user, whatever their trust policies allow, so no policy of any layer decided this."
        )
    if action in TRUST_ACTIONS:
        role_holder = policy_holder(request.resource_arn)
        role = f"role {role_holder.name}" if role_holder is not None and role_holder.service == "iam" else "the role"
        if action in FEDERATED_ACTIONS:
            token = "web identity token (OIDC)" if action == "sts:AssumeRoleWithWebIdentity" else "SAML assertion"
            return (
                f"AWS does not say why {action} was denied. The caller signs in with a {token}, not with AWS "
                f"credentials, so no identity-based policy applies to it: what decides is the trust policy of {role}. "
                "It must name the identity provider as a Federated principal and allow this action, and its "
                "conditions must match the token (for OIDC, the aud and sub claims: another branch, environment or "
                "service account changes sub). The usual causes: the role ARN is wrong, the provider is not "
                "registered in the role's account, or a condition does not match. An RCP can also deny it."
            )
        return (
            f"AWS does not say why {action} was denied. The usual causes: the trust policy of {role} does not allow "
            "the caller (or requires an external id, MFA or tags the call did not carry), or, across accounts, the "
            "caller's identity-based policy does not allow the call on the role. An SCP can also deny it. "
            f"Confirm{_with_the_checks(request)} before changing anything."
        )
    return (
        f"The message does not say which policy layer denied {action}{on}: older message formats, many services and "
        "many cross-account requests leave the reason out. Any layer can be responsible — identity-based policies, "
        "the permissions boundary, a session policy, SCPs, RCPs, the resource's policy or a VPC endpoint policy — so "
        f"confirm it{_with_the_checks(request, ' (or a live investigation)')} before changing anything."
    )


def _arn_flaw(text: str) -> str | None:
    """What is wrong with text that starts like an ARN but does not parse as one; None for anything else."""
    if not text.startswith("arn:"):
        return None
    try:
        parse_arn(text)
    except ArnError as exc:
        return str(exc).split(":", 1)[0]
    return None


def _special_cases(request: DeniedRequest) -> list[str]:
    notes: list[str] = []
    principal = request.principal
    if lambda_environment_decrypt(request):
        notes.append(
            "Lambda could not decrypt the function's environment variables, so the function never ran: Lambda "
            "decrypts them with the function's KMS key as the function's execution role, which is the caller KMS "
            "refused (not whoever invoked the function)."
        )
    elif root_cannot_assume(request):
        notes.append(
            "aws sts get-caller-identity, run with the same credentials, shows the root user: an ARN ending in :root."
        )
    elif principal is None and request_action(request) in FEDERATED_ACTIONS:
        notes.append(
            "The caller is identified by its token, not by AWS credentials: decode the token (its iss, aud and sub "
            "claims) and compare them with the trust policy's Principal and conditions."
        )
    elif principal is None or principal.type is PrincipalType.UNKNOWN:
        flaw = _arn_flaw(principal.arn) if principal is not None else None
        if flaw is not None and not any("redacted" in warning for warning in request.warnings):
            notes.append(
                f"The message names the caller as {principal.arn if principal else ''}, which is not a usable ARN "
                f"({flaw}): it was probably edited or mistyped. Run aws sts get-caller-identity with the same "
                "credentials to see the real one."
            )
        elif principal is not None and has_taken_out_part(principal.arn):
            notes.append(
                f"The message names the caller as {principal.arn}, with part of it taken out: run aws sts "
                "get-caller-identity with the same credentials for the real ARN (it is often an instance profile or an "
                "assumed role, not who you expect)."
            )
        else:
            notes.append(
                "The message does not name the caller in a form iamwhy recognises: run aws sts get-caller-identity "
                "with the same credentials (it is often an instance profile or an assumed role, not who you expect)."
            )
    elif principal.sso_permission_set:
        notes.append(
            f"Role {principal.name} is created by IAM Identity Center from permission set "
            f"{principal.sso_permission_set}: its policies come from the permission set, so changes belong there "
            "(IAM Identity Center admins), not on the role, which IAM Identity Center manages."
        )
    elif principal.type is PrincipalType.ASSUMED_ROLE:
        session = f"session {principal.session_name}" if principal.session_name else "a session"
        notes.append(
            f"The caller is {session} of role {principal.name}: AWS evaluates the role's policies, plus any "
            "session policy passed when the session was created; grants go on the role, not on the session."
        )
    elif principal.type is PrincipalType.ROOT:
        notes.append(
            f"The caller is the root user of account {principal.account_id}: identity-based policies never restrict "
            "root in its own account, so a denial of root comes from an SCP or RCP (member accounts only) or from a "
            "resource-based policy."
        )
    elif principal.type is PrincipalType.ANONYMOUS and not unsigned_api_call(request):
        notes.append(
            "The request was not signed (anonymous): no identity-based policy applies, and only a resource policy that "
            "allows everyone could allow it. Usually the client found no credentials: check its profile, environment "
            "variables or instance/task role."
        )
    elif principal.type is PrincipalType.SERVICE:
        notes.append(
            f"The caller is the AWS service {principal.name} acting for you: a service is allowed through the "
            f'resource\'s policy (Principal {{"Service": "{principal.name}"}}) or through a role it assumes, not '
            "through your identity-based policies."
        )
    elif principal.type is PrincipalType.FEDERATED_USER:
        notes.append(
            f"The caller is federated user {principal.name} (GetFederationToken): its permissions are the intersection "
            "of the calling IAM user's policies and the session policy passed with the call."
        )
    if request_action(request) == "kms:Decrypt" and request.api_operation == "GetSecretValue":
        notes.append(
            "Secrets Manager decrypts the secret with its KMS key as the caller: the caller needs kms:Decrypt on that "
            "key, in its own policies and in the key policy. This usually means the secret uses a customer managed "
            "key whose policy does not let the caller use it (aws secretsmanager describe-secret shows KmsKeyId)."
        )
    elif (
        request_action(request) == "kms:Decrypt"
        and not request.resource_arn
        and not lambda_environment_decrypt(request)
    ):
        phrase = (request.reported.phrase or "").lower()
        # The message's own phrase may have given the other causes already ("does not exist in this Region").
        causes = (
            ""
            if "does not exist in this region" in phrase
            else " KMS refuses a Decrypt alike when the key that encrypted the data was deleted (or is pending "
            "deletion) or belongs to another Region, and when the key policy or the caller's policies do not allow it."
        )
        notes.append(f"The message does not name the KMS key.{causes} Find the key first: {FIND_KMS_KEY}.")
    holder = policy_holder(request.resource_arn)
    if holder is not None and cross_account(request, holder):
        caller_account = principal.account_id if principal is not None else None
        both = (
            "the resource's policy must allow it (root needs no identity-based policy, but an SCP of its account can "
            "still deny it)"
            if principal is not None and principal.type is PrincipalType.ROOT
            else "both the caller's identity-based policy and the resource's policy must allow it"
        )
        notes.append(
            f"The caller (account {caller_account}) and the resource (account {holder.account_id}) are in "
            f"different accounts: {both}."
        )
    if request.encoded_message:
        notes.append(
            "AWS encoded the details of this denial: decode them first (set the shell variable "
            f"{ENCODED_MESSAGE_VARIABLE} to the encoded message and run the decode-authorization-message command "
            "below; it needs sts:DecodeAuthorizationMessage). The decoded text shows the matched statements and the "
            "request context."
        )
    if request.authorization_id:
        notes.append(
            "The message carries an authorization id: the IAM Access Troubleshooter "
            "(get-request-authorization-details, below) keeps AWS's own record of this evaluation, with the exact "
            "policies and statements, for at least 24 hours."
        )
    return notes


def _identity_sources(principal: Principal | None) -> str:
    if principal is None:
        return "inline or managed"
    match principal.type:
        case PrincipalType.USER:
            return "inline, managed, or through its groups"
        case PrincipalType.ASSUMED_ROLE:
            return f"the inline and managed policies of role {principal.name}"
    return "inline or managed"


def _named_policy(request: DeniedRequest) -> str:
    arn = request.reported.policy_arn
    return f" ({arn})" if arn else ""


def _account(request: DeniedRequest) -> str | None:
    principal = request.principal
    return (principal.account_id if principal is not None else None) or request.account_id


def _sentence_start(principal: Principal | None) -> str:
    """The caller named at the start of a sentence: iamwhy's own words capitalised, an ARN or pasted text as given."""
    who = describe_principal(principal)
    if principal is not None and who == principal.arn:
        return who
    return who[:1].upper() + who[1:]
