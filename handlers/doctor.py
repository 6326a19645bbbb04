"""The Slack side of `iamwhy doctor`: the bot token (auth.test), its scopes against the manifest's, the signing
secret's shape, the Socket Mode token, and whether each configured channel exists with the bot in it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from diagnostics.doctor import Line, Section, Status
from handlers.ids import BOT_SCOPES

GROUP = "Slack"
# Slack's signing secrets are 32 letters and digits (hexadecimal in practice).
SIGNING_SECRET_LENGTH = 32
_SIGNING_SECRET = re.compile(r"[0-9A-Za-z]+")
# Answers meaning "this token will never work", as opposed to a passing failure.
REFUSED = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"})
# What each scope is for, so that a missing one is understood before it is granted.
SCOPE_USES: Mapping[str, str] = {
    "app_mentions:read": "answer @iamwhy mentions",
    "channels:history": "read pastes in public channels",
    "channels:read": "look up public channels (these checks, the Home tab)",
    "chat:write": "post answers",
    "commands": "the /iamwhy command and the message shortcut",
    "groups:history": "read pastes in private channels",
    "groups:read": "look up private channels (these checks, the Home tab)",
    "im:history": "answer direct messages",
    "reactions:write": "react 👀 to pastes",
}
REINSTALL = (
    "then reinstall the app to the workspace (Install App › Reinstall to Workspace): Slack grants changed scopes only "
    "on reinstall"
)


@dataclass(frozen=True)
class SlackSetup:
    """What the Slack checks are given: the parts of the configuration they judge (secrets stay in here)."""

    # None when SLACK_BOT_TOKEN (or IAMWHY_SLACK_API_URL) is missing or malformed: the configuration line says so.
    bot_token: str | None
    api_url: str
    signing_secret: str | None
    app_token: str | None
    socket_mode: bool
    alert_channels: tuple[str, ...] = ()
    # None: every channel the bot is in (nothing to look up).
    watch_channels: tuple[str, ...] | None = None


def _line(id: str, title: str, status: Status, tried: str, result: str, fix: str | None = None, **kw: Any) -> Line:
    return Line(id, GROUP, title, status, tried, result, fix, **kw)


async def check_slack(setup: SlackSetup, client: AsyncWebClient | None) -> Section:
    lines: list[Line] = []
    auth: Mapping[str, Any] | None = None
    scopes: str | None = None
    if client is None or setup.bot_token is None:
        lines.append(
            _line(
                "slack.auth",
                "Bot token",
                Status.SKIPPED,
                "auth.test with SLACK_BOT_TOKEN",
                "not tried: SLACK_BOT_TOKEN is not usable (see Configuration)",
            )
        )
    else:
        line, auth, scopes = await _auth(setup, client)
        lines.append(line)
    lines.append(_scopes(auth, scopes))
    lines.append(_signing_secret(setup))
    lines.append(await _app_token(setup, client))
    bot_name = str(auth.get("user") or "iamwhy") if auth else "iamwhy"
    for channel, role in _channels(setup):
        lines.append(await _channel(client if auth else None, channel, role, bot_name))
    return Section(tuple(lines))


async def _auth(setup: SlackSetup, client: AsyncWebClient) -> tuple[Line, Mapping[str, Any] | None, str | None]:
    tried = f"auth.test with SLACK_BOT_TOKEN at {setup.api_url}"
    try:
        response = await client.auth_test()
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "error")
        if error in REFUSED:
            fix = (
                "Set SLACK_BOT_TOKEN to the Bot User OAuth Token (xoxb-…) of the iamwhy app (OAuth & Permissions). "
                "If the app was uninstalled or the token revoked, reinstall the app (Install App) and use the new one."
            )
        else:
            fix = "Run the doctor again; if Slack keeps refusing auth.test, see https://slack-status.com."
        return _line("slack.auth", "Bot token", Status.FAILED, tried, f"Slack refused it ({error})", fix), None, None
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        fix = (
            f"Let the bot reach {setup.api_url} over HTTPS (egress rules, HTTPS_PROXY); IAMWHY_SLACK_API_URL changes "
            "the address and is meant only for emulators."
        )
        result = f"Slack could not be reached ({type(exc).__name__})"
        return _line("slack.auth", "Bot token", Status.FAILED, tried, result, fix), None, None
    data: Mapping[str, Any] = response.data if isinstance(response.data, Mapping) else {}
    result = (
        f"accepted: workspace {data.get('team')} ({data.get('team_id')}) at {data.get('url')}, bot user "
        f"@{data.get('user')} ({data.get('user_id')})"
    )
    details = {k: data.get(k) for k in ("team", "team_id", "url", "user", "user_id", "bot_id")}
    headers = {str(k).lower(): str(v) for k, v in (response.headers or {}).items()}
    line = _line("slack.auth", "Bot token", Status.OK, tried, result, details=details)
    return line, data, headers.get("x-oauth-scopes")


def _scopes(auth: Mapping[str, Any] | None, header: str | None) -> Line:
    tried = "the scopes auth.test says were granted (x-oauth-scopes) against manifest.yml's"
    if auth is None:
        return _line("slack.scopes", "Scopes", Status.SKIPPED, tried, "not tried: the bot token did not work")
    if header is None:
        return _line(
            "slack.scopes",
            "Scopes",
            Status.WARNING,
            tried,
            "Slack did not say which scopes were granted",
            f"Compare OAuth & Permissions › Bot Token Scopes with manifest.yml: {', '.join(sorted(BOT_SCOPES))}.",
        )
    granted = frozenset(s.strip() for s in header.split(",") if s.strip())
    missing, extra = sorted(BOT_SCOPES - granted), sorted(granted - BOT_SCOPES)
    details = {"granted": sorted(granted), "missing": missing, "extra": extra}
    if missing:
        uses = "; ".join(f"{s}: {SCOPE_USES.get(s, 'see manifest.yml')}" for s in missing)
        fix = (
            f"Add {', '.join(missing)} under OAuth & Permissions › Scopes › Bot Token Scopes (or paste manifest.yml "
            f"into App Manifest), {REINSTALL}. What they are for: {uses}."
        )
        result = f"missing {', '.join(missing)}" + (
            f"; also granted {', '.join(extra)}, which iamwhy does not use" if extra else ""
        )
        return _line("slack.scopes", "Scopes", Status.FAILED, tried, result, fix, details=details)
    if extra:
        fix = f"Remove {', '.join(extra)} under OAuth & Permissions › Scopes (iamwhy needs only manifest.yml's), "
        fix += f"{REINSTALL}."
        result = f"all {len(BOT_SCOPES)} granted, and also {', '.join(extra)}, which iamwhy does not use"
        return _line("slack.scopes", "Scopes", Status.WARNING, tried, result, fix, details=details)
    return _line("slack.scopes", "Scopes", Status.OK, tried, f"all {len(BOT_SCOPES)} granted", details=details)


def _signing_secret(setup: SlackSetup) -> Line:
    tried = "the shape of SLACK_SIGNING_SECRET (its value is not shown)"
    if setup.socket_mode:
        return _line("slack.signing_secret", "Signing secret", Status.SKIPPED, tried, "not used in Socket Mode")
    secret = setup.signing_secret
    where = "Basic Information › App Credentials › Signing Secret (Show)"
    if not secret:
        fix = f"Set SLACK_SIGNING_SECRET to the app's {where}, or run in Socket Mode (--socket-mode, SLACK_APP_TOKEN)."
        return _line("slack.signing_secret", "Signing secret", Status.FAILED, tried, "not set", fix)
    if not _SIGNING_SECRET.fullmatch(secret):
        result = "holds characters a signing secret never has (quotes or spaces copied along?)"
        fix = f"Set SLACK_SIGNING_SECRET to exactly the 32 letters and digits of {where}."
        return _line("slack.signing_secret", "Signing secret", Status.FAILED, tried, result, fix)
    if len(secret) != SIGNING_SECRET_LENGTH:
        result = f"is {len(secret)} characters; a Slack signing secret is {SIGNING_SECRET_LENGTH}"
        fix = (
            f"Copy the Signing Secret ({where}), not the Verification Token or the Client Secret: every request "
            "Slack sends would be refused with 401."
        )
        return _line("slack.signing_secret", "Signing secret", Status.FAILED, tried, result, fix)
    result = (
        "has the shape of a Slack signing secret; only Slack's own requests can prove it is this app's "
        "(refused ones are logged with status 401)"
    )
    return _line("slack.signing_secret", "Signing secret", Status.OK, tried, result)


async def _app_token(setup: SlackSetup, client: AsyncWebClient | None) -> Line:
    tried = "apps.connections.open with SLACK_APP_TOKEN"
    token = setup.app_token
    if not setup.socket_mode and not token:
        return _line("slack.app_token", "Socket Mode token", Status.SKIPPED, tried, "not used (HTTP mode)")
    status = Status.FAILED if setup.socket_mode else Status.WARNING
    create = (
        "Create an app-level token with the connections:write scope (Basic Information › App-Level Tokens), "
        "set SLACK_APP_TOKEN=xapp-…, and turn Socket Mode on (Socket Mode › Enable Socket Mode)."
    )
    if not token:
        return _line("slack.app_token", "Socket Mode token", status, tried, "not set", create)
    if not token.startswith("xapp-"):
        return _line(
            "slack.app_token",
            "Socket Mode token",
            status,
            tried,
            "is not an app-level token (they start xapp-)",
            create,
        )
    if client is None:
        return _line(
            "slack.app_token", "Socket Mode token", Status.SKIPPED, tried, "not tried: Slack is not configured"
        )
    try:
        await client.apps_connections_open(app_token=token)
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "error")
        return _line("slack.app_token", "Socket Mode token", status, tried, f"Slack refused it ({error})", create)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return _line(
            "slack.app_token",
            "Socket Mode token",
            status,
            tried,
            f"Slack could not be reached ({type(exc).__name__})",
            f"Let the bot reach {setup.api_url} and Slack's websocket hosts (wss-primary.slack.com) over HTTPS.",
        )
    return _line(
        "slack.app_token", "Socket Mode token", Status.OK, tried, "accepted (a Socket Mode connection can open)"
    )


def _channels(setup: SlackSetup) -> list[tuple[str, str]]:
    roles: dict[str, list[str]] = {}
    for channel in setup.alert_channels:
        roles.setdefault(channel, []).append("an alert channel (IAMWHY_ALERT_CHANNELS)")
    for channel in setup.watch_channels or ():
        roles.setdefault(channel, []).append("a watched channel (IAMWHY_WATCH_CHANNELS)")
    return [(channel, " and ".join(r)) for channel, r in roles.items()]


async def _channel(client: AsyncWebClient | None, channel: str, role: str, bot: str) -> Line:
    tried = f"conversations.info for {channel}, {role}"
    invite = f"In that channel, run /invite @{bot}"
    if client is None:
        return _line(
            "slack.channel",
            "Channel",
            Status.SKIPPED,
            tried,
            "not tried: the bot token did not work",
            subject=channel,
        )
    try:
        response = await client.conversations_info(channel=channel)
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "error")
        if error == "channel_not_found":
            result = "no such channel that the bot can see"
            fix = (
                f"Check the id (open the channel › its name › About: Channel ID at the bottom; names do not work). "
                f"A private channel is invisible to the bot until it is invited: {invite}."
            )
        elif error == "missing_scope":
            needed = str(exc.response.get("needed") or "channels:read, groups:read")
            result = f"the bot may not look channels up (missing {needed})"
            fix = f"Add {needed} under OAuth & Permissions › Bot Token Scopes, {REINSTALL}."
        else:
            result = f"Slack refused to look it up ({error})"
            fix = "Run the doctor again; if it persists, check the channel id and the bot token."
        return _line("slack.channel", "Channel", Status.FAILED, tried, result, fix, subject=channel)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return _line(
            "slack.channel",
            "Channel",
            Status.FAILED,
            tried,
            f"Slack could not be reached ({type(exc).__name__})",
            "Run the doctor again once Slack is reachable.",
            subject=channel,
        )
    info = response.get("channel") or {}
    name = f"#{info.get('name')}" if info.get("name") else channel
    details = {"name": info.get("name"), "private": bool(info.get("is_private")), "member": bool(info.get("is_member"))}
    if info.get("is_archived"):
        return _line(
            "slack.channel",
            "Channel",
            Status.FAILED,
            tried,
            f"{name} is archived",
            f"Unarchive {name}, or take {channel} out of the configuration.",
            subject=channel,
            details=details,
        )
    if not info.get("is_member"):
        return _line(
            "slack.channel",
            "Channel",
            Status.FAILED,
            tried,
            f"{name} exists, but the bot is not a member",
            f"{invite} ({name}): the bot sees posts only in channels it is in.",
            subject=channel,
            details=details,
        )
    return _line(
        "slack.channel",
        "Channel",
        Status.OK,
        tried,
        f"{name} exists and the bot is a member",
        subject=channel,
        details=details,
    )
