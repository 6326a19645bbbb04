"""What every Slack surface is given at registration: the investigator, the state, the worker, where to listen,
who sees what."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from diagnostics.doctor import StatusSource
from diagnostics.investigate import Investigator
from diagnostics.state import State
from handlers.access import Access
from handlers.blocks import HelpFacts

if TYPE_CHECKING:
    from handlers.jobs import Worker


@dataclass(frozen=True)
class Channels:
    """Which channels' posts get automatic answers."""

    # Posts here are answered whoever wrote them, other bots and integrations included.
    alert: frozenset[str] = frozenset()
    # Human posts are answered here; None means every channel the bot is a member of.
    watch: frozenset[str] | None = None

    def is_alert(self, channel: str) -> bool:
        return channel in self.alert

    def is_watched(self, channel: str) -> bool:
        return self.watch is None or channel in self.watch or channel in self.alert


@dataclass(frozen=True)
class Deps:
    investigator: Investigator
    state: State
    channels: Channels
    help: HelpFacts
    # Runs the journaled answers (a bounded number of investigations at once) and keeps storm counts.
    worker: Worker
    # The doctor's checklist for `/iamwhy status` and the Home tab; None where it is not offered.
    status: StatusSource | None = None
    # Which accounts each channel's questions may read, and where details may be shown to a channel.
    access: Access = field(default_factory=Access)
