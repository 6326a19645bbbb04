"""One sandbox per test module (moto's state is process-wide), and the bot's environment and adapter per test."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from diagnostics.aws import AwsAdapter
from diagnostics.sandbox import Sandbox
from tests.harness.sdk import botocore_session


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as box:
        yield box


@pytest.fixture
def bot_environment(sandbox: Sandbox) -> Iterator[Mapping[str, str]]:
    """This process's AWS credential chain pointed at the sandbox, as the bot's own user."""
    with sandbox.activate() as applied:
        yield applied


@pytest.fixture
def adapter(sandbox: Sandbox, bot_environment: Mapping[str, str]) -> Iterator[AwsAdapter]:
    """The real read-only adapter, configured as the demo configures it."""
    reader = AwsAdapter(sandbox.aws_config, session=botocore_session())
    yield reader
    reader.close()
