"""Lines are only joined to look for a wrapped credential where joining can glue one together: the answers are
those of always joining them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.diagnostics.parse_fixtures import rows
from tests.harness.plain import plain_module

ROWS = rows()
# The module as plain Python: these tests replace its glue check (see tests.harness.plain).
secrets = plain_module("secrets")
find_secrets, might_hold_secrets = secrets.find_secrets, secrets.might_hold_secrets
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDm8hHhTr3example+token/value=="
SIGNATURE = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
# Pieces of credentials and their labels, and what a wrap puts between them.
PIECES = (
    "AKIA",
    "ASIA",
    "Z7QPLM4N5R6T7U8W",
    "q8Vw3Zr5Tb7Yn1Mc4Kd6Hf9Jg2Lp0Xs5Ua8Eo3Ri",
    SESSION_TOKEN[:20],
    SESSION_TOKEN[20:],
    "IQoJ",
    "b3JpZ2lu",
    "FwoGZXIv",
    "YXdz",
    "secret",
    "sec",
    "ret",
    "_access_key",
    "session",
    "sess",
    "ion",
    "security",
    "_token",
    "tok",
    "en",
    "signature",
    "signa",
    "ture",
    SIGNATURE[:30],
    SIGNATURE[30:],
    "X-Amz-Signature=",
    "&",
    "?",
    "=",
    "%2F",
    "%",
    "aws_session_token=",
    "/",
    "+",
    ": ",
    '"',
    "'",
    " ",
    "\t",
    ">",
    "> ",
    "\n",
    "\n  ",
    "\n> ",
    "\n\t>",
    "\r\n",
    "é",
    "K",
)


def _always_joined(text: str) -> tuple[list[secrets.SecretSpan], bool]:
    """What find_secrets and might_hold_secrets answer when every text with a line break is joined."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(secrets, "_glues", lambda text: True)
        patch.setattr(secrets, "_last_joined", ("", None))  # nothing joined before, without the replacement
        spans = find_secrets(text)
    hinted = secrets._hinted(secrets._BREAK.sub("", text) if "\n" in text else text)
    return spans, hinted


def _answers(text: str) -> tuple[list[secrets.SecretSpan], bool]:
    """What find_secrets and might_hold_secrets answer, with even a short text asked whether joining glues."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(secrets, "_GLUE_CHECK", 0)
        patch.setattr(secrets, "_last_joined", ("", None))
        return find_secrets(text), might_hold_secrets(text)


@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=16).map("".join))
def test_texts_built_from_credential_pieces_and_breaks_get_the_answers_of_joining(text: str) -> None:
    assert _answers(text) == _always_joined(text)


@pytest.mark.parametrize(("name", "row"), ROWS, ids=[name for name, _ in ROWS])
def test_every_fixture_wrapped_gets_the_answers_of_joining(name: str, row: dict[str, str]) -> None:
    text = row["text"]
    for wrapped in (text, "\n".join(text[start : start + 37] for start in range(0, len(text), 37))):
        for variant in (wrapped, wrapped.replace("\n", "\n> "), wrapped + f"\naws_session_token={SESSION_TOKEN}"):
            assert _answers(variant) == _always_joined(variant), variant
            # As long texts are read: only those are asked whether joining glues.
            padded = variant + "\n  ...\n" + "\n".join(["    }"] * 120)
            assert (find_secrets(padded), might_hold_secrets(padded)) == _always_joined(padded), padded


@pytest.mark.parametrize("cut", [8, 30, 31, 32, 60])
def test_a_long_paste_with_a_url_encoded_token_wrapped_anywhere_in_it_is_redacted(cut: int) -> None:
    token = SESSION_TOKEN.replace("/", "%2F")
    wrapped = f"X-Amz-Security-Token={token[:cut]}\n{token[cut:]}"
    padded = wrapped + "\n" + "\n".join(['    "key": "value",'] * 40)
    assert [span.kind for span in find_secrets(padded)] == [secrets.SecretKind.SESSION_TOKEN]
    assert (find_secrets(padded), might_hold_secrets(padded)) == _always_joined(padded)


@pytest.mark.parametrize(
    ("text", "glues"),
    [
        ("one line", False),
        ('{\n  "a": 1,\n  "b": 2\n}', False),
        ("ends with a space \nnext", False),
        ("secre\nt", True),
        ("abc/\n  > +def", True),
        ("abc%\n2Fdef", True),
        ("abc=\n=", True),
        ("a\n\n\nb", True),
        ("a\n \t\nb", True),
        ("a\n >\t>b", True),
        ("a\n> \tb", False),
        ("a\r\nb", False),
        ("\nb", False),
    ],
)
def test_a_break_glues_only_credential_characters_it_kept_apart(text: str, glues: bool) -> None:
    assert secrets._glues(text) is glues


def test_a_long_run_of_blank_lines_glues_only_what_is_on_both_sides() -> None:
    blank = "\n" * 500 + "  \n> \n" * 50
    assert secrets._glues("AKIA" + blank + "ABCD")
    # The indentation after a break goes with it; a character no credential holds does not glue.
    assert secrets._glues("AKIA" + blank + "  ABCD")
    assert not secrets._glues("AKIA" + blank + "-ABCD")
    assert not secrets._glues("AKIA " + blank + "ABCD")
    assert not secrets._glues(blank + "ABCD")
    assert not secrets._glues("AKIA" + blank)


@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=16).map("".join))
def test_a_line_without_the_words_credentials_need_holds_none(text: str) -> None:
    line = text.replace("\n", " ").replace("\r", " ")
    if not secrets.line_may_hold_secrets(line.lower()):
        assert find_secrets(line) == []
        assert not might_hold_secrets(line)


@pytest.mark.parametrize(("name", "row"), ROWS, ids=[name for name, _ in ROWS])
def test_every_fixture_line_without_the_words_holds_no_credential(name: str, row: dict[str, str]) -> None:
    line = row["text"].replace("\n", " ")
    for variant in (line, line.lower(), line.upper()):
        if not secrets.line_may_hold_secrets(variant.lower()):
            assert find_secrets(variant) == []
            assert not might_hold_secrets(variant)


CREDENTIALS = (
    "AKIAZ7QPLM4N5R6T7U8W",
    "ASIAQ2W3E4R5T6Y7U8I9",
    "IQoJb3JpZ2luX2VjEJrEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLE",
    "FwoGZXIvYXdzEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLE",
    "FQoGZXIvYXdzEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLE",
    "AQoDYXdzEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLE",
    "aws_secret_access_key = q8Vw3Zr5Tb7Yn1Mc4Kd6Hf9Jg2Lp0Xs5Ua8Eo3Ri",
    f"X-Amz-Signature={SIGNATURE}",
)


@pytest.mark.parametrize("credential", CREDENTIALS)
@pytest.mark.parametrize("width", [7, 13, 40, 200])
@pytest.mark.parametrize("break_", ["\n", "\n> ", "\n  "])
def test_every_credential_has_a_word_a_line_is_asked_for(credential: str, width: int, break_: str) -> None:
    text = "the key: " + credential + " (from the runner)"
    assert find_secrets(text) != []
    assert secrets.line_may_hold_secrets(text.lower())
    wrapped = break_.join(text[start : start + width] for start in range(0, len(text), width))
    assert find_secrets(wrapped) != []
