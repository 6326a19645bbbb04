"""Who may see what: the accounts each channel's questions may read, and where full details may go to a channel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# The IAMWHY_CHANNEL_ACCOUNTS entry for every channel not listed by id.
OTHER_CHANNELS = "*"


@dataclass(frozen=True)
class Access:
    """Per-channel account scoping (IAMWHY_CHANNEL_ACCOUNTS) and the channels shown full details in threads."""

    # Channel id (or OTHER_CHANNELS) -> the accounts questions asked there may read, within IAMWHY_ACCOUNTS.
    channel_accounts: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    # Channels whose threads and shared answers show authorization ids and the policy statements read from AWS.
    detail_channels: frozenset[str] = frozenset()

    def accounts_for(self, channel: str | None) -> frozenset[str] | None:
        """The only accounts an investigation asked from `channel` may read; None: every IAMWHY_ACCOUNTS account.

        A question with no channel (a modal opened outside one) falls under the entry for other channels."""
        if channel is not None and channel in self.channel_accounts:
            return self.channel_accounts[channel]
        return self.channel_accounts.get(OTHER_CHANNELS)

    def shows_details(self, channel: str | None) -> bool:
        """Whether answers everyone in `channel` can read may show the sensitive details."""
        return channel is not None and channel in self.detail_channels
