"""The read-only AWS access contract: the AwsReader Protocol, its configuration, call records, errors and allow-list.

Nothing here imports boto3: the gathering code, its tests and the composition root depend on this module,
and only `diagnostics.aws` implements it against AWS.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from diagnostics.arn import ArnError, is_account_id, parse_arn


class RoleKind(StrEnum):
    """Which credentials a call runs with, besides the bot's own."""

    # The read-only role in the target account (IAMWHY_ROLE_NAME / IAMWHY_ROLE_ARN_TEMPLATE).
    READ = "read"
    # The organizations read role (IAMWHY_ORG_ROLE_ARN) in the management or delegated-admin account.
    ORG = "org"


class CallOutcome(StrEnum):
    """How one AWS call ended, for the audit trail."""

    OK = "ok"
    NOT_FOUND = "not_found"
    DENIED = "denied"
    THROTTLED = "throttled"
    UNAVAILABLE = "unavailable"
    REJECTED = "rejected"
    CREDENTIALS = "credentials"
    ASSUME_ROLE_FAILED = "assume_role_failed"
    NOT_ALLOWED = "not_allowed"
    NOT_CONFIGURED = "not_configured"
    BUDGET_EXCEEDED = "budget_exceeded"
    READ_ONLY_VIOLATION = "read_only_violation"
    # Refused without asking AWS: the account's circuit breaker is open after repeated failures.
    PAUSED = "paused"
    # The caller gave up waiting; a call other callers shared still completes for them.
    CANCELLED = "cancelled"
    # A fault inside iamwhy (a programming error), not an answer from AWS.
    ERROR = "error"


@dataclass(frozen=True)
class CallRecord:
    """One call a diagnosis asked for: what, where, how it ended, whether AWS was actually asked."""

    service: str
    operation: str
    account: str | None
    region: str | None
    outcome: CallOutcome
    # True when the answer came from the TTL cache or from an identical call already in flight.
    cached: bool
    duration_ms: float
    # False when the request never left the process: its credentials could not be obtained (the AssumeRole
    # that failed has a record of its own).
    sent: bool = True


# ---------------------------------------------------------------------------------------------------------------
# Errors. Each names the service, operation and account it concerns and carries a reason a person can read;
# str(error) is that reason.


class ReadError(Exception):
    """An AWS read that did not produce an answer."""

    outcome: ClassVar[CallOutcome] = CallOutcome.UNAVAILABLE

    def __init__(self, reason: str, *, service: str, operation: str, account: str | None, code: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.service = service
        self.operation = operation
        self.account = account
        # The AWS error code behind it, when there was one.
        self.code = code
        # False when the call was never sent (the credentials it needed could not be obtained).
        self.sent = True

    def clone(self) -> ReadError:
        """A fresh, equal error, so a cached outcome can be raised again without sharing tracebacks."""
        twin = type(self).__new__(type(self))
        Exception.__init__(twin, *self.args)
        twin.__dict__.update(self.__dict__)
        return twin


class ReadDenied(ReadError):
    """The bot's own role was denied the read: data about the bot's permissions, not a failure of the diagnosis."""

    outcome = CallOutcome.DENIED

    def __init__(
        self,
        reason: str,
        *,
        service: str,
        operation: str,
        account: str | None,
        permission: str,
        code: str | None = None,
        aws_message: str | None = None,
    ):
        super().__init__(reason, service=service, operation=operation, account=account, code=code)
        # The IAM action the bot's role would need ("organizations:ListPoliciesForTarget").
        self.permission = permission
        self.aws_message = aws_message


class NotFound(ReadError):
    """No such policy or resource: a normal outcome ("this bucket has no policy")."""

    outcome = CallOutcome.NOT_FOUND


class AccountNotAllowed(ReadError):
    """The account is not in IAMWHY_ACCOUNTS: iamwhy never touches it and answers from the message alone."""

    outcome = CallOutcome.NOT_ALLOWED


class NotConfigured(ReadError):
    """The call needs a role that is not configured (no IAMWHY_ORG_ROLE_ARN for SCPs and RCPs)."""

    outcome = CallOutcome.NOT_CONFIGURED


class AssumeRoleFailed(ReadError):
    """The read role could not be assumed: missing, not trusting the bot, or another ExternalId expected."""

    outcome = CallOutcome.ASSUME_ROLE_FAILED

    def __init__(
        self,
        reason: str,
        *,
        service: str,
        operation: str,
        account: str | None,
        role_arn: str,
        code: str | None = None,
    ):
        super().__init__(reason, service=service, operation=operation, account=account, code=code)
        self.role_arn = role_arn


class Throttled(ReadError):
    """AWS kept throttling the call after the retries."""

    outcome = CallOutcome.THROTTLED


class Unavailable(ReadError):
    """Timeout, unreachable endpoint, a server error, or an endpoint that does not implement the operation."""

    outcome = CallOutcome.UNAVAILABLE


class RequestRejected(ReadError):
    """AWS (or the SDK, before sending) rejected the request itself as invalid."""

    outcome = CallOutcome.REJECTED


class CredentialsError(ReadError):
    """The bot's credentials are missing, expired or not recognised."""

    outcome = CallOutcome.CREDENTIALS


class ReadsPaused(ReadError):
    """Reads of the account are paused after repeated failures to reach it; the reason says how long and why."""

    outcome = CallOutcome.PAUSED

    def __init__(
        self,
        reason: str,
        *,
        service: str,
        operation: str,
        account: str | None,
        resume_in: float,
        code: str | None = None,
    ):
        super().__init__(reason, service=service, operation=operation, account=account, code=code)
        # Seconds until a trial read is let through.
        self.resume_in = resume_in


class BudgetExceeded(ReadError):
    """The diagnosis has spent its budget of AWS reads."""

    outcome = CallOutcome.BUDGET_EXCEEDED


class ReadOnlyViolation(ReadError):
    """An operation outside the read allow-list was attempted; it was refused before anything was signed."""

    outcome = CallOutcome.READ_ONLY_VIOLATION


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the variable and what is wrong."""

    def __init__(self, variable: str, problem: str):
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


# ---------------------------------------------------------------------------------------------------------------
# The read allow-list: explicit (service, operation) pairs, each with the IAM action it needs.


@dataclass(frozen=True)
class ReadOperation:
    """One operation the bot may call, and the IAM permission it needs."""

    service: str
    operation: str
    iam_action: str
    # The deployed roles whose policies must grant iam_action (deploy/ templates are checked against this).
    granted_to: frozenset[RoleKind] = frozenset({RoleKind.READ})
    # False where AWS writes the record asynchronously, so "not found" may turn into an answer seconds later.
    cache_not_found: bool = True


_READ = frozenset({RoleKind.READ})
_ORG = frozenset({RoleKind.ORG})
_NONE: frozenset[RoleKind] = frozenset()


def _op(
    service: str,
    operation: str,
    iam_action: str,
    granted_to: frozenset[RoleKind] = _READ,
    *,
    cache_not_found: bool = True,
) -> ReadOperation:
    return ReadOperation(service, operation, iam_action, granted_to, cache_not_found)


READ_OPERATIONS: tuple[ReadOperation, ...] = (
    # AWS answers GetCallerIdentity for every principal; no policy can deny it.
    _op("sts", "GetCallerIdentity", "sts:GetCallerIdentity", _NONE),
    _op("sts", "DecodeAuthorizationMessage", "sts:DecodeAuthorizationMessage"),
    _op("iam", "GetUser", "iam:GetUser"),
    _op("iam", "GetRole", "iam:GetRole"),
    _op("iam", "GetPolicy", "iam:GetPolicy"),
    _op("iam", "GetPolicyVersion", "iam:GetPolicyVersion"),
    _op("iam", "ListUserPolicies", "iam:ListUserPolicies"),
    _op("iam", "GetUserPolicy", "iam:GetUserPolicy"),
    _op("iam", "ListAttachedUserPolicies", "iam:ListAttachedUserPolicies"),
    _op("iam", "ListRolePolicies", "iam:ListRolePolicies"),
    _op("iam", "GetRolePolicy", "iam:GetRolePolicy"),
    _op("iam", "ListAttachedRolePolicies", "iam:ListAttachedRolePolicies"),
    _op("iam", "ListGroupPolicies", "iam:ListGroupPolicies"),
    _op("iam", "GetGroupPolicy", "iam:GetGroupPolicy"),
    _op("iam", "ListAttachedGroupPolicies", "iam:ListAttachedGroupPolicies"),
    _op("iam", "ListGroupsForUser", "iam:ListGroupsForUser"),
    _op("iam", "ListUserTags", "iam:ListUserTags"),
    _op("iam", "ListRoleTags", "iam:ListRoleTags"),
    _op("iam", "SimulatePrincipalPolicy", "iam:SimulatePrincipalPolicy"),
    _op("iam", "GetContextKeysForPrincipalPolicy", "iam:GetContextKeysForPrincipalPolicy"),
    # The authorization record of a denial is written asynchronously: callers retry a not-found briefly.
    _op(
        "iam-toolbox",
        "GetRequestAuthorizationDetails",
        "iam:GetRequestAuthorizationDetails",
        cache_not_found=False,
    ),
    _op(
        "iam-toolbox",
        "GetRequestAuthorizationPolicy",
        "iam:GetRequestAuthorizationPolicy",
        cache_not_found=False,
    ),
    # Member accounts may describe their organization too (it names the management account).
    _op("organizations", "DescribeOrganization", "organizations:DescribeOrganization", _READ | _ORG),
    _op("organizations", "ListRoots", "organizations:ListRoots", _ORG),
    _op("organizations", "ListParents", "organizations:ListParents", _ORG),
    # An OU's name: people know their OUs by name, not by id.
    _op("organizations", "DescribeOrganizationalUnit", "organizations:DescribeOrganizationalUnit", _ORG),
    _op("organizations", "ListPoliciesForTarget", "organizations:ListPoliciesForTarget", _ORG),
    _op("organizations", "DescribePolicy", "organizations:DescribePolicy", _ORG),
    _op("s3", "GetBucketPolicy", "s3:GetBucketPolicy"),
    _op("s3", "GetBucketPolicyStatus", "s3:GetBucketPolicyStatus"),
    # The bucket's region: what aws:RequestedRegion was for a request on it (S3 ARNs name no region).
    _op("s3", "GetBucketLocation", "s3:GetBucketLocation"),
    _op("s3", "GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock"),
    _op("s3", "GetBucketEncryption", "s3:GetEncryptionConfiguration"),
    _op("s3", "GetBucketAcl", "s3:GetBucketAcl"),
    _op("s3", "GetBucketOwnershipControls", "s3:GetBucketOwnershipControls"),
    # botocore's S3 region redirector may HEAD a bucket to learn its region. The 403 answer carries the region
    # header too, so the role is deliberately not granted s3:ListBucket (which would expose object keys).
    _op("s3", "HeadBucket", "s3:ListBucket", _NONE),
    _op("s3control", "GetPublicAccessBlock", "s3:GetAccountPublicAccessBlock"),
    _op("kms", "GetKeyPolicy", "kms:GetKeyPolicy"),
    _op("kms", "ListGrants", "kms:ListGrants"),
    _op("kms", "DescribeKey", "kms:DescribeKey"),
    _op("sqs", "GetQueueAttributes", "sqs:GetQueueAttributes"),
    _op("sqs", "GetQueueUrl", "sqs:GetQueueUrl"),
    _op("sns", "GetTopicAttributes", "sns:GetTopicAttributes"),
    _op("secretsmanager", "GetResourcePolicy", "secretsmanager:GetResourcePolicy"),
    _op("lambda", "GetPolicy", "lambda:GetPolicy"),
    _op("ecr", "GetRepositoryPolicy", "ecr:GetRepositoryPolicy"),
    _op("ec2", "DescribeVpcEndpoints", "ec2:DescribeVpcEndpoints"),
    _op("cloudtrail", "LookupEvents", "cloudtrail:LookupEvents"),
)

_BY_NAME: dict[tuple[str, str], ReadOperation] = {(op.service, op.operation): op for op in READ_OPERATIONS}

# The single exception to the allow-list: the adapter itself calls sts:AssumeRole to reach the read roles.
# It changes nothing in any account, and no caller of the adapter can ask for it.
ASSUME_ROLE = ReadOperation("sts", "AssumeRole", "sts:AssumeRole", _NONE)


def read_operation(service: str, operation: str) -> ReadOperation | None:
    """The allow-list entry for a botocore client name and API operation name, or None."""
    return _BY_NAME.get((service, operation))


def granted_actions(role: RoleKind) -> frozenset[str]:
    """The IAM actions a deployed role must grant so that every allow-listed call it serves can succeed."""
    return frozenset(op.iam_action for op in READ_OPERATIONS if role in op.granted_to)


# ---------------------------------------------------------------------------------------------------------------
# Configuration.

DEFAULT_ROLE_NAME = "IamWhyReadOnly"
DEFAULT_ROLE_ARN_TEMPLATE = "arn:{partition}:iam::{account_id}:role/{role_name}"

_TEMPLATE_FIELDS = frozenset({"partition", "account_id", "role_name"})
# IAM role names: 1-64 of letters, digits and +=,.@_- (IAM API reference, CreateRole).
_ROLE_NAME_RE = re.compile(r"^[\w+=,.@-]{1,64}$")
# sts:AssumeRole ExternalId: 2-1224 of letters, digits and +=,.@:/- (STS API reference).
_EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
_LIST_SEPARATOR = re.compile(r"[\s,]+")

# The environment variable behind each configurable field (DESIGN.md §4), for error messages.
_VARIABLES = {
    "role_name": "IAMWHY_ROLE_NAME",
    "role_arn_template": "IAMWHY_ROLE_ARN_TEMPLATE",
    "external_id": "IAMWHY_EXTERNAL_ID",
    "org_role_arn": "IAMWHY_ORG_ROLE_ARN",
    "allowed_accounts": "IAMWHY_ACCOUNTS",
}


@dataclass(frozen=True)
class AwsConfig:
    """How iamwhy reaches AWS. Built by the composition root; never reads the environment itself."""

    role_name: str = DEFAULT_ROLE_NAME
    # Placeholders: {partition}, {account_id} (required), {role_name}.
    role_arn_template: str = DEFAULT_ROLE_ARN_TEMPLATE
    external_id: str | None = None
    org_role_arn: str | None = None
    # Accounts the bot may investigate besides its own, which is always allowed.
    allowed_accounts: frozenset[str] = frozenset()
    # None: botocore's own chain (AWS_REGION, AWS_DEFAULT_REGION, the profile), else us-east-1.
    region: str | None = None
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    # Attempts per call, first one included; throttling is retried with botocore's adaptive mode.
    max_attempts: int = 4
    cache_ttl: float = 60.0
    call_budget: int = 100
    # Worker threads (and HTTP connections) for the whole process: one diagnosis fans out to ~15 calls at once (with
    # fewer threads its first round waits for a thread: see bench/latency.py --concurrency), and several diagnoses run
    # at once.
    max_concurrency: int = 32
    # Upper bound on the items a paginated call gathers, unless the call passes its own PaginationConfig.
    max_items: int = 1000
    role_session_name: str = "iamwhy"
    # Assumed-role credentials are replaced this many seconds before they expire.
    credential_refresh_margin: float = 300.0
    # Consecutive failures to reach an account (its role cannot be assumed, or no answer) that pause its reads,
    # and for how long before one trial read is let through.
    breaker_threshold: int = 5
    breaker_cooldown: float = 240.0

    def __post_init__(self) -> None:
        _check_role_name(self.role_name)
        _check_template(self.role_arn_template, self.role_name)
        if self.external_id is not None and not _EXTERNAL_ID_RE.match(self.external_id):
            raise ConfigError(
                _VARIABLES["external_id"], "must be 2 to 1224 letters, digits or +=,.@:/- characters (STS limits)"
            )
        if self.org_role_arn is not None:
            _check_role_arn(self.org_role_arn, _VARIABLES["org_role_arn"])
        bad = sorted(a for a in self.allowed_accounts if not is_account_id(a))
        if bad:
            raise ConfigError(_VARIABLES["allowed_accounts"], f"{bad[0]!r} is not a 12-digit AWS account id")
        if self.region is not None and not re.match(r"^[a-z]{2}(-[a-z]+)+-\d+$", self.region):
            raise ConfigError("region", f"{self.region!r} is not an AWS region name")
        for name in ("connect_timeout", "read_timeout", "cache_ttl", "credential_refresh_margin", "breaker_cooldown"):
            if getattr(self, name) < 0:
                raise ConfigError(name, "must not be negative")
        for name in ("max_attempts", "call_budget", "max_concurrency", "max_items", "breaker_threshold"):
            if getattr(self, name) < 1:
                raise ConfigError(name, "must be at least 1")
        if not re.match(r"^[\w+=,.@-]{2,64}$", self.role_session_name):
            raise ConfigError("role_session_name", "must be 2 to 64 letters, digits or +=,.@- characters")

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> AwsConfig:
        """Build from environment-style variables (DESIGN.md §4); unset or blank variables keep the defaults."""

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        values: dict[str, Any] = {}
        role_name = get("IAMWHY_ROLE_NAME")
        template = get("IAMWHY_ROLE_ARN_TEMPLATE")
        if role_name is not None:
            values["role_name"] = role_name
        if template is not None:
            values["role_arn_template"] = template
            if role_name is not None and "{role_name}" not in template:
                raise ConfigError(
                    "IAMWHY_ROLE_NAME",
                    "is set, but IAMWHY_ROLE_ARN_TEMPLATE does not use {role_name}: set only one of them",
                )
        values["external_id"] = get("IAMWHY_EXTERNAL_ID")
        values["org_role_arn"] = get("IAMWHY_ORG_ROLE_ARN")
        accounts = get("IAMWHY_ACCOUNTS")
        if accounts is not None:
            values["allowed_accounts"] = frozenset(a for a in _LIST_SEPARATOR.split(accounts) if a)
        return cls(**values)

    def role_arn(self, account_id: str, partition: str = "aws") -> str:
        """The read-only role to assume in an account."""
        return self.role_arn_template.format(partition=partition, account_id=account_id, role_name=self.role_name)

    def describe(self) -> Mapping[str, Any]:
        """The configuration without secrets, for a startup log line."""
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        shown["external_id"] = "set" if self.external_id else None
        shown["allowed_accounts"] = sorted(self.allowed_accounts)
        return shown


def _check_role_name(name: str) -> None:
    if not _ROLE_NAME_RE.match(name):
        raise ConfigError(
            _VARIABLES["role_name"], f"{name!r} is not an IAM role name (1-64 letters, digits or +=,.@_- characters)"
        )


def _check_template(template: str, role_name: str) -> None:
    variable = _VARIABLES["role_arn_template"]
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(variable, f"is not a valid template ({exc})") from None
    names = [name for _, name, _, _ in parsed if name is not None]
    unknown = sorted({n for n in names if n not in _TEMPLATE_FIELDS})
    if unknown:
        raise ConfigError(
            variable, f"unknown placeholder {{{unknown[0]}}} (allowed: {{partition}}, {{account_id}}, {{role_name}})"
        )
    if any(spec or conversion for _, name, spec, conversion in parsed if name is not None):
        raise ConfigError(variable, "placeholders take no format spec or conversion")
    if "account_id" not in names:
        raise ConfigError(variable, "must contain {account_id}")
    sample = template.format(partition="aws", account_id="123456789012", role_name=role_name)
    _check_role_arn(sample, variable, shown=template)


def _check_role_arn(text: str, variable: str, shown: str | None = None) -> None:
    shown = text if shown is None else shown
    try:
        arn = parse_arn(text)
    except ArnError:
        raise ConfigError(variable, f"{shown!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)") from None
    name = arn.resource.rpartition("/")[2]
    if arn.service != "iam" or not arn.resource.startswith("role/") or not is_account_id(arn.account) or not name:
        raise ConfigError(variable, f"{shown!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
    if not _ROLE_NAME_RE.match(name):
        raise ConfigError(variable, f"{shown!r} has an invalid role name {name!r}")


# ---------------------------------------------------------------------------------------------------------------
# The Protocol the gathering code depends on.


class AwsReader(Protocol):
    """Read-only access to AWS, one call at a time; errors are the ReadError family above."""

    async def call(
        self,
        service: str,
        operation: str,
        params: Mapping[str, Any] | None = None,
        *,
        account: str | None = None,
        role: RoleKind = RoleKind.READ,
        region: str | None = None,
        paginate: bool = False,
    ) -> Mapping[str, Any]:
        """Call `service`'s `operation` (botocore client name, PascalCase API name) and return its parsed answer.

        account=None: the bot's own account with its own credentials. Otherwise `role` says which role is
        assumed: READ, the read-only role in `account`; ORG, the organizations read role. paginate=True merges
        every page into one answer.
        """
        ...


class RecordingReader(AwsReader, Protocol):
    """An AwsReader that keeps a record of every call made through it (one per diagnosis)."""

    @property
    def records(self) -> tuple[CallRecord, ...]: ...


# Outcomes decided inside the process: no request was sent for them, or none whose answer was used.
_LOCAL_OUTCOMES = frozenset(
    {
        CallOutcome.NOT_ALLOWED,
        CallOutcome.NOT_CONFIGURED,
        CallOutcome.BUDGET_EXCEEDED,
        CallOutcome.READ_ONLY_VIOLATION,
        CallOutcome.PAUSED,
        CallOutcome.ERROR,
    }
)


def requests_sent(records: Iterable[CallRecord]) -> int:
    """How many of the recorded calls reached AWS ("9 AWS reads"): cache hits, refusals and calls whose
    credentials could not be obtained excluded."""
    return sum(1 for r in records if r.sent and not r.cached and r.outcome not in _LOCAL_OUTCOMES)
