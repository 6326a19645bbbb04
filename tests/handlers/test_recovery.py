"""Jobs left by a process that died are finished by the next one, from where they stopped, and answered once."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from app import Settings, build_slack_client, build_worker
from diagnostics.investigate import OfflineInvestigator
from diagnostics.state import Job, JobKind, JobStatus, State, StoredInvestigation
from handlers.jobs import GAVE_UP, Worker
from handlers.replies import fingerprint
from tests.conftest import slack_env
from tests.handlers.investigators import CountingInvestigator
from tests.handlers.seed import SEED_ERRORS
from tests.harness.fake_slack import FakeSlack

SEED_ERROR = SEED_ERRORS["missing_grant"]
PLACEHOLDER_TS = "1690000000.000777"


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def parts(fake_slack: FakeSlack) -> tuple[State, Clock, Settings]:
    clock = Clock()
    return State.in_memory(clock=clock), clock, Settings.from_env(slack_env(fake_slack))


def _worker(settings: Settings, state: State, investigator: object) -> Worker:
    client = build_slack_client(settings, state)
    return build_worker(settings, investigator=investigator, state=state, client=client)  # type: ignore[arg-type]


async def _orphan(state: State, clock: Clock, **progress: object) -> Job:
    """A thread answer journaled by a process that has since died (its lease ran out)."""
    denial = (await OfflineInvestigator().investigate(SEED_ERROR)).scan.denials[0]
    job = Job(
        id="job-1",
        kind=JobKind.ANSWER,
        trigger="paste",
        text=SEED_ERROR,
        created_at=clock.now,
        channel="CWATCH01",
        thread_ts="1690000000.000001",
        message_ts="1690000000.000001",
        user="UHUMAN01",
        only=(fingerprint(denial),),
        react=True,
        owner="dead-replica",
        lease_until=clock.now - 1,
    )
    assert await state.jobs.add(job)
    if progress:
        assert await state.jobs.save(replace(job, status=JobStatus.RUNNING, **progress))  # type: ignore[arg-type]
    return job


async def _recover(worker: Worker) -> int:
    recovered = await worker.start()
    await worker.idle()
    await worker.close(grace=5)
    return recovered


async def test_a_job_that_never_started_is_answered_in_full(
    parts: tuple[State, Clock, Settings], fake_slack: FakeSlack
) -> None:
    state, clock, settings = parts
    await _orphan(state, clock)
    assert await _recover(_worker(settings, state, OfflineInvestigator())) == 1
    assert [c.method for c in fake_slack.calls] == ["reactions.add", "chat.postMessage", "chat.update"]
    job = await state.jobs.get("job-1")
    assert job is not None
    assert (job.status, job.attempts, job.sent) == (JobStatus.DONE, 1, 1)


async def test_the_placeholder_already_posted_is_updated_not_posted_again(
    parts: tuple[State, Clock, Settings], fake_slack: FakeSlack
) -> None:
    state, clock, settings = parts
    await _orphan(state, clock, placeholder_ts=PLACEHOLDER_TS)
    investigator = CountingInvestigator()
    await _recover(_worker(settings, state, investigator))
    assert [c.method for c in fake_slack.calls] == ["chat.update"]
    (update,) = fake_slack.calls
    assert update.body["ts"] == PLACEHOLDER_TS
    assert update.blocks[0]["text"]["text"] == "🔒 s3:GetObject denied for user build-bot"
    assert investigator.calls == 1


async def test_an_answer_already_delivered_is_not_delivered_again(
    parts: tuple[State, Clock, Settings], fake_slack: FakeSlack
) -> None:
    state, clock, settings = parts
    investigation = await OfflineInvestigator().investigate(SEED_ERROR)
    ref = await state.investigations.save(StoredInvestigation(SEED_ERROR, investigation.diagnoses))
    await _orphan(state, clock, placeholder_ts=PLACEHOLDER_TS, ref=ref, sent=1)
    investigator = CountingInvestigator()
    await _recover(_worker(settings, state, investigator))
    assert fake_slack.calls == []
    assert investigator.calls == 0
    job = await state.jobs.get("job-1")
    assert job is not None
    assert job.status is JobStatus.DONE


async def test_a_private_answer_resumes_after_the_messages_already_sent(
    parts: tuple[State, Clock, Settings], fake_slack: FakeSlack
) -> None:
    state, clock, settings = parts
    job = Job(
        id="job-2",
        kind=JobKind.ANSWER,
        trigger="command",
        text=SEED_ERROR,
        created_at=clock.now,
        channel="CWATCH01",
        user="UHUMAN01",
        response_url=fake_slack.response_url("r9"),
        notices=("credentials",),
        owner="dead-replica",
        lease_until=clock.now - 1,
    )
    await state.jobs.add(job)
    await state.jobs.save(replace(job, status=JobStatus.RUNNING, sent=1))
    await _recover(_worker(settings, state, OfflineInvestigator()))
    (answer,) = fake_slack.calls_of("response")
    assert answer.body["response_type"] == "ephemeral"
    assert "s3:GetObject" in answer.text


async def test_a_process_whose_job_was_taken_over_stops_writing(
    parts: tuple[State, Clock, Settings], fake_slack: FakeSlack
) -> None:
    state, clock, settings = parts
    gate = asyncio.Event()
    worker = _worker(settings, state, CountingInvestigator(gate))
    job = await _orphan(state, clock)
    await worker.start()
    await fake_slack.wait_for("chat.postMessage")
    # The journal believes this process dead: another takes the job over while the investigation runs.
    clock.now += 3600
    (taken,) = await state.jobs.take_over(owner="other-replica", lease=60, limit=5)
    assert taken.id == job.id
    gate.set()
    await worker.idle()
    await worker.close(grace=5)
    assert fake_slack.calls_of("chat.update") == []
    stored = await state.jobs.get(job.id)
    assert stored is not None
    assert (stored.owner, stored.status) == ("other-replica", JobStatus.RUNNING)


async def test_a_job_that_keeps_killing_its_workers_is_given_up_and_said_so(
    parts: tuple[State, Clock, Settings], fake_slack: FakeSlack
) -> None:
    state, clock, settings = parts
    job = await _orphan(state, clock, placeholder_ts=PLACEHOLDER_TS)
    for _ in range(3):
        clock.now += 3600
        (job,) = await state.jobs.take_over(owner="crashing", lease=60, limit=1)
    clock.now += 3600
    investigator = CountingInvestigator()
    await _recover(_worker(settings, state, investigator))
    assert investigator.calls == 0
    (update,) = fake_slack.calls_of("chat.update")
    assert update.body["ts"] == PLACEHOLDER_TS
    assert update.text == GAVE_UP
    stored = await state.jobs.get(job.id)
    assert stored is not None
    assert stored.status is JobStatus.FAILED
