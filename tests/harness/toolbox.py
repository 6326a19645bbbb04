"""A fake IAM Access Troubleshooter (`iam-toolbox`, rest-json) on loopback, which moto does not have.

It serves GetRequestAuthorizationDetails and GetRequestAuthorizationPolicy with the request and response shapes
of botocore's own service model, so a client reaches it through `AWS_ENDPOINT_URL_IAM_TOOLBOX` and parses its
answers exactly as it would AWS's. Canned answers are checked against the model's output shapes when a test
registers them, so a test cannot feed the product a shape AWS would never send.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.validate import ParamValidator
from moto.iam.models import get_account_id_from

from tests.harness.servers import LoopbackServer

_AUTHORIZATION_DETAILS = "GetRequestAuthorizationDetails"
_AUTHORIZATION_POLICY = "GetRequestAuthorizationPolicy"


@dataclass
class _Record:
    details: dict[str, Any]
    page_size: int | None
    # Answer ResourceNotFoundException to this many requests first: AWS writes the record asynchronously.
    not_found_for: int
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: int = 0


@dataclass(frozen=True)
class ToolboxCall:
    operation: str
    authorization_id: str
    account: str | None
    params: Mapping[str, str]


class FakeToolbox(LoopbackServer):
    """Serves canned authorization records; records every call with the account of its signing key."""

    def __init__(self) -> None:
        super().__init__(self._wsgi)
        self._lock = threading.Lock()
        self._records: dict[str, _Record] = {}
        self._denied: dict[str, str] = {}
        self.calls: list[ToolboxCall] = []
        model = botocore.session.get_session().get_service_model("iam-toolbox")
        self._outputs = {
            name: model.operation_model(name).output_shape for name in (_AUTHORIZATION_DETAILS, _AUTHORIZATION_POLICY)
        }

    def reset(self) -> None:
        with self._lock:
            self._records.clear()
            self._denied.clear()
            self.calls.clear()
        self.log.clear()

    def add_details(
        self,
        authorization_id: str,
        details: Mapping[str, Any],
        *,
        page_size: int | None = None,
        not_found_for: int = 0,
    ) -> None:
        """Register GetRequestAuthorizationDetails' answer (requestContext, evaluations, policies).

        page_size splits `evaluations` into pages linked by nextToken, as the paginator expects."""
        _validate(self._outputs[_AUTHORIZATION_DETAILS], details)
        with self._lock:
            self._records[authorization_id] = _Record(json.loads(json.dumps(details)), page_size, not_found_for)

    def add_policy(self, authorization_id: str, policy_uri: str, document: Mapping[str, Any]) -> None:
        """Register GetRequestAuthorizationPolicy's answer for one policy URI of a registered record."""
        _validate(self._outputs[_AUTHORIZATION_POLICY], {"policyDocument": document})
        with self._lock:
            self._records[authorization_id].policies[policy_uri] = json.loads(json.dumps(document))

    def deny(self, operation: str, account: str | None = None) -> None:
        """Answer `operation` with AccessDeniedException (for callers in `account`, or everyone)."""
        with self._lock:
            self._denied[operation] = account or "*"

    def calls_of(self, operation: str) -> list[ToolboxCall]:
        with self._lock:
            return [c for c in self.calls if c.operation == operation]

    # --- the wire

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        status, body = self._answer(environ)
        headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", "d3b1c0de-0000-4000-8000-000000000000")]
        if status >= 400:
            headers.append(("x-amzn-ErrorType", body.pop("__type")))
        payload = json.dumps(body).encode()
        headers.append(("Content-Length", str(len(payload))))
        start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
        return [payload]

    def _answer(self, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/") if "Credential=" in auth else []
        # botocore signs iam-toolbox with the signing name "iam" (service model metadata.signingName).
        if len(scope) < 5 or scope[3] != "iam":
            return 403, _error("MissingAuthenticationTokenException", "Missing Authentication Token")
        account = get_account_id_from(scope[0])
        path = urllib.parse.unquote(environ.get("PATH_INFO", ""))
        query = {k: v[0] for k, v in urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).items()}
        parts = [p for p in path.split("/") if p]
        if environ.get("REQUEST_METHOD") != "GET" or not parts or parts[0] != "authorization-details":
            return 404, _error("UnknownOperationException", f"no route for {path}")
        if len(parts) == 2:
            operation = _AUTHORIZATION_DETAILS
        elif len(parts) == 3 and parts[2] == "policy":
            operation = _AUTHORIZATION_POLICY
        else:
            return 404, _error("UnknownOperationException", f"no route for {path}")
        authorization_id = parts[1]
        with self._lock:
            self.calls.append(ToolboxCall(operation, authorization_id, account, query))
            denied = self._denied.get(operation)
            record = self._records.get(authorization_id)
            if record is not None and operation == _AUTHORIZATION_DETAILS:
                record.requests += 1
        if denied is not None and denied in ("*", account):
            action = f"iam:{operation}"
            return 403, _error("AccessDeniedException", f"User is not authorized to perform: {action}")
        if not authorization_id.isalnum() or authorization_id != authorization_id.lower():
            return 400, _error("ValidationException", "authorizationId must match [0-9a-z]+")
        if record is None or (operation == _AUTHORIZATION_DETAILS and record.requests <= record.not_found_for):
            return 404, _error("ResourceNotFoundException", f"No authorization details found for {authorization_id}")
        if operation == _AUTHORIZATION_POLICY:
            uri = query.get("policyUri")
            if not uri:
                return 400, _error("ValidationException", "policyUri is required")
            if uri not in record.policies:
                return 404, _error("ResourceNotFoundException", f"No policy {uri} for {authorization_id}")
            return 200, {"policyDocument": record.policies[uri]}
        return 200, _page(record, query.get("nextToken"))


def _page(record: _Record, token: str | None) -> dict[str, Any]:
    details = dict(record.details)
    evaluations = list(details.get("evaluations", []))
    if record.page_size is None:
        return details
    start = int(token.removeprefix("page-")) if token else 0
    end = start + record.page_size
    details["evaluations"] = evaluations[start:end]
    if end < len(evaluations):
        details["nextToken"] = f"page-{end}"
    return details


def _error(code: str, message: str) -> dict[str, Any]:
    return {"__type": code, "message": message}


def _validate(shape: Any, value: Mapping[str, Any]) -> None:
    report = ParamValidator().validate(dict(value), shape)
    if report.has_errors():
        raise ValueError(f"not a valid {shape.name}: {report.generate_report()}")
    bad = list(_enum_errors(shape, value, shape.name))
    if bad:
        raise ValueError(f"not a valid {shape.name}: {'; '.join(bad)}")


def _enum_errors(shape: Any, value: Any, path: str) -> Iterator[str]:
    """botocore's validator leaves enums alone; AWS only ever sends their listed values."""
    if shape.type_name == "structure" and isinstance(value, Mapping):
        for name, member in shape.members.items():
            if name in value:
                yield from _enum_errors(member, value[name], f"{path}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            yield from _enum_errors(shape.member, item, f"{path}[{index}]")
    elif shape.type_name == "string" and shape.enum and value not in shape.enum:
        yield f"{path} is {value!r}, not one of {', '.join(shape.enum)}"


_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found"}
