"""IAMWHY_CHANNEL_ACCOUNTS on every surface: a question asked in a channel reads only that channel's accounts."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from diagnostics.aws import AwsAdapter
from diagnostics.investigate import InvestigationSettings, LiveInvestigator
from tests.conftest import ServedSlackApp, ServeSlackApp
from tests.handlers.investigators import CountingInvestigator
from tests.handlers.live_scenarios import missing_grant
from tests.handlers.seed import SEED_ERRORS
from tests.harness.fake_slack import (
    block_action,
    bot_post,
    message_event,
    message_shortcut,
    next_ts,
    view_submission,
)
from tests.harness.world import MANAGEMENT_ACCOUNT, TARGET_ACCOUNT, AwsWorld

SEED_ERROR = SEED_ERRORS["missing_grant"]
PAYMENTS = "C0PAYMENTS"
ALERTS = "CALERT01"
A = "111122223333"
B = "444455556666"
SCOPED = {
    "IAMWHY_ACCOUNTS": f"{A},{B}",
    "IAMWHY_CHANNEL_ACCOUNTS": f"{PAYMENTS}={A};{ALERTS}={B}",
}


@pytest.fixture
async def scoped(serve_slack_app: ServeSlackApp) -> tuple[ServedSlackApp, CountingInvestigator]:
    investigator = CountingInvestigator()
    return await serve_slack_app(investigator=investigator, env=SCOPED), investigator


def _buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    actions = next(b for b in blocks if b["type"] == "actions")
    return {e["action_id"]: e["value"] for e in actions["elements"]}


async def test_a_paste_reads_only_its_channel_s_accounts(scoped: tuple[ServedSlackApp, CountingInvestigator]) -> None:
    slack, investigator = scoped
    await slack.send.event(message_event(SEED_ERROR, channel=PAYMENTS))
    await slack.fake.wait_for("chat.update")
    assert investigator.accounts == [{A}]


async def test_an_alert_reads_only_its_channel_s_accounts(scoped: tuple[ServedSlackApp, CountingInvestigator]) -> None:
    slack, investigator = scoped
    await slack.send.event(bot_post(ALERTS, text=SEED_ERROR))
    await slack.fake.wait_for("chat.update")
    assert investigator.accounts == [{B}]


async def test_a_mention_reads_only_its_channel_s_accounts(
    scoped: tuple[ServedSlackApp, CountingInvestigator],
) -> None:
    slack, investigator = scoped
    event = {"type": "app_mention", "channel": PAYMENTS, "user": "UHUMAN01", "text": f"<@UBOT0001> {SEED_ERROR}"}
    await slack.send.event({**event, "ts": next_ts()})
    await slack.fake.wait_for("chat.update")
    assert investigator.accounts == [{A}]


async def test_a_command_reads_only_its_channel_s_accounts(
    scoped: tuple[ServedSlackApp, CountingInvestigator],
) -> None:
    slack, investigator = scoped
    await slack.send.command(SEED_ERROR, response_url=slack.fake.response_url(), channel=PAYMENTS)
    await slack.fake.wait_for("response")
    assert investigator.accounts == [{A}]


async def test_the_input_box_reads_only_the_accounts_of_the_channel_it_was_opened_in(
    scoped: tuple[ServedSlackApp, CountingInvestigator],
) -> None:
    slack, investigator = scoped
    values = {"error_text_block": {"error_text": {"type": "plain_text_input", "value": SEED_ERROR}}}
    await slack.send.interaction(view_submission("iamwhy_input", values, private_metadata=PAYMENTS))
    await slack.fake.wait_for("chat.postEphemeral")
    assert investigator.accounts == [{A}]


@pytest.mark.parametrize("choice", ["only_me", "thread"])
async def test_the_shortcut_reads_only_the_accounts_of_the_message_s_channel(
    scoped: tuple[ServedSlackApp, CountingInvestigator], choice: str
) -> None:
    slack, investigator = scoped
    message = {"type": "message", "user": "UOTHER01", "text": SEED_ERROR, "ts": next_ts()}
    await slack.send.interaction(
        message_shortcut("explain_access_denied", message, response_url=slack.fake.response_url(), channel=ALERTS)
    )
    (opened,) = await slack.fake.wait_for("views.open")
    values = {"reply_choice_block": {"reply_choice": {"type": "radio_buttons", "selected_option": {"value": choice}}}}
    await slack.send.interaction(
        view_submission("iamwhy_shortcut", values, private_metadata=str(opened.view["private_metadata"]))
    )
    await slack.fake.wait_for("chat.update" if choice == "thread" else "response")
    assert investigator.accounts == [{B}]


async def test_rerun_reads_only_the_accounts_of_the_channel_the_button_is_in(
    scoped: tuple[ServedSlackApp, CountingInvestigator],
) -> None:
    slack, investigator = scoped
    await slack.send.event(message_event(SEED_ERROR, channel=PAYMENTS))
    (update,) = await slack.fake.wait_for("chat.update")
    click = block_action(
        "rerun",
        _buttons(update.blocks)["rerun"],
        response_url=slack.fake.response_url(),
        channel=PAYMENTS,
        message_ts=str(update.body["ts"]),
    )
    await slack.send.interaction(click)
    await slack.fake.wait_for("chat.update", count=3)
    assert investigator.accounts == [{A}, {A}]
    # The re-run reads the account again instead of reusing the first answer's reads.
    assert investigator.fresh == [False, True]


async def test_channels_not_listed_are_not_narrowed_unless_a_star_entry_says_so(
    serve_slack_app: ServeSlackApp,
) -> None:
    investigator = CountingInvestigator()
    slack = await serve_slack_app(investigator=investigator, env=SCOPED)
    await slack.send.event(message_event(SEED_ERROR, channel="C0ELSEWHERE"))
    await slack.fake.wait_for("chat.update")
    assert investigator.accounts == [None]

    closed = CountingInvestigator()
    env = {**SCOPED, "IAMWHY_CHANNEL_ACCOUNTS": f"{PAYMENTS}={A} *=none"}
    slack = await serve_slack_app(investigator=closed, env=env)
    await slack.send.command(SEED_ERROR, response_url=slack.fake.response_url(), channel="C0ELSEWHERE")
    await slack.fake.wait_for("response")
    assert closed.accounts == [frozenset()]


# ------------------------------------------------------------------------------------------------ live


@pytest.fixture
def live(make_adapter: Callable[..., AwsAdapter]) -> Callable[[], LiveInvestigator]:
    def build() -> LiveInvestigator:
        adapter = make_adapter(allowed_accounts=frozenset({TARGET_ACCOUNT, MANAGEMENT_ACCOUNT}))
        return LiveInvestigator(adapter, settings=InvestigationSettings(authorization_delay=0.0))

    return build


async def test_an_account_outside_the_channel_s_scope_is_never_read_and_the_answer_says_why(
    serve_slack_app: ServeSlackApp, live: Callable[[], LiveInvestigator], aws_world: AwsWorld
) -> None:
    env = {
        "IAMWHY_ACCOUNTS": f"{TARGET_ACCOUNT},{MANAGEMENT_ACCOUNT}",
        "IAMWHY_CHANNEL_ACCOUNTS": f"{PAYMENTS}={MANAGEMENT_ACCOUNT}",
    }
    slack = await serve_slack_app(investigator=live(), env=env)
    seeded = missing_grant(aws_world)
    aws_world.forget_requests()

    await slack.send.event(message_event(seeded.text, channel=PAYMENTS))
    (update,) = await slack.fake.wait_for("chat.update", timeout=30)

    texts = json.dumps(update.blocks, ensure_ascii=False)
    assert (
        f"Answered from the message alone: account {TARGET_ACCOUNT} may not be read from this channel "
        f"(IAMWHY_CHANNEL_ACCOUNTS allows {MANAGEMENT_ACCOUNT} here), so iamwhy does not read it; ask in a channel "
        "that may read it."
    ) in texts
    assert "reported: from the error message alone" in texts
    assert aws_world.moto.seen(account=TARGET_ACCOUNT) == []

    # The same paste where the account may be read is investigated live.
    await slack.send.event(message_event(seeded.text, channel="C0ELSEWHERE"))
    (_, elsewhere) = await slack.fake.wait_for("chat.update", count=2, timeout=30)
    assert "evaluated: every layer's live policies were read and evaluated" in json.dumps(elsewhere.blocks)
    assert aws_world.moto.seen(account=TARGET_ACCOUNT) != []


async def test_the_adapter_refuses_an_account_outside_the_scope_it_was_given(
    make_adapter: Callable[..., AwsAdapter], aws_world: AwsWorld
) -> None:
    from diagnostics.reader import AccountNotAllowed

    adapter = make_adapter(allowed_accounts=frozenset({TARGET_ACCOUNT, MANAGEMENT_ACCOUNT}))
    scope = adapter.scope(accounts={MANAGEMENT_ACCOUNT})
    with pytest.raises(AccountNotAllowed) as caught:
        await scope.call("iam", "GetRole", {"RoleName": "app"}, account=TARGET_ACCOUNT)
    assert str(caught.value) == (
        f"account {TARGET_ACCOUNT} may not be read from here (IAMWHY_CHANNEL_ACCOUNTS allows {MANAGEMENT_ACCOUNT}), "
        "so iamwhy does not read it"
    )
    assert aws_world.moto.seen("sts", "AssumeRole") == []
