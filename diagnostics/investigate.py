"""The investigation entry point: pasted text in, one Diagnosis per denial out (Slack and the CLI both call it)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Protocol

from diagnostics.diagnose import diagnose, fallback
from diagnostics.explain import explain_scan_offline
from diagnostics.gather import GatherOptions, gather
from diagnostics.model import DeniedRequest, Diagnosis, PrincipalType, Provenance, ScanResult
from diagnostics.parse import scan
from diagnostics.reader import AwsConfig, CallRecord, ReadError, RecordingReader, requests_sent
from diagnostics.remediation import policy_holder
from diagnostics.secrets import SecretKind, find_secrets

logger = logging.getLogger("iamwhy.investigate")


@dataclass(frozen=True)
class Investigation:
    """Everything found in one piece of text, and the answer for each denial, in the order they appeared."""

    scan: ScanResult
    diagnoses: tuple[Diagnosis, ...]
    duration_ms: float
    # Every AWS call the diagnoses asked for, in order (for the audit trail).
    reads: tuple[CallRecord, ...] = ()


class Investigator(Protocol):
    async def investigate(
        self,
        text: str,
        *,
        correlation_id: str | None = None,
        accounts: Collection[str] | None = None,
        fresh: bool = False,
    ) -> Investigation:
        """Diagnose every denial in `text`. `accounts`, when given, are the only accounts this investigation may
        read (a Slack channel's scope, within IAMWHY_ACCOUNTS); denials in others are answered from the message.
        `fresh`: read the accounts again rather than reuse recent reads (a re-run after a fix)."""
        ...


class OfflineInvestigator:
    """Answers from the message alone: nothing is read from AWS (`iamwhy explain --offline`)."""

    async def investigate(
        self,
        text: str,
        *,
        correlation_id: str | None = None,
        accounts: Collection[str] | None = None,
        fresh: bool = False,
    ) -> Investigation:
        started = time.perf_counter()
        # Off the event loop: a large paste takes tens of milliseconds to read, and the loop answers Slack meanwhile.
        found = await asyncio.to_thread(scan, text)
        diagnoses = explain_scan_offline(found)
        return Investigation(found, diagnoses, (time.perf_counter() - started) * 1000)


@dataclass(frozen=True)
class InvestigationSettings:
    """How far one live diagnosis goes."""

    # AWS reads one diagnosis may send; None: the adapter's call_budget.
    budget: int | None = None
    # IAM Access Troubleshooter writes its record asynchronously: ask this many times, doubling the delay.
    authorization_attempts: int = 4
    authorization_delay: float = 0.5
    # S3 ARNs name no account: how many readable accounts are asked whether they own the bucket.
    bucket_owner_candidates: int = 5
    # How far back CloudTrail is searched for the denial's event.
    lookup_window: timedelta = timedelta(hours=24)
    # Cross-check with iam:SimulatePrincipalPolicy.
    simulate: bool = True


class AwsAccess(Protocol):
    """What the live investigation uses of the AWS adapter (diagnostics.aws.AwsAdapter implements it)."""

    @property
    def config(self) -> AwsConfig: ...

    def scope(
        self,
        *,
        budget: int | None = None,
        correlation_id: str | None = None,
        accounts: Collection[str] | None = None,
        fresh: bool = False,
    ) -> RecordingReader: ...

    async def own_account(self) -> str: ...


class LiveInvestigator:
    """Reads the target account (read-only) and diagnoses each denial; falls back to the message when it cannot."""

    def __init__(self, adapter: AwsAccess, *, settings: InvestigationSettings = InvestigationSettings()) -> None:
        self._adapter = adapter
        self._settings = settings

    async def investigate(
        self,
        text: str,
        *,
        correlation_id: str | None = None,
        accounts: Collection[str] | None = None,
        fresh: bool = False,
    ) -> Investigation:
        started = time.perf_counter()
        # Off the event loop: a large paste takes tens of milliseconds to read, and the loop answers Slack meanwhile.
        found = await asyncio.to_thread(scan, text)
        long_term = _long_term_key(text)
        limit = None if accounts is None else frozenset(accounts)
        done = await asyncio.gather(
            *(self._diagnose(d, correlation_id, limit, long_term_key=long_term, fresh=fresh) for d in found.denials)
        )
        diagnoses = tuple(diagnosis for diagnosis, _ in done)
        reads = tuple(record for _, records in done for record in records)
        return Investigation(found, diagnoses, (time.perf_counter() - started) * 1000, reads)

    async def diagnose(
        self, request: DeniedRequest, *, correlation_id: str | None = None, accounts: Collection[str] | None = None
    ) -> Diagnosis:
        limit = None if accounts is None else frozenset(accounts)
        diagnosis, _ = await self._diagnose(request, correlation_id, limit, long_term_key=False)
        return diagnosis

    async def _diagnose(
        self,
        request: DeniedRequest,
        correlation_id: str | None,
        limit: frozenset[str] | None,
        *,
        long_term_key: bool,
        fresh: bool = False,
    ) -> tuple[Diagnosis, tuple[CallRecord, ...]]:
        started = time.perf_counter()
        scope = self._adapter.scope(
            budget=self._settings.budget, correlation_id=correlation_id, accounts=limit, fresh=fresh
        )
        try:
            diagnosis = await self._live(request, scope, limit, long_term_key)
        except Exception:
            reference = correlation_id or uuid.uuid4().hex[:8]
            logger.exception("investigation failed ref=%s", reference)
            diagnosis = fallback(request, f"the live investigation hit an internal error (reference {reference})")
        records = scope.records
        provenance = replace(
            diagnosis.provenance,
            aws_reads=requests_sent(records),
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return replace(diagnosis, provenance=provenance), records

    async def _live(
        self, request: DeniedRequest, scope: RecordingReader, limit: frozenset[str] | None, long_term_key: bool
    ) -> Diagnosis:
        config = self._adapter.config
        try:
            own = await self._adapter.own_account()
        except ReadError as exc:
            return fallback(request, exc.reason)
        account = _account(request)
        if account is None:
            return fallback(request, "the message names no AWS account to read")
        if account not in config.allowed_accounts and account != own:
            return fallback(
                request,
                f"account {account} is not in IAMWHY_ACCOUNTS, so iamwhy does not read it (add it to IAMWHY_ACCOUNTS "
                "and deploy the read-only role there to get a live diagnosis)",
            )
        if limit is not None and account not in limit:
            return fallback(request, outside_channel_scope(account, limit))
        role_name = config.role_arn(account).rsplit("/", 1)[-1]
        options = GatherOptions(
            own_account=own,
            allowed_accounts=config.allowed_accounts,
            limit=limit,
            authorization_attempts=self._settings.authorization_attempts,
            authorization_delay=self._settings.authorization_delay,
            bucket_owner_candidates=self._settings.bucket_owner_candidates,
            lookup_window=self._settings.lookup_window,
            simulate=self._settings.simulate,
            long_term_key=long_term_key,
        )
        snapshot = await gather(scope, request, options)
        # Evaluation is pure computation: off the event loop, like the parsing.
        diagnosis = await asyncio.to_thread(diagnose, snapshot)
        checked = f"{role_name} in {', '.join(snapshot.accounts_read)}" if snapshot.accounts_read else None
        return replace(diagnosis, provenance=Provenance(checked_as=checked))


def outside_channel_scope(account: str, limit: Collection[str]) -> str:
    """Why an account a channel may not see is not read (IAMWHY_CHANNEL_ACCOUNTS)."""
    allowed = ", ".join(sorted(limit)) if limit else "no account"
    return (
        f"account {account} may not be read from this channel (IAMWHY_CHANNEL_ACCOUNTS allows {allowed} here), so "
        "iamwhy does not read it; ask in a channel that may read it"
    )


def _account(request: DeniedRequest) -> str | None:
    principal = request.principal
    if principal is not None and principal.type is not PrincipalType.UNKNOWN and principal.account_id:
        return principal.account_id
    if request.account_id:
        return request.account_id
    holder = policy_holder(request.resource_arn)
    return holder.account_id if holder is not None else None


def _long_term_key(text: str) -> bool:
    """True when every access key id in the text is a long-term one (AKIA...): requests signed with it carry no MFA."""
    prefixes = {text[s.start : s.start + 4] for s in find_secrets(text) if s.kind is SecretKind.ACCESS_KEY_ID}
    return prefixes == {"AKIA"}
