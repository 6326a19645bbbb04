"""Shared fixtures: AWS on loopback (moto, a fake iam-toolbox), a sealed AWS environment, Slack app and fake Slack."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import settings as hypothesis_settings
from slack_bolt.async_app import AsyncApp

from app import Settings, build_slack_client, build_worker, create_app, create_web_app
from diagnostics.aws import AwsAdapter
from diagnostics.doctor import StatusSource
from diagnostics.investigate import Investigator, OfflineInvestigator
from diagnostics.reader import AwsConfig
from diagnostics.state import State
from handlers.health import Health, slack_probe
from handlers.jobs import Worker
from tests.harness.fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, Sender
from tests.harness.installed import Installed, install
from tests.harness.redis_server import RedisServer, RedisUnavailable
from tests.harness.sdk import botocore_session
from tests.harness.serve import stop_leftovers
from tests.harness.servers import MotoServer, RecordingServer, free_port
from tests.harness.toolbox import FakeToolbox
from tests.harness.world import HUB_ACCOUNT, REGION, TARGET_ACCOUNT, AccessKey, AwsWorld

# Property and fuzz tests draw the same examples on every run, so that a run's outcome depends on the code alone
# (a failure is reproducible, and CI does not pass or fail by luck). HYPOTHESIS_PROFILE=explore draws new random
# examples on each run, to look for failures the repeatable examples do not reach.
hypothesis_settings.register_profile("repeatable", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

# ------------------------------------------------------------------------------------------------- AWS


def pytest_configure(config: pytest.Config) -> None:
    # moto warns that the harness's injected error codes are not error shapes of the service model: by design.
    config.addinivalue_line("filterwarnings", "ignore:.*does not match an error shape:UserWarning")


@pytest.fixture(autouse=True)
def _sealed_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach real AWS or read this machine's AWS profiles and credentials."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def closed_endpoint() -> str:
    """An endpoint on loopback where nothing listens: every connection is refused."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
async def no_serve_left_running() -> AsyncIterator[None]:
    """For tests that start `iamwhy serve`: one that fails before stopping it does not leave it serving."""
    yield
    await stop_leftovers()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_toolbox() -> Iterator[FakeToolbox]:
    toolbox = FakeToolbox().start()
    yield toolbox
    toolbox.stop()


@pytest.fixture(scope="session")
def _world(moto_server: MotoServer, fake_toolbox: FakeToolbox) -> AwsWorld:
    return AwsWorld(moto_server, fake_toolbox)


@pytest.fixture
def aws_world(_world: AwsWorld) -> AwsWorld:
    """An empty AWS: moto reset, no canned answers, no faults, empty request logs."""
    _world.reset()
    return _world


@dataclass(frozen=True)
class BotCredentials:
    """The bot's own identity in the hub account, as the standard credential chain sees it."""

    account: str
    key: AccessKey


@pytest.fixture
def aws_env(aws_world: AwsWorld, monkeypatch: pytest.MonkeyPatch) -> BotCredentials:
    """Environment of a bot running in the hub account against the sandbox (AWS_ENDPOINT_URL and friends)."""
    aws_world.create_user(HUB_ACCOUNT, "iamwhy-bot")
    key = aws_world.create_access_key(HUB_ACCOUNT, "iamwhy-bot")
    aws_world.forget_requests()
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_world.endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM_TOOLBOX", aws_world.toolbox.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key.secret_access_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    return BotCredentials(HUB_ACCOUNT, key)


@pytest.fixture
def installed(aws_world: AwsWorld, aws_env: BotCredentials) -> Installed:
    """iamwhy's roles deployed right in the sandbox, for the bot of aws_env (see tests/harness/installed.py)."""
    return install(aws_world, aws_env.key.user_arn)


@pytest.fixture(scope="session")
def _recording_server() -> Iterator[RecordingServer]:
    server = RecordingServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def recording_server(_recording_server: RecordingServer) -> RecordingServer:
    """A loopback endpoint that answers 503 and logs every request: for proving that nothing was sent."""
    _recording_server.log.clear()
    return _recording_server


@pytest.fixture
def make_adapter(aws_env: BotCredentials) -> Iterator[Callable[..., AwsAdapter]]:
    """Build AwsAdapters for the sandbox (target account allowed, one attempt per call); closed after the test."""
    made: list[AwsAdapter] = []

    def make(**overrides: Any) -> AwsAdapter:
        settings: dict[str, Any] = {"allowed_accounts": frozenset({TARGET_ACCOUNT}), "max_attempts": 1}
        settings.update(overrides)
        clock = settings.pop("clock", None)
        extra = {"clock": clock} if clock is not None else {}
        adapter = AwsAdapter(AwsConfig(**settings), session=botocore_session(), **extra)
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        adapter.close()


# ------------------------------------------------------------------------------------------------- Redis


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis on loopback: IAMWHY_TEST_REDIS_URL when set, else a redis-server started (and stopped) here.

    Tests keep to keys of their own (tests.harness.redis_server.with_prefix), so a shared server is never flushed.
    """
    given = os.environ.get("IAMWHY_TEST_REDIS_URL", "").strip()
    if given:
        yield given
        return
    try:
        server = RedisServer().start()
    except RedisUnavailable as exc:
        pytest.skip(f"{exc}; CI installs it, so CI runs these tests")
    yield server.url
    server.stop()


# ------------------------------------------------------------------------------------------------- Slack

ALERT_CHANNEL = "CALERT01"
WATCHED_CHANNEL = "CWATCH01"
# Slack's 5xx answers are retried as in production, with waits a hundred times shorter, not to slow the tests.
FAST_BACKOFF = 0.005


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack().start()
    yield fake
    await fake.stop()


def slack_env(fake: FakeSlack, **overrides: str) -> dict[str, str]:
    """The environment of an HTTP-mode bot talking to the fake Slack (alert channel CALERT01, watching all)."""
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "IAMWHY_SLACK_API_URL": fake.api_url,
        "IAMWHY_ALERT_CHANNELS": ALERT_CHANNEL,
        "IAMWHY_STATE_URL": "memory:",
    }
    env.update(overrides)
    return env


@dataclass
class ServedSlackApp:
    """The real Bolt app behind the real HTTP server on loopback, talking to the fake Slack."""

    url: str
    send: Sender
    fake: FakeSlack
    state: State
    app: AsyncApp
    worker: Worker

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until every listener Bolt started in the background has finished (events are acked first) and
        every job they journaled is done; storm counts waiting for their next update are shown now."""
        async with asyncio.timeout(timeout):
            while True:
                if busy := [t for t in asyncio.all_tasks() if _is_listener(t) and not t.done()]:
                    await asyncio.wait(busy)
                elif self.worker.runner.in_flight():
                    await self.worker.idle()
                else:
                    await self.worker.counts.flush()
                    return


def _is_listener(task: asyncio.Task[Any]) -> bool:
    # Bolt runs each listener as a task of this inner coroutine once the request has been acknowledged.
    return "run_ack_function_asynchronously" in getattr(task.get_coro(), "__qualname__", "")


ServeSlackApp = Callable[..., Awaitable[ServedSlackApp]]


@pytest.fixture
async def serve_slack_app(fake_slack: FakeSlack) -> AsyncIterator[ServeSlackApp]:
    """Start the app with a given investigator, environment or state (offline investigator by default)."""
    runners: list[web.AppRunner] = []
    workers: list[Worker] = []
    session = aiohttp.ClientSession()

    async def serve(
        *,
        investigator: Investigator | None = None,
        env: Mapping[str, str] | None = None,
        state: State | None = None,
        health: Health | None = None,
        reads_aws: bool | None = None,
        status: StatusSource | None = None,
    ) -> ServedSlackApp:
        settings = Settings.from_env(slack_env(fake_slack, **(env or {})))
        state = state if state is not None else State.in_memory()
        client = build_slack_client(settings, state, server_error_backoff=FAST_BACKOFF)
        investigator = investigator or OfflineInvestigator()
        worker = build_worker(settings, investigator=investigator, state=state, client=client)
        workers.append(worker)
        app = create_app(
            settings,
            investigator=investigator,
            client=client,
            state=state,
            reads_aws=reads_aws,
            worker=worker,
            status=status,
        )
        web_app = create_web_app(
            app, health or Health({"slack": slack_probe(client)}), signing_secret=settings.signing_secret
        )
        runner = web.AppRunner(web_app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
        return ServedSlackApp(url, Sender(url, session), fake_slack, state, app, worker)

    yield serve
    for runner in runners:
        await runner.cleanup()
    for worker in workers:
        await worker.close(grace=5)
    await session.close()


@pytest.fixture
async def slack(serve_slack_app: ServeSlackApp) -> ServedSlackApp:
    return await serve_slack_app()
