"""manifest.yml stays exactly in step with the code: command, shortcut, events handled, and the minimal scopes."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk.web.async_client import AsyncWebClient

from handlers.ids import BOT_SCOPES, SUBSCRIPTIONS, Command, Event, Shortcut
from tests.conftest import ServedSlackApp
from tests.harness.fake_slack import SCOPES, message_event

ROOT = Path(__file__).resolve().parent.parent
MANIFEST: dict[str, Any] = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))

# Reviewed against Slack's method and event reference: the bot scopes each needs (empty: none). The conversation
# methods need one scope per kind of channel asked about: channels:read for public, groups:read for private ones.
METHOD_SCOPES: dict[str, frozenset[str]] = {
    "auth.test": frozenset(),
    "chat.postMessage": frozenset({"chat:write"}),
    "chat.update": frozenset({"chat:write"}),
    "chat.postEphemeral": frozenset({"chat:write"}),
    "chat.getPermalink": frozenset(),
    "reactions.add": frozenset({"reactions:write"}),
    "views.open": frozenset(),
    "views.update": frozenset(),
    "views.publish": frozenset(),
    "conversations.info": frozenset({"channels:read", "groups:read"}),
    "users.conversations": frozenset({"channels:read", "groups:read"}),
    # Called with the app-level token (its own connections:write scope), never the bot token.
    "apps.connections.open": frozenset(),
}
SUBSCRIPTION_SCOPES: dict[str, str | None] = {
    "app_home_opened": None,
    "app_mention": "app_mentions:read",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.im": "im:history",
    "message.mpim": "mpim:history",
}
# Slash commands and shortcuts both come with the `commands` scope.
INTERACTION_SCOPE = "commands"


def _web_api_methods_called() -> set[str]:
    """Every Web API method the handlers call, read from the source (client.chat_postMessage: chat.postMessage)."""
    # api_call is the generic entry point every method goes through (handlers.limits paces it), not a method.
    methods = {name for name in dir(AsyncWebClient) if "_" in name and not name.startswith("_")} - {"api_call"}
    found: set[str] = set()
    for path in sorted((ROOT / "handlers").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in methods:
                found.add(node.attr.replace("_", "."))
    return found


def test_the_slash_commands_are_exactly_the_handled_ones() -> None:
    commands = {c["command"] for c in MANIFEST["features"]["slash_commands"]}
    assert commands == {str(c) for c in Command}
    for command in MANIFEST["features"]["slash_commands"]:
        assert command["url"].endswith("/slack/events")


def test_the_shortcuts_are_exactly_the_handled_ones() -> None:
    shortcuts = MANIFEST["features"]["shortcuts"]
    assert {s["callback_id"] for s in shortcuts} == {str(s) for s in Shortcut}
    assert {s["type"] for s in shortcuts} == {"message"}


def test_the_event_subscriptions_are_exactly_the_declared_ones() -> None:
    assert set(MANIFEST["settings"]["event_subscriptions"]["bot_events"]) == set(SUBSCRIPTIONS)
    assert set(SUBSCRIPTIONS.values()) == set(Event)


@pytest.mark.parametrize("event_type", sorted({str(e) for e in SUBSCRIPTIONS.values()}))
async def test_every_subscribed_event_has_a_listener(slack: ServedSlackApp, event_type: str) -> None:
    # Slack retries any event answered with 404 ("unhandled request").
    event = {**message_event("hello"), "type": event_type}
    status, _, _ = await slack.send.event(event)
    assert status == 200


def test_the_scopes_are_exactly_what_the_handlers_and_events_need() -> None:
    called = _web_api_methods_called()
    assert called, "no Web API call found in handlers/"
    unknown = called - set(METHOD_SCOPES)
    assert not unknown, f"review the scope these methods need and add them to METHOD_SCOPES: {sorted(unknown)}"
    needed: set[str | None] = {s for m in called for s in METHOD_SCOPES[m]}
    needed |= {SUBSCRIPTION_SCOPES[s] for s in SUBSCRIPTIONS}
    if list(Command) or list(Shortcut):
        needed.add(INTERACTION_SCOPE)
    needed.discard(None)
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == needed
    assert "user" not in MANIFEST["oauth_config"]["scopes"]


def test_the_doctor_compares_granted_scopes_with_exactly_the_manifest_s() -> None:
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES
    assert set(SCOPES.split(",")) == BOT_SCOPES


def test_the_home_tab_is_enabled_because_app_home_opened_is_handled() -> None:
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is (Event.APP_HOME_OPENED in SUBSCRIPTIONS.values())


def test_interactivity_direct_messages_and_the_request_urls() -> None:
    settings = MANIFEST["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    assert settings["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert isinstance(settings["socket_mode_enabled"], bool)
    # message.im only arrives when people can write to the app.
    home = MANIFEST["features"]["app_home"]
    assert home["messages_tab_enabled"] is True
    assert home["messages_tab_read_only_enabled"] is False


def test_the_display_information_fits_slack_s_limits() -> None:
    info = MANIFEST["display_information"]
    assert 1 <= len(info["name"]) <= 35
    assert len(info["description"]) <= 140
    assert 175 <= len(info["long_description"]) <= 4000
    assert MANIFEST["features"]["bot_user"]["display_name"] == "iamwhy"
