"""The text of a Slack message as a person would read it, wherever the poster put it (text, attachments, blocks)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# Rich-text containers whose children run on one line; every other container starts a new line.
_INLINE_CONTAINERS = frozenset({"rich_text_section", "rich_text_quote", "rich_text_preformatted"})
_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


def is_from_bot(message: Mapping[str, Any]) -> bool:
    """True for posts by bots and integrations (classic `bot_message` or any message carrying a bot_id)."""
    return message.get("subtype") == "bot_message" or bool(message.get("bot_id"))


def message_text(message: Mapping[str, Any]) -> str:
    """All readable text of a message, in display order, each distinct piece once.

    People's messages carry everything in `text` (their `blocks` repeat it as rich text). Bots and
    integrations often leave `text` short or empty and put the content in `attachments` and `blocks`.
    """
    pieces: list[str] = [_str(message.get("text"))]
    if is_from_bot(message):
        for attachment in _dicts(message.get("attachments")):
            pieces.extend(_attachment_texts(attachment))
        pieces.extend(_blocks_text(message.get("blocks")))
    return "\n".join(dict.fromkeys(p for p in pieces if p.strip()))


def without_mentions(text: str) -> str:
    """The text with user mentions (`<@U123>`) taken out, as for "@iamwhy <error>"."""
    return _MENTION.sub(" ", text).strip()


def _attachment_texts(attachment: Mapping[str, Any]) -> Iterable[str]:
    for key in ("pretext", "title", "text"):
        yield _str(attachment.get(key))
    for field in _dicts(attachment.get("fields")):
        yield _str(field.get("value"))
    yield from _blocks_text(attachment.get("blocks"))
    # The fallback repeats the rest when there is a rest; it is the only text of some legacy integrations.
    yield _str(attachment.get("fallback"))


def _blocks_text(blocks: Any) -> Iterable[str]:
    for block in _dicts(blocks):
        text = _node_text(block)
        if text:
            yield text


def _node_text(node: Any) -> str:
    """Text of one block or element, recursively: text objects, rich-text runs, fields, nested elements."""
    if isinstance(node, list):
        return "\n".join(t for t in (_node_text(n) for n in node) if t)
    if not isinstance(node, Mapping):
        return ""
    kind = node.get("type")
    if kind in ("mrkdwn", "plain_text", "text"):
        return _str(node.get("text"))
    if kind == "link":
        return _str(node.get("text")) or _str(node.get("url"))
    if kind in _INLINE_CONTAINERS:
        return "".join(_node_text(e) for e in _dicts(node.get("elements")))
    parts = [_node_text(node.get(key)) for key in ("text", "fields", "elements")]
    return "\n".join(p for p in parts if p)


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""
