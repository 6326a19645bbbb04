"""The Home tab end to end: app_home_opened → views.publish with how to ask, the status, recent diagnoses, votes."""

from __future__ import annotations

import json
from typing import Any

from diagnostics.doctor import CachedReport, DoctorReport, Line, Status
from diagnostics.state import AuditedDiagnosis, AuditEntry, Feedback, State, Vote
from handlers.blocks import MODAL_BLOCKS
from handlers.ids import BOT_SCOPES
from tests.conftest import ServedSlackApp, ServeSlackApp
from tests.harness.fake_slack import HUMAN, FakeSlack

OTHER = "UOTHER01"
NOW = 1_700_000_000.0


def _diagnosis(action: str, *, blocked_by: tuple[str, ...] = ("identity",)) -> AuditedDiagnosis:
    return AuditedDiagnosis(
        action=action,
        principal_arn="arn:aws:iam::123456789012:user/build-bot",
        resource_arn="arn:aws:s3:::prod-artifacts/release.tar.gz",
        account_id="123456789012",
        decision="implicit_deny",
        confidence="evaluated",
        blocked_by=blocked_by,
    )


def _entry(
    n: int, *, user: str | None, channel: str | None, thread_ts: str | None, action: str = "s3:GetObject"
) -> AuditEntry:
    return AuditEntry(
        id=f"e{n:03d}",
        at=NOW + n,
        trigger="paste",
        user=user,
        channel=channel,
        thread_ts=thread_ts,
        accounts=("123456789012",),
        diagnoses=(_diagnosis(action),),
        reads=(),
        outcome="answered",
    )


async def _seed(state: State) -> None:
    entries = [
        # Asked privately by the viewer: listed, without a link.
        _entry(1, user=HUMAN, channel="CWATCH01", thread_ts=None, action="kms:Decrypt"),
        # Asked privately by someone else in the viewer's channel: never listed.
        _entry(2, user=OTHER, channel="CWATCH01", thread_ts=None, action="secret:PrivateAnswer"),
        # Answered in a thread of the viewer's channel: listed, with a link to the thread.
        _entry(3, user=OTHER, channel="CWATCH01", thread_ts="1690000000.000123", action="sqs:SendMessage"),
        # An alert answered in an alert channel the viewer is in.
        _entry(4, user=None, channel="CALERT01", thread_ts="1690000000.000456", action="lambda:InvokeFunction"),
        # In a channel the viewer is not in: not listed.
        _entry(5, user=OTHER, channel="CELSE001", thread_ts="1690000000.000789", action="ecr:BatchGetImage"),
    ]
    for entry in entries:
        await state.audit.record(entry)
    for user, vote in ((HUMAN, Vote.UP), (OTHER, Vote.UP), ("UTHIRD01", Vote.DOWN)):
        await state.feedback.record(Feedback("ref", 0, user, vote, "implicit_deny", "evaluated", ("identity",), NOW))


def _home_event(user: str = HUMAN, tab: str = "home") -> dict[str, Any]:
    return {"type": "app_home_opened", "user": user, "channel": "D0000DM1", "tab": tab, "event_ts": "1700000000.1"}


async def _open_home(slack: ServedSlackApp, **event: Any) -> list[dict[str, Any]]:
    status, _, _ = await slack.send.event(_home_event(**event))
    assert status == 200
    await slack.idle()
    return [c.body for c in slack.fake.calls_of("views.publish")]


def _text(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


async def test_home_lists_what_the_viewer_may_see_with_links_and_the_votes(serve_slack_app: ServeSlackApp) -> None:
    state = State.in_memory()
    await _seed(state)
    slack = await serve_slack_app(state=state)
    (published,) = await _open_home(slack)
    assert published["user_id"] == HUMAN
    view = published["view"]
    assert (view["type"], view["callback_id"]) == ("home", "iamwhy_home")
    text = _text(view)
    assert "`/iamwhy status`: is iamwhy set up right?" in text
    assert "sqs:SendMessage" in text
    assert "<https://fake.slack.test/archives/CWATCH01/p1690000000000123|in the thread> in <#CWATCH01>" in text
    assert "<https://fake.slack.test/archives/CALERT01/p1690000000000456|in the thread> in <#CALERT01>" in text
    assert "kms:Decrypt" in text
    assert "Implicit deny · evaluated · blocked by Identity · answered to you privately" in text
    assert "secret:PrivateAnswer" not in text
    assert "ecr:BatchGetImage" not in text
    assert "Feedback on answers so far: 👍 2 · 👎 1" in text
    assert "This installation does not run status checks." in text
    # Newest first.
    assert text.index("lambda:InvokeFunction") < text.index("sqs:SendMessage") < text.index("kms:Decrypt")
    users = slack.fake.calls_of("users.conversations")
    assert users[0].body["user"] == HUMAN


async def test_home_lists_at_most_twenty_diagnoses(serve_slack_app: ServeSlackApp) -> None:
    state = State.in_memory()
    for n in range(30):
        await state.audit.record(_entry(n, user=HUMAN, channel="CWATCH01", thread_ts=f"1690000000.{n:06d}"))
    slack = await serve_slack_app(state=state)
    (published,) = await _open_home(slack)
    blocks = published["view"]["blocks"]
    assert len(blocks) <= MODAL_BLOCKS
    listed = [b for b in blocks if b["type"] == "section" and "s3:GetObject" in b["text"]["text"]]
    assert len(listed) == 20
    assert "p1690000000000029" in listed[0]["text"]["text"]


async def test_the_messages_tab_publishes_nothing(slack: ServedSlackApp) -> None:
    assert await _open_home(slack, tab="messages") == []


async def test_without_channel_access_only_the_viewer_s_own_are_listed_and_it_says_why(
    serve_slack_app: ServeSlackApp, fake_slack: FakeSlack
) -> None:
    fake_slack.scopes = ",".join(sorted(BOT_SCOPES - {"channels:read", "groups:read"}))
    state = State.in_memory()
    await _seed(state)
    slack = await serve_slack_app(state=state)
    (published,) = await _open_home(slack)
    text = _text(published["view"])
    assert "kms:Decrypt" in text
    assert "sqs:SendMessage" not in text
    assert "Slack refused users.conversations (missing_scope)" in text


def _report(result: str, status: Status = Status.OK) -> DoctorReport:
    fix = "fix it" if status is Status.FAILED else None
    line = Line("slack.auth", "Slack", "Bot token", status, "auth.test", result, fix)
    return DoctorReport((line,), checked_at=NOW, duration_ms=5.0)


async def test_home_shows_a_stale_status_at_once_then_the_fresh_one(serve_slack_app: ServeSlackApp) -> None:
    runs: list[int] = []
    clock = [0.0]

    async def run() -> DoctorReport:
        runs.append(1)
        return _report("refused", Status.FAILED) if len(runs) == 1 else _report("accepted")

    status = CachedReport(run, clock=lambda: clock[0])
    await status.get(max_age=0)
    clock[0] = 10_000.0
    slack = await serve_slack_app(status=status)
    first, second = await _open_home(slack)
    assert "✗ iamwhy status: 1 problem" in _text(first["view"])
    assert "checking again now" in _text(first["view"])
    assert "✗ *Bot token*: refused" in _text(first["view"])
    assert "✓ iamwhy status: everything iamwhy needs works" in _text(second["view"])
    assert len(runs) == 2


async def test_home_uses_a_recent_status_without_running_the_doctor(serve_slack_app: ServeSlackApp) -> None:
    runs: list[int] = []

    async def run() -> DoctorReport:
        runs.append(1)
        return _report("accepted")

    status = CachedReport(run)
    await status.get(max_age=0)
    slack = await serve_slack_app(status=status)
    (published,) = await _open_home(slack)
    assert "✓ iamwhy status: everything iamwhy needs works" in _text(published["view"])
    assert len(runs) == 1


async def test_cached_report_shares_one_run_between_callers() -> None:
    import asyncio

    started = asyncio.Event()
    release = asyncio.Event()
    runs: list[int] = []

    async def run() -> DoctorReport:
        runs.append(1)
        started.set()
        await release.wait()
        return _report("accepted")

    status = CachedReport(run)
    first = asyncio.ensure_future(status.get(max_age=0))
    await started.wait()
    second = asyncio.ensure_future(status.get(max_age=0))
    release.set()
    assert await first is await second
    assert len(runs) == 1
