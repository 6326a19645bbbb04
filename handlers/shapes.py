"""The shapes of the Slack payloads the app acts on, checked after the signature and before Bolt sees a request.

Slack only sends these shapes. Bolt's own middleware and the listeners read the fields below without checking
their types, so a signed payload of any other shape is refused here (400) instead of failing somewhere inside.
Keys not listed are not read by anything and are left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from handlers import ids

Check = Callable[[Any], bool]


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _flag(value: Any) -> bool:
    # JSON payloads carry booleans; slash command forms carry "true" and "false".
    return isinstance(value, bool | str)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _object(value: Any) -> bool:
    return isinstance(value, dict)


def _text_or_object(value: Any) -> bool:
    return isinstance(value, str | dict)


def _some_objects(value: Any) -> bool:
    return _objects(value) and len(value) > 0


def _view_type(value: Any) -> bool:
    # Bolt reads every submitted view's type; a workflow step's save would also need the step, which iamwhy has none of.
    return isinstance(value, str) and value != "workflow_step"


def _list(value: Any) -> bool:
    return isinstance(value, list)


def _objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


# The type of every field that Bolt or a listener reads, wherever it appears (the body, the event, a message,
# a user...). Slack sends null for some text and id fields; an object or a list is never null.
_FIELDS: Mapping[str, Check] = {
    "type": _text,
    "token": _text,
    "challenge": _text,
    "team_id": _text,
    "api_app_id": _text,
    "event_id": _text,
    "event_time": _number,
    "enterprise_id": _text,
    "context_team_id": _text,
    "context_enterprise_id": _text,
    "is_enterprise_install": _flag,
    "id": _text,
    "user_id": _text,
    "channel_id": _text,
    "user_team": _text,
    "trigger_id": _text,
    "callback_id": _text,
    "command": _text,
    "text": _text_or_object,
    "ts": _text,
    "thread_ts": _text,
    "message_ts": _text,
    "subtype": _text,
    "bot_id": _text,
    "channel_type": _text,
    "action_id": _text,
    "block_id": _text,
    "value": _text,
    "private_metadata": _text,
    "app_installed_team_id": _text,
    "function_execution_id": _text,
    "bot_access_token": _text,
    "response_url": _url,
    "enterprise": _text_or_object,
    "team": _text_or_object,
    "user": _text_or_object,
    "channel": _text_or_object,
    "event": _object,
    "message": _object,
    "previous_message": _object,
    "item": _object,
    "assistant_thread": _object,
    "view": _object,
    "container": _object,
    "state": _object,
    "function_data": _object,
    "authorizations": _objects,
    "actions": _objects,
    "response_urls": _objects,
    "attachments": _list,
    "blocks": _list,
}
# Objects whose own fields are read like the body's (Bolt looks for the user, channel and team in each).
_NESTED = frozenset(
    {
        "enterprise",
        "team",
        "user",
        "channel",
        "event",
        "message",
        "previous_message",
        "item",
        "assistant_thread",
        "view",
        "container",
        "state",
        "function_data",
        "authorizations",
        "actions",
        "response_urls",
    }
)
_NEVER_NULL = frozenset({_object, _objects, _list})
_MAX_DEPTH = 6

# What each kind of request must carry for its listener: (path, check), paths through objects.
_EVENT_MESSAGE = (("event.channel", _text), ("event.ts", _text))
_REQUIRED: Mapping[str, tuple[tuple[str, Check], ...]] = {
    "url_verification": (("challenge", _text),),
    "event_callback": (("event", _object), ("event.type", _text)),
    # Bolt reads the first action of every block_actions payload.
    "block_actions": (("user.id", _text), ("trigger_id", _text), ("actions", _some_objects)),
    "view_submission": (("user.id", _text), ("view", _object), ("view.callback_id", _text), ("view.type", _view_type)),
    "message_action": (
        ("callback_id", _text),
        ("user.id", _text),
        ("channel.id", _text),
        ("message", _object),
        ("message.ts", _text),
        ("trigger_id", _text),
        ("response_url", _url),
    ),
}
_COMMAND = (("user_id", _text), ("channel_id", _text), ("trigger_id", _text), ("response_url", _url))
# The buttons under an answer carry the answer they belong to.
_BUTTONS = frozenset(
    {
        ids.Action.SHOW_FIX,
        ids.Action.SHOW_EVIDENCE,
        ids.Action.RERUN,
        ids.Action.SHARE,
        ids.Action.FEEDBACK_UP,
        ids.Action.FEEDBACK_DOWN,
    }
)


def problem(body: Any) -> str | None:
    """What makes `body` (a parsed request) not a payload Slack sends, or None when it is one."""
    if not isinstance(body, dict):
        return f"the body is {type(body).__name__}, not an object"
    found = _types(body, "", 0)
    if found is not None:
        return found
    if "command" in body:
        return _missing(body, _COMMAND)
    kind = body.get("type")
    found = _missing(body, _REQUIRED.get(kind, ()) if isinstance(kind, str) else ())
    if found is not None:
        return found
    if kind == "event_callback" and body["event"]["type"] in ("message", "app_mention"):
        found = _missing(body, _EVENT_MESSAGE)
        edited = body["event"].get("message")
        if found is None and edited is not None:
            found = _missing(body, (("event.message.ts", _text),))
        return found
    if kind == "block_actions":
        return _buttons(body)
    return None


def _types(value: Mapping[str, Any], path: str, depth: int) -> str | None:
    if depth > _MAX_DEPTH:
        return f"{path or 'the body'} is nested too deeply"
    for key, item in value.items():
        check = _FIELDS.get(key)
        if check is None:
            continue
        where = f"{path}.{key}" if path else key
        if item is None:
            if check in _NEVER_NULL:
                return f"{where} is null"
            continue
        if not check(item):
            return f"{where} has the wrong type ({type(item).__name__})"
        if key not in _NESTED:
            continue
        for position, child in enumerate(item if isinstance(item, list) else [item]):
            if isinstance(child, dict):
                found = _types(child, f"{where}[{position}]" if isinstance(item, list) else where, depth + 1)
                if found is not None:
                    return found
    return None


def _missing(body: Mapping[str, Any], required: tuple[tuple[str, Check], ...]) -> str | None:
    for path, check in required:
        value: Any = body
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            return f"{path} is missing"
        if not check(value):
            return f"{path} is not what Slack sends (a {type(value).__name__})"
    return None


def _buttons(body: Mapping[str, Any]) -> str | None:
    for position, action in enumerate(body["actions"]):
        if isinstance(action.get("action_id"), str) and action["action_id"] in _BUTTONS:
            if not isinstance(action.get("value"), str):
                return f"actions[{position}].value is missing"
            if not _url(body.get("response_url")):
                return "response_url is missing"
    return None
