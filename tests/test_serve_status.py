"""`iamwhy serve` wires the doctor in: `/iamwhy status` and the Home tab answer from a real process."""

from __future__ import annotations

import aiohttp
import pytest

from tests.conftest import BotCredentials, slack_env
from tests.harness.fake_slack import HUMAN, FakeSlack, Sender
from tests.harness.installed import Installed
from tests.test_app import _start_serve, _stop
from tests.test_doctor_cli import CHILD_SITE

# A test that fails before stopping the `iamwhy serve` it started does not leave it serving.
pytestmark = pytest.mark.usefixtures("no_serve_left_running")


async def test_a_served_app_answers_status_and_publishes_home(
    fake_slack: FakeSlack, installed: Installed, aws_env: BotCredentials
) -> None:
    env = {**slack_env(fake_slack), **installed.env, "PYTHONPATH": str(CHILD_SITE)}
    process, serving = await _start_serve(env)
    try:
        url = f"http://127.0.0.1:{serving['port']}/slack/events"
        async with aiohttp.ClientSession() as session:
            sender = Sender(url, session)
            status, _, _ = await sender.command("status", response_url=fake_slack.response_url("status"))
            assert status == 200
            (answer,) = await fake_slack.wait_for("response", timeout=60)
            assert answer.blocks[0]["text"]["text"] == "✓ iamwhy status: everything iamwhy needs works"
            home = {"type": "app_home_opened", "user": HUMAN, "channel": "D0000DM1", "tab": "home"}
            status, _, _ = await sender.event(home)
            assert status == 200
            (published,) = await fake_slack.wait_for("views.publish", timeout=30)
    finally:
        await _stop(process)
    assert published.body["user_id"] == HUMAN
    texts = " ".join(b.get("text", {}).get("text", "") for b in published.view["blocks"])
    # The status /iamwhy status just ran is fresh enough for the Home tab: one publish, no second run.
    assert "✓ iamwhy status: everything iamwhy needs works" in texts
    assert len(fake_slack.calls_of("views.publish")) == 1
