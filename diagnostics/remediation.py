"""Fix builders: for a denied request and the layer that blocks it, what to change, where, and who must do it.

Every builder is a pure function of the request (and the blocker, when one is known), so the offline
explanation and the live investigation propose the same fixes. A fix never suggests adding an Allow where
an Allow cannot help (an explicit deny, an SCP, an RCP, a boundary, a session policy).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from diagnostics import catalog
from diagnostics.arn import ArnError, has_taken_out_part, is_account_id, is_placeholder, parse_arn
from diagnostics.model import (
    Blocker,
    ConditionCheck,
    DenialKind,
    DeniedRequest,
    Fix,
    Layer,
    Principal,
    PrincipalType,
)

POLICY_VERSION = "2012-10-17"

OWNER_ACCOUNT = "account admins"
OWNER_ORG = "org admins"
OWNER_RESOURCE = "resource owner"
OWNER_KEY = "key administrators"
OWNER_BOUNDARY = "boundary owner"
OWNER_SESSION = "session creator"
OWNER_NETWORK = "network admins"
OWNER_SSO = "IAM Identity Center admins"
OWNER_CALLER = "caller"
OWNER_DATA_LAKE = "data lake administrators"
# Keys a caller controls by how it makes the call: a condition on them is met by calling differently.
REQUEST_KEYS = frozenset(
    {
        "aws:multifactorauthpresent",
        "aws:multifactorauthage",
        "aws:securetransport",
        "aws:sourceip",
        "aws:requestedregion",
        "aws:sourcevpce",
        "aws:sourcevpc",
        "aws:vpcsourceip",
    }
)

# Actions evaluated against a role's trust policy rather than a resource policy.
TRUST_ACTIONS = frozenset(
    {
        "sts:AssumeRole",
        "sts:AssumeRoleWithSAML",
        "sts:AssumeRoleWithWebIdentity",
        "sts:TagSession",
        "sts:SetSourceIdentity",
    }
)

# The calls that take a role's ARN (RoleArn) and fail for anything else.
ASSUME_ACTIONS = frozenset({"sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity"})
# The ones made with a token from an identity provider, by a caller that is no AWS principal and has no policies.
FEDERATED_ACTIONS = frozenset({"sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity"})

# An IAM or STS ARN that names something other than a role; lenient about the account, which pastes often edit.
_NOT_A_ROLE = re.compile(
    r"arn:[\w-]+:(?:iam|sts)::[^:/\s]*:(?P<kind>user|assumed-role|root|group|instance-profile|policy|federated-user)"
    r"\b/?(?P<name>[^\s]*)"
)
_NOT_A_ROLE_WORDS = {
    "user": "IAM user",
    "assumed-role": "a session of role",
    "root": "the root user of its account",
    "group": "IAM group",
    "instance-profile": "instance profile",
    "policy": "managed policy",
    "federated-user": "federated user",
}

# Permissions that an action needs only in some setups, so they cannot go into the statement unasked:
# the catalogue lists none of them, and offline the key or the role involved is not known.
_CONDITIONAL_NEEDS: Mapping[str, str] = {
    "s3:GetObject": "kms:Decrypt on the key if the object is encrypted with a customer managed KMS key (SSE-KMS)",
    "s3:GetObjectVersion": "kms:Decrypt on the key if the object is encrypted with a customer managed KMS key",
    "s3:PutObject": "kms:GenerateDataKey on the key if the bucket encrypts with a customer managed KMS key",
    "sqs:SendMessage": "kms:GenerateDataKey and kms:Decrypt on the key if the queue uses a customer managed KMS key",
    "sqs:ReceiveMessage": "kms:Decrypt on the key if the queue uses a customer managed KMS key",
    "sns:Publish": "kms:GenerateDataKey and kms:Decrypt on the key if the topic uses a customer managed KMS key",
    "secretsmanager:GetSecretValue": "kms:Decrypt on the key if the secret uses a customer managed KMS key",
    "ec2:RunInstances": "iam:PassRole on the instance profile's role if the instance is launched with one",
    "lambda:CreateFunction": "iam:PassRole on the function's execution role",
    "lambda:UpdateFunctionConfiguration": "iam:PassRole on the execution role if the call changes it",
    "ecs:RunTask": "iam:PassRole on the task role and the task execution role",
    "cloudformation:CreateStack": "iam:PassRole on the stack's service role if one is given",
}

# What usually makes a common condition fail, for a request that an Allow would match but for its condition.
_CONDITION_HINTS: Mapping[str, str] = {
    "aws:multifactorauthpresent": (
        "long-term access keys never carry MFA: call with a session from "
        "aws sts get-session-token --serial-number <MFA device ARN> --token-code <code>"
    ),
    "aws:multifactorauthage": "the session's MFA sign-in is too old or missing: get a fresh MFA session",
    "aws:securetransport": "send the request over HTTPS",
    "aws:sourceip": (
        "call from an allowed address; requests through a VPC endpoint carry no aws:SourceIp "
        "(match aws:SourceVpce or aws:VpcSourceIp instead)"
    ),
    "aws:requestedregion": "call an allowed region",
    "aws:sourcevpce": "send the request through the allowed VPC endpoint",
}


def conditional_need_note(action: str) -> str | None:
    """The sentence a grant fix carries about permissions ``action`` needs only in some setups (None: none)."""
    need = _CONDITIONAL_NEEDS.get(action)
    return f"The caller may also need {need} (not known from the message)." if need else None


def condition_hint(key: str) -> str | None:
    """What usually makes a request fail a common condition key, and what to do instead (None: no advice)."""
    return _CONDITION_HINTS.get(key.lower())


_RESOURCE_SPLIT = re.compile(r"^(?P<kind>[^/:]*)[/:](?P<rest>.*)$", re.DOTALL)


@dataclass(frozen=True)
class PolicyHolder:
    """The resource whose resource-based policy governs a request (the bucket of an object, a key, a queue...)."""

    service: str
    label: str
    name: str
    arn: str
    partition: str
    region: str | None
    account_id: str | None


def policy_holder(resource_arn: str | None) -> PolicyHolder | None:
    """The resource that holds the resource-based policy for ``resource_arn``; None without a usable ARN."""
    if not resource_arn or resource_arn == "*":
        return None
    try:
        arn = parse_arn(resource_arn)
    except ArnError:
        return None
    partition, service, resource = arn.partition, arn.service, arn.resource
    region, account = arn.region or None, arn.account or None

    def holder(label: str, name: str, holder_arn: str = resource_arn) -> PolicyHolder:
        return PolicyHolder(service, label, name, holder_arn, partition, region, account)

    split = _RESOURCE_SPLIT.match(resource)
    kind, rest = (split.group("kind"), split.group("rest")) if split else (resource, "")
    if service == "s3" and kind == "accesspoint" and rest:
        name = rest.split("/", 1)[0]
        return holder(
            f"access point policy of {name}", name, f"arn:{partition}:s3:{arn.region}:{arn.account}:{kind}/{name}"
        )
    if service == "s3" and not account and resource:
        bucket = resource.split("/", 1)[0]
        return holder(f"bucket policy of {bucket}", bucket, f"arn:{partition}:s3:::{bucket}")
    if service == "kms" and kind in ("key", "alias") and rest:
        name = rest if kind == "key" else f"alias/{rest}"
        label = f"key policy of key {rest}" if kind == "key" else f"key policy of the key behind alias/{rest}"
        return holder(label, name)
    if service == "sqs" and resource:
        return holder(f"queue policy of {resource}", resource)
    if service == "sns" and resource:
        return holder(f"topic policy of {resource}", resource)
    if service == "secretsmanager" and kind == "secret" and rest:
        return holder(f"resource policy of secret {rest}", rest)
    if service == "lambda" and kind == "function" and rest:
        name = rest.split(":", 1)[0]
        return holder(f"resource-based policy of function {rest}", name)
    if service == "ecr" and kind == "repository" and rest:
        return holder(f"repository policy of {rest}", rest)
    if service == "iam" and kind == "role" and rest:
        name = rest.rsplit("/", 1)[-1]
        return holder(f"trust policy of role {name}", name)
    return holder(f"resource-based policy of {resource_arn}", resource or resource_arn)


# The services whose resource-based policy a read-only command prints; commands.resource_policy_command reads
# nothing else, and the fixes promise a command "below" only for these.
_READABLE_POLICY_SERVICES = frozenset({"s3", "kms", "sqs", "sns", "secretsmanager", "lambda", "ecr"})


def policy_readable(holder: PolicyHolder | None) -> bool:
    """Whether a read-only AWS CLI command prints the resource-based policy ``holder`` names (a role's trust policy
    included)."""
    if holder is None:
        return False
    return holder.service in _READABLE_POLICY_SERVICES or (holder.service == "iam" and ":role/" in holder.arn)


def can_simulate(request: DeniedRequest) -> bool:
    """Whether IAM's policy simulator can evaluate this request's caller: the message names the action and a user, a
    role or a role's session (the simulator takes no root, service, federated or unsigned caller)."""
    principal = request.principal
    if principal is None or request_action(request) is None:
        return False
    if principal.type is PrincipalType.ASSUMED_ROLE:
        return bool(principal.name)
    return principal.type in (PrincipalType.USER, PrincipalType.ROLE)


# The callers IAM's simulator evaluates, with UNKNOWN for a caller the message does not name usably.
_SIMULATED_TYPES = frozenset(
    {PrincipalType.USER, PrincipalType.ROLE, PrincipalType.ASSUMED_ROLE, PrincipalType.UNKNOWN}
)

# Callers with credentials of their own that SCPs bind but IAM's simulator does not evaluate.
_UNSIMULATED_SIGNERS = frozenset({PrincipalType.ROOT, PrincipalType.FEDERATED_USER})

FIND_CALLER = "aws sts get-caller-identity, run with the same credentials, prints the caller's ARN"
FIND_ACTION = (
    "the API call that failed names it, as service:Operation (the IAM action mostly has the operation's name): the "
    "SDK method or CLI command that raised the error, or the failed call's eventName in CloudTrail's event history, "
    "which aws cloudtrail lookup-events reads in the call's Region (management calls only, not S3 object reads or "
    "other data events)"
)
FIND_KMS_KEY = (
    "the resource that holds the encrypted data names its key (aws s3api head-object shows an object's "
    "SSEKMSKeyId, aws secretsmanager describe-secret a secret's KmsKeyId, aws lambda get-function-configuration a "
    "function's KMSKeyArn), and CloudTrail's record of the failed call usually does too"
)


def simulation_steps(request: DeniedRequest, tells: str) -> str | None:
    """For a caller IAM's simulator could evaluate if the message named it and the action: the simulation to run, which
    ``tells`` something, and how to find what it lacks. None when the evidence commands hold the simulation already,
    or when no simulation applies to this caller (root, a service, a federated or unsigned caller)."""
    principal = request.principal
    ptype = principal.type if principal is not None else PrincipalType.UNKNOWN
    if can_simulate(request) or ptype not in _SIMULATED_TYPES:
        return None
    missing: list[str] = []
    source = grantee(principal) if principal is not None and principal.name else None
    if source is None:
        missing.append(f"the caller ({FIND_CALLER}; for a session, take its role's ARN)")
    action = request_action(request)
    if action is None:
        missing.append("the action (the API call that failed names it)")
    resource = request.resource_arn
    arns = f" --resource-arns {shlex.quote(resource)}" if resource and usable_arn(resource) else ""
    source_arn = shlex.quote(source) if source else "<user or role ARN>"
    action_name = shlex.quote(action) if action else "<action>"
    return (
        f"aws iam simulate-principal-policy --policy-source-arn {source_arn} --action-names {action_name}{arns} "
        f"{tells}, once {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} known."
    )


def describe_principal(principal: Principal | None) -> str:
    """Name a principal the way a person would ("role build-bot-role (session ci-42)")."""
    if principal is None:
        return "the caller"
    match principal.type:
        case PrincipalType.USER:
            return f"user {principal.name}"
        case PrincipalType.ROLE:
            return f"role {principal.name}"
        case PrincipalType.ASSUMED_ROLE:
            session = f" (session {principal.session_name})" if principal.session_name else ""
            return f"role {principal.name}{session}"
        case PrincipalType.FEDERATED_USER:
            return f"federated user {principal.name}"
        case PrincipalType.ROOT:
            return f"the root user of account {principal.account_id}"
        case PrincipalType.SERVICE:
            return f"the AWS service {principal.name}"
        case PrincipalType.ANONYMOUS:
            return "an anonymous (unsigned) caller"
    return principal.arn


def describe_condition(check: ConditionCheck) -> str:
    """One condition and what the request had: ``aws:SecureTransport Bool [false] (request: true)``."""
    values = ", ".join(check.values)
    if check.unknown:
        actual = "unknown"
    elif check.actual is None:
        actual = "absent"
    elif isinstance(check.actual, str):
        actual = check.actual
    else:
        actual = ", ".join(check.actual)
    return f"{check.key} {check.operator} [{values}] (request: {actual})"


def policy_name(policy_arn: str | None) -> str | None:
    """The short name of a policy from its ARN (``DevBoundary``, ``p-abcd1234``)."""
    if not policy_arn:
        return None
    return re.split(r"[/:]", policy_arn)[-1] or None


def statement_sid(*parts: str) -> str:
    """A statement id from words or ``service:Action`` names: letters and digits only, as IAM requires."""
    words: list[str] = []
    for part in parts:
        for word in re.split(r"[^A-Za-z0-9]+", part):
            if word:
                words.append(word[0].upper() + word[1:])
    return "".join(words)[:100] or "Statement"


def policy_document(*statements: Mapping[str, Any]) -> dict[str, Any]:
    return {"Version": POLICY_VERSION, "Statement": [dict(s) for s in statements]}


def grantee(principal: Principal | None) -> str | None:
    """The ARN a policy must name for this principal: the role behind a session, never the session itself."""
    if principal is None:
        return None
    match principal.type:
        case PrincipalType.USER | PrincipalType.ROLE | PrincipalType.FEDERATED_USER | PrincipalType.ROOT:
            return principal.arn
        case PrincipalType.ASSUMED_ROLE:
            return principal.role_arn
    return None


def fix_for(request: DeniedRequest, blocker: Blocker) -> Fix:
    """The fix for one blocking layer."""
    if blocker.layer in (Layer.SCP, Layer.RCP):
        return org_policy_fix(request, blocker)
    if blocker.kind is DenialKind.EXPLICIT:
        return explicit_deny_fix(request, blocker)
    wrong_call = not_a_role_fix(request)
    if wrong_call is not None:
        return wrong_call
    match blocker.layer:
        case Layer.IDENTITY:
            return identity_grant_fix(request, blocker)
        case Layer.BOUNDARY:
            return boundary_fix(request, blocker)
        case Layer.SESSION:
            return session_policy_fix(request, blocker)
        case Layer.VPCE:
            return vpc_endpoint_fix(request, blocker)
        case Layer.TRUST:
            return trust_fix(request)
    if request_action(request) in TRUST_ACTIONS:
        return trust_fix(request)
    return resource_grant_fix(request, blocker)


def fixes_for(request: DeniedRequest, blockers: Sequence[Blocker]) -> tuple[Fix, ...]:
    """One fix per blocking layer, in the blockers' order (after what a function's undecryptable environment needs)."""
    fixes = tuple(fix_for(request, blocker) for blocker in blockers)
    return (lambda_environment_fix(request), *fixes) if lambda_environment_decrypt(request) else fixes


# STS's refusal of an AssumeRole made with the root user's credentials, whatever the role's trust policy says.
_ROOT_CANNOT_ASSUME = re.compile(r"Roles\s*may\s*not\s*be\s*assumed\s*by\s*root\s*accounts", re.IGNORECASE)


def root_cannot_assume(request: DeniedRequest) -> bool:
    """Whether STS refused to let the root user assume a role (no policy of any layer decided it)."""
    return request_action(request) in ASSUME_ACTIONS and _ROOT_CANNOT_ASSUME.search(request.snippet) is not None


def root_assume_fix(request: DeniedRequest) -> Fix:
    """The root user cannot assume roles: the call must be made with other credentials."""
    action = request_action(request) or "sts:AssumeRole"
    return Fix(
        summary=(
            f"{action} was called with the root user's credentials, and STS never lets the root user assume a role, "
            "whatever the role's trust policy allows: no policy change can help. Call it with an IAM user's or a "
            "role's credentials instead (for the AWS CLI, a profile whose source_profile holds an IAM user's access "
            "keys, or an IAM Identity Center sign-in), and delete the root user's access keys, which AWS advises "
            "against keeping."
        ),
        owner=OWNER_CALLER,
    )


# Lambda's error code when it cannot decrypt a function's environment variables.
LAMBDA_ENVIRONMENT_CODE = "KMSAccessDeniedException"
# KMS's refusal of credentials it no longer recognises: the function's execution role was re-created.
_UNRECOGNISED_ROLE = re.compile(
    r"UnrecognizedClientException|security\s*token\s*included\s*in\s*the\s*request\s*is\s*invalid"
)


def lambda_environment_decrypt(request: DeniedRequest) -> bool:
    """Whether the denial is Lambda failing to decrypt a function's environment variables with the function's key."""
    return request.error_code == LAMBDA_ENVIRONMENT_CODE or (
        request.api_operation == "Invoke" and request_action(request) == "kms:Decrypt"
    )


def lambda_environment_fix(request: DeniedRequest) -> Fix:
    """What to change when Lambda cannot decrypt a function's environment variables: the execution role's access to
    the function's key, the key's state, or the key's grant to a re-created role."""
    key = request.resource_arn if request.resource_arn and usable_arn(request.resource_arn) else None
    on_key = key or "the function's key"
    parts: list[str | None] = [
        "Lambda decrypts a function's environment variables with the function's KMS key, as the function's "
        "execution role: that role, not whoever invoked the function, is the caller KMS refused. aws lambda "
        "get-function-configuration --function-name <function> --query '[Role, KMSKeyArn]' names both.",
    ]
    if _UNRECOGNISED_ROLE.search(request.snippet):
        parts.append(
            "KMS did not recognise the role's credentials: the execution role was deleted and created again with "
            "the same name, and the key's grant still names the old one. Set the key on the function again (aws "
            "lambda update-function-configuration --function-name <function> --kms-key-arn <KMSKeyArn>, or change "
            "any setting of the function) to create a grant for the new role."
        )
    else:
        parts.append(
            f"Allow kms:Decrypt on {on_key} to the execution role: in its identity-based policies, and in the key "
            "policy when the key is in another account or its policy does not let IAM policies grant access. If the "
            "key is disabled or pending deletion (aws kms describe-key), enable it or cancel the deletion instead; a "
            "deleted key cannot decrypt the variables again, which then have to be set anew."
        )
    return Fix(summary=_join(*parts), owner=OWNER_ACCOUNT)


def identity_grant_fix(request: DeniedRequest, blocker: Blocker | None = None) -> Fix:
    """The least-privilege Allow to attach to the caller, for a missing identity-based grant."""
    principal = request.principal
    if principal is not None and principal.type is PrincipalType.ANONYMOUS:
        return anonymous_fix(request)
    if principal is not None and principal.type is PrincipalType.SERVICE:
        return resource_grant_fix(request, blocker)
    if principal is not None and principal.type is PrincipalType.ROOT:
        return Fix(
            summary=(
                f"The root user of account {principal.account_id} needs no identity-based policy for its own "
                "account's resources, and none can be attached to it. A denial of root comes from an SCP or RCP "
                "(member accounts only) or from a resource-based policy; check those, or use an IAM role instead."
            ),
            owner=OWNER_ACCOUNT,
        )
    if blocker is not None and blocker.unmet == "condition" and blocker.conditions:
        return _unmet_condition_fix(request, blocker)
    action = request_action(request)
    if action is None:
        return Fix(
            summary=f"The message names no action, so no grant can be written until it is known: {FIND_ACTION}.",
            owner=OWNER_ACCOUNT,
            attach_to=grantee(principal),
        )
    resource, resource_note = _identity_resource(request, action)
    statement = {"Sid": statement_sid("Allow", action), "Effect": "Allow", "Action": action, "Resource": resource}
    where = f"{action} on {resource}" if resource != "*" else action
    notes = [resource_note, *_identity_notes(request, action)]
    owner, attach_to = OWNER_ACCOUNT, grantee(principal)
    if principal is None or principal.type is PrincipalType.UNKNOWN:
        named = (
            f"the message names it as {principal.arn}, with part of it taken out"
            if principal is not None and has_taken_out_part(principal.arn)
            else "the message does not name it"
        )
        lead = (
            f"Attach this policy to the identity that made the call ({named}: run aws sts get-caller-identity with "
            f"the same credentials); it allows {where} only."
        )
    elif principal.sso_permission_set:
        owner, attach_to = OWNER_SSO, None
        lead = (
            f"Add this statement to IAM Identity Center permission set {principal.sso_permission_set} (its inline "
            f"policy, or a customer managed policy it references), then re-provision the permission set to account "
            f"{principal.account_id}; IAM Identity Center manages role {principal.name}, so do not edit the role "
            f"itself. It allows {where} only."
        )
    elif principal.type is PrincipalType.FEDERATED_USER:
        attach_to = None
        lead = (
            f"Federated user {principal.name} gets the intersection of the IAM user that called GetFederationToken "
            f"and the session policy passed to it: attach this policy to that IAM user and pass a session policy "
            f"that allows it too. It allows {where} only."
        )
    elif principal.type is PrincipalType.ASSUMED_ROLE:
        lead = (
            f"Attach this policy to role {principal.name} (a session cannot hold policies; the role behind it does). "
            f"It allows {where} only."
        )
    else:
        lead = f"Attach this policy to {describe_principal(principal)}; it allows {where} only."
    return Fix(summary=_join(lead, *notes), owner=owner, attach_to=attach_to, policy=policy_document(statement))


def resource_grant_fix(request: DeniedRequest, blocker: Blocker | None = None) -> Fix:
    """The statement to add to the resource's own policy, naming the caller, for a missing resource-based grant."""
    principal = request.principal
    if principal is not None and principal.type is PrincipalType.ANONYMOUS:
        return anonymous_fix(request)
    holder = policy_holder(request.resource_arn)
    action = request_action(request)
    if holder is None or action is None:
        return Fix(
            summary=_unwritable_statement(request, holder),
            owner=OWNER_KEY if action_service(action) == "kms" else OWNER_RESOURCE,
        )
    if holder.service == "iam" and action in TRUST_ACTIONS:
        return trust_fix(request)
    owner = OWNER_KEY if holder.service == "kms" else OWNER_RESOURCE
    principal_element = _principal_element(principal)
    if principal_element is None:
        return Fix(
            summary=(
                f"Add a statement allowing {action} to the {holder.label} for the caller; the message does not name "
                "the caller in a form a policy can use: run aws sts get-caller-identity with the same credentials."
            ),
            owner=owner,
            attach_to=holder.arn,
        )
    statement: dict[str, Any] = {
        "Sid": statement_sid("Allow", _short_name(principal), action),
        "Effect": "Allow",
        "Principal": principal_element,
        "Action": action,
    }
    resource = _resource_policy_resource(holder, request.resource_arn or holder.arn)
    if resource is not None:
        statement["Resource"] = resource
    notes: list[str | None] = [_holder_edit_note(holder, statement, principal)]
    if principal is not None and principal.type is PrincipalType.SERVICE:
        notes.append(
            "Scope the service's access with an aws:SourceArn or aws:SourceAccount condition naming the resource "
            "that acts on your behalf, so other customers' use of the service cannot reach it (confused deputy)."
        )
    else:
        notes.append(_both_sides_note(request, holder, action))
    if holder.service == "kms":
        notes.append(_key_delegation_note(holder))
    notes.extend(_sso_path_note(principal))
    lead = f"Add this statement to the {holder.label} to allow {describe_principal(principal)} to call {action}."
    return Fix(summary=_join(lead, *notes), owner=owner, attach_to=holder.arn, policy=statement)


def _unwritable_statement(request: DeniedRequest, holder: PolicyHolder | None) -> str:
    """Why no resource-policy statement can be written for ``request``, and how to find what is missing."""
    resource = request.resource_arn
    if holder is None and resource and resource != "*":
        return (
            f"The message names the resource as {resource}, which is not a complete ARN (redacted or cut off), so no "
            "resource-policy statement can be written from it: explain the error again with the real ARN to get the "
            "statement and the command that reads that resource's policy."
        )
    if holder is None and action_service(request_action(request)) == "kms":
        return (
            "The message does not name the KMS key, so no key-policy statement can be written until it is known: "
            f"{FIND_KMS_KEY}."
        )
    if holder is None:
        return (
            "The message names no resource, so no resource-policy statement can be written until it is known: the "
            "request the client made names it, and so does CloudTrail's record of the failed call."
        )
    return (
        f"The message names no action, so no resource-policy statement can be written until it is known: {FIND_ACTION}."
    )


def _not_a_role_match(request: DeniedRequest) -> re.Match[str] | None:
    if request_action(request) not in ASSUME_ACTIONS or not request.resource_arn:
        return None
    return _NOT_A_ROLE.fullmatch(request.resource_arn)


def _not_a_role_words(match: re.Match[str]) -> str:
    kind, name = match.group("kind"), match.group("name")
    if kind == "assumed-role":
        role = name.split("/", 1)[0]
        return f"{_NOT_A_ROLE_WORDS[kind]} {role}" if role else "a role's session"
    if kind == "root":
        return _NOT_A_ROLE_WORDS[kind]
    return f"{_NOT_A_ROLE_WORDS[kind]} {name.rsplit('/', 1)[-1]}".rstrip()


def not_a_role(request: DeniedRequest) -> str | None:
    """What an sts:AssumeRole* call asked to assume when its RoleArn names something that is not a role (a user,
    a session, an instance profile...), in words; None when it names a role or the request is another call.

    AWS answers such a call with the same AccessDenied as a missing permission, and people paste their own user's
    ARN, or their session's, where the role's belongs."""
    match = _not_a_role_match(request)
    return _not_a_role_words(match) if match is not None else None


def not_a_role_note(request: DeniedRequest, what: str) -> str:
    """Why an sts:AssumeRole* call on something that is not a role is denied, whatever the policies say."""
    action = request_action(request) or "sts:AssumeRole"
    return (
        f"The call asked {action} to assume {what} ({request.resource_arn}), which is not a role: only IAM roles can "
        "be assumed, and AWS refuses anything else with this same AccessDenied, whatever the policies say."
    )


def not_a_role_fix(request: DeniedRequest) -> Fix | None:
    """For an sts:AssumeRole* call whose RoleArn is not a role's: the call must change, not a policy. None for any
    other request."""
    match = _not_a_role_match(request)
    if match is None:
        return None
    kind, name = match.group("kind"), match.group("name")
    hint = ""
    if kind == "assumed-role" and "/" in name:
        _, partition, _, _, account, _ = match.group().split(":", 5)
        role = f"arn:{partition}:iam::{account}:role/{name.split('/', 1)[0]}"
        hint = f" That session's role is {role} (add its path if it has one)."
    elif kind == "instance-profile":
        hint = " An instance profile holds a role: pass that role's ARN (aws iam get-instance-profile shows it)."
    return Fix(
        summary=(
            f"Assume a role, not {_not_a_role_words(match)}: no policy change can make this call work. Pass the ARN of "
            "the role to assume (arn:aws:iam::<account>:role/<name>) as RoleArn, in the code, profile (role_arn) or "
            f"pipeline setting that makes the call.{hint}"
        ),
        owner=OWNER_CALLER,
    )


def trust_fix(request: DeniedRequest) -> Fix:
    """The statement to add to the target role's trust policy, for a denied sts:AssumeRole* or sts:TagSession."""
    wrong_call = not_a_role_fix(request)
    if wrong_call is not None:
        return wrong_call
    action = request_action(request) or "sts:AssumeRole"
    holder = policy_holder(request.resource_arn)
    role = holder.name if holder is not None and holder.service == "iam" else None
    role_arn = holder.arn if role is not None and holder is not None else None
    target = f"role {role}" if role else "the target role"
    principal = request.principal
    caller = grantee(principal)
    if action in ("sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML"):
        provider = "OIDC" if action == "sts:AssumeRoleWithWebIdentity" else "SAML"
        return Fix(
            summary=(
                f"The trust policy of {target} must allow {action} for the {provider} identity provider the caller "
                f'signs in with: a statement whose Principal is {{"Federated": <that provider\'s ARN>}}, with '
                "conditions on the token's audience and subject that match the caller. The provider is not named in "
                "the message, so no statement can be written here."
            ),
            owner=OWNER_ACCOUNT,
            attach_to=role_arn,
        )
    if caller is None:
        return Fix(
            summary=(
                f"The trust policy of {target} must allow {action} for the caller, which the message does not name "
                "in a form a policy can use: run aws sts get-caller-identity with the same credentials, then add a "
                "statement allowing that ARN."
            ),
            owner=OWNER_ACCOUNT,
            attach_to=role_arn,
        )
    statement = {
        "Sid": statement_sid("Allow", _short_name(principal), action.rpartition(":")[2]),
        "Effect": "Allow",
        "Principal": {"AWS": caller},
        "Action": action,
    }
    notes = [
        "aws iam update-assume-role-policy replaces the whole trust policy: merge this statement into the "
        "existing document rather than sending it alone."
    ]
    caller_account = principal.account_id if principal is not None else None
    role_account = holder.account_id if holder is not None else None
    if caller_account and role_account and caller_account != role_account:
        notes.append(
            f"The caller is in account {caller_account} and the role in {role_account}: the caller's identity "
            f"policy must also allow {action} on {role_arn}."
        )
    else:
        notes.append(
            f"If the trust policy names the account rather than the caller, the caller's identity policy must also "
            f"allow {action} on the role."
        )
    notes.extend(_sso_path_note(principal))
    lead = f"Add this statement to the trust policy of {target} so {describe_principal(principal)} can call {action}."
    return Fix(summary=_join(lead, *notes), owner=OWNER_ACCOUNT, attach_to=role_arn, policy=statement)


def explicit_deny_fix(request: DeniedRequest, blocker: Blocker) -> Fix:
    """What to change for an explicit deny in an identity, resource, boundary, session or endpoint policy."""
    principal = request.principal
    action = request_action(request) or "the action"
    arn = blocker.policy_arn
    name = blocker.policy or policy_name(arn)
    known = f" {name}" + (f" ({arn})" if arn and arn != name else "") if name or arn else ""
    holder = policy_holder(request.resource_arn)
    owner, attach_to = OWNER_ACCOUNT, arn
    match blocker.layer:
        case Layer.IDENTITY:
            where = f"The identity-based policy{known} of {describe_principal(principal)}"
            if principal is not None and principal.sso_permission_set:
                owner = OWNER_SSO
                where += f" (from IAM Identity Center permission set {principal.sso_permission_set})"
            attach_to = attach_to or grantee(principal)
        case Layer.RESOURCE:
            label = holder.label if holder is not None else "resource-based policy"
            where = f"The {label}"
            owner = OWNER_KEY if holder is not None and holder.service == "kms" else OWNER_RESOURCE
            attach_to = attach_to or (holder.arn if holder is not None else None)
            if blocker.detail:
                where += f" ({blocker.detail})"
        case Layer.BOUNDARY:
            where = f"The permissions boundary{known} of {describe_principal(principal)}"
            owner = OWNER_BOUNDARY
        case Layer.SESSION:
            where = f"The session policy of {describe_principal(principal)}"
            owner = OWNER_SESSION
        case Layer.VPCE:
            endpoint = _endpoint_id(request)
            where = f"The policy of VPC endpoint {endpoint}" if endpoint else "The VPC endpoint policy"
            owner, attach_to = OWNER_NETWORK, endpoint
        case Layer.TRUST:
            role = holder if holder is not None and holder.service == "iam" else None
            where = f"The {role.label}" if role is not None else "The trust policy of the target role"
            attach_to = attach_to or (role.arn if role is not None else None)
        case _:
            return org_policy_fix(request, blocker)
    statement = f" (statement {blocker.sid})" if blocker.sid else ""
    conditions = " when " + "; ".join(describe_condition(c) for c in blocker.conditions) if blocker.conditions else ""
    lead = (
        f"{where} has a Deny statement{statement} matching {action}{_on(request)}{conditions}. "
        f"Change or scope the denying statement (narrow its Action, Resource or Condition, or exempt this "
        f"principal); adding an Allow cannot help, because an explicit deny overrides every Allow."
    )
    notes: list[str] = []
    if arn and ":iam::aws:policy/" in arn:
        notes.append(f"{arn} is an AWS managed policy and cannot be edited: detach it, or replace it with your own.")
    if blocker.layer is Layer.SESSION:
        notes.append("The session must then be created again with the changed session policy.")
    if blocker.detail and blocker.layer is not Layer.RESOURCE:
        notes.append(blocker.detail)
    return Fix(summary=_join(lead, *notes), owner=owner, attach_to=attach_to)


def org_policy_fix(request: DeniedRequest, blocker: Blocker) -> Fix:
    """What org admins must change for a service or resource control policy, explicit or implicit."""
    kind = "service control policy" if blocker.layer is Layer.SCP else "resource control policy"
    short = "SCP" if blocker.layer is Layer.SCP else "RCP"
    action = request_action(request) or "the action"
    principal = request.principal
    account = _org_target_account(request, blocker.layer)
    scope = f" in account {account}" if account else ""
    name = blocker.policy or policy_name(blocker.policy_arn)
    governs = (
        "SCPs cap every principal of a member account, administrators included"
        if blocker.layer is Layer.SCP
        else "RCPs cap access to the resources of member accounts, whoever the caller is"
    )
    cannot = f"No IAM policy{scope} can fix it: {governs}, and only the organization's administrators can change them."
    if blocker.kind is DenialKind.EXPLICIT:
        which = f" {name}" + (f" ({blocker.policy_arn})" if blocker.policy_arn and blocker.policy_arn != name else "")
        statement = f" (statement {blocker.sid})" if blocker.sid else ""
        conditions = (
            " when " + "; ".join(describe_condition(c) for c in blocker.conditions) if blocker.conditions else ""
        )
        lead = (
            f"A Deny statement{statement} in the {kind}{which if name else ''} matches {action}{_on(request)} "
            f"for {describe_principal(principal)}{conditions}."
        )
        change = (
            f"Ask the org admins to scope that statement (for example exempt this principal with an "
            f"aws:PrincipalArn condition, or allow this region or action) or to attach the {short} elsewhere; "
            "adding an Allow in IAM cannot help."
        )
        return Fix(summary=_join(lead, cannot, change), owner=OWNER_ORG, attach_to=blocker.policy_arn)
    lead = (
        f"No {kind} allows {action}{scope}. {short}s are evaluated at every level of the organization — the root, "
        f"each OU above the account, and the account itself — and an Allow (such as "
        f"{'FullAWSAccess' if blocker.layer is Layer.SCP else 'RCPFullAWSAccess'}) is needed at EVERY level."
    )
    change = f"The org admins must add an Allow for {action} (like this statement) at each level that lacks one."
    statement_doc = policy_document(
        {"Sid": statement_sid("Allow", action), "Effect": "Allow", "Action": action, "Resource": "*"}
    )
    return Fix(summary=_join(lead, cannot, change), owner=OWNER_ORG, attach_to=blocker.policy_arn, policy=statement_doc)


def boundary_fix(request: DeniedRequest, blocker: Blocker | None = None) -> Fix:
    """For a permissions boundary that does not allow the action: the boundary must change, not the role."""
    principal = request.principal
    action = request_action(request) or "the action"
    arn = blocker.policy_arn if blocker is not None else None
    name = (blocker.policy if blocker is not None else None) or policy_name(arn)
    boundary = (
        f"permissions boundary {name}" + (f" ({arn})" if arn and arn != name else "")
        if name
        else "permissions boundary"
    )
    lead = (
        f"The {boundary} of {describe_principal(principal)} does not allow {action}{_on(request)}. Effective "
        f"permissions are the intersection of the identity-based policies and the boundary, so attaching more "
        f"permissions to the {'role' if principal is not None and principal.role_arn else 'principal'} cannot help."
    )
    change = (
        f"The boundary owner must add {action} to the boundary policy (like this statement), "
        "or set a different boundary."
    )
    notes: list[str] = []
    if principal is not None and principal.sso_permission_set:
        notes.append(
            f"The boundary comes from IAM Identity Center permission set {principal.sso_permission_set}: "
            "change it there."
        )
    policy = None
    if request_action(request) is not None:
        resource, _ = _identity_resource(request, action)
        policy = policy_document(
            {"Sid": statement_sid("Allow", action), "Effect": "Allow", "Action": action, "Resource": resource}
        )
    return Fix(summary=_join(lead, change, *notes), owner=OWNER_BOUNDARY, attach_to=arn, policy=policy)


def session_policy_fix(request: DeniedRequest, blocker: Blocker | None = None) -> Fix:
    """For a session policy that does not allow the action: whoever creates the session must pass a wider one."""
    principal = request.principal
    action = request_action(request) or "the action"
    lead = (
        f"The session of {describe_principal(principal)} was created with a session policy (the Policy or "
        f"PolicyArns parameter of AssumeRole, AssumeRoleWithSAML, AssumeRoleWithWebIdentity or GetFederationToken) "
        f"that does not allow {action}{_on(request)}. A session never gets more than its session policy allows, so "
        f"changing the role's policies cannot help."
    )
    change = (
        "Whoever creates the session (the tool, pipeline or service that calls AssumeRole) must pass a session "
        "policy that also allows it (like this statement), then start a new session."
    )
    policy = None
    if request_action(request) is not None:
        resource, _ = _identity_resource(request, action)
        policy = policy_document(
            {"Sid": statement_sid("Allow", action), "Effect": "Allow", "Action": action, "Resource": resource}
        )
    return Fix(summary=_join(lead, change), owner=OWNER_SESSION, policy=policy)


def vpc_endpoint_fix(request: DeniedRequest, blocker: Blocker | None = None) -> Fix:
    """The statement to add to the VPC endpoint policy the request went through."""
    principal = request.principal
    action = request_action(request)
    endpoint = _endpoint_id(request)
    which = f"VPC endpoint {endpoint}" if endpoint else "the VPC endpoint the request went through"
    lead = (
        f"The policy of {which} does not allow {action or 'the action'}{_on(request)} for "
        f"{describe_principal(principal)}. Every request through an endpoint must be allowed by its policy as well "
        "as by IAM; network admins own it."
    )
    caller = grantee(principal)
    if action is None:
        return Fix(summary=lead, owner=OWNER_NETWORK, attach_to=endpoint)
    statement: dict[str, Any] = {
        "Sid": statement_sid("Allow", _short_name(principal), action),
        "Effect": "Allow",
        "Principal": {"AWS": caller} if caller else "*",
        "Action": action,
        "Resource": request.resource_arn or "*",
    }
    notes = ["Add this statement to the endpoint policy, keeping its existing statements."]
    if endpoint is None:
        notes.append("Find the endpoint from the VPC's route tables or DNS (aws ec2 describe-vpc-endpoints).")
    if caller is None:
        notes.append(
            'The caller is not known in a form a policy can name, so the statement allows any principal ("*").'
        )
    return Fix(summary=_join(lead, *notes), owner=OWNER_NETWORK, attach_to=endpoint, policy=statement)


def anonymous_fix(request: DeniedRequest) -> Fix:
    """An unsigned request: the client sent no credentials, which is almost never meant, except to API Gateway."""
    action = request_action(request) or "the action"
    if unsigned_api_call(request):
        return _api_gateway_anonymous_fix(request)
    return Fix(
        summary=(
            f"The request for {action} was sent without credentials (anonymous), so no identity-based policy can "
            "apply. Configure credentials for the client (profile, environment, instance or task role) so it signs "
            "its requests. Granting anonymous access in the resource policy would make the resource public: do that "
            "only if it is meant to be public."
        ),
        owner=OWNER_CALLER,
    )


_REST_API_ID = re.compile(r"[a-z0-9]{10}")


def rest_api_id(resource_arn: str | None) -> str | None:
    """The REST API id in an execute-api ARN (``arn:aws:execute-api:region:account:api-id/stage/METHOD/path``), also
    when the account was taken out before pasting, since reading the API needs only its id; None otherwise."""
    parts = (resource_arn or "").split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or parts[2] != "execute-api":
        return None
    api_id = parts[5].split("/", 1)[0]
    return api_id if _REST_API_ID.fullmatch(api_id) else None


def unsigned_api_call(request: DeniedRequest) -> bool:
    """Whether the request is an unsigned call to an API Gateway API, which only the API's resource policy decides."""
    principal = request.principal
    return (
        principal is not None
        and principal.type is PrincipalType.ANONYMOUS
        and action_service(request_action(request)) == "execute-api"
    )


def _api_gateway_anonymous_fix(request: DeniedRequest) -> Fix:
    # API Gateway names the caller "anonymous" when the API's resource policy does not allow an unsigned call; an
    # unsigned call to a method with IAM authorization is refused earlier, as "Missing Authentication Token".
    api_id = rest_api_id(request.resource_arn)
    reader = (
        "the get-rest-api command below prints it"
        if api_id
        else "aws apigateway get-rest-api --rest-api-id <API id> --query policy --output text prints it"
    )
    return Fix(
        summary=_join(
            f"API Gateway refused an unsigned call to {request.resource_arn or 'the API'}: the API's resource "
            f"policy does not allow this caller, or denies it ({reader}). What to change depends on whom the policy "
            "lets in.",
            'If it names AWS principals (Principal {"AWS": ...}), the method must use IAM authorization (AWS_IAM) '
            "and the client must sign its requests with Signature Version 4, with credentials of one of those "
            "principals; a plain curl or browser request is never signed.",
            "If it lets in source addresses, VPCs or VPC endpoints (aws:SourceIp, aws:SourceVpc, aws:SourceVpce), "
            "call from one of them (a private API answers only through its VPC endpoint), or have the API's owner "
            "widen the condition.",
            'If the API is meant to be public, the policy needs an Allow for Principal "*" on execute-api:Invoke for '
            "this method and path, and no Deny that matches the call.",
            "A changed resource policy takes effect only once the API is deployed again.",
        ),
        owner=OWNER_RESOURCE,
    )


# Lake Formation's own refusal, which IAM policies cannot lift: "Insufficient Lake Formation permission(s): Required
# Create Database on Catalog", or "... permission(s) on <name>" when it names only what it was asked about.
_LAKE_FORMATION = re.compile(
    r"Insufficient\s+Lake\s+Formation\s+permission\(s\)"
    r"(?::\s*Required\s+(?P<permission>[A-Za-z]+(?:\s[A-Za-z]+)*?)\s+on\s+(?P<required_on>[^\s(;,\"']+)"
    r"|\s+on\s+(?P<on>[^\s(;,\"']+))?",
    re.IGNORECASE,
)
# Lake Formation's permission names, as grant-permissions takes them.
_LAKE_FORMATION_PERMISSIONS = frozenset(
    {
        "ALL",
        "ALTER",
        "CREATE_DATABASE",
        "CREATE_TABLE",
        "DATA_LOCATION_ACCESS",
        "DELETE",
        "DESCRIBE",
        "DROP",
        "INSERT",
        "SELECT",
    }
)
_TABLE_PERMISSIONS = frozenset({"SELECT", "INSERT", "DELETE"})


@dataclass(frozen=True)
class LakeFormationNeed:
    """What a Lake Formation refusal says is missing: a permission (grant-permissions' spelling) on a resource."""

    permission: str | None
    target: str | None

    @property
    def resource(self) -> str:
        """The --resource argument of grant-permissions and list-permissions for the target."""
        if self.target is None:
            return '{"Database": {"Name": "<database>"}}'
        if self.target.lower() == "catalog":
            return '{"Catalog": {}}'
        name = json.dumps(self.target)
        if self.permission in _TABLE_PERMISSIONS:
            return f'{{"Table": {{"DatabaseName": "<database>", "Name": {name}}}}}'
        return f'{{"Database": {{"Name": {name}}}}}'


def lake_formation_need(request: DeniedRequest) -> LakeFormationNeed | None:
    """The Lake Formation permission a refusal names, when the denial is Lake Formation's and not IAM's; else None."""
    found = _LAKE_FORMATION.search(request.snippet)
    if found is None:
        return None
    words = found.group("permission")
    permission = "_".join(words.upper().split()) if words else None
    return LakeFormationNeed(
        permission if permission in _LAKE_FORMATION_PERMISSIONS else None,
        found.group("required_on") or found.group("on"),
    )


def lake_formation_fix(request: DeniedRequest, need: LakeFormationNeed) -> Fix:
    """A missing Lake Formation grant: who grants it, and the grant-permissions command that does."""
    principal = grantee(request.principal) or "<ARN of the calling role or user>"
    permission = need.permission or "<permission>"
    target = "the Data Catalog" if need.resource == '{"Catalog": {}}' else (need.target or "the database or table")
    what = f"{need.permission} on {target}" if need.permission else f"a Lake Formation permission on {target}"
    command = (
        f"aws lakeformation grant-permissions --principal DataLakePrincipalIdentifier={principal} "
        f"--permissions {permission} --resource {shlex.quote(need.resource)}"
    )
    notes: list[str | None] = [
        f"A data lake administrator (or a principal holding {permission} with the grant option) grants it: {command}."
    ]
    if need.permission is None:
        notes.append(
            "The message does not name the permission: DESCRIBE is needed to see a database or table, CREATE_TABLE "
            "to create tables in a database, SELECT, INSERT or DELETE to use a table's data, and "
            "DATA_LOCATION_ACCESS to point a table at an S3 location registered with Lake Formation."
        )
    if need.permission in _TABLE_PERMISSIONS:
        notes.append("Put the table's database in place of <database>.")
    if request.principal is None or grantee(request.principal) is None:
        notes.append(
            "The message does not name the caller: grant to the IAM role or user behind the call (for a session, its "
            "role's ARN, not the assumed-role ARN that aws sts get-caller-identity prints)."
        )
    if need.permission == "CREATE_DATABASE":
        notes.append(
            "By default the IAMAllowedPrincipals group holds CREATE_DATABASE on the catalog, so that IAM alone "
            "decides; this refusal means that default was revoked, and each database creator needs its own grant."
        )
    lead = (
        f"Lake Formation, not IAM, refused the call: the caller lacks {what}. Lake Formation permissions are a "
        "separate gate on the Data Catalog and the data lake, and no IAM policy grants them."
    )
    return Fix(summary=_join(lead, *notes), owner=OWNER_DATA_LAKE)


def unconfirmed_fixes(
    request: DeniedRequest, kind: DenialKind | None = None, layer: Layer | None = None
) -> tuple[Fix, ...]:
    """Fixes for a denial whose layer is not known: how to confirm it first, then the likely fixes, unverified.

    ``layer``: the layer the message names when it does not say whether a Deny matched or no Allow did (KMS's
    "no resource-based policies allow access, or a resource-based policy explicitly denies access")."""
    action = request_action(request) or "the action"
    principal = request.principal
    if principal is not None and principal.type is PrincipalType.ANONYMOUS:
        # Only the resource's side can allow or deny an unsigned call, whatever the message says about the kind.
        return (anonymous_fix(request),)
    need = lake_formation_need(request)
    if need is not None:
        return (lake_formation_fix(request, need),)
    if lambda_environment_decrypt(request):
        return (lambda_environment_fix(request),)
    if root_cannot_assume(request):
        return (root_assume_fix(request),)
    if layer is not None and kind is None:
        named = fix_for(request, Blocker(layer=layer, kind=DenialKind.IMPLICIT))
        read = "read that policy with the commands below before changing anything"
        if layer is Layer.RESOURCE and not policy_readable(policy_holder(request.resource_arn)):
            what = "key" if action_service(request_action(request)) == "kms" else "resource"
            read = (
                f"read that policy before changing anything, once the {what} is known (the fix that follows says how "
                "to find it)"
            )
        confirm = Fix(
            summary=(
                f"The message names the {layer} layer but not whether a Deny in it matched or no Allow did: {read}. "
                "If it denies, change or scope that statement; if it allows nothing for this caller, the fix that "
                "follows is the likely one, not verified."
            ),
            owner=named.owner,
        )
        return (confirm, _unverified(named))
    if kind is DenialKind.EXPLICIT:
        steps = simulation_steps(request, "lists the matched statements")
        if can_simulate(request):
            find = "Find it with the commands below (simulate-principal-policy lists the matched statements), then"
        elif steps is not None:
            find = f"Find it: {steps} Then"
        else:
            find = "Find it in the policies that apply to this caller, then"
        return (
            Fix(
                summary=(
                    f"An explicit Deny matched {action}{_on(request)}, but the message does not say in which policy: "
                    "an identity-based policy, the permissions boundary, a session policy, an SCP, an RCP, a "
                    f"resource-based policy or a VPC endpoint policy. {find} change or scope that statement; adding "
                    "an Allow cannot help."
                ),
                owner=OWNER_ACCOUNT,
            ),
        )
    wrong_call = not_a_role_fix(request)
    if wrong_call is not None:
        return (wrong_call,)
    if request_action(request) in FEDERATED_ACTIONS:
        # The trust policy is the one policy of the caller's side: there is nothing else to confirm or grant.
        return (trust_fix(request),)
    confirm = Fix(
        summary=(
            "The message does not say which policy layer denied the request. Confirm it before changing anything: "
            f"{_confirming(request)} The fixes that follow are the likely ones, not verified."
        ),
        owner=OWNER_ACCOUNT,
    )
    likely: list[Fix] = []
    if request_action(request) in TRUST_ACTIONS:
        likely.append(trust_fix(request))
    if principal is not None and principal.type is PrincipalType.SERVICE:
        likely.append(resource_grant_fix(request))
    else:
        likely.append(identity_grant_fix(request))
        holder = policy_holder(request.resource_arn)
        if (
            holder is not None
            and holder.service not in ("iam", "s3")
            and cross_account(request, holder)
            and request_action(request) not in TRUST_ACTIONS
        ):
            likely.append(resource_grant_fix(request))
    return (confirm, *(_unverified(fix) for fix in likely))


def _confirming(request: DeniedRequest) -> str:
    """How to confirm the layer with what the message names: the evidence commands it makes possible, or what to
    find first."""
    shown: list[str] = []
    tells = "tells whether the identity-based policies, the boundary and the SCPs allow it"
    principal = request.principal
    if can_simulate(request):
        shown.append(f"simulate-principal-policy {tells}")
    elif principal is not None and principal.account_id and principal.type in _UNSIMULATED_SIGNERS:
        shown.append(
            f"IAM's simulator does not evaluate {describe_principal(principal)}, but list-policies-for-target lists "
            f"the SCPs attached to account {principal.account_id}"
        )
    if policy_readable(policy_holder(request.resource_arn)):
        side = "the other side" if can_simulate(request) else "the resource's side"
        shown.append(f"the resource-policy commands show {side}")
    steps = simulation_steps(request, tells)
    if shown and steps is None:
        return f"run the commands below ({'; '.join(shown)})."
    if shown:
        return f"the commands below show the resource's side, and {steps}"
    if steps is not None:
        return steps
    return "read the policies that apply to this caller (a live investigation reads every layer)."


def _unverified(fix: Fix) -> Fix:
    return Fix(
        summary=f"Unverified: {fix.summary}",
        owner=fix.owner,
        attach_to=fix.attach_to,
        policy=fix.policy,
        resolves=fix.resolves,
        still_blocked_by=fix.still_blocked_by,
    )


def _unmet_condition_fix(request: DeniedRequest, blocker: Blocker) -> Fix:
    action = request_action(request) or "the action"
    where = blocker.policy or policy_name(blocker.policy_arn) or "an identity-based policy"
    statement = f" (statement {blocker.sid})" if blocker.sid else ""
    unmet = "; ".join(describe_condition(c) for c in blocker.conditions)
    admins = OWNER_SSO if request.principal is not None and request.principal.sso_permission_set else OWNER_ACCOUNT
    # Conditions only on how the call is made (MFA, HTTPS, network, region) are met by whoever makes the call.
    by_caller = all(c.key.lower() in REQUEST_KEYS for c in blocker.conditions)
    meet = (
        f"Make the call so that it meets the condition, or have the {admins} change the statement if the condition "
        "is wrong"
        if by_caller
        else "Meet the condition, or change the statement if the condition is wrong"
    )
    lead = (
        f"{where}{statement} allows {action}, but only when {unmet}, and the request did not meet that. {meet}; a "
        "second Allow without it would weaken a deliberate control."
    )
    hints = [
        f"{c.key}: {_CONDITION_HINTS[c.key.lower()]}." for c in blocker.conditions if c.key.lower() in _CONDITION_HINTS
    ]
    return Fix(
        summary=_join(lead, *hints),
        owner=OWNER_CALLER if by_caller else admins,
        attach_to=blocker.policy_arn or grantee(request.principal),
    )


def request_action(request: DeniedRequest) -> str | None:
    """The request's action in the catalogue's spelling, or as given when the catalogue does not know it."""
    if not request.action:
        return None
    return catalog.canonical_action(request.action) or request.action


def action_service(action: str | None) -> str | None:
    """The service prefix of ``service:Action``, lower-cased."""
    if not action or ":" not in action:
        return None
    return action.split(":", 1)[0].lower()


def _on(request: DeniedRequest) -> str:
    return f" on {request.resource_arn}" if request.resource_arn else ""


def _identity_resource(request: DeniedRequest, action: str) -> tuple[str, str | None]:
    """The Resource element for an identity-side statement, and a note when it is not the exact ARN."""
    info = catalog.action_info(action)
    if info is not None and not info.resource_scoped:
        return "*", f'{action} cannot be scoped to a resource, so the statement uses "Resource": "*".'
    resource = request.resource_arn
    if not resource or resource == "*":
        return "*", (
            f'The message names no resource, so the statement uses "Resource": "*": narrow it to the ARNs {action} '
            "needs."
        )
    if usable_arn(resource):
        return resource, None
    if is_placeholder(resource):
        return "*", (
            f'The message gives the resource only as {resource}, a placeholder, so the statement uses "Resource": "*": '
            "put the real ARN there."
        )
    if not resource.startswith("arn:"):
        return "*", (
            f"The message names the resource as {resource}, which is not an ARN (a phone number, a name or a path), so "
            f'the statement uses "Resource": "*": narrow it to the ARNs {action} needs, if it takes any.'
        )
    masked = _with_account_placeholder(resource)
    if masked is not None:
        return masked, (
            f"The account id in the resource ARN was taken out of the message: put the real one in place of "
            f"{ACCOUNT_PLACEHOLDER} (AWS refuses the statement until then)."
        )
    return "*", (
        f"The resource ARN in the message, {resource}, is incomplete (redacted or cut off), so the statement uses "
        f'"Resource": "*": put the real ARN there.'
    )


ACCOUNT_PLACEHOLDER = "<ACCOUNT_ID>"


def _with_account_placeholder(resource: str) -> str | None:
    """``resource`` with its account id, when only that was taken out before pasting, written as a placeholder that
    AWS refuses in a policy (rather than a "*" that would grant on everything); None when more is missing."""
    parts = resource.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or not parts[4] or is_account_id(parts[4]):
        return None
    candidate = ":".join([*parts[:4], "123456789012", parts[5]])
    if not usable_arn(candidate) or has_taken_out_part(":".join([*parts[:4], parts[5]])):
        return None
    return ":".join([*parts[:4], ACCOUNT_PLACEHOLDER, parts[5]])


def usable_arn(text: str) -> bool:
    """Whether ``text`` is an ARN a policy can name: it parses, and no part of it was taken out before pasting."""
    try:
        parse_arn(text)
    except ArnError:
        return False
    return not has_taken_out_part(text)


def _identity_notes(request: DeniedRequest, action: str) -> list[str | None]:
    notes: list[str | None] = []
    info = catalog.action_info(action)
    if info is None:
        elsewhere = _same_action_elsewhere(action)
        close = " or ".join(elsewhere) if elsewhere else catalog.closest_action(action)
        hint = f" (did you mean {close}?)" if close and close != action else ""
        notes.append(f"{action} is not in the AWS action catalogue{hint}: check the spelling before granting it.")
    else:
        dependent = sorted({*info.dependent_actions, *(a for rt in info.resource_types for a in rt.dependent_actions)})
        if dependent:
            notes.append(
                f"AWS lists {', '.join(dependent)} as needed with {action}; grant those on their resources too."
            )
    resource = request.resource_arn
    if not resource or resource == "*" or resource.startswith("arn:"):
        # Not for what no policy names by ARN: an SMS sent to a phone number has no topic and no key.
        notes.append(conditional_need_note(action))
    holder = policy_holder(request.resource_arn)
    if holder is not None and holder.service == "kms":
        notes.append(
            f"The {holder.label} must also allow it, directly or by delegating to IAM (the default key policy does)."
        )
    elif holder is not None and cross_account(request, holder):
        notes.append(f"The resource is in account {holder.account_id}: the {holder.label} must also allow this caller.")
    return notes


def _same_action_elsewhere(action: str) -> tuple[str, ...]:
    """The catalogue's actions of the same name in other services, when at most three have one: a message can carry
    the wrong service prefix (a tool printing ec2:CreateRole for iam:CreateRole), which no spelling fix finds."""
    service, _, name = action.partition(":")
    found = sorted(
        canonical
        for other in catalog.service_prefixes()
        if other != service.lower() and (canonical := catalog.canonical_action(f"{other}:{name}")) is not None
    )
    return tuple(found) if len(found) <= 3 else ()


def _resource_policy_resource(holder: PolicyHolder, resource_arn: str) -> str | None:
    # A key policy or a secret's policy only ever governs its own resource, and AWS's own examples use "*";
    # ECR repository policies take no Resource element at all.
    if holder.service in ("kms", "secretsmanager"):
        return "*"
    if holder.service == "ecr":
        return None
    return resource_arn


def _holder_edit_note(holder: PolicyHolder, statement: Mapping[str, Any], principal: Principal | None) -> str:
    if holder.service == "lambda":
        caller = grantee(principal) or (principal.name if principal is not None else None) or "<principal>"
        return (
            f"Function policies are changed with aws lambda add-permission --function-name {holder.arn} "
            f"--statement-id {statement['Sid']} --action {statement['Action']} --principal {caller}."
        )
    return f"Keep the existing statements: writing the {holder.label} replaces it as a whole."


def _both_sides_note(request: DeniedRequest, holder: PolicyHolder, action: str) -> str | None:
    principal_account = request.principal.account_id if request.principal is not None else None
    if (
        cross_account(request, holder)
        and request.principal is not None
        and request.principal.type is PrincipalType.ROOT
    ):
        return (
            f"The caller is in account {principal_account} and the resource in {holder.account_id}: the {holder.label} "
            f"is the side that must allow it. Root needs no identity-based policy in its own account (and can have "
            f"none), but an SCP of account {principal_account} can still deny it if that is a member account."
        )
    if cross_account(request, holder):
        return (
            f"The caller is in account {principal_account} and the resource in {holder.account_id}: cross-account "
            f"access needs both sides, so the caller's identity-based policy must allow {action} on it too."
        )
    if principal_account and holder.account_id:
        # The same account: the resource policy's statement is enough on its own.
        return None
    return (
        "If the caller is in another account than the resource, cross-account access needs both sides: "
        f"its identity-based policy must allow {action} on the resource too."
    )


def cross_account(request: DeniedRequest, holder: PolicyHolder) -> bool:
    """True when the caller's account is known and differs from the account that owns the resource."""
    principal_account = request.principal.account_id if request.principal is not None else None
    return bool(principal_account and holder.account_id and principal_account != holder.account_id)


def _principal_element(principal: Principal | None) -> dict[str, str] | None:
    if principal is not None and principal.type is PrincipalType.SERVICE and principal.name:
        return {"Service": principal.name}
    caller = grantee(principal)
    return {"AWS": caller} if caller else None


def _short_name(principal: Principal | None) -> str:
    """A name for the caller in a statement id: the permission set for IAM Identity Center roles."""
    if principal is None:
        return "Caller"
    return principal.sso_permission_set or principal.name or "Caller"


def _key_delegation_note(holder: PolicyHolder) -> str:
    root = f"arn:{holder.partition}:iam::{holder.account_id}:root" if holder.account_id else "the key's account root"
    return (
        f"Alternatively, a key-policy statement allowing {root} delegates access to identity-based policies "
        "in that account (the default key policy has one)."
    )


def _sso_path_note(principal: Principal | None) -> list[str]:
    if principal is None or principal.type is not PrincipalType.ASSUMED_ROLE:
        return []
    if principal.path_known and not principal.sso_permission_set:
        # IAM told the role's path: the statement already names the role's exact ARN.
        return []
    if principal.sso_permission_set:
        return [
            f"IAM Identity Center roles live under the path /aws-reserved/sso.amazonaws.com/, which the session ARN "
            f"omits: take the exact role ARN from aws iam get-role --role-name {principal.name}, or match "
            "aws:PrincipalArn with a wildcard, since the role's name suffix changes if the permission set is "
            "deleted and created again."
        ]
    return [
        f"The session ARN does not show the role's path: if role {principal.name} has one, use the exact ARN from "
        f"aws iam get-role --role-name {principal.name}."
    ]


def _endpoint_id(request: DeniedRequest) -> str | None:
    value = request.context.get("aws:SourceVpce")
    return value if isinstance(value, str) and value else None


def _org_target_account(request: DeniedRequest, layer: Layer) -> str | None:
    # SCPs follow the caller's account; RCPs follow the account that owns the resource.
    principal_account = request.principal.account_id if request.principal is not None else None
    if layer is Layer.RCP:
        holder = policy_holder(request.resource_arn)
        return (holder.account_id if holder is not None else None) or request.account_id or principal_account
    return principal_account or request.account_id


def _join(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)
