"""Shared fixtures: an AWS sandbox on loopback (moto, a fake iam-toolbox) and an environment sealed off from AWS."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from diagnostics.aws import AwsAdapter
from diagnostics.reader import AwsConfig
from tests.harness.sdk import botocore_session
from tests.harness.servers import MotoServer, RecordingServer
from tests.harness.toolbox import FakeToolbox
from tests.harness.world import HUB_ACCOUNT, REGION, TARGET_ACCOUNT, AccessKey, AwsWorld

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
