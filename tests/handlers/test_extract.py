"""Reading a Slack message the way a person does: text, attachments, blocks; people's blocks are not read twice."""

from __future__ import annotations

from handlers.extract import is_from_bot, message_text, without_mentions


def test_a_person_s_text_is_read_once_even_though_blocks_repeat_it() -> None:
    message = {
        "type": "message",
        "user": "U1",
        "text": "error here",
        "blocks": [
            {
                "type": "rich_text",
                "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": "error here"}]}],
            }
        ],
        "attachments": [{"title": "an unfurled link", "text": "not what the person wrote"}],
    }
    assert message_text(message) == "error here"


def test_a_bot_post_is_read_from_attachments_fields_and_blocks_in_order() -> None:
    message = {
        "subtype": "bot_message",
        "bot_id": "B1",
        "text": "",
        "attachments": [
            {
                "pretext": "pre",
                "title": "title",
                "text": "body",
                "fields": [{"title": "ignored label", "value": "field value"}, {"value": 42}],
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "attachment block"}}],
                "fallback": "fallback",
            }
        ],
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "header"}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "f1"}, {"type": "mrkdwn", "text": "f2"}]},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "ctx"}, {"type": "image", "image_url": "x"}]},
            {
                "type": "rich_text",
                "elements": [
                    {
                        "type": "rich_text_section",
                        "elements": [
                            {"type": "text", "text": "see "},
                            {"type": "link", "url": "https://example.com", "text": "the log"},
                            {"type": "user", "user_id": "U9"},
                        ],
                    },
                    {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": "line1\nline2"}]},
                    {
                        "type": "rich_text_list",
                        "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": "item"}]}],
                    },
                ],
            },
        ],
    }
    assert message_text(message).split("\n") == [
        "pre",
        "title",
        "body",
        "field value",
        "attachment block",
        "fallback",
        "header",
        "f1",
        "f2",
        "ctx",
        "see the log",
        "line1",
        "line2",
        "item",
    ]


def test_repeated_pieces_are_kept_once() -> None:
    message = {"bot_id": "B1", "text": "same", "attachments": [{"fallback": "same", "text": "same"}]}
    assert message_text(message) == "same"


def test_malformed_shapes_are_skipped_not_fatal() -> None:
    message = {"bot_id": "B1", "text": None, "attachments": ["x", {"fields": "y"}], "blocks": [None, {"type": 3}]}
    assert message_text(message) == ""


def test_who_is_a_bot() -> None:
    assert is_from_bot({"subtype": "bot_message"})
    assert is_from_bot({"bot_id": "B1", "user": "U1"})
    assert not is_from_bot({"user": "U1"})


def test_mentions_are_taken_out() -> None:
    assert without_mentions("<@UBOT0001> explain <@W123|bob> this") == "explain   this"
