"""The only module that talks to AWS: read-only botocore clients, assumed roles, caching, budgets, error translation."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import copy
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

import botocore.session
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError
from botocore.utils import parse_timestamp, set_value_from_jmespath

from diagnostics import metrics
from diagnostics.arn import is_account_id, parse_arn
from diagnostics.breaker import Breakers, FailureKind, Paused, Ticket
from diagnostics.reader import (
    ASSUME_ROLE,
    AccountNotAllowed,
    AssumeRoleFailed,
    AwsConfig,
    AwsReader,
    BudgetExceeded,
    CallOutcome,
    CallRecord,
    CredentialsError,
    NotConfigured,
    NotFound,
    ReadDenied,
    ReadError,
    ReadOnlyViolation,
    ReadOperation,
    ReadsPaused,
    RecordingReader,
    RequestRejected,
    RoleKind,
    Throttled,
    Unavailable,
    read_operation,
)
from diagnostics.tracing import current_correlation_id

logger = logging.getLogger("iamwhy.aws")

T = TypeVar("T")

# What botocore raises; ResponseParserError (an unreadable answer) derives from neither of the other two.
_SDK_ERRORS = (ClientError, BotoCoreError, ResponseParserError)

_GUARD_EVENT = "before-parameter-build"
_GUARD_ID = "iamwhy-read-only-guard"
_FALLBACK_REGION = "us-east-1"
_CACHE_MAX_ENTRIES = 4096

# Error codes, by what they mean for a read. AWS spells the same idea differently per service and protocol.
_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AuthorizationError",
        "UnauthorizedOperation",
        "Forbidden",
        "AllAccessDisabled",
        # moto answers JSON-protocol services with an XML body, which botocore reads as the bare status code.
        "403",
    }
)
_CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "InvalidToken",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "IncompleteSignature",
        "AuthFailure",
    }
)
_NOT_FOUND_CODES = frozenset(
    {
        "NoSuchEntity",
        "NoSuchBucket",
        "NoSuchBucketPolicy",
        "NoSuchPublicAccessBlockConfiguration",
        "ServerSideEncryptionConfigurationNotFoundError",
        "OwnershipControlsNotFoundError",
        "NotFound",
        "NotFoundException",
        "ResourceNotFoundException",
        "RepositoryNotFoundException",
        "RepositoryPolicyNotFoundException",
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
        "AWSOrganizationsNotInUseException",
        "AccountNotFoundException",
        "TargetNotFoundException",
        "PolicyNotFoundException",
        "ChildNotFoundException",
        "InvalidVpcEndpointId.NotFound",
    }
)
_THROTTLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
        "BandwidthLimitExceeded",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)


class _Who(StrEnum):
    """Which credentials a call runs with."""

    OWN = "own"
    READ = "read"
    ORG = "org"


_IdentityKey = tuple[_Who, str | None]


@dataclass(frozen=True)
class _Identity:
    kind: _Who
    # The account the call runs in; None for the bot's own (not yet looked up) account.
    account: str | None

    @property
    def key(self) -> _IdentityKey:
        return (self.kind, self.account)

    def lacks(self, permission: str) -> str:
        holder = {
            _Who.OWN: "the bot's own credentials lack",
            _Who.READ: "the read-only role lacks",
            _Who.ORG: "the organizations read role lacks",
        }[self.kind]
        return f"{holder} {permission}"


@dataclass
class _Note:
    """Filled in while a call runs: whether its answer was shared (cache, in-flight call, remembered failure)."""

    shared: bool = False
    # Which cache answered it, for the metrics: "aws" (the TTL cache) or "aws_in_flight" (an identical call).
    cache: str | None = None


@dataclass(frozen=True)
class _Credentials:
    access_key: str
    secret_key: str
    token: str
    # On the adapter's clock: when to assume the role again.
    refresh_at: float


@dataclass
class _RoleState:
    """Per role: a lock so that concurrent callers share one AssumeRole, and its last result."""

    lock: threading.Lock
    credentials: _Credentials | None = None
    # AssumeRole attempts finished so far: a caller shares the failure of an attempt that ended after it asked.
    finished: int = 0
    failure: ReadError | None = None


@dataclass(frozen=True)
class _Request:
    """Everything one allow-listed call needs, resolved before it is handed to a worker thread."""

    identity: _Identity
    spec: ReadOperation
    params: Mapping[str, Any]
    region: str
    paginate: bool

    @property
    def service(self) -> str:
        return self.spec.service

    @property
    def operation(self) -> str:
        return self.spec.operation


AssumeListener = Callable[[CallRecord], None]

_OWN_ACCOUNT_KEY = ("own-account",)


def _refuse_writes(model: Any, **_: Any) -> None:
    """botocore hook: refuse any operation outside the read allow-list before its request is built or signed."""
    service = str(model.service_model.service_name)
    operation = str(model.name)
    if read_operation(service, operation) is None:
        raise ReadOnlyViolation(
            f"refused {service} {operation}: iamwhy only makes allow-listed read calls",
            service=service,
            operation=operation,
            account=None,
        )


def _refuse_writes_except_assume_role(model: Any, **kwargs: Any) -> None:
    if (str(model.service_model.service_name), str(model.name)) == (ASSUME_ROLE.service, ASSUME_ROLE.operation):
        return
    _refuse_writes(model, **kwargs)


def _freeze(params: Mapping[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str, separators=(",", ":"))


def _timestamp(value: Any) -> datetime:
    """botocore's timestamp parser, with the ISO 8601 text of AWS's XML and query answers read by the standard
    library: botocore hands it to dateutil's general parser, which costs about a tenth of a call's CPU time."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                return parsed
    general: datetime = parse_timestamp(value)
    return general


# What botocore's parsers put in an answer that cannot change: shared, not copied, by _copied.
_IMMUTABLE = frozenset({str, int, float, bool, type(None), bytes, datetime})


def _copied(value: Any) -> Any:
    """A deep copy of a parsed answer: its dicts and lists copied, its immutable leaves shared. Every answer is
    copied on the event loop for each caller, and copy.deepcopy takes several times as long for the same result."""
    kind = type(value)
    if kind is dict:
        return {key: _copied(item) for key, item in value.items()}
    if kind is list:
        return [_copied(item) for item in value]
    if kind in _IMMUTABLE:
        return value
    return copy.deepcopy(value)


def _strip(response: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


class AwsAdapter(AwsReader):
    """Read-only access to AWS for the whole process: shared clients, credentials, cache and worker threads.

    Every call is checked against the read allow-list twice: here, before credentials are fetched, and by a
    botocore hook on every client the adapter's session creates, before a request is built or signed.
    """

    def __init__(
        self,
        config: AwsConfig,
        *,
        session: Any | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ):
        self._config = config
        # One botocore session: loading service models costs ~100 ms per session, a client on a warm one ~10 ms.
        self._session = session if session is not None else botocore.session.get_session()
        self._session.register(_GUARD_EVENT, _refuse_writes, unique_id=_GUARD_ID)
        self._session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=_timestamp)
        self._clock = clock
        self._wall_clock = wall_clock
        self._client_config = Config(
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            # total_max_attempts counts the first attempt; botocore's max_attempts would count retries only.
            retries={"mode": "adaptive", "total_max_attempts": config.max_attempts},
            max_pool_connections=config.max_concurrency,
            user_agent_appid="iamwhy",
        )
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=config.max_concurrency, thread_name_prefix="iamwhy-aws"
        )
        self._lock = threading.Lock()
        self._clients: dict[tuple[Any, ...], Any] = {}
        # Clients built with credentials that have since been replaced; closed at the next replacement.
        self._retired: dict[_IdentityKey, list[Any]] = {}
        self._roles: dict[_IdentityKey, _RoleState] = {}
        self._inflight: dict[tuple[Any, ...], concurrent.futures.Future[Any]] = {}
        self._cache: OrderedDict[tuple[Any, ...], tuple[float, Any]] = OrderedDict()
        self._own_account: str | None = None
        self._region: str | None = config.region
        self._partition: str | None = None
        self._org_account = parse_arn(config.org_role_arn).account if config.org_role_arn else None
        self._breakers = Breakers(
            threshold=config.breaker_threshold,
            cooldown=config.breaker_cooldown,
            clock=clock,
            on_change=self._breaker_changed,
        )
        self._closed = False

    # ------------------------------------------------------------------------------------------- public API

    @property
    def config(self) -> AwsConfig:
        return self._config

    @property
    def region(self) -> str:
        """Where calls go unless they name a region: AwsConfig.region, else botocore's chain, else us-east-1."""
        return self._region_name()

    def scope(
        self,
        *,
        budget: int | None = None,
        correlation_id: str | None = None,
        accounts: Collection[str] | None = None,
        fresh: bool = False,
    ) -> ReadScope:
        """A per-diagnosis view: counts calls against a budget and records each one.

        `accounts` narrows the accounts its calls may read (a Slack channel's scope) within IAMWHY_ACCOUNTS;
        the correlation id defaults to the one of the request being served. A `fresh` scope asks AWS again
        instead of taking answers from the cache (a re-run after a fix), and its answers refresh the cache."""
        return ReadScope(
            self,
            self._config.call_budget if budget is None else budget,
            correlation_id if correlation_id is not None else current_correlation_id(),
            None if accounts is None else frozenset(accounts),
            fresh=fresh,
        )

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
        """One call outside any diagnosis: no budget, no record."""
        return await self._call(None, service, operation, params, account, role, region, paginate)

    async def own_account(self) -> str:
        """The account of the bot's own credentials (sts:GetCallerIdentity, asked once)."""
        if self._own_account is not None:
            return self._own_account
        spec = read_operation("sts", "GetCallerIdentity")
        assert spec is not None
        request = _Request(_Identity(_Who.OWN, None), spec, {}, self._region_name(), False)
        with self._lock:
            future = self._inflight.get(_OWN_ACCOUNT_KEY)
            if future is None:
                future = self._submit_locked(_OWN_ACCOUNT_KEY, lambda: self._execute(request, None, 0), cache=False)
        identity = await self._await(future)
        self._own_account = str(identity["Account"])
        return self._own_account

    def close(self) -> None:
        """Wait for running calls, then release threads and connections. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            clients = list(self._clients.values())
            for retired in self._retired.values():
                clients.extend(retired)
            self._clients.clear()
            self._retired.clear()
        for client in clients:
            client.close()

    # ------------------------------------------------------------------------------------------- the call path

    async def _call(
        self,
        scope: ReadScope | None,
        service: str,
        operation: str,
        params: Mapping[str, Any] | None,
        account: str | None,
        role: RoleKind,
        region: str | None,
        paginate: bool,
    ) -> Mapping[str, Any]:
        started = time.perf_counter()
        outcome = CallOutcome.OK
        note = _Note()
        where = account
        ticket: Ticket | None = None
        sent = True
        try:
            if self._closed:
                raise RuntimeError("the AWS adapter is closed")
            spec = read_operation(service, operation)
            if spec is None:
                raise ReadOnlyViolation(
                    f"refused {service} {operation}: iamwhy only makes allow-listed read calls",
                    service=service,
                    operation=operation,
                    account=account,
                )
            identity = await self._identity(spec, account, role, scope)
            where = identity.account if identity.kind != _Who.OWN else account
            region = region or self._region_name()
            ticket = await self._admit(identity, spec)
            return await self._read(scope, _Request(identity, spec, dict(params or {}), region, paginate), note)
        except ReadError as exc:
            outcome, sent = exc.outcome, exc.sent
            raise
        except asyncio.CancelledError:
            outcome = CallOutcome.CANCELLED
            raise
        except Exception:
            outcome = CallOutcome.ERROR
            raise
        finally:
            if ticket is not None:
                self._breakers.release(ticket)
            seconds = time.perf_counter() - started
            if note.cache is not None:
                metrics.cache_hit(note.cache)
            elif not note.shared:
                metrics.aws_call(service, operation, outcome, seconds)
            if scope is not None:
                duration = round(seconds * 1000, 3)
                scope._record(CallRecord(service, operation, where, region, outcome, note.shared, duration, sent))

    async def _admit(self, identity: _Identity, spec: ReadOperation) -> Ticket | None:
        """Pass the identity's circuit breaker: go ahead, wait for the trial call of a reopening one, or refuse."""
        if identity.kind is _Who.OWN:
            return None
        while True:
            admission = self._breakers.admit(identity.key)
            if isinstance(admission, Ticket):
                return admission
            if isinstance(admission, Paused):
                raise self._paused_error(identity, spec, admission)
            # shield: a caller that gives up must not cancel the trial other callers wait for.
            await asyncio.shield(asyncio.wrap_future(admission))

    def _paused_error(self, identity: _Identity, spec: ReadOperation, paused: Paused) -> ReadsPaused:
        role = self._role_arn(identity).rpartition("/")[2]
        if identity.kind is _Who.ORG:
            what = f"reads through the organizations read role {role} (account {identity.account})"
        else:
            what = f"reads of {identity.account}"
        if paused.kinds == {FailureKind.ASSUME_ROLE}:
            cause = f"failed attempts to assume {role}"
        elif paused.kinds == {FailureKind.UNAVAILABLE}:
            cause = "reads in a row that got no answer"
        else:
            cause = "failures in a row to reach it"
        return ReadsPaused(
            f"{what} are paused for {_duration(paused.remaining)} after {paused.failures} {cause}: "
            f"{paused.last_reason}",
            service=spec.service,
            operation=spec.operation,
            account=identity.account,
            resume_in=paused.remaining,
        )

    def _breaker_changed(self, key: Hashable, paused: Paused | None) -> None:
        kind, account = key if isinstance(key, tuple) else (None, None)
        fields = {"role": str(kind), "account": account}
        if paused is None:
            logger.info("AWS reads resumed", extra={"fields": fields})
            return
        metrics.aws_reads_paused(str(kind))
        logger.warning(
            "AWS reads paused",
            extra={
                "fields": {
                    **fields,
                    "failures": paused.failures,
                    "seconds": round(paused.remaining, 1),
                    "reason": paused.last_reason,
                }
            },
        )

    def _outcome(self, identity: _Identity, error: ReadError | None) -> None:
        """Tell the identity's breaker what one request to AWS showed: an answer, or a failure to reach it."""
        if identity.kind is _Who.OWN:
            return
        if isinstance(error, Unavailable):
            self._breakers.failed(identity.key, FailureKind.UNAVAILABLE, error.reason)
        elif isinstance(error, AssumeRoleFailed):
            self._breakers.failed(identity.key, FailureKind.ASSUME_ROLE, error.reason)
        elif not isinstance(error, CredentialsError | ReadOnlyViolation):
            # Any answer from AWS, a refusal or "not found" included, shows the account can be reached.
            self._breakers.succeeded(identity.key)

    async def _identity(
        self, spec: ReadOperation, account: str | None, role: RoleKind, scope: ReadScope | None = None
    ) -> _Identity:
        if role is RoleKind.ORG:
            if self._config.org_role_arn is None or self._org_account is None:
                raise NotConfigured(
                    "no organizations read role configured (IAMWHY_ORG_ROLE_ARN)",
                    service=spec.service,
                    operation=spec.operation,
                    account=account,
                )
            if account is not None and account != self._org_account:
                raise ValueError(
                    f"RoleKind.ORG calls run in the organizations role's account {self._org_account}, not {account}"
                )
            return _Identity(_Who.ORG, self._org_account)
        if account is None:
            return _Identity(_Who.OWN, None)
        if not is_account_id(account):
            raise ValueError(f"not a 12-digit AWS account id: {account!r}")
        if account not in self._config.allowed_accounts and account != await self.own_account():
            raise AccountNotAllowed(
                f"account {account} is not in IAMWHY_ACCOUNTS, so iamwhy does not read it; "
                "the answer rests on the error message alone",
                service=spec.service,
                operation=spec.operation,
                account=account,
            )
        if scope is not None and scope.accounts is not None and account not in scope.accounts:
            allowed = ", ".join(sorted(scope.accounts)) or "none"
            raise AccountNotAllowed(
                f"account {account} may not be read from here (IAMWHY_CHANNEL_ACCOUNTS allows {allowed}), so "
                "iamwhy does not read it",
                service=spec.service,
                operation=spec.operation,
                account=account,
            )
        return _Identity(_Who.READ, account)

    async def _read(self, scope: ReadScope | None, request: _Request, note: _Note) -> Mapping[str, Any]:
        key = (
            request.identity.key,
            request.service,
            request.operation,
            request.region,
            request.paginate,
            _freeze(request.params),
        )
        remembered = scope._assume_failure(request) if scope is not None else None
        if remembered is not None:
            note.shared = True
            raise remembered
        on_assume = scope._record if scope is not None else None
        with self._lock:
            hit = None if scope is not None and scope.fresh else self._cache_get(key)
            future = self._inflight.get(key)
            note.shared = hit is not None or future is not None
            note.cache = "aws" if hit is not None else "aws_in_flight" if future is not None else None
            if not note.shared and scope is not None:
                scope._charge(request)
            if hit is None and future is None:
                finished = self._role_state(request.identity).finished
                future = self._submit_locked(
                    key,
                    lambda: self._execute(request, on_assume, finished),
                    cache=True,
                    cache_not_found=request.spec.cache_not_found,
                )
        if hit is not None:
            if isinstance(hit, ReadError):
                raise hit.clone()
            answer: Mapping[str, Any] = _copied(hit)
            return answer
        assert future is not None
        try:
            value = await self._await(future)
        except AssumeRoleFailed as exc:
            if scope is not None:
                scope._remember_assume_failure(request, exc)
            raise
        shared: Mapping[str, Any] = _copied(value)
        return shared

    def _submit_locked(
        self,
        key: tuple[Any, ...],
        job: Callable[[], T],
        *,
        cache: bool,
        cache_not_found: bool = False,
    ) -> concurrent.futures.Future[T]:
        """Start a call that callers asking the same thing join. Caller holds self._lock."""

        def run() -> T:
            try:
                value = job()
            except NotFound as exc:
                if cache and cache_not_found:
                    self._cache_put(key, exc)
                raise
            else:
                if cache:
                    self._cache_put(key, value)
                return value
            finally:
                with self._lock:
                    self._inflight.pop(key, None)

        # The worker runs in a copy of the caller's context, so its log lines carry the caller's correlation id.
        future = self._executor.submit(contextvars.copy_context().run, run)
        self._inflight[key] = future
        return future

    @staticmethod
    async def _await(future: concurrent.futures.Future[T]) -> T:
        wrapped = asyncio.wrap_future(future)
        # If every caller gave up, nobody reads the outcome: mark it read so asyncio does not log it as lost.
        wrapped.add_done_callback(lambda done: done.cancelled() or done.exception())
        # shield: one caller giving up must not cancel the call other callers share.
        return await asyncio.shield(wrapped)

    # ------------------------------------------------------------------------------------------- cache

    def _cache_get(self, key: tuple[Any, ...]) -> Any | None:
        """The cached answer (a result, or a NotFound to raise again), or None. Caller holds self._lock."""
        entry = self._cache.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if expires_at <= self._clock():
            del self._cache[key]
            return None
        return value

    def _cache_put(self, key: tuple[Any, ...], value: Any) -> None:
        if self._config.cache_ttl <= 0:
            return
        with self._lock:
            self._cache[key] = (self._clock() + self._config.cache_ttl, value)
            self._cache.move_to_end(key)
            while len(self._cache) > _CACHE_MAX_ENTRIES:
                self._cache.popitem(last=False)

    # ------------------------------------------------------------------------------------------- worker side

    def _execute(self, request: _Request, on_assume: AssumeListener | None, finished: int) -> dict[str, Any]:
        """Runs in a worker thread: credentials, client, the call; every botocore error becomes a ReadError.

        `finished`: how many AssumeRole attempts for the role had ended when the call was asked for."""
        credentials = self._credentials_to_send(request, on_assume, finished)
        if credentials is None:
            return self._send(request, None)
        try:
            return self._send(request, credentials)
        except CredentialsError:
            # AWS refused the assumed role's credentials (expired early, or the role's sessions were revoked):
            # assume the role again, once.
            self._forget_credentials(request.identity, credentials)
        with self._lock:
            finished = self._role_state(request.identity).finished
        fresh = self._credentials_to_send(request, on_assume, finished)
        try:
            return self._send(request, fresh)
        except CredentialsError:
            if fresh is not None:
                self._forget_credentials(request.identity, fresh)
            raise

    def _credentials_to_send(
        self, request: _Request, on_assume: AssumeListener | None, finished: int
    ) -> _Credentials | None:
        try:
            return self._credentials(request, on_assume, finished)
        except ReadError as exc:
            # Only the AssumeRole went out (and is recorded as such); this call itself never did.
            unsent = exc.clone()
            unsent.sent = False
            raise unsent from None

    def _send(self, request: _Request, credentials: _Credentials | None) -> dict[str, Any]:
        method = xform_name(request.operation)
        params = dict(request.params)
        try:
            client = self._client(request.identity, credentials, request.service, request.region)
            if request.paginate and client.can_paginate(method):
                result = self._paginate(client, request, method, params)
            else:
                if request.paginate:
                    params.pop("PaginationConfig", None)
                result = getattr(client, method)(**params)
        except ReadError as exc:
            exc.account = request.identity.account
            raise
        except _SDK_ERRORS as exc:
            error = self._translate(exc, request)
            self._outcome(request.identity, error)
            raise error from None
        self._outcome(request.identity, None)
        return _strip(result)

    def _paginate(self, client: Any, request: _Request, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Every page merged into one answer.

        Like botocore's build_full_result, but the parts of an answer that are not paged (iam-toolbox's
        requestContext and policies) are kept rather than dropped, and list parts seen on later pages are added."""
        pagination = params.pop("PaginationConfig", None) or {"MaxItems": self._config.max_items}
        model = self._session.get_paginator_model(request.service).get_paginator(request.operation)
        control = {"ResponseMetadata"}
        for name in ("output_token", "more_results"):
            value = model.get(name) or []
            control.update(v for v in (value if isinstance(value, list) else [value]) if v.isidentifier())
        pages = client.get_paginator(method).paginate(**params, PaginationConfig=pagination)
        merged: dict[str, Any] = {}
        result_names = {expression.expression for expression in pages.result_keys}
        for number, page in enumerate(pages):
            if number == 0:
                merged = {k: _copied(v) for k, v in page.items() if k not in control}
                continue
            for expression in pages.result_keys:
                value = expression.search(page)
                existing = expression.search(merged)
                if value is None:
                    continue
                if existing is None:
                    set_value_from_jmespath(merged, expression.expression, value)
                elif isinstance(existing, list):
                    existing.extend(value)
                elif isinstance(value, int | float | str):
                    set_value_from_jmespath(merged, expression.expression, existing + value)
            for key, value in page.items():
                if key in control or key in result_names:
                    continue
                if key not in merged:
                    merged[key] = _copied(value)
                elif isinstance(value, list) and isinstance(merged[key], list):
                    merged[key].extend(v for v in value if v not in merged[key])
        if pages.resume_token is not None:
            # MaxItems stopped the walk: say where the next call would resume.
            merged["NextToken"] = pages.resume_token
        return merged

    def _translate(self, exc: Exception, request: _Request) -> ReadError:
        service, operation, account = request.service, request.operation, request.identity.account

        def error(kind: type[ReadError], reason: str, code: str | None = None) -> ReadError:
            return kind(reason, service=service, operation=operation, account=account, code=code)

        if isinstance(exc, ClientError):
            details = exc.response.get("Error", {})
            code = str(details.get("Code") or "")
            message = str(details.get("Message") or "")
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if code in _CREDENTIAL_CODES:
                return error(
                    CredentialsError, f"AWS rejected the {_holder(request.identity)} credentials ({code})", code
                )
            if code in _DENIED_CODES or (status == 403 and code not in _THROTTLE_CODES):
                return ReadDenied(
                    request.identity.lacks(request.spec.iam_action),
                    service=service,
                    operation=operation,
                    account=account,
                    permission=request.spec.iam_action,
                    code=code,
                    aws_message=message or None,
                )
            if code in _NOT_FOUND_CODES or status == 404:
                # The message tells apart what is missing where one code covers several (Lambda: function or policy).
                detail = f"{code or status}: {message[:200]}" if message else f"{code or status}"
                return error(NotFound, f"{service} {operation}: not found ({detail})", code)
            if code in _THROTTLE_CODES or status == 429:
                attempts = self._config.max_attempts
                tries = f"{attempts} attempts" if attempts != 1 else "1 attempt"
                return error(Throttled, f"AWS kept throttling {service} {operation} ({code}) after {tries}", code)
            if status >= 500:
                return error(Unavailable, f"AWS {service} failed to answer {operation} (HTTP {status} {code})", code)
            return error(
                RequestRejected, f"AWS rejected {service} {operation} as invalid ({code}: {message[:200]})", code
            )
        if isinstance(exc, NoCredentialsError | PartialCredentialsError | CredentialRetrievalError):
            return error(CredentialsError, f"no usable AWS credentials for the bot ({exc})")
        if isinstance(exc, ParamValidationError | NoRegionError):
            return error(RequestRejected, f"{service} {operation} was not sent: {exc}")
        if isinstance(exc, ResponseParserError):
            return error(
                Unavailable,
                f"the {service} endpoint gave an unreadable answer to {operation} "
                "(the operation may not be implemented there)",
            )
        if isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
            return error(Unavailable, f"{service} {operation} timed out ({exc})")
        if isinstance(exc, EndpointConnectionError):
            return error(Unavailable, f"could not reach the {service} endpoint ({exc})")
        return error(Unavailable, f"{service} {operation} failed: {type(exc).__name__}: {exc}")

    def _role_state(self, identity: _Identity) -> _RoleState:
        """Caller holds self._lock."""
        return self._roles.setdefault(identity.key, _RoleState(threading.Lock()))

    def _credentials(
        self, request: _Request, on_assume: AssumeListener | None, finished_before: int
    ) -> _Credentials | None:
        """None for the bot's own credentials; else the assumed role's, shared and refreshed before expiry."""
        identity = request.identity
        if identity.kind == _Who.OWN:
            return None
        with self._lock:
            state = self._role_state(identity)
        with state.lock:
            current = state.credentials
            if current is not None and current.refresh_at > self._clock():
                return current
            # An AssumeRole that ended after this call was asked for has failed: share that answer.
            if state.failure is not None and state.finished > finished_before:
                raise state.failure.clone()
            try:
                fresh = self._assume_role(request, on_assume)
            except ReadError as exc:
                state.failure = exc
                raise
            finally:
                with self._lock:
                    state.finished += 1
            state.credentials, state.failure = fresh, None
            if current is not None:
                self._retire_clients(identity)
            return fresh

    def _assume_role(self, request: _Request, on_assume: AssumeListener | None) -> _Credentials:
        identity = request.identity
        role_arn = self._role_arn(identity)
        params: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": self._config.role_session_name}
        if self._config.external_id:
            params["ExternalId"] = self._config.external_id
        started = time.perf_counter()
        outcome = CallOutcome.OK
        try:
            response = self._assume_role_client(request.region).assume_role(**params)
        except _SDK_ERRORS as exc:
            error = self._translate_assume_role(exc, request, role_arn)
            outcome = error.outcome
            self._outcome(identity, error)
            raise error from None
        finally:
            seconds = time.perf_counter() - started
            metrics.aws_call("sts", "AssumeRole", outcome, seconds)
            if on_assume is not None:
                duration = round(seconds * 1000, 3)
                on_assume(CallRecord("sts", "AssumeRole", identity.account, request.region, outcome, False, duration))
        creds = response["Credentials"]
        expiration: datetime = creds["Expiration"]
        lifetime = expiration.timestamp() - self._wall_clock()
        logger.info("assumed a read role", extra={"fields": {"role_arn": role_arn}})
        return _Credentials(
            access_key=str(creds["AccessKeyId"]),
            secret_key=str(creds["SecretAccessKey"]),
            token=str(creds["SessionToken"]),
            refresh_at=self._clock() + lifetime - self._config.credential_refresh_margin,
        )

    def _translate_assume_role(self, exc: Exception, request: _Request, role_arn: str) -> ReadError:
        # AssumeRole is signed with the bot's own credentials: a rejected credential is the bot's, not the role's.
        translated = self._translate(exc, replace(request, identity=_Identity(_Who.OWN, None)))
        translated.account = request.identity.account
        if isinstance(translated, Throttled | Unavailable | CredentialsError):
            return translated
        which = "the organizations read role" if request.identity.kind == _Who.ORG else "the read-only role"
        code = translated.code or type(exc).__name__
        return AssumeRoleFailed(
            f"could not assume {which} {role_arn} ({code}): it may not exist, its trust policy may not name "
            "this bot, or it may require a different ExternalId",
            service=request.service,
            operation=request.operation,
            account=request.identity.account,
            role_arn=role_arn,
            code=translated.code,
        )

    def _role_arn(self, identity: _Identity) -> str:
        if identity.kind == _Who.ORG:
            assert self._config.org_role_arn is not None
            return self._config.org_role_arn
        assert identity.account is not None
        return self._config.role_arn(identity.account, self._partition_name())

    def _forget_credentials(self, identity: _Identity, stale: _Credentials) -> None:
        """Drop credentials AWS refused, unless another call has already replaced them."""
        with self._lock:
            state = self._roles.get(identity.key)
        if state is None:
            return
        with state.lock:
            if state.credentials is not stale:
                return
            state.credentials = None
        self._retire_clients(identity)

    # ------------------------------------------------------------------------------------------- clients

    def _client(self, identity: _Identity, credentials: _Credentials | None, service: str, region: str) -> Any:
        access_key = credentials.access_key if credentials else None
        key = (identity.key, access_key, service, region)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                if credentials is None:
                    client = self._session.create_client(service, region_name=region, config=self._client_config)
                else:
                    client = self._session.create_client(
                        service,
                        region_name=region,
                        config=self._client_config,
                        aws_access_key_id=credentials.access_key,
                        aws_secret_access_key=credentials.secret_key,
                        aws_session_token=credentials.token,
                    )
                self._clients[key] = client
            return client

    def _assume_role_client(self, region: str) -> Any:
        key = (("assume-role", None), None, "sts", region)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._session.create_client("sts", region_name=region, config=self._client_config)
                # The one client that may call sts:AssumeRole, and nothing else outside the allow-list.
                client.meta.events.unregister(_GUARD_EVENT, unique_id=_GUARD_ID)
                client.meta.events.register(_GUARD_EVENT, _refuse_writes_except_assume_role, unique_id=_GUARD_ID)
                self._clients[key] = client
            return client

    def _retire_clients(self, identity: _Identity) -> None:
        with self._lock:
            stale = [k for k in self._clients if k[0] == identity.key]
            retiring = [self._clients.pop(k) for k in stale]
            # Calls still running on the previous generation have long finished (timeouts are seconds).
            previous = self._retired.get(identity.key, [])
            self._retired[identity.key] = retiring
        for client in previous:
            client.close()

    def _region_name(self) -> str:
        if self._region is None:
            self._region = str(self._session.get_config_variable("region") or _FALLBACK_REGION)
        return self._region

    def _partition_name(self) -> str:
        if self._partition is None:
            region = self._region or _FALLBACK_REGION
            self._partition = str(self._session.get_partition_for_region(region))
        return self._partition


def _duration(seconds: float) -> str:
    if seconds >= 60:
        return f"{math.ceil(seconds / 60)} min"
    return f"{max(math.ceil(seconds), 1)} s"


def _holder(identity: _Identity) -> str:
    return {_Who.OWN: "bot's own", _Who.READ: "read-only role's", _Who.ORG: "organizations read role's"}[identity.kind]


class ReadScope(RecordingReader):
    """One diagnosis's view of the adapter: a budget of AWS reads and a record of every call."""

    def __init__(
        self,
        adapter: AwsAdapter,
        budget: int,
        correlation_id: str | None,
        accounts: frozenset[str] | None = None,
        *,
        fresh: bool = False,
    ):
        self._adapter = adapter
        self.budget = budget
        self.correlation_id = correlation_id
        # The only accounts (read role) this scope may read, within IAMWHY_ACCOUNTS; None: no narrower limit.
        self.accounts = accounts
        # Cached answers are not used (an identical call already in flight is still joined: it is no older).
        self.fresh = fresh
        self._spent = 0
        self._records: list[CallRecord] = []
        self._records_lock = threading.Lock()
        self._assume_failures: dict[_IdentityKey, AssumeRoleFailed] = {}

    @property
    def records(self) -> tuple[CallRecord, ...]:
        with self._records_lock:
            return tuple(self._records)

    @property
    def remaining(self) -> int:
        return max(self.budget - self._spent, 0)

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
        return await self._adapter._call(self, service, operation, params, account, role, region, paginate)

    def _charge(self, request: _Request) -> None:
        if self._spent >= self.budget:
            raise BudgetExceeded(
                f"this diagnosis has used its budget of {self.budget} AWS reads",
                service=request.service,
                operation=request.operation,
                account=request.identity.account,
            )
        self._spent += 1

    def _record(self, record: CallRecord) -> None:
        with self._records_lock:
            self._records.append(record)
        logger.debug(
            "aws call",
            extra={
                "fields": {
                    "service": record.service,
                    "operation": record.operation,
                    "account": record.account,
                    "region": record.region,
                    "outcome": str(record.outcome),
                    "cached": record.cached,
                    "ms": record.duration_ms,
                    "correlation_id": self.correlation_id,
                }
            },
        )

    def _assume_failure(self, request: _Request) -> ReadError | None:
        # Within one diagnosis a role that could not be assumed is not retried; a new diagnosis tries again.
        failure = self._assume_failures.get(request.identity.key)
        if failure is None:
            return None
        error = failure.clone()
        error.service, error.operation = request.service, request.operation
        return error

    def _remember_assume_failure(self, request: _Request, error: AssumeRoleFailed) -> None:
        self._assume_failures[request.identity.key] = error
