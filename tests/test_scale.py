"""`iamwhy serve` for real, as separate processes: killed mid-diagnosis and restarted, and two replicas on one Redis.

AWS is the harness's moto behind a proxy that holds every request, so that a diagnosis takes long enough to be
interrupted; Slack is the fake; the state is a SQLite file, or a real redis-server on loopback.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis

from bench.delay_proxy import DelayProxy
from tests.conftest import BotCredentials, slack_env
from tests.harness.fake_slack import FakeSlack, Sender, message_event
from tests.harness.redis_server import with_prefix
from tests.harness.serve import start_serve
from tests.harness.world import TARGET_ACCOUNT, AwsWorld, allow, policy

# A test that fails before stopping the `iamwhy serve` it started does not leave it serving.
pytestmark = pytest.mark.usefixtures("no_serve_left_running")

ROOT = Path(__file__).resolve().parent.parent
OBJECT = "arn:aws:s3:::prod-artifacts/release.tar.gz"
ERROR = (
    "An error occurred (AccessDenied) when calling the GetObject operation: User: "
    f"arn:aws:iam::{TARGET_ACCOUNT}:user/build-bot is not authorized to perform: s3:GetObject on resource: "
    f'"{OBJECT}" because no identity-based policy allows the s3:GetObject action'
)
HEADER = "🔒 s3:GetObject denied for user build-bot"


class Served:
    """One `iamwhy serve` process."""

    def __init__(self, process: asyncio.subprocess.Process, serving: Mapping[str, Any]):
        self.process = process
        self.serving = serving
        self.url = f"http://127.0.0.1:{serving['port']}/slack/events"

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        assert self.process.stderr is not None
        await self.process.stderr.read()
        await self.process.wait()

    async def kill(self) -> None:
        self.process.kill()
        await self.process.wait()


async def _serve(env: Mapping[str, str]) -> Served:
    return Served(*await start_serve(env))


@pytest.fixture
def slow_aws(aws_env: BotCredentials, aws_world: AwsWorld) -> Iterator[str]:
    """The target account seeded with the denied user; AWS behind a proxy holding each request 300 ms."""
    aws_world.create_bucket(TARGET_ACCOUNT, "prod-artifacts")
    aws_world.create_user(TARGET_ACCOUNT, "build-bot", inline={"Deploy": policy(allow("s3:PutObject", OBJECT))})
    with DelayProxy(aws_world.endpoint, 0.3) as proxy:
        yield proxy.endpoint


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _env(fake: FakeSlack, endpoint: str, state_url: str) -> dict[str, str]:
    return {
        **slack_env(fake),
        "IAMWHY_STATE_URL": state_url,
        "IAMWHY_ACCOUNTS": TARGET_ACCOUNT,
        # A dead process's jobs are taken over two seconds after its last renewal.
        "IAMWHY_JOB_LEASE": "2",
        "AWS_ENDPOINT_URL": endpoint,
        "LOG_LEVEL": "INFO",
    }


def _journal(path: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(path) as db:
        return [json.loads(body) for (body,) in db.execute("SELECT body FROM jobs")]


async def _until(condition: Any, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def test_killed_mid_diagnosis_the_next_start_finishes_the_answer_once(
    fake_slack: FakeSlack, slow_aws: str, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    path = tmp_path / "state" / "state.db"
    env = _env(fake_slack, slow_aws, f"sqlite:///{path}")
    first = await _serve(env)
    event = message_event(ERROR)
    status, _, _ = await Sender(first.url, http).event(event)
    assert status == 200
    (placeholder,) = await fake_slack.wait_for("chat.postMessage", timeout=30)
    # The journal shows the job running, its placeholder recorded: then the process dies.
    await _until(lambda: any(j["status"] == "running" and j["placeholder_ts"] for j in _journal(path)))
    await first.kill()
    assert fake_slack.calls_of("chat.update") == [], "the diagnosis finished before the process was killed"

    second = await _serve(env)
    (answer,) = await fake_slack.wait_for("chat.update", timeout=60)
    await second.stop()
    assert answer.body["ts"] == "1700000000.000001"
    assert answer.blocks[0]["text"]["text"] == HEADER
    assert placeholder.body["thread_ts"] == event["ts"]
    assert len(fake_slack.calls_of("chat.postMessage")) == 1
    assert len(fake_slack.calls_of("chat.update")) == 1
    (job,) = _journal(path)
    assert job["status"] == "done"


async def _serve_replicas(env: Mapping[str, str]) -> list[Served]:
    return list(await asyncio.gather(_serve(env), _serve(env)))


async def test_two_replicas_receiving_the_same_event_answer_it_once(
    fake_slack: FakeSlack, slow_aws: str, redis_url: str, http: aiohttp.ClientSession
) -> None:
    replicas = await _serve_replicas(_env(fake_slack, slow_aws, with_prefix(redis_url)))
    try:
        assert {r.serving["state"] for r in replicas} == {redis_url.split("?")[0]}
        assert len({r.serving["replica"] for r in replicas}) == 2
        event = message_event(ERROR)
        # Slack's retry of one delivery can land on either replica, even while the first is being handled.
        sent = await asyncio.gather(
            *(Sender(r.url, http).event(event, event_id="EvREPLICA1", retry=n or None) for n, r in enumerate(replicas))
        )
        assert [status for status, _, _ in sent] == [200, 200]
        await fake_slack.wait_for("chat.update", timeout=60)
        # A second, distinct event goes to the other replica and is answered too: both replicas work.
        await Sender(replicas[1].url, http).event(message_event(ERROR), event_id="EvREPLICA2")
        await fake_slack.wait_for("chat.update", count=2, timeout=60)
    finally:
        for replica in replicas:
            await replica.stop()
    assert len(fake_slack.calls_of("chat.postMessage")) == 2
    assert len(fake_slack.calls_of("chat.update")) == 2
    assert len({c.body["thread_ts"] for c in fake_slack.calls_of("chat.postMessage")}) == 2


def _redis_journal(url: str, prefix: str) -> list[dict[str, Any]]:
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        return [json.loads(client.hget(key, "body") or "{}") for key in client.scan_iter(match=f"{prefix}job:*")]
    finally:
        client.close()


async def test_a_replica_killed_mid_diagnosis_is_taken_over_by_the_other(
    fake_slack: FakeSlack, slow_aws: str, redis_url: str, http: aiohttp.ClientSession
) -> None:
    prefix = f"iamwhy-test-{uuid.uuid4().hex[:12]}:"
    first, second = await _serve_replicas(_env(fake_slack, slow_aws, with_prefix(redis_url, prefix)))
    try:
        await Sender(first.url, http).event(message_event(ERROR))
        await fake_slack.wait_for("chat.postMessage", timeout=30)

        def journaled() -> bool:
            return any(j.get("placeholder_ts") for j in _redis_journal(redis_url, prefix))

        # As above: once the journal has the placeholder, the replica dies.
        await _until(journaled)
        await first.kill()
        assert fake_slack.calls_of("chat.update") == [], "the diagnosis finished before the replica was killed"
        (answer,) = await fake_slack.wait_for("chat.update", timeout=60)
    finally:
        await second.stop()
    assert answer.blocks[0]["text"]["text"] == HEADER
    assert len(fake_slack.calls_of("chat.postMessage")) == 1
    assert len(fake_slack.calls_of("chat.update")) == 1
