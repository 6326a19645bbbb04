"""`iamwhy doctor` end to end: a real process against the fake Slack and the moto sandbox; exit codes, text, JSON."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app import doctor_report, inspect_configuration
from diagnostics.doctor import Status
from tests.conftest import BotCredentials, slack_env
from tests.harness.fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.harness.installed import EXTERNAL_ID, Installed

ROOT = Path(__file__).resolve().parent.parent
# Makes the child resolve the moto server's per-account S3 Control host, as the test process does.
CHILD_SITE = ROOT / "tests" / "harness" / "child"


def _doctor(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "IAMWHY_"))}
    return subprocess.run(
        [sys.executable, "-m", "app", "doctor", *args],
        cwd=ROOT,
        env={**clean, **env, "PYTHONPATH": str(CHILD_SITE)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


async def _run(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    # The fake Slack answers from this event loop: the process runs in a thread meanwhile.
    return await asyncio.to_thread(_doctor, env, *args)


async def test_a_right_installation_is_green_and_exits_0(
    fake_slack: FakeSlack, installed: Installed, aws_env: BotCredentials
) -> None:
    out = await _run({**slack_env(fake_slack), **installed.env})
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "Configuration"
    assert lines[-1] == "iamwhy doctor: everything iamwhy needs works"
    assert "  ✓ Bot token: accepted: workspace Fake (T0000TEAM)" in out.stdout
    assert f"  {installed.member}: evaluated (SCPs readable, RCPs readable); verified when" in out.stdout
    for secret in (BOT_TOKEN, SIGNING_SECRET, EXTERNAL_ID, aws_env.key.secret_access_key):
        assert secret not in out.stdout + out.stderr


async def test_json_lists_every_line_and_the_outlook(
    fake_slack: FakeSlack, installed: Installed, aws_env: BotCredentials
) -> None:
    out = await _run({**slack_env(fake_slack), **installed.env}, "--json")
    assert out.returncode == 0, out.stderr
    document = json.loads(out.stdout)
    assert set(document) == {"ok", "counts", "checked_at", "duration_ms", "lines", "accounts"}
    assert document["ok"] is True
    assert document["counts"]["failed"] == 0
    ids = {(line["id"], line["subject"]) for line in document["lines"]}
    assert {("config", None), ("slack.auth", None), ("aws.identity", None), ("aws.role", installed.member)} <= ids
    assert all(
        set(line) == {"id", "subject", "group", "title", "status", "ok", "tried", "result", "fix", "details"}
        for line in document["lines"]
    )
    assert [a["account"] for a in document["accounts"]] == sorted(["111111111111", installed.member])


async def test_a_problem_exits_1_with_its_fix(
    fake_slack: FakeSlack, installed: Installed, aws_env: BotCredentials
) -> None:
    fake_slack.add_channel("CPAGES01", "pages", members=set())
    out = await _run({**slack_env(fake_slack, IAMWHY_ALERT_CHANNELS="CPAGES01"), **installed.env})
    assert out.returncode == 1
    assert "  ✗ Channel (CPAGES01): #pages exists, but the bot is not a member" not in out.stdout
    assert "  ✗ Channel: #pages exists, but the bot is not a member" in out.stdout
    assert "      fix: In that channel, run /invite @iamwhy (#pages)" in out.stdout
    assert out.stdout.splitlines()[-1] == "iamwhy doctor: 1 problem"
    assert "Traceback" not in out.stderr


async def test_missing_configuration_is_named_with_an_example_and_the_rest_still_checked(
    fake_slack: FakeSlack, installed: Installed, aws_env: BotCredentials
) -> None:
    env = {**slack_env(fake_slack), **installed.env}
    del env["SLACK_BOT_TOKEN"]
    out = await _run(env, "--json")
    assert out.returncode == 1
    document = json.loads(out.stdout)
    config = [line for line in document["lines"] if line["id"] == "config"]
    assert config == [
        {
            "id": "config",
            "subject": "SLACK_BOT_TOKEN",
            "group": "Configuration",
            "title": "SLACK_BOT_TOKEN",
            "status": "failed",
            "ok": False,
            "tried": config[0]["tried"],
            "result": "is not set (the bot token (OAuth & Permissions), xoxb-…)",
            "fix": (
                "Set SLACK_BOT_TOKEN to a valid value, for example: SLACK_BOT_TOKEN=xoxb-… (OAuth & Permissions › "
                "Bot User OAuth Token)"
            ),
            "details": {},
        }
    ]
    by_id = {line["id"]: line for line in document["lines"]}
    assert by_id["slack.auth"]["status"] == "skipped"
    # AWS does not depend on Slack's settings: it is still checked.
    assert by_id["aws.identity"]["status"] == "ok"


def test_every_configuration_problem_is_found_at_once() -> None:
    env = {
        "SLACK_BOT_TOKEN": "not-a-token",
        "SLACK_SIGNING_SECRET": "short",
        "IAMWHY_ACCOUNTS": "12345",
        "IAMWHY_ALERT_CHANNELS": "#alerts",
        "PORT": "http",
    }
    problems, settings = inspect_configuration(env)
    assert sorted(p.variable for p in problems) == [
        "IAMWHY_ACCOUNTS",
        "IAMWHY_ALERT_CHANNELS",
        "PORT",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
    ]
    assert settings is not None
    assert settings.aws.allowed_accounts == frozenset()


async def test_bad_aws_settings_skip_the_aws_checks(fake_slack: FakeSlack) -> None:
    env = {**slack_env(fake_slack), "IAMWHY_ORG_ROLE_ARN": "IamWhyOrgReadOnly"}
    report = await doctor_report(env)
    (config,) = [line for line in report.lines if line.id == "config"]
    assert (config.subject, config.title) == ("IAMWHY_ORG_ROLE_ARN", "IAMWHY_ORG_ROLE_ARN")
    assert config.result.startswith("'IamWhyOrgReadOnly' is not an IAM role ARN")
    (aws,) = [line for line in report.lines if line.id == "aws.identity"]
    assert (aws.status, aws.result) == (Status.SKIPPED, "not tried: fix IAMWHY_ORG_ROLE_ARN first (see Configuration)")


async def test_socket_mode_needs_its_token(fake_slack: FakeSlack, aws_env: BotCredentials) -> None:
    env: dict[str, Any] = {"SLACK_BOT_TOKEN": BOT_TOKEN, "IAMWHY_SLACK_API_URL": fake_slack.api_url}
    report = await doctor_report(env, socket_mode=True)
    (token,) = [line for line in report.lines if line.id == "slack.app_token"]
    assert (token.status, token.result) == (Status.FAILED, "not set")
    (secret,) = [line for line in report.lines if line.id == "slack.signing_secret"]
    assert secret.status is Status.SKIPPED
    assert not report.ok
