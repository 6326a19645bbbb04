"""The Slack side of the composition root: settings from the environment, /healthz, and `iamwhy serve` for real."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from app import DEFAULT_SLACK_API_URL, Settings
from diagnostics.aws import AwsAdapter
from diagnostics.reader import ConfigError
from diagnostics.state import StateUrl, open_state
from handlers.health import Health, slack_probe, state_probe
from tests.conftest import BotCredentials, slack_env
from tests.handlers.seed import SEED_ERRORS
from tests.harness.fake_slack import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, FakeSlack, Sender, message_event
from tests.harness.serve import start_serve
from tests.harness.world import HUB_ACCOUNT, AwsWorld

# A test that fails before stopping the `iamwhy serve` it started does not leave it serving.
pytestmark = pytest.mark.usefixtures("no_serve_left_running")

ROOT = Path(__file__).resolve().parent.parent
BASE = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}


# --------------------------------------------------------------------------------------------------- settings


def test_the_smallest_http_configuration() -> None:
    settings = Settings.from_env(BASE)
    assert settings.bot_token == BOT_TOKEN
    assert settings.signing_secret == SIGNING_SECRET
    assert settings.slack_api_url == DEFAULT_SLACK_API_URL
    assert settings.watch_channels is None
    assert settings.alert_channels == frozenset()
    assert (settings.port, settings.log_level, settings.socket_mode) == (3000, "INFO", False)
    assert settings.aws.role_name == "IamWhyReadOnly"
    assert (settings.storm_window, settings.concurrency) == (900.0, 8)


def test_the_state_is_a_file_unless_configured_otherwise() -> None:
    settings = Settings.from_env({**BASE, "XDG_STATE_HOME": "/srv/state"})
    assert settings.state_url == StateUrl("sqlite", "/srv/state/iamwhy/state.db")
    assert Settings.from_env({**BASE, "IAMWHY_STATE_URL": "memory:"}).state_url == StateUrl("memory", "")


def test_every_variable_is_read() -> None:
    env = {
        **BASE,
        "IAMWHY_SLACK_API_URL": "http://127.0.0.1:9999/api",
        "IAMWHY_ALERT_CHANNELS": "C0ALERT1, G0ALERT2",
        "IAMWHY_WATCH_CHANNELS": "C0WATCH1 C0WATCH2",
        "IAMWHY_ACCOUNTS": "222222222222",
        "IAMWHY_ORG_ROLE_ARN": "arn:aws:iam::333333333333:role/IamWhyOrgRead",
        "IAMWHY_EXTERNAL_ID": "iamwhy-external",
        "IAMWHY_STATE_URL": "redis://:pw@cache:6379/1?key_prefix=prod:",
        "IAMWHY_STORM_WINDOW": "5m",
        "IAMWHY_CONCURRENCY": "16",
        "IAMWHY_JOB_LEASE": "30s",
        "PORT": "8080",
        "LOG_LEVEL": "debug",
    }
    settings = Settings.from_env(env)
    assert settings.state_url == StateUrl("redis", "redis://:pw@cache:6379/1", "prod:")
    assert (settings.storm_window, settings.concurrency, settings.job_lease) == (300.0, 16, 30.0)
    assert settings.slack_api_url == "http://127.0.0.1:9999/api/"
    assert settings.alert_channels == {"C0ALERT1", "G0ALERT2"}
    assert settings.watch_channels == {"C0WATCH1", "C0WATCH2"}
    assert settings.aws.allowed_accounts == {"222222222222"}
    assert settings.aws.org_role_arn == "arn:aws:iam::333333333333:role/IamWhyOrgRead"
    assert (settings.port, settings.log_level) == (8080, "DEBUG")
    described = json.dumps(settings.describe())
    assert settings.describe()["state"] == "redis://cache:6379/1"
    for secret in (BOT_TOKEN, SIGNING_SECRET, "iamwhy-external", ":pw@"):
        assert secret not in described


@pytest.mark.parametrize(
    ("watch", "expected"), [("all", None), ("ALL", None), ("none", frozenset()), ("C0ONE", frozenset({"C0ONE"}))]
)
def test_watch_channels(watch: str, expected: frozenset[str] | None) -> None:
    assert Settings.from_env({**BASE, "IAMWHY_WATCH_CHANNELS": watch}).watch_channels == expected


def test_socket_mode_needs_the_app_token_and_not_the_signing_secret() -> None:
    settings = Settings.from_env({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}, socket_mode=True)
    assert (settings.socket_mode, settings.app_token, settings.signing_secret) == (True, APP_TOKEN, None)


@pytest.mark.parametrize(
    ("env", "socket_mode", "variable", "words"),
    [
        ({}, False, "SLACK_BOT_TOKEN", "is not set"),
        ({"SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_BOT_TOKEN": "  "}, False, "SLACK_BOT_TOKEN", "is not set"),
        ({**BASE, "SLACK_BOT_TOKEN": "xoxp-user-token"}, False, "SLACK_BOT_TOKEN", "should start with xoxb-"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN}, False, "SLACK_SIGNING_SECRET", "is not set"),
        ({**BASE, "SLACK_SIGNING_SECRET": "not a secret!"}, False, "SLACK_SIGNING_SECRET", "not a Slack signing"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN}, True, "SLACK_APP_TOKEN", "is not set"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": BOT_TOKEN}, True, "SLACK_APP_TOKEN", "start with xapp-"),
        ({**BASE, "IAMWHY_SLACK_API_URL": "slack.com/api"}, False, "IAMWHY_SLACK_API_URL", "not an http(s) URL"),
        ({**BASE, "IAMWHY_ALERT_CHANNELS": "#alerts"}, False, "IAMWHY_ALERT_CHANNELS", "not a Slack channel id"),
        ({**BASE, "IAMWHY_WATCH_CHANNELS": "C0OK,general"}, False, "IAMWHY_WATCH_CHANNELS", "'general'"),
        ({**BASE, "PORT": "http"}, False, "PORT", "not a TCP port"),
        ({**BASE, "PORT": "70000"}, False, "PORT", "not a TCP port"),
        ({**BASE, "LOG_LEVEL": "loud"}, False, "LOG_LEVEL", "not one of"),
        ({**BASE, "IAMWHY_STATE_URL": "postgres://db/iamwhy"}, False, "IAMWHY_STATE_URL", "is not memory:"),
        ({**BASE, "IAMWHY_STATE_URL": "redis://"}, False, "IAMWHY_STATE_URL", "names no Redis host"),
        ({**BASE, "IAMWHY_STORM_WINDOW": "soon"}, False, "IAMWHY_STORM_WINDOW", "not a positive duration"),
        ({**BASE, "IAMWHY_STORM_WINDOW": "0"}, False, "IAMWHY_STORM_WINDOW", "not a positive duration"),
        ({**BASE, "IAMWHY_CONCURRENCY": "0"}, False, "IAMWHY_CONCURRENCY", "from 1 to 1000"),
        ({**BASE, "IAMWHY_JOB_LEASE": "-5"}, False, "IAMWHY_JOB_LEASE", "not a positive duration"),
        ({**BASE, "IAMWHY_ACCOUNTS": "12345"}, False, "IAMWHY_ACCOUNTS", "not a 12-digit"),
        ({**BASE, "IAMWHY_ROLE_NAME": "bad name!"}, False, "IAMWHY_ROLE_NAME", "not an IAM role name"),
    ],
)
def test_a_bad_or_missing_variable_is_named(env: dict[str, str], socket_mode: bool, variable: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env, socket_mode=socket_mode)
    assert caught.value.variable == variable
    assert words in str(caught.value)
    assert str(caught.value).count("\n") == 0


def test_settings_built_in_code_keep_the_same_rules() -> None:
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        Settings(bot_token=BOT_TOKEN)
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        Settings(bot_token=BOT_TOKEN, socket_mode=True)


def _serve(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "IAMWHY_"))}
    return subprocess.run(
        [sys.executable, "-m", "app", "serve", *args],
        cwd=ROOT,
        env={**clean, "IAMWHY_STATE_URL": "memory:", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_serve_without_configuration_says_what_is_missing_in_one_line() -> None:
    out = _serve({})
    assert out.returncode == 2
    assert out.stderr == "iamwhy: SLACK_BOT_TOKEN: is not set (the bot token (OAuth & Permissions), xoxb-…)\n"
    out = _serve({"SLACK_BOT_TOKEN": BOT_TOKEN}, "--socket-mode")
    assert out.returncode == 2
    assert out.stderr.startswith("iamwhy: SLACK_APP_TOKEN: is not set")


# ----------------------------------------------------------------------------------------------------- /healthz


async def _get_health(health: Health) -> tuple[int, dict[str, Any]]:
    app = web.Application()
    app.router.add_get("/healthz", health.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/healthz"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return response.status, await response.json()
    finally:
        await runner.cleanup()


def _aws_probe(adapter: AwsAdapter) -> Callable[[], Any]:
    async def probe() -> str:
        identity = await adapter.call("sts", "GetCallerIdentity")
        return str(identity["Account"])

    return probe


async def test_healthz_reports_slack_and_aws_credentials_working(
    fake_slack: FakeSlack, make_adapter: Callable[..., AwsAdapter]
) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake_slack.api_url)
    health = Health({"slack": slack_probe(client), "aws": _aws_probe(make_adapter())}, facts={"mode": "http"})
    status, report = await _get_health(health)
    assert status == 200
    assert report == {
        "ok": True,
        "mode": "http",
        "checks": {"slack": {"ok": True, "detail": "T0000TEAM"}, "aws": {"ok": True, "detail": HUB_ACCOUNT}},
    }


async def test_healthz_says_which_credentials_fail_without_showing_them(
    fake_slack: FakeSlack, make_adapter: Callable[..., AwsAdapter], aws_env: BotCredentials, aws_world: AwsWorld
) -> None:
    wrong = "xoxb-revoked-token"
    client = AsyncWebClient(token=wrong, base_url=fake_slack.api_url)
    message = "The security token included in the request is invalid."
    aws_world.moto.fault("sts", "GetCallerIdentity", "InvalidClientTokenId", message, status=403)
    adapter = make_adapter()
    status, report = await _get_health(Health({"slack": slack_probe(client), "aws": _aws_probe(adapter)}))
    assert status == 503
    assert report["checks"]["slack"] == {"ok": False, "detail": "invalid_auth"}
    assert report["checks"]["aws"] == {"ok": False, "detail": "credentials"}
    text = json.dumps(report)
    assert wrong not in text
    assert aws_env.key.access_key_id not in text


async def test_healthz_reports_an_unreachable_slack() -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url="http://127.0.0.1:9/api/")
    status, report = await _get_health(Health({"slack": slack_probe(client)}))
    assert (status, report["checks"]["slack"]) == (503, {"ok": False, "detail": "unreachable"})


async def test_healthz_reports_the_state_store_answering_and_where_it_lives(tmp_path: Path) -> None:
    state = await open_state(StateUrl("sqlite", str(tmp_path / "state.db")))
    try:
        status, report = await _get_health(Health({"state": state_probe(state)}))
    finally:
        await state.close()
    assert (status, report["checks"]["state"]) == (200, {"ok": True, "detail": f"sqlite:{tmp_path / 'state.db'}"})


async def test_healthz_reports_a_state_store_that_does_not_answer(tmp_path: Path) -> None:
    state = await open_state(StateUrl("sqlite", str(tmp_path / "state.db")))
    await state.close()
    status, report = await _get_health(Health({"state": state_probe(state)}, cache_seconds=0))
    assert (status, report["checks"]["state"]) == (503, {"ok": False, "detail": "unavailable"})


async def test_a_probe_s_unexpected_error_is_a_failed_check_not_a_failed_endpoint() -> None:
    async def probe() -> str:
        raise KeyError("surprise")

    status, report = await _get_health(Health({"odd": probe}))
    assert (status, report["checks"]["odd"]) == (503, {"ok": False, "detail": "error"})


async def test_healthz_answers_from_its_cache_between_probes() -> None:
    calls: list[int] = []
    now = [0.0]

    async def probe() -> str:
        calls.append(1)
        return "ok"

    health = Health({"x": probe}, cache_seconds=15, clock=lambda: now[0])
    await health.report()
    await health.report()
    now[0] = 16
    await health.report()
    assert len(calls) == 2


# ------------------------------------------------------------------------------------------------ iamwhy serve


async def _start_serve(env: Mapping[str, str], *args: str) -> tuple[asyncio.subprocess.Process, dict[str, Any]]:
    return await start_serve({"IAMWHY_STATE_URL": "memory:", **env}, *args)


async def _stop(process: asyncio.subprocess.Process) -> str:
    process.send_signal(signal.SIGTERM)
    assert process.stderr is not None
    rest = (await process.stderr.read()).decode()
    assert await process.wait() == 0
    return rest


async def test_iamwhy_serve_answers_slack_and_health_then_stops_cleanly(
    fake_slack: FakeSlack, aws_env: BotCredentials
) -> None:
    process, serving = await _start_serve(slack_env(fake_slack))
    assert serving["mode"] == "http"
    assert serving["investigation"] == "live"
    assert BOT_TOKEN not in json.dumps(serving)
    base = f"http://127.0.0.1:{serving['port']}"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/healthz") as response:
            assert response.status == 200
            assert (await response.json())["checks"]["aws"] == {"ok": True, "detail": HUB_ACCOUNT}
        event = message_event(SEED_ERRORS["missing_grant"])
        status, _, _ = await Sender(f"{base}/slack/events", session).event(event)
        assert status == 200
    (update,) = await fake_slack.wait_for("chat.update", timeout=30)
    assert update.blocks[0]["text"]["text"] == "🔒 s3:GetObject denied for user build-bot"
    # The placeholder and its answer went over one kept-alive connection, not a new one per Web API call.
    (placeholder,) = fake_slack.calls_of("chat.postMessage")
    assert placeholder.peer
    assert placeholder.peer == update.peer
    rest = await _stop(process)
    assert '"message": "stopped"' in rest
    assert BOT_TOKEN not in rest
    assert SEED_ERRORS["missing_grant"] not in rest


async def test_iamwhy_serve_socket_mode_connects_and_still_serves_health(
    fake_slack: FakeSlack, aws_env: BotCredentials
) -> None:
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "IAMWHY_SLACK_API_URL": fake_slack.api_url}
    process, serving = await _start_serve(env, "--socket-mode")
    assert serving["mode"] == "socket"
    await fake_slack.wait_connected(timeout=30)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{serving['port']}/healthz") as response:
            assert response.status == 200
        async with session.post(f"http://127.0.0.1:{serving['port']}/slack/events", data="{}") as response:
            assert response.status == 404
    await _stop(process)


async def test_a_port_in_use_is_said_in_one_line(fake_slack: FakeSlack, aws_env: BotCredentials) -> None:
    taken = web.AppRunner(web.Application())
    await taken.setup()
    await web.TCPSite(taken, "0.0.0.0", 0).start()
    port = taken.addresses[0][1]
    try:
        out = await asyncio.to_thread(_serve, {**slack_env(fake_slack), "PORT": str(port)})
    finally:
        await taken.cleanup()
    assert out.returncode == 2
    assert out.stderr.splitlines()[-1].startswith(f"iamwhy: PORT: cannot listen on port {port}: ")
    assert "Traceback" not in out.stderr


async def test_a_refused_app_token_is_said_in_one_line(fake_slack: FakeSlack, aws_env: BotCredentials) -> None:
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xapp-revoked", "IAMWHY_SLACK_API_URL": fake_slack.api_url}
    out = await asyncio.to_thread(_serve, {**env, "PORT": "0"}, "--socket-mode")
    assert out.returncode == 2
    assert out.stderr.splitlines()[-1] == "iamwhy: SLACK_APP_TOKEN: Slack refused it (invalid_auth)"
    assert "Traceback" not in out.stderr
