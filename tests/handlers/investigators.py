"""Investigators for tests: the real offline one, counted or held back, and one that fails the way a test needs."""

from __future__ import annotations

import asyncio
from collections.abc import Collection

from diagnostics.investigate import Investigation, OfflineInvestigator


class CountingInvestigator:
    """The offline investigator, counting calls, recording the texts it got, and optionally held at a gate."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.texts: list[str] = []
        # The accounts each investigation was limited to (None: no channel scope).
        self.accounts: list[frozenset[str] | None] = []
        self.correlation_ids: list[str | None] = []
        # Whether each investigation was asked to read everything again (a re-run).
        self.fresh: list[bool] = []
        self.gate = gate
        self._inner = OfflineInvestigator()

    @property
    def calls(self) -> int:
        return len(self.texts)

    async def investigate(
        self,
        text: str,
        *,
        correlation_id: str | None = None,
        accounts: Collection[str] | None = None,
        fresh: bool = False,
    ) -> Investigation:
        self.texts.append(text)
        self.fresh.append(fresh)
        self.accounts.append(None if accounts is None else frozenset(accounts))
        self.correlation_ids.append(correlation_id)
        if self.gate is not None:
            await self.gate.wait()
        return await self._inner.investigate(text, correlation_id=correlation_id)


class FailingInvestigator:
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def investigate(
        self,
        text: str,
        *,
        correlation_id: str | None = None,
        accounts: Collection[str] | None = None,
        fresh: bool = False,
    ) -> Investigation:
        raise self.error
