"""Alert storms: one investigation per denial per window, a count under the first answer, one pointer per channel."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Collection

from diagnostics.investigate import Investigation
from diagnostics.model import Blocker, DenialKind, Layer
from diagnostics.state import State
from tests.conftest import ServeSlackApp
from tests.handlers.investigators import CountingInvestigator
from tests.handlers.seed import SEED_ERRORS
from tests.harness.fake_slack import bot_post

SEED_ERROR = SEED_ERRORS["missing_grant"]
# The same denial without the reason phrase (older SDKs, some integrations): its layer is known only once
# investigated.
NO_REASON = SEED_ERROR.split(" because ")[0]


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def _context_texts(blocks: list[dict[str, object]]) -> list[str]:
    return [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]  # type: ignore[attr-defined,index]


async def test_a_storm_gets_one_investigation_a_count_and_one_pointer(serve_slack_app: ServeSlackApp) -> None:
    investigator = CountingInvestigator()
    slack = await serve_slack_app(investigator=investigator)
    posts = [bot_post("CALERT01", text=f"Alert #{n}: {SEED_ERROR}") for n in range(5)]
    for post in posts:
        await slack.send.event(post)
    await slack.idle()
    assert investigator.calls == 1
    placeholder, pointer = slack.fake.calls_of("chat.postMessage")
    assert placeholder.body["thread_ts"] == posts[0]["ts"]
    # Only the first repeat gets a pointer, in its own thread, linking to the first post's thread.
    assert pointer.body["thread_ts"] == posts[1]["ts"]
    first_link = f"https://fake.slack.test/archives/CALERT01/p{posts[0]['ts'].replace('.', '')}"
    assert f"<{first_link}|in this thread>" in pointer.blocks[0]["text"]["text"]
    assert "s3:GetObject" in pointer.blocks[0]["text"]["text"]
    assert slack.fake.calls_of("reactions.add") == []
    # The first answer ends up showing every post counted.
    answer, *recounts = slack.fake.calls_of("chat.update")
    # The fake Slack numbers its messages: the placeholder was the first.
    assert answer.body["ts"] == "1700000000.000001"
    assert recounts
    assert recounts[-1].body["ts"] == answer.body["ts"]
    assert recounts[-1].blocks[0] == answer.blocks[0]
    assert _context_texts(recounts[-1].blocks)[-1].startswith("🔁 Seen 5 times since <!date^")


async def test_each_channel_gets_its_own_pointer_and_a_different_denial_its_own_answer(
    serve_slack_app: ServeSlackApp,
) -> None:
    investigator = CountingInvestigator()
    slack = await serve_slack_app(investigator=investigator, env={"IAMWHY_ALERT_CHANNELS": "CALERT01,CALERT02"})
    await slack.send.event(bot_post("CALERT01", text=SEED_ERROR))
    for _ in range(3):
        await slack.send.event(bot_post("CALERT02", text=SEED_ERROR))
    await slack.send.event(bot_post("CALERT02", text=SEED_ERROR.replace("GetObject", "PutObject")))
    await slack.idle()
    assert investigator.calls == 2
    posted = [(c.body["channel"], c.text) for c in slack.fake.calls_of("chat.postMessage")]
    pointers = [channel for channel, text in posted if text.startswith("Already investigated")]
    assert pointers == ["CALERT02"]
    assert len(posted) == 3


async def test_after_the_window_the_denial_is_investigated_again(serve_slack_app: ServeSlackApp) -> None:
    clock = Clock()
    investigator = CountingInvestigator()
    slack = await serve_slack_app(
        investigator=investigator, state=State.in_memory(clock=clock), env={"IAMWHY_STORM_WINDOW": "2m"}
    )
    await slack.send.event(bot_post("CALERT01", text=SEED_ERROR))
    await slack.idle()
    clock.now += 119
    await slack.send.event(bot_post("CALERT01", text=SEED_ERROR))
    await slack.idle()
    assert investigator.calls == 1
    clock.now += 2
    await slack.send.event(bot_post("CALERT01", text=SEED_ERROR))
    await slack.idle()
    assert investigator.calls == 2


class _BlockedByIdentity(CountingInvestigator):
    """The offline answer, as a live investigation would find it: the identity layer blocks."""

    async def investigate(
        self,
        text: str,
        *,
        correlation_id: str | None = None,
        accounts: Collection[str] | None = None,
        fresh: bool = False,
    ) -> Investigation:
        found = await super().investigate(text, correlation_id=correlation_id, accounts=accounts, fresh=fresh)
        blocked = tuple(
            dataclasses.replace(d, blocked_by=(Blocker(Layer.IDENTITY, DenialKind.IMPLICIT),)) for d in found.diagnoses
        )
        return dataclasses.replace(found, diagnoses=blocked)


async def test_a_post_without_a_reason_joins_the_storm_of_the_layer_its_investigation_found(
    serve_slack_app: ServeSlackApp,
) -> None:
    investigator = _BlockedByIdentity()
    slack = await serve_slack_app(investigator=investigator)
    await slack.send.event(bot_post("CALERT01", text=NO_REASON))
    await slack.idle()
    # The message names the identity layer; the first investigation found the same one: the same storm.
    await slack.send.event(bot_post("CALERT01", text=SEED_ERROR))
    await slack.send.event(bot_post("CALERT01", text=NO_REASON))
    await slack.idle()
    assert investigator.calls == 1


class _FailsOnce(CountingInvestigator):
    async def investigate(
        self,
        text: str,
        *,
        correlation_id: str | None = None,
        accounts: Collection[str] | None = None,
        fresh: bool = False,
    ) -> Investigation:
        if not self.texts:
            self.texts.append(text)
            raise RuntimeError("AWS fell over")
        return await super().investigate(text, correlation_id=correlation_id, accounts=accounts, fresh=fresh)


async def test_when_the_first_investigation_fails_the_next_post_is_investigated(
    serve_slack_app: ServeSlackApp,
) -> None:
    investigator = _FailsOnce()
    slack = await serve_slack_app(investigator=investigator)
    await slack.send.event(bot_post("CALERT01", text=SEED_ERROR))
    await slack.idle()
    await slack.send.event(bot_post("CALERT01", text=SEED_ERROR))
    await slack.idle()
    assert investigator.calls == 2
    first, second = slack.fake.calls_of("chat.update")
    assert first.text.startswith("⚠️ Something went wrong")
    assert "s3:GetObject" in second.text


async def test_investigations_beyond_the_limit_wait_their_turn_in_order(serve_slack_app: ServeSlackApp) -> None:
    gate = asyncio.Event()
    investigator = CountingInvestigator(gate)
    slack = await serve_slack_app(investigator=investigator, env={"IAMWHY_CONCURRENCY": "2"})
    actions = ["GetObject", "PutObject", "DeleteObject", "ListBucket", "GetObjectAcl"]
    for action in actions:
        await slack.send.event(bot_post("CALERT01", text=SEED_ERROR.replace("GetObject", action)))
    await slack.fake.wait_for("chat.postMessage", count=2)
    # A worker takes its job off the queue a moment before it calls the investigator: wait for both.
    async with asyncio.timeout(10):
        while slack.worker.queue_depth() < 3 or investigator.calls < 2:
            await asyncio.sleep(0.01)
    assert investigator.calls == 2
    assert slack.worker.queue_depth() == 3
    assert await slack.state.jobs.pending() == 5
    gate.set()
    await slack.idle()
    assert investigator.calls == 5
    assert [t.split("s3:")[1].split(" ")[0] for t in investigator.texts] == actions
    assert slack.worker.queue_depth() == 0
    assert await slack.state.jobs.pending() == 0
