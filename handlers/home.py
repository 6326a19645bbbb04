"""The Home tab: on app_home_opened, publish what iamwhy is, its status, the viewer's recent diagnoses and the votes.

Recent diagnoses are those the viewer asked for, and those answered in a thread of a channel the viewer and the bot
are both in (users.conversations); a private answer is only ever listed for the person who asked. The status comes
from the doctor's cached report: a stale one is shown at once and the tab is published again when a fresh one is in.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import OrderedDict
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from diagnostics.state import AuditEntry
from handlers import ids
from handlers.dedupe import first_delivery
from handlers.deps import Deps
from handlers.status_blocks import RECENT_DIAGNOSES, HomeContent, RecentDiagnosis, render_home

logger = logging.getLogger("iamwhy.slack")

# The status on the tab may be this old before a fresh check runs (opening Home does not run the doctor each time).
STATUS_MAX_AGE = 300.0
# A person's channels are asked again after this long; Slack allows users.conversations about 50 times a minute.
CHANNELS_TTL = 300.0
CHANNELS_CACHED_USERS = 1000
CHANNEL_PAGE = 200
CHANNEL_PAGES = 5
# Entries read from the audit log for the viewer's channels, before private answers of others are left out.
AUDIT_SCAN = 200


class Memberships:
    """The channels each person shares with the bot, from users.conversations, kept briefly."""

    def __init__(self, *, ttl: float = CHANNELS_TTL, max_users: int = CHANNELS_CACHED_USERS) -> None:
        self._ttl = ttl
        self._max = max_users
        self._known: OrderedDict[str, tuple[float, frozenset[str]]] = OrderedDict()

    async def channels(self, client: AsyncWebClient, user: str) -> frozenset[str]:
        now = time.monotonic()
        cached = self._known.get(user)
        if cached is not None and cached[0] > now:
            return cached[1]
        found: set[str] = set()
        cursor: str | None = None
        for _ in range(CHANNEL_PAGES):
            page = await client.users_conversations(
                user=user,
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=CHANNEL_PAGE,
                cursor=cursor,
            )
            found.update(str(c["id"]) for c in page.get("channels") or [] if c.get("id"))
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                break
        channels = frozenset(found)
        self._known.pop(user, None)
        self._known[user] = (now + self._ttl, channels)
        while len(self._known) > self._max:
            self._known.popitem(last=False)
        return channels


class Workspace:
    """The workspace's address from auth.test, for links to threads; asked until it is known."""

    def __init__(self) -> None:
        self.url: str | None = None

    async def address(self, client: AsyncWebClient) -> str | None:
        if self.url is None:
            try:
                answer = await client.auth_test()
            except SlackApiError as exc:
                logger.warning("auth.test failed", extra={"fields": {"slack_error": exc.response.get("error")}})
                return None
            self.url = str(answer.get("url") or "") or None
        return self.url


def register(app: AsyncApp, deps: Deps) -> None:
    memberships = Memberships()
    workspace = Workspace()

    async def handle_app_home_opened_event(
        event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        if not await first_delivery(context):
            return
        user = event.get("user")
        if event.get("tab") != "home" or not user:
            return
        content = await home_content(deps, client, str(user), memberships, workspace)
        await client.views_publish(user_id=user, view=render_home(content))
        if content.checking and deps.status is not None:
            report = await deps.status.get(max_age=STATUS_MAX_AGE)
            fresh = dataclasses.replace(content, status=report, checking=False)
            await client.views_publish(user_id=user, view=render_home(fresh))

    app.event(ids.Event.APP_HOME_OPENED)(handle_app_home_opened_event)


async def home_content(
    deps: Deps, client: AsyncWebClient, user: str, memberships: Memberships, workspace: Workspace
) -> HomeContent:
    note: str | None = None
    try:
        channels: frozenset[str] = await memberships.channels(client, user)
    except SlackApiError as exc:
        channels = frozenset()
        note = (
            "Diagnoses answered in your channels are not listed: Slack refused users.conversations "
            f"({exc.response.get('error')}). `/iamwhy status` says what to fix."
        )
    latest = deps.status.latest() if deps.status is not None else None
    fresh = latest is not None and latest[1] <= STATUS_MAX_AGE
    return HomeContent(
        help=deps.help,
        diagnoses=await recent_diagnoses(deps, user, channels),
        feedback=await deps.state.feedback.totals(),
        workspace_url=await workspace.address(client),
        status=latest[0] if latest is not None else None,
        status_age=latest[1] if latest is not None else None,
        checking=deps.status is not None and not fresh,
        status_offered=deps.status is not None,
        channels_note=note,
    )


async def recent_diagnoses(deps: Deps, user: str, channels: frozenset[str]) -> tuple[RecentDiagnosis, ...]:
    """The newest diagnoses the viewer asked for or that were answered in a thread of one of their channels."""
    audit = deps.state.audit
    mine = await audit.query(user=user, limit=RECENT_DIAGNOSES)
    theirs = await audit.query(channels=channels, limit=AUDIT_SCAN) if channels else ()
    entries: dict[str, AuditEntry] = {}
    for entry in (*mine, *theirs):
        # A private answer (no thread) is listed only for whoever asked for it.
        if entry.user == user or entry.thread_ts is not None:
            entries.setdefault(entry.id, entry)
    newest = sorted(entries.values(), key=lambda e: e.at, reverse=True)
    items = [RecentDiagnosis(e.at, e.channel, e.thread_ts, d) for e in newest for d in e.diagnoses]
    return tuple(items[:RECENT_DIAGNOSES])
