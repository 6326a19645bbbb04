"""One contract for every state backend: in-process, the embedded SQLite file and Redis behave the same."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from diagnostics.investigate import OfflineInvestigator
from diagnostics.model import (
    Blocker,
    ConditionCheck,
    Confidence,
    Decision,
    DenialKind,
    Diagnosis,
    Fix,
    Layer,
    LayerStatus,
    LayerVerdict,
    Provenance,
    Unreadable,
)
from diagnostics.state import (
    AuditedDiagnosis,
    AuditEntry,
    AuditRead,
    Feedback,
    Job,
    JobKind,
    JobStatus,
    State,
    StoredInvestigation,
    Vote,
)
from diagnostics.state_redis import redis_state
from diagnostics.state_sqlite import open_sqlite_state
from tests.handlers.seed import SEED_ERRORS


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Backend:
    state: State
    clock: Clock
    # Another handle on the same stored state (a second process or replica); None for the in-process one.
    other: Callable[[], Awaitable[State]] | None = None


async def _drop_keys(client: aioredis.Redis, prefix: str) -> None:
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    clock = Clock()
    opened: list[State] = []
    if request.param == "memory":
        yield Backend(State.in_memory(clock=clock), clock)
        return
    if request.param == "sqlite":
        path = tmp_path / "state.db"

        async def open_other() -> State:
            opened.append(await open_sqlite_state(path, clock=clock))
            return opened[-1]

        state = await open_sqlite_state(path, clock=clock)
        yield Backend(state, clock, open_other)
    else:
        url = request.getfixturevalue("redis_url")
        prefix = f"iamwhy-test-{uuid.uuid4().hex[:12]}:"

        async def open_other() -> State:
            client = aioredis.Redis.from_url(url, decode_responses=True)
            opened.append(redis_state(client, where="redis", prefix=prefix, clock=clock))
            return opened[-1]

        client = aioredis.Redis.from_url(url, decode_responses=True)
        state = redis_state(client, where="redis", prefix=prefix, clock=clock)
        yield Backend(state, clock, open_other)
        await _drop_keys(client, prefix)
    for other in opened:
        await other.close()
    await state.close()


def _rich_diagnosis() -> Diagnosis:
    """A diagnosis with every kind of field filled: enums, nested dataclasses, tuples, mappings, None."""
    base = asyncio.run(OfflineInvestigator().investigate(SEED_ERRORS["kms_key_policy"])).diagnoses[0]
    request = replace(base.request, context={"aws:SourceIp": "203.0.113.5", "aws:TagKeys": ("a", "b")})
    return Diagnosis(
        request=request,
        decision=Decision.EXPLICIT_DENY,
        confidence=Confidence.EVALUATED,
        explanation="The key policy names no statement for this role.",
        blocked_by=(
            Blocker(
                Layer.RESOURCE,
                DenialKind.EXPLICIT,
                policy="key policy",
                sid="DenyOutside",
                statement_index=2,
                conditions=(
                    ConditionCheck("aws:SourceIp", "IpAddress", ("10.0.0.0/8",), actual="203.0.113.5"),
                    ConditionCheck("aws:TagKeys", "ForAnyValue:StringEquals", ("x",), actual=("a", "b")),
                    ConditionCheck("aws:MultiFactorAuthPresent", "Bool", ("true",), unknown=True),
                ),
                detail="KMS key policy does not delegate to IAM",
                statement={"Effect": "Deny", "Action": ["kms:*"], "Condition": {"Bool": {"x": "true"}}},
            ),
        ),
        unknown_context_keys=("aws:PrincipalTag/team",),
        unreadable=(Unreadable(Layer.SCP, "no organizations read role configured"),),
        fixes=(
            Fix(
                "Add a key policy statement",
                "key administrators",
                attach_to="arn:aws:kms:us-east-1:123456789012:key/abcd-1234",
                policy={"Sid": "Allow", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
                resolves=False,
                still_blocked_by=(Layer.SCP,),
            ),
        ),
        commands=("aws kms get-key-policy --key-id abcd-1234 --policy-name default",),
        layers=(LayerVerdict(Layer.IDENTITY, LayerStatus.ALLOWS, "ArtifactsRead allows kms:Decrypt", ("p1",)),),
        warnings=("one warning",),
        notes=("a note",),
        provenance=Provenance(checked_as="IamWhyReadOnly in 123456789012", aws_reads=9, duration_ms=1234.5),
    )


RICH = _rich_diagnosis()


# ------------------------------------------------------------------------------------------------ seen keys


async def test_a_key_is_new_once_until_its_time_is_up(backend: Backend) -> None:
    seen, clock = backend.state.seen, backend.clock
    assert await seen.first_sight("event:Ev1", ttl=60)
    assert not await seen.first_sight("event:Ev1", ttl=60)
    clock.now += 59
    assert not await seen.first_sight("event:Ev1", ttl=60)
    clock.now += 2
    assert await seen.first_sight("event:Ev1", ttl=60)
    assert await seen.first_sight("event:Ev2")


async def test_of_many_concurrent_sightings_of_one_key_exactly_one_is_first(backend: Backend) -> None:
    states = [backend.state]
    if backend.other is not None:
        states.append(await backend.other())
    results = await asyncio.gather(*(s.seen.first_sight("event:race") for s in states for _ in range(10)))
    assert sorted(results) == [False] * (len(results) - 1) + [True]


# ------------------------------------------------------------------------------------------------ investigations


async def test_investigations_round_trip_exactly_and_expire(backend: Backend) -> None:
    store = backend.state.investigations
    stored = StoredInvestigation("the pasted text", (RICH,))
    ref = await store.save(stored)
    assert len(ref) <= 12
    assert ":" not in ref
    assert await store.load(ref) == stored
    rerun = StoredInvestigation("the pasted text", ())
    await store.replace(ref, rerun)
    assert await store.load(ref) == rerun
    assert await store.load("unknown") is None
    backend.clock.now += 24 * 3600 + 1
    assert await store.load(ref) is None


async def test_references_are_distinct(backend: Backend) -> None:
    refs = {await backend.state.investigations.save(StoredInvestigation(str(n), ())) for n in range(30)}
    assert len(refs) == 30


# ------------------------------------------------------------------------------------------------ feedback


def _vote(user: str, vote: Vote, *, ref: str = "ref", index: int = 0) -> Feedback:
    return Feedback(ref, index, user, vote, "implicit_deny", "reported", ("identity",), 1.5)


async def test_a_later_vote_replaces_the_earlier_and_totals_count_each_person_once(backend: Backend) -> None:
    log = backend.state.feedback
    await log.record(_vote("U1", Vote.UP))
    await log.record(_vote("U2", Vote.UP))
    await log.record(_vote("U1", Vote.DOWN))
    await log.record(_vote("U3", Vote.UP, index=1))
    assert await log.for_diagnosis("ref", 0) == (_vote("U2", Vote.UP), _vote("U1", Vote.DOWN))
    assert await log.for_diagnosis("ref", 1) == (_vote("U3", Vote.UP, index=1),)
    assert await log.for_diagnosis("other", 0) == ()
    assert await log.totals() == (2, 1)


# ------------------------------------------------------------------------------------------------ audit


def _entry(n: int, *, user: str | None, channel: str | None) -> AuditEntry:
    diagnosis = AuditedDiagnosis("s3:GetObject", None, None, "123456789012", "implicit_deny", "evaluated", ("scp",))
    read = AuditRead("iam", "GetRole", "123456789012", "ok", cached=False)
    return AuditEntry(
        f"a{n}", 100.0 + n, "paste", user, channel, "1.0", ("123456789012",), (diagnosis,), (read,), "answered", "c"
    )


async def test_audit_entries_come_back_newest_first_filtered_by_asker_or_channel(backend: Backend) -> None:
    log = backend.state.audit
    for n, (user, channel) in enumerate([("U1", "C1"), ("U2", "C2"), ("U2", "C1"), ("U3", None), ("U1", "C9")]):
        await log.record(_entry(n, user=user, channel=channel))
    assert [e.id for e in await log.query()] == ["a4", "a3", "a2", "a1", "a0"]
    assert (await log.query())[0] == _entry(4, user="U1", channel="C9")
    assert [e.id for e in await log.query(user="U1")] == ["a4", "a0"]
    assert [e.id for e in await log.query(user="U3", channels={"C1"})] == ["a3", "a2", "a0"]
    assert [e.id for e in await log.query(since=102.0)] == ["a4", "a3", "a2"]
    assert [e.id for e in await log.query(limit=2)] == ["a4", "a3"]


# ------------------------------------------------------------------------------------------------ storms


async def test_a_storm_counts_repeats_and_points_each_channel_once(backend: Backend) -> None:
    storms, clock = backend.state.storms, backend.clock
    first = await storms.sight("k1", channel="C1", ts="1.1", window=900)
    assert (first.first, first.pointer, first.storm.count) == (True, False, 1)
    assert (first.storm.channel, first.storm.ts, first.storm.until) == ("C1", "1.1", clock.now + 900)
    clock.now += 10
    second = await storms.sight("k1", channel="C1", ts="1.2", window=900)
    third = await storms.sight("k1", channel="C1", ts="1.3", window=900)
    elsewhere = await storms.sight("k1", channel="C2", ts="2.1", window=900)
    assert [(s.first, s.pointer) for s in (second, third, elsewhere)] == [(False, True), (False, False), (False, True)]
    assert {second.storm.id, third.storm.id, elsewhere.storm.id} == {first.storm.id}
    assert (elsewhere.storm.count, elsewhere.storm.last_at, elsewhere.storm.pointed) == (4, clock.now, ("C1", "C2"))
    other = await storms.sight("k2", channel="C1", ts="1.4", window=900)
    assert other.first
    assert other.storm.id != first.storm.id


async def test_after_the_window_the_same_denial_starts_a_new_storm(backend: Backend) -> None:
    storms, clock = backend.state.storms, backend.clock
    first = await storms.sight("k", channel="C1", ts="1.1", window=900)
    clock.now += 901
    again = await storms.sight("k", channel="C1", ts="1.9", window=900)
    assert again.first
    assert again.storm.id != first.storm.id
    # The old storm's record stays readable for a while, for its last count.
    assert (await storms.get(first.storm.id)) == first.storm


async def test_a_storm_learns_its_blocking_layer_and_its_answer(backend: Backend) -> None:
    storms = backend.state.storms
    first = await storms.sight("p|a|r|?", channel="C1", ts="1.1", window=900)
    await storms.alias(first.storm.id, "p|a|r|identity")
    by_layer = await storms.sight("p|a|r|identity", channel="C1", ts="1.2", window=900)
    assert (by_layer.first, by_layer.storm.id, by_layer.storm.count) == (False, first.storm.id, 2)
    # A key that already has a storm of its own keeps it.
    taken = await storms.sight("p|a|r|scp", channel="C1", ts="1.3", window=900)
    await storms.alias(first.storm.id, "p|a|r|scp")
    assert (await storms.sight("p|a|r|scp", channel="C1", ts="1.4", window=900)).storm.id == taken.storm.id
    attached = await storms.attach(first.storm.id, answer_ts="9.9", ref="REF", index=1)
    assert attached is not None
    assert (attached.answer_ts, attached.ref, attached.index, attached.count) == ("9.9", "REF", 1, 2)
    assert await storms.get(first.storm.id) == attached
    assert await storms.attach("nope", answer_ts="1", ref="r", index=0) is None
    assert await storms.get("nope") is None


async def test_an_ended_storm_lets_the_next_post_start_afresh(backend: Backend) -> None:
    storms = backend.state.storms
    first = await storms.sight("k", channel="C1", ts="1.1", window=900)
    await storms.alias(first.storm.id, "k2")
    await storms.end(first.storm.id)
    assert (await storms.sight("k", channel="C1", ts="1.2", window=900)).first
    assert (await storms.sight("k2", channel="C1", ts="1.3", window=900)).first


async def test_of_concurrent_first_posts_one_starts_the_storm(backend: Backend) -> None:
    states = [backend.state]
    if backend.other is not None:
        states.append(await backend.other())
    sightings = await asyncio.gather(
        *(s.storms.sight("k", channel="C1", ts=f"1.{n}", window=900) for n, s in enumerate(states * 6))
    )
    assert sum(s.first for s in sightings) == 1
    assert len({s.storm.id for s in sightings}) == 1
    assert max(s.storm.count for s in sightings) == len(sightings)


# ------------------------------------------------------------------------------------------------ jobs


def _job(n: int, clock: Clock, *, owner: str = "A", lease: float = 30) -> Job:
    return Job(
        id=f"job-{n}",
        kind=JobKind.ANSWER,
        trigger="alert",
        text=f"text {n}",
        created_at=clock.now + n,
        channel="C1",
        thread_ts="1.1",
        message_ts="1.1",
        only=("f1", "f2"),
        storms=("s1",),
        react=True,
        owner=owner,
        lease_until=clock.now + lease,
    )


async def test_a_job_is_journaled_once_and_reads_back_as_written(backend: Backend) -> None:
    jobs, clock = backend.state.jobs, backend.clock
    job = _job(1, clock)
    assert await jobs.add(job)
    assert not await jobs.add(replace(job, text="a second delivery"))
    assert await jobs.get("job-1") == job
    assert await jobs.get("job-9") is None
    assert await jobs.pending() == 1


async def test_progress_is_recorded_and_finishing_takes_the_job_off_the_queue(backend: Backend) -> None:
    jobs, clock = backend.state.jobs, backend.clock
    job = _job(1, clock)
    await jobs.add(job)
    running = replace(job, status=JobStatus.RUNNING, placeholder_ts="5.5", ref="R", sent=1)
    assert await jobs.save(running)
    assert await jobs.get(job.id) == running
    clock.now += 5
    assert await jobs.save(replace(running, status=JobStatus.DONE))
    done = await jobs.get(job.id)
    assert done is not None
    assert (done.status, done.finished_at, done.finished) == (JobStatus.DONE, clock.now, True)
    assert await jobs.pending() == 0
    assert not await jobs.save(replace(running, sent=2))
    clock.now += 3600
    assert await jobs.take_over(owner="B", lease=30, limit=10) == ()
    # Still known, so a late duplicate is not journaled again.
    assert not await jobs.add(job)


async def test_expired_leases_are_taken_over_oldest_first_and_the_old_owner_is_fenced_off(backend: Backend) -> None:
    jobs, clock = backend.state.jobs, backend.clock
    for n in (3, 1, 2):
        await jobs.add(_job(n, clock, lease=30 + n))
    assert await jobs.take_over(owner="B", lease=30, limit=10) == ()
    clock.now += 32.5
    taken = await jobs.take_over(owner="B", lease=30, limit=10)
    assert [(j.id, j.owner, j.attempts, j.lease_until) for j in taken] == [
        ("job-1", "B", 1, clock.now + 30),
        ("job-2", "B", 1, clock.now + 30),
    ]
    assert not await jobs.save(replace(_job(1, clock), status=JobStatus.RUNNING))
    assert await jobs.save(replace(taken[0], status=JobStatus.RUNNING))
    clock.now += 1
    (last,) = await jobs.take_over(owner="C", lease=30, limit=1)
    assert (last.id, last.owner, last.attempts) == ("job-3", "C", 1)
    assert await jobs.pending() == 3


async def test_renewed_leases_are_kept_and_released_ones_are_taken_at_once(backend: Backend) -> None:
    jobs, clock = backend.state.jobs, backend.clock
    for n in (1, 2):
        await jobs.add(_job(n, clock, lease=10))
    assert await jobs.renew(["job-1", "job-2", "job-9"], owner="A", lease=60) == {"job-1", "job-2"}
    assert await jobs.renew(["job-1"], owner="B", lease=60) == frozenset()
    clock.now += 30
    assert await jobs.take_over(owner="B", lease=30, limit=10) == ()
    await jobs.release(["job-2"], owner="A")
    await jobs.release(["job-1"], owner="B")
    assert [j.id for j in await jobs.take_over(owner="B", lease=30, limit=10)] == ["job-2"]


async def test_of_racing_owners_each_expired_job_goes_to_exactly_one(backend: Backend) -> None:
    jobs, clock = backend.state.jobs, backend.clock
    for n in range(6):
        await jobs.add(_job(n, clock, lease=1))
    clock.now += 2
    states = [backend.state]
    if backend.other is not None:
        states.append(await backend.other())
    results = await asyncio.gather(
        *(s.jobs.take_over(owner=f"O{n}", lease=30, limit=2) for n, s in enumerate(states * 4))
    )
    taken = [job.id for result in results for job in result]
    assert sorted(taken) == [f"job-{n}" for n in range(6)]


# ------------------------------------------------------------------------------------------------ posting slots


async def test_posting_slots_allow_a_burst_then_one_per_interval(backend: Backend) -> None:
    slots, clock = backend.state.slots, backend.clock
    waits = [await slots.reserve("chat:C1", interval=1.0, burst=3) for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.0, 0.0, 1.0, 2.0])
    assert await slots.reserve("chat:C2", interval=1.0, burst=3) == 0.0
    clock.now += 10
    assert await slots.reserve("chat:C1", interval=1.0, burst=1) == 0.0
    assert await slots.reserve("chat:C1", interval=1.0, burst=1) == pytest.approx(1.0)
