"""GET /healthz: whether Slack and AWS accept the bot's credentials (never the credentials themselves) and the state
store answers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from diagnostics.reader import ReadError
from diagnostics.state import State

logger = logging.getLogger("iamwhy.health")

# A probe answers with a short public detail (the Slack team id, the AWS account id) or raises.
Probe = Callable[[], Awaitable[str | None]]

# Container orchestrators probe every few seconds; Slack and AWS are asked at most this often.
CACHE_SECONDS = 15.0
PROBE_TIMEOUT = 5.0


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str | None

    def json(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail}


class ProbeFailed(Exception):
    """A probe failed for a reason it words itself (the check's detail)."""


def state_probe(state: State) -> Probe:
    """The state store (seen events, the job journal...) answers a read; its detail is where it lives."""

    async def probe() -> str | None:
        try:
            await state.jobs.pending()
        except Exception as exc:  # each backend raises its own errors (sqlite3, redis): log them, show one word
            logger.warning("the state store did not answer", exc_info=True)
            raise ProbeFailed("unavailable") from exc
        return state.where

    return probe


def slack_probe(client: AsyncWebClient) -> Probe:
    async def probe() -> str | None:
        response = await client.auth_test()
        team = response.get("team_id")
        return str(team) if team else None

    return probe


class Health:
    """The health report, cached briefly so that frequent probes cost Slack and AWS nothing."""

    def __init__(
        self,
        probes: Mapping[str, Probe],
        *,
        facts: Mapping[str, str] | None = None,
        cache_seconds: float = CACHE_SECONDS,
        timeout: float = PROBE_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._probes = dict(probes)
        self._facts = dict(facts or {})
        self._cache_seconds = cache_seconds
        self._timeout = timeout
        self._clock = clock
        self._lock = asyncio.Lock()
        self._cached: tuple[float, dict[str, Any]] | None = None

    async def report(self) -> dict[str, Any]:
        async with self._lock:
            now = self._clock()
            if self._cached is not None and self._cached[0] > now:
                return self._cached[1]
            names = list(self._probes)
            results = await asyncio.gather(*(self._run(name) for name in names))
            checks = {name: result.json() for name, result in zip(names, results, strict=True)}
            report: dict[str, Any] = {"ok": all(r.ok for r in results), **self._facts, "checks": checks}
            self._cached = (now + self._cache_seconds, report)
            return report

    async def handle(self, request: web.Request) -> web.Response:
        report = await self.report()
        return web.json_response(report, status=200 if report["ok"] else 503)

    async def _run(self, name: str) -> ProbeResult:
        try:
            return ProbeResult(True, await asyncio.wait_for(self._probes[name](), self._timeout))
        except ReadError as exc:
            return ProbeResult(False, str(exc.outcome))
        except SlackApiError as exc:
            return ProbeResult(False, str(exc.response.get("error") or "error"))
        except (aiohttp.ClientError, TimeoutError, OSError):
            return ProbeResult(False, "unreachable")
        except ProbeFailed as exc:
            return ProbeResult(False, str(exc))
        except Exception:  # a probe's unexpected error is a failed check, never a failed health endpoint
            logger.exception("health probe %s failed", name)
            return ProbeResult(False, "error")
