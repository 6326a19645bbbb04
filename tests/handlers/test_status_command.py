"""`/iamwhy status` end to end: the real app, the real doctor against the fake Slack and the moto sandbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from app import doctor_report
from diagnostics.aws import AwsAdapter
from diagnostics.doctor import CachedReport, DoctorReport, Line, Status
from handlers.blocks import MESSAGE_BLOCKS, SECTION_TEXT
from handlers.status_blocks import fix_text, render_status
from tests.conftest import ServeSlackApp, slack_env
from tests.harness.fake_slack import BOT_TOKEN, FakeSlack
from tests.harness.installed import EXTERNAL_ID, Installed
from tests.harness.world import AwsWorld

MakeStatus = Callable[..., CachedReport]


@pytest.fixture
def make_status(fake_slack: FakeSlack, installed: Installed, make_adapter: Callable[..., AwsAdapter]) -> MakeStatus:
    def make(**env: str) -> CachedReport:
        environ = {**slack_env(fake_slack), **installed.env, **env}
        adapter = make_adapter(**installed.config(cache_ttl=0))
        client = AsyncWebClient(token=BOT_TOKEN, base_url=fake_slack.api_url)
        return CachedReport(lambda: doctor_report(environ, adapter=adapter, client=client))

    return make


def _texts(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


async def test_status_acks_at_once_then_sends_the_whole_checklist_privately(
    serve_slack_app: ServeSlackApp, make_status: MakeStatus, installed: Installed
) -> None:
    slack = await serve_slack_app(status=make_status())
    status, body, _ = await slack.send.command("status", response_url=slack.fake.response_url("s1"))
    assert status == 200
    assert json.loads(body)["text"] == "Checking iamwhy's setup…"
    (answer,) = await slack.fake.wait_for("response", timeout=30)
    assert answer.body["response_type"] == "ephemeral"
    blocks = answer.blocks
    assert blocks[0]["text"]["text"] == "✓ iamwhy status: everything iamwhy needs works"
    text = _texts(blocks)
    assert "*Slack*\\n✓ *Bot token*: accepted: workspace Fake (T0000TEAM)" in text
    assert f"*AWS account {installed.member}*\\n✓ *Read role*: assumed" in text
    assert f"• {installed.member}: evaluated (SCPs readable, RCPs readable); verified when" in text
    assert EXTERNAL_ID not in text
    assert BOT_TOKEN not in text


async def test_status_shows_each_problem_with_its_fix(
    serve_slack_app: ServeSlackApp, make_status: MakeStatus, installed: Installed, aws_world: AwsWorld
) -> None:
    aws_world.moto.deny("kms", "GetKeyPolicy", account=installed.member)
    slack = await serve_slack_app(status=make_status())
    await slack.send.command("status", response_url=slack.fake.response_url("s1"))
    (answer,) = await slack.fake.wait_for("response", timeout=30)
    assert answer.blocks[0]["text"]["text"] == "✗ iamwhy status: 1 problem"
    fixes = [b for b in answer.blocks if b["type"] == "section" and "*Fix*" in b["text"]["text"]]
    (fix,) = fixes
    assert fix["text"]["text"].splitlines()[:4] == [
        f"✗ *KMS key policies* · AWS account {installed.member}",
        "denied (AccessDeniedException): IamWhyReadOnly lacks kms:GetKeyPolicy",
        "_Tried:_ kms:GetKeyPolicy on a key that does not exist (key/00000000-0000-4000-8000-000000000000), as "
        "IamWhyReadOnly",
        "*Fix*",
    ]
    assert '`{"Effect": "Allow", "Action": "kms:GetKeyPolicy", "Resource": "*"}`' in fix["text"]["text"]


async def test_status_without_a_doctor_says_where_to_run_it(slack: Any) -> None:
    await slack.send.command("status", response_url=slack.fake.response_url("s1"))
    (answer,) = await slack.fake.wait_for("response")
    assert answer.blocks[0]["text"]["text"] == (
        "ℹ️ This installation of iamwhy does not run status checks. On the command line: `iamwhy doctor`."
    )


def _many_problems(count: int) -> DoctorReport:
    fix = 'Grant x.\n{"Effect": "Allow", "Action": "kms:GetKeyPolicy", "Resource": "*"}\n' + "word " * 400
    lines = tuple(
        Line("aws.read.kms", f"AWS account {i:012d}", "KMS key policies", Status.FAILED, "t", "r " * 200, fix, str(i))
        for i in range(count)
    )
    return DoctorReport(lines, checked_at=1700000000.0, duration_ms=1.0)


def test_a_long_checklist_still_fits_one_message() -> None:
    message = render_status(_many_problems(80))
    blocks = [b.to_dict() for b in message.blocks]
    assert len(blocks) <= MESSAGE_BLOCKS
    assert all(len(b["text"]["text"]) <= SECTION_TEXT for b in blocks if b["type"] == "section")
    notes = [b for b in blocks if b["type"] == "context"]
    assert notes[-1]["elements"][0]["text"].endswith("more to fix: `iamwhy doctor` prints every one.")


def test_fixes_escape_prose_and_keep_what_is_copied_exact() -> None:
    text = fix_text("Run <!channel> & <https://evil|x>\n  aws iam get-role --role-name A\nIAMWHY_ACCOUNTS=1,2")
    assert text.splitlines() == [
        "Run &lt;!channel&gt; &amp; &lt;https:\u200b//evil|x&gt;",
        "`aws iam get-role --role-name A`",
        "`IAMWHY_ACCOUNTS=1,2`",
    ]
