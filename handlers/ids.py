"""Every Slack identifier the app uses (commands, shortcuts, actions, blocks, views, events, emoji), defined once."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class Command(StrEnum):
    IAMWHY = "/iamwhy"


class Shortcut(StrEnum):
    """Callback ids of message shortcuts."""

    EXPLAIN_MESSAGE = "explain_access_denied"


class Action(StrEnum):
    """action_id of every interactive element."""

    SHOW_FIX = "show_full_fix"
    SHOW_EVIDENCE = "show_evidence"
    RERUN = "rerun"
    SHARE = "share"
    FEEDBACK_UP = "feedback_up"
    FEEDBACK_DOWN = "feedback_down"
    ERROR_TEXT = "error_text"
    REPLY_CHOICE = "reply_choice"


class Block(StrEnum):
    """block_id of blocks the app reads back (inputs) or finds again (the buttons)."""

    ANSWER_ACTIONS = "answer_actions"
    ERROR_TEXT = "error_text_block"
    REPLY_CHOICE = "reply_choice_block"


class View(StrEnum):
    """callback_id of every modal and of the Home tab."""

    INPUT = "iamwhy_input"
    SHORTCUT = "iamwhy_shortcut"
    FULL_FIX = "iamwhy_full_fix"
    EVIDENCE = "iamwhy_evidence"
    HOME = "iamwhy_home"


class ReplyChoice(StrEnum):
    """Where the message shortcut's answer goes (values of its radio buttons)."""

    ONLY_ME = "only_me"
    THREAD = "thread"


class Event(StrEnum):
    """Events API event types with a listener."""

    MESSAGE = "message"
    APP_MENTION = "app_mention"
    APP_HOME_OPENED = "app_home_opened"


class Emoji(StrEnum):
    SEEN = "eyes"


# The Events API subscriptions of the manifest, and the event type each delivers to the listeners above.
SUBSCRIPTIONS: Mapping[str, Event] = MappingProxyType(
    {
        "app_home_opened": Event.APP_HOME_OPENED,
        "app_mention": Event.APP_MENTION,
        "message.channels": Event.MESSAGE,
        "message.groups": Event.MESSAGE,
        "message.im": Event.MESSAGE,
    }
)

# The bot token scopes manifest.yml asks for (tests/test_manifest.py keeps both exact); `iamwhy doctor` compares
# them with what the installed app was granted.
BOT_SCOPES: frozenset[str] = frozenset(
    {
        "app_mentions:read",
        "channels:history",
        "channels:read",
        "chat:write",
        "commands",
        "groups:history",
        "groups:read",
        "im:history",
        "reactions:write",
    }
)
