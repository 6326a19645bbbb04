"""Server-side additions to moto: IAM, STS and CloudTrail operations it lacks, fault injection, a log of calls.

moto keeps its state process-wide, so these patches are too: `install()` once per test session, `EXTENSIONS.reset()`
between tests. Everything is answered by moto's own serializers in each operation's real wire format, so boto3
and the adapter still go through real HTTP and real response parsing.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moto.cloudtrail.responses import CloudTrailResponse
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, BaseResponse
from moto.iam.responses import IamResponse
from moto.s3.responses import S3Response
from moto.sts.models import sts_backends
from moto.sts.responses import TokenResponse

from diagnostics.reader import read_operation


class InjectedError(ServiceException):
    """An error a test asked for. Its module must not start with "moto", or moto looks up error shapes in "core"."""


InjectedError.__module__ = "harness_faults"


class InvalidAuthorizationMessageException(ServiceException):
    code = "InvalidAuthorizationMessageException"


InvalidAuthorizationMessageException.__module__ = "harness_faults"

# The error code each service uses for "access denied" (AWS spells it per service and protocol).
DENIED_CODES: Mapping[str, str] = {
    "iam": "AccessDenied",
    "sts": "AccessDenied",
    "s3": "AccessDenied",
    "s3control": "AccessDenied",
    "sqs": "AccessDenied",
    "sns": "AuthorizationError",
    "ec2": "UnauthorizedOperation",
    "kms": "AccessDeniedException",
    "secretsmanager": "AccessDeniedException",
    "organizations": "AccessDeniedException",
    "ecr": "AccessDeniedException",
    "lambda": "AccessDeniedException",
    "cloudtrail": "AccessDeniedException",
}

THROTTLING_CODES: Mapping[str, str] = {
    "iam": "Throttling",
    "sts": "Throttling",
    "sns": "Throttling",
    "s3": "SlowDown",
    "ec2": "RequestLimitExceeded",
    "organizations": "TooManyRequestsException",
    "lambda": "TooManyRequestsException",
}

# The S3 bucket-level handlers that bypass BaseResponse.call_action, and the operation each serves.
_S3_HANDLERS: Mapping[str, str] = {
    "get_bucket_policy": "GetBucketPolicy",
    "get_bucket_policy_status": "GetBucketPolicyStatus",
    "get_public_access_block": "GetPublicAccessBlock",
    "get_bucket_encryption": "GetBucketEncryption",
    "get_bucket_location": "GetBucketLocation",
    "get_bucket_acl": "GetBucketAcl",
    "get_bucket_ownership_controls": "GetBucketOwnershipControls",
    "head_bucket": "HeadBucket",
}


@dataclass
class Fault:
    """Answer matching requests with an error instead of moto's answer."""

    service: str
    operation: str
    code: str
    message: str
    status: int = 403
    # Only requests landing in this account (the caller's account); None: any.
    account: str | None = None
    # Only requests whose parameters have these values.
    match: Mapping[str, Any] = field(default_factory=dict)
    # Only the first `times` matching requests; None: all of them.
    times: int | None = None
    hits: int = 0

    def applies(self, service: str, operation: str, account: str, params: Mapping[str, Any]) -> bool:
        if (self.service, self.operation) != (service, operation):
            return False
        if self.account is not None and self.account != account:
            return False
        if any(params.get(k) != v for k, v in self.match.items()):
            return False
        return self.times is None or self.hits < self.times


@dataclass(frozen=True)
class SeenCall:
    """One request moto served (or an extension answered), as the server saw it."""

    service: str
    operation: str
    account: str
    access_key: str
    params: Mapping[str, Any]


class MotoExtensions:
    """The per-test registries behind the patched handlers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.simulations: dict[tuple[str, str], dict[str, Any]] = {}
        self.context_keys: dict[str, list[str]] = {}
        self.decoded_messages: dict[str, str] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.faults: list[Fault] = []
        self.calls: list[SeenCall] = []
        # The ports the harness's own servers listen on: the stand-ins for operations moto lacks answer only there,
        # so another moto server in the process (the demo sandbox) still lacks them, as real moto does.
        self.ports: set[int] = set()

    def serves(self, response: BaseResponse) -> bool:
        request = getattr(response, "normalized_request", None)
        port = request.environ.get("SERVER_PORT") if request is not None else None
        return port is None or int(port) in self.ports

    def reset(self) -> None:
        with self._lock:
            self.simulations.clear()
            self.context_keys.clear()
            self.decoded_messages.clear()
            self.events.clear()
            self.faults.clear()
            self.calls.clear()

    # --- canned answers for the operations moto lacks

    def simulate(self, source_arn: str, action: str, decision: str = "implicitDeny", **details: Any) -> None:
        """What SimulatePrincipalPolicy answers for (PolicySourceArn, action): EvalDecision plus any result fields
        (MatchedStatements, MissingContextValues, PermissionsBoundaryDecisionDetail, OrganizationsDecisionDetail,
        EvalDecisionDetails, ResourceSpecificResults)."""
        result: dict[str, Any] = {"EvalDecision": decision, "MatchedStatements": [], "MissingContextValues": []}
        result.update(details)
        self.simulations[(source_arn, action)] = result

    def set_context_keys(self, source_arn: str, keys: list[str]) -> None:
        self.context_keys[source_arn] = list(keys)

    def set_decoded_message(self, encoded: str, decoded: Mapping[str, Any] | str) -> None:
        self.decoded_messages[encoded] = decoded if isinstance(decoded, str) else json.dumps(decoded)

    def add_event(
        self,
        account: str,
        event_name: str,
        *,
        event_time: datetime,
        username: str | None = None,
        event_source: str | None = None,
        resources: Sequence[tuple[str, str]] = (),
        cloudtrail_event: Mapping[str, Any] | None = None,
        read_only: bool = False,
    ) -> str:
        """A CloudTrail management event that LookupEvents finds in `account`; returns its EventId."""
        event_id = f"{len(self.events.get(account, [])) + 1:08d}-0000-4000-8000-000000000000"
        event: dict[str, Any] = {
            "EventId": event_id,
            "EventName": event_name,
            "ReadOnly": "true" if read_only else "false",
            "EventTime": event_time,
            "Resources": [{"ResourceType": kind, "ResourceName": name} for kind, name in resources],
            "CloudTrailEvent": json.dumps(cloudtrail_event or {"eventName": event_name}),
        }
        if username is not None:
            event["Username"] = username
        if event_source is not None:
            event["EventSource"] = event_source
        with self._lock:
            self.events.setdefault(account, []).append(event)
        return event_id

    # --- faults

    def fault(
        self,
        service: str,
        operation: str,
        code: str,
        message: str,
        *,
        status: int = 403,
        account: str | None = None,
        match: Mapping[str, Any] | None = None,
        times: int | None = None,
    ) -> Fault:
        injected = Fault(service, operation, code, message, status, account, dict(match or {}), times)
        with self._lock:
            self.faults.append(injected)
        return injected

    def deny(
        self,
        service: str,
        operation: str,
        *,
        account: str | None = None,
        reason: str = "because no identity-based policy allows the {action} action",
        match: Mapping[str, Any] | None = None,
    ) -> Fault:
        """A realistic AccessDenied for the service: its own code, and AWS's message naming caller and action.

        The caller's ARN is filled in when the request arrives (`{caller}`), like AWS does."""
        spec = read_operation(service, operation)
        action = spec.iam_action if spec else f"{service}:{operation}"
        message = f"User: {{caller}} is not authorized to perform: {action} {reason.format(action=action)}"
        return self.fault(
            service, operation, DENIED_CODES.get(service, "AccessDenied"), message, account=account, match=match
        )

    def throttle(self, service: str, operation: str, *, account: str | None = None, times: int | None = None) -> Fault:
        code = THROTTLING_CODES.get(service, "ThrottlingException")
        return self.fault(service, operation, code, "Rate exceeded", status=400, account=account, times=times)

    def server_error(
        self, service: str, operation: str, *, account: str | None = None, times: int | None = None
    ) -> Fault:
        return self.fault(
            service,
            operation,
            "InternalFailure",
            "The request processing has failed because of an unknown error.",
            status=500,
            account=account,
            times=times,
        )

    def _fault_for(self, service: str, operation: str, account: str, params: Mapping[str, Any]) -> Fault | None:
        with self._lock:
            for candidate in self.faults:
                if candidate.applies(service, operation, account, params):
                    candidate.hits += 1
                    return candidate
        return None

    # --- the log

    def clear_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    def _seen(self, call: SeenCall) -> None:
        with self._lock:
            self.calls.append(call)

    def seen(
        self, service: str | None = None, operation: str | None = None, account: str | None = None
    ) -> list[SeenCall]:
        """The calls served so far, optionally only those of a service, operation or account."""
        with self._lock:
            return [
                c
                for c in self.calls
                if (service is None or c.service == service)
                and (operation is None or c.operation == operation)
                and (account is None or c.account == account)
            ]


EXTENSIONS = MotoExtensions()
_installed = False


def _caller_arn(response: BaseResponse) -> str:
    try:
        backend = sts_backends[response.current_account]["aws"]
        return str(backend.get_caller_identity(response.get_access_key(), response.region)[1])
    except Exception:  # the message is cosmetic: never let it break the fault itself
        return f"arn:aws:iam::{response.current_account}:user/unknown"


def _params(response: BaseResponse) -> dict[str, Any]:
    if getattr(response, "automated_parameter_parsing", False) and isinstance(getattr(response, "params", None), dict):
        return dict(response.params)
    body = getattr(response, "body", None)
    if isinstance(body, str) and body.startswith("{"):
        try:
            loaded = json.loads(body)
        except ValueError:
            loaded = None
        if isinstance(loaded, dict):
            return {**loaded, **getattr(response, "uri_match", {})}
    values = {k: v[0] for k, v in response.querystring.items() if isinstance(v, list) and v}
    return {**values, **getattr(response, "uri_match", {})}


def _s3_error(code: str, message: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        "<RequestId>4442587FB7D0A2F9</RequestId><HostId>harness</HostId></Error>"
    )


def _with_caller(fault: Fault, response: BaseResponse) -> str:
    return fault.message.replace("{caller}", _caller_arn(response)) if "{caller}" in fault.message else fault.message


def install() -> None:
    """Patch moto's handlers, once per process."""
    global _installed
    if _installed:
        return
    _installed = True

    original_call_action = BaseResponse.call_action

    def call_action(self: BaseResponse) -> Any:
        operation = self._get_action()
        params = _params(self)
        service = self.boto3_service_name
        EXTENSIONS._seen(SeenCall(service, operation, self.current_account, self.get_access_key(), params))
        fault = EXTENSIONS._fault_for(service, operation, self.current_account, params)
        if fault is not None:
            _, headers, body = self.serialized(ActionResult(InjectedError(fault.code, _with_caller(fault, self))))
            return fault.status, headers, body
        return original_call_action(self)

    BaseResponse.call_action = call_action  # type: ignore[method-assign]

    for handler_name, operation in _S3_HANDLERS.items():
        setattr(S3Response, handler_name, _s3_handler(getattr(S3Response, handler_name), operation))

    CloudTrailResponse.lookup_events = _lookup_events  # type: ignore[attr-defined]
    IamResponse.simulate_principal_policy = _simulate_principal_policy  # type: ignore[attr-defined]
    IamResponse.get_context_keys_for_principal_policy = _get_context_keys  # type: ignore[attr-defined]
    TokenResponse.decode_authorization_message = _decode_authorization_message  # type: ignore[attr-defined]


def _s3_handler(original: Callable[..., Any], operation: str) -> Callable[..., Any]:
    def handler(self: S3Response) -> Any:
        params = {"Bucket": self.bucket_name} if self.bucket_name else {}
        EXTENSIONS._seen(SeenCall("s3", operation, self.current_account, self.get_access_key(), params))
        fault = EXTENSIONS._fault_for("s3", operation, self.current_account, params)
        if fault is None:
            return original(self)
        body = "" if operation == "HeadBucket" else _s3_error(fault.code, _with_caller(fault, self))
        return fault.status, {"Content-Type": "application/xml"}, body

    handler.__name__ = original.__name__
    return handler


def _lacking(response: BaseResponse) -> None:
    """Answer as moto does for an operation it does not implement, on servers other than the harness's."""
    if not EXTENSIONS.serves(response):
        raise NotImplementedError(f"{type(response).__name__}.{response._get_action()} is not implemented by moto")


def _simulate_principal_policy(self: IamResponse) -> ActionResult:
    _lacking(self)
    source = self._get_param("PolicySourceArn")
    actions = self._get_param("ActionNames") or []
    resource = (self._get_param("ResourceArns") or ["*"])[0]
    results = []
    for action in actions:
        canned = EXTENSIONS.simulations.get(
            (source, action), {"EvalDecision": "implicitDeny", "MatchedStatements": [], "MissingContextValues": []}
        )
        results.append({"EvalActionName": action, "EvalResourceName": resource, **canned})
    return ActionResult({"IsTruncated": False, "EvaluationResults": results})


_LOOKUP_KEYS: dict[str, Callable[[dict[str, Any]], list[Any]]] = {
    "EventId": lambda e: [e["EventId"]],
    "EventName": lambda e: [e["EventName"]],
    "ReadOnly": lambda e: [e["ReadOnly"]],
    "Username": lambda e: [e.get("Username")],
    "EventSource": lambda e: [e.get("EventSource")],
    "ResourceType": lambda e: [r["ResourceType"] for r in e["Resources"]],
    "ResourceName": lambda e: [r["ResourceName"] for r in e["Resources"]],
}


def _lookup_events(self: CloudTrailResponse) -> ActionResult:
    """LookupEvents over the canned events, newest first, with its filters and MaxResults/NextToken paging."""
    events = sorted(EXTENSIONS.events.get(self.current_account, []), key=lambda e: e["EventTime"], reverse=True)
    for attribute in self._get_param("LookupAttributes") or []:
        values = _LOOKUP_KEYS[attribute["AttributeKey"]]
        events = [e for e in events if attribute["AttributeValue"] in values(e)]
    start, end = self._get_param("StartTime"), self._get_param("EndTime")
    if start is not None:
        events = [e for e in events if e["EventTime"].timestamp() >= float(start)]
    if end is not None:
        events = [e for e in events if e["EventTime"].timestamp() <= float(end)]
    first = int(self._get_param("NextToken") or 0)
    size = int(self._get_param("MaxResults") or 50)
    result: dict[str, Any] = {"Events": events[first : first + size]}
    if first + size < len(events):
        result["NextToken"] = str(first + size)
    return ActionResult(result)


def _get_context_keys(self: IamResponse) -> ActionResult:
    _lacking(self)
    source = self._get_param("PolicySourceArn")
    return ActionResult({"ContextKeyNames": EXTENSIONS.context_keys.get(source, [])})


def _decode_authorization_message(self: TokenResponse) -> ActionResult:
    _lacking(self)
    encoded = self._get_param("EncodedMessage") or ""
    decoded = EXTENSIONS.decoded_messages.get(encoded)
    if decoded is None:
        # Without a canned answer, a test "encodes" a message as base64(JSON).
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
            json.loads(decoded)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvalidAuthorizationMessageException(
                "InvalidAuthorizationMessageException", "The encoded message is not valid."
            ) from None
    return ActionResult({"DecodedMessage": decoded})


def encode_authorization_message(decoded: Mapping[str, Any]) -> str:
    """The harness's stand-in for an encoded authorization message: DecodeAuthorizationMessage reverses it."""
    return base64.b64encode(json.dumps(decoded).encode()).decode()
