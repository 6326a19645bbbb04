"""The doctor's Slack side against the fake Slack: the token, the scopes, the signing secret, Socket Mode, channels."""

from __future__ import annotations

import dataclasses

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from diagnostics.doctor import Line, Section, Status
from handlers.doctor import SlackSetup, check_slack
from handlers.ids import BOT_SCOPES
from tests.harness.fake_slack import APP_TOKEN, BOT_TOKEN, BOT_USER, HUMAN, SIGNING_SECRET, FakeSlack


def _setup(fake: FakeSlack, **changes: object) -> SlackSetup:
    setup = SlackSetup(
        bot_token=BOT_TOKEN,
        api_url=fake.api_url,
        signing_secret=SIGNING_SECRET,
        app_token=None,
        socket_mode=False,
        alert_channels=("CALERT01",),
        watch_channels=None,
    )
    return dataclasses.replace(setup, **changes)  # type: ignore[arg-type]


async def _check(fake: FakeSlack, *, token: str = BOT_TOKEN, **changes: object) -> Section:
    client = AsyncWebClient(token=token, base_url=fake.api_url)
    return await check_slack(_setup(fake, **changes), client)


def _line(section: Section, line_id: str, subject: str | None = None) -> Line:
    (found,) = [line for line in section.lines if line.id == line_id and (subject is None or line.subject == subject)]
    return found


async def test_a_right_slack_setup_passes(fake_slack: FakeSlack) -> None:
    section = await _check(fake_slack)
    assert [(line.id, line.status) for line in section.lines] == [
        ("slack.auth", Status.OK),
        ("slack.scopes", Status.OK),
        ("slack.signing_secret", Status.OK),
        ("slack.app_token", Status.SKIPPED),
        ("slack.channel", Status.OK),
    ]
    assert _line(section, "slack.auth").result == (
        f"accepted: workspace Fake (T0000TEAM) at https://fake.slack.test/, bot user @iamwhy ({BOT_USER})"
    )
    assert _line(section, "slack.scopes").result == f"all {len(BOT_SCOPES)} granted"
    assert _line(section, "slack.channel", "CALERT01").result == "#alerts exists and the bot is a member"
    assert [c.method for c in fake_slack.calls] == ["auth.test", "conversations.info"]


async def test_a_missing_scope_names_it_what_it_is_for_and_says_to_reinstall(fake_slack: FakeSlack) -> None:
    fake_slack.scopes = ",".join(sorted(BOT_SCOPES - {"groups:read"}))
    line = _line(await _check(fake_slack), "slack.scopes")
    assert (line.status, line.result) == (Status.FAILED, "missing groups:read")
    assert line.fix == (
        "Add groups:read under OAuth & Permissions › Scopes › Bot Token Scopes (or paste manifest.yml into App "
        "Manifest), then reinstall the app to the workspace (Install App › Reinstall to Workspace): Slack grants "
        "changed scopes only on reinstall. What they are for: groups:read: look up private channels (these checks, "
        "the Home tab)."
    )


async def test_scopes_beyond_the_manifest_warn(fake_slack: FakeSlack) -> None:
    fake_slack.scopes = ",".join(sorted(BOT_SCOPES | {"chat:write.public"}))
    line = _line(await _check(fake_slack), "slack.scopes")
    assert line.status is Status.WARNING
    assert line.result == f"all {len(BOT_SCOPES)} granted, and also chat:write.public, which iamwhy does not use"


async def test_a_refused_bot_token_fails_and_skips_what_needs_it(fake_slack: FakeSlack) -> None:
    section = await _check(fake_slack, token="xoxb-revoked")
    auth = _line(section, "slack.auth")
    assert (auth.status, auth.result) == (Status.FAILED, "Slack refused it (invalid_auth)")
    assert auth.fix is not None
    assert auth.fix.startswith("Set SLACK_BOT_TOKEN to the Bot User OAuth Token (xoxb-…) of the iamwhy app")
    assert _line(section, "slack.scopes").status is Status.SKIPPED
    assert _line(section, "slack.channel").result == "not tried: the bot token did not work"


async def test_an_unreachable_slack_says_so() -> None:
    setup = SlackSetup(BOT_TOKEN, "http://127.0.0.1:9/api/", SIGNING_SECRET, None, False)
    client = AsyncWebClient(token=BOT_TOKEN, base_url=setup.api_url)
    section = await check_slack(setup, client)
    auth = _line(section, "slack.auth")
    assert auth.status is Status.FAILED
    assert auth.result == "Slack could not be reached (ClientConnectorError)"


async def test_a_channel_the_bot_is_not_in_fails_with_the_invite(fake_slack: FakeSlack) -> None:
    fake_slack.add_channel("CPAGES01", "pages", members={HUMAN})
    line = _line(await _check(fake_slack, alert_channels=("CPAGES01",)), "slack.channel", "CPAGES01")
    assert (line.status, line.result) == (Status.FAILED, "#pages exists, but the bot is not a member")
    assert line.fix == "In that channel, run /invite @iamwhy (#pages): the bot sees posts only in channels it is in."
    assert line.tried == "conversations.info for CPAGES01, an alert channel (IAMWHY_ALERT_CHANNELS)"


@pytest.mark.parametrize("private", [False, True])
async def test_a_channel_that_does_not_exist_or_hides_fails(fake_slack: FakeSlack, private: bool) -> None:
    if private:
        fake_slack.add_channel("GHIDDEN1", "secret", private=True, members={HUMAN})
    channel = "GHIDDEN1" if private else "CNOPE001"
    line = _line(await _check(fake_slack, alert_channels=(), watch_channels=(channel,)), "slack.channel", channel)
    assert (line.status, line.result) == (Status.FAILED, "no such channel that the bot can see")
    assert line.fix is not None
    assert "A private channel is invisible to the bot until it is invited: In that channel, run /invite" in line.fix
    assert line.tried == f"conversations.info for {channel}, a watched channel (IAMWHY_WATCH_CHANNELS)"


async def test_an_archived_channel_fails(fake_slack: FakeSlack) -> None:
    fake_slack.add_channel("COLD0001", "old-alerts", archived=True, members={BOT_USER})
    line = _line(await _check(fake_slack, alert_channels=("COLD0001",)), "slack.channel", "COLD0001")
    assert (line.status, line.result) == (Status.FAILED, "#old-alerts is archived")


async def test_a_channel_lookup_without_the_scope_says_which_one(fake_slack: FakeSlack) -> None:
    fake_slack.scopes = ",".join(sorted(BOT_SCOPES - {"channels:read"}))
    line = _line(await _check(fake_slack), "slack.channel", "CALERT01")
    assert (line.status, line.result) == (Status.FAILED, "the bot may not look channels up (missing channels:read)")


@pytest.mark.parametrize(
    ("secret", "result"),
    [
        (None, "not set"),
        ("0123456789abcdef01234567", "is 24 characters; a Slack signing secret is 32"),
        (
            '"8f742231b10e8888abcd99yyyzzz85a5"',
            "holds characters a signing secret never has (quotes or spaces copied along?)",
        ),
    ],
)
async def test_a_bad_signing_secret_shape_fails(fake_slack: FakeSlack, secret: str | None, result: str) -> None:
    section = await _check(fake_slack, signing_secret=secret)
    line = _line(section, "slack.signing_secret")
    assert (line.status, line.result) == (Status.FAILED, result)
    assert secret is None or secret not in repr(section)


async def test_socket_mode_checks_the_app_token_instead_of_the_signing_secret(fake_slack: FakeSlack) -> None:
    section = await _check(fake_slack, socket_mode=True, signing_secret=None, app_token=APP_TOKEN)
    assert _line(section, "slack.signing_secret").result == "not used in Socket Mode"
    token = _line(section, "slack.app_token")
    assert (token.status, token.result) == (Status.OK, "accepted (a Socket Mode connection can open)")
    refused = _line(await _check(fake_slack, socket_mode=True, app_token="xapp-revoked"), "slack.app_token")
    assert (refused.status, refused.result) == (Status.FAILED, "Slack refused it (invalid_auth)")
    missing = _line(await _check(fake_slack, socket_mode=True, app_token=None), "slack.app_token")
    assert (missing.status, missing.result) == (Status.FAILED, "not set")
    assert missing.fix is not None
    assert "connections:write" in missing.fix
