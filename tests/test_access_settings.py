"""IAMWHY_CHANNEL_ACCOUNTS and IAMWHY_DETAIL_CHANNELS: read, checked, and refused in one line naming the variable."""

from __future__ import annotations

import json

import pytest

from app import Settings
from diagnostics.reader import AwsConfig, ConfigError
from handlers.access import Access
from tests.harness.fake_slack import BOT_TOKEN, SIGNING_SECRET

BASE = {
    "SLACK_BOT_TOKEN": BOT_TOKEN,
    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    "IAMWHY_ACCOUNTS": "111122223333,444455556666,777788889999",
}


def test_entries_separated_by_semicolons_or_whitespace() -> None:
    env = {
        **BASE,
        "IAMWHY_CHANNEL_ACCOUNTS": "C0PAYMENTS=111122223333,444455556666; C0DATA=777788889999\n*=none",
        "IAMWHY_DETAIL_CHANNELS": "C0PAYMENTS G0SECOPS",
    }
    settings = Settings.from_env(env)
    assert dict(settings.channel_accounts) == {
        "C0PAYMENTS": {"111122223333", "444455556666"},
        "C0DATA": {"777788889999"},
        "*": frozenset(),
    }
    assert settings.detail_channels == {"C0PAYMENTS", "G0SECOPS"}
    described = settings.describe()
    assert described["channel_accounts"]["C0PAYMENTS"] == ["111122223333", "444455556666"]
    assert described["detail_channels"] == ["C0PAYMENTS", "G0SECOPS"]
    json.dumps(described)


def test_unset_means_no_scoping_and_no_detail_channels() -> None:
    settings = Settings.from_env(BASE)
    assert dict(settings.channel_accounts) == {}
    assert settings.detail_channels == frozenset()


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("C0PAYMENTS", "'C0PAYMENTS' is not CHANNEL=ACCOUNT[,ACCOUNT...] (like C0123ABCD=111122223333,444455556666)"),
        ("#payments=111122223333", "'#payments' is not a Slack channel id (like C0123ABCD) or * for every other"),
        ("C0PAYMENTS=1111", "'1111' (for C0PAYMENTS) is not a 12-digit AWS account id"),
        ("C0PAYMENTS=", "'C0PAYMENTS=': list the accounts after '=' separated by commas, without spaces"),
        ("C0PAYMENTS=111122223333, 444455556666", "list the accounts after '=' separated by commas, without spaces"),
        ("C0A1=111122223333 C0A1=444455556666", "C0A1 is listed twice"),
        (
            "C0PAYMENTS=999999999999",
            "999999999999 (for C0PAYMENTS) is not in IAMWHY_ACCOUNTS: channels can only narrow that list",
        ),
    ],
)
def test_a_bad_channel_accounts_entry_is_named(value: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, "IAMWHY_CHANNEL_ACCOUNTS": value})
    assert caught.value.variable == "IAMWHY_CHANNEL_ACCOUNTS"
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_bad_detail_channel_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, "IAMWHY_DETAIL_CHANNELS": "C0OK,security"})
    assert caught.value.variable == "IAMWHY_DETAIL_CHANNELS"
    assert "'security' is not a Slack channel id" in str(caught.value)


def test_settings_built_in_code_are_checked_the_same_way() -> None:
    aws = AwsConfig(allowed_accounts=frozenset({"111122223333"}))
    with pytest.raises(ConfigError, match="not in IAMWHY_ACCOUNTS"):
        Settings(
            bot_token=BOT_TOKEN,
            signing_secret=SIGNING_SECRET,
            aws=aws,
            channel_accounts={"C0PAYMENTS": frozenset({"444455556666"})},
        )


def test_channels_not_listed_fall_under_the_star_entry_or_are_not_narrowed() -> None:
    narrowed = Access({"C0PAYMENTS": frozenset({"111122223333"}), "*": frozenset()})
    assert narrowed.accounts_for("C0PAYMENTS") == {"111122223333"}
    assert narrowed.accounts_for("C0OTHER") == frozenset()
    assert narrowed.accounts_for(None) == frozenset()
    open_elsewhere = Access({"C0PAYMENTS": frozenset({"111122223333"})})
    assert open_elsewhere.accounts_for("C0OTHER") is None
    assert open_elsewhere.accounts_for(None) is None


def test_details_only_in_the_listed_channels() -> None:
    access = Access(detail_channels=frozenset({"G0SECOPS"}))
    assert access.shows_details("G0SECOPS")
    assert not access.shows_details("C0OTHER")
    assert not access.shows_details(None)
