"""The in-process state: first sight of keys, stored investigations and feedback, bounded in age and size."""

from __future__ import annotations

import logging

import pytest

from diagnostics.model import Confidence, Decision, DeniedRequest, Diagnosis
from diagnostics.state import (
    AuditEntry,
    Feedback,
    MemoryAuditLog,
    MemoryFeedbackLog,
    MemoryInvestigationStore,
    MemorySeenKeys,
    StoredInvestigation,
    Vote,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


DIAGNOSIS = Diagnosis(DeniedRequest(None, "s3:GetObject", None, None), Decision.UNKNOWN, Confidence.UNKNOWN, "why")


async def test_a_key_is_new_once_until_it_expires() -> None:
    clock = Clock()
    seen = MemorySeenKeys(ttl=60, clock=clock)
    assert await seen.first_sight("a")
    assert not await seen.first_sight("a")
    clock.now += 59
    assert not await seen.first_sight("a")
    clock.now += 2
    assert await seen.first_sight("a")


async def test_a_key_can_carry_its_own_time_to_live() -> None:
    clock = Clock()
    seen = MemorySeenKeys(ttl=3600, clock=clock)
    assert await seen.first_sight("long")
    assert await seen.first_sight("short", ttl=10)
    clock.now += 11
    assert await seen.first_sight("short")
    assert not await seen.first_sight("long")


async def test_the_oldest_keys_go_first_when_full() -> None:
    seen = MemorySeenKeys(max_entries=3, clock=Clock())
    for key in "abcd":
        assert await seen.first_sight(key)
    assert await seen.first_sight("a")
    assert not await seen.first_sight("d")


async def test_investigations_are_kept_under_short_unguessable_references() -> None:
    clock = Clock()
    store = MemoryInvestigationStore(ttl=100, clock=clock)
    refs = {await store.save(StoredInvestigation(f"text {n}", (DIAGNOSIS,))) for n in range(50)}
    assert len(refs) == 50
    assert all(len(ref) <= 12 and ":" not in ref for ref in refs)
    ref = sorted(refs)[0]
    stored = await store.load(ref)
    assert stored is not None
    await store.replace(ref, StoredInvestigation(stored.text, ()))
    assert (await store.load(ref)) == StoredInvestigation(stored.text, ())
    assert await store.load("unknown") is None
    clock.now += 101
    assert await store.load(ref) is None


async def test_store_size_is_bounded() -> None:
    store = MemoryInvestigationStore(max_entries=2, clock=Clock())
    first = await store.save(StoredInvestigation("1", ()))
    await store.save(StoredInvestigation("2", ()))
    await store.save(StoredInvestigation("3", ()))
    assert await store.load(first) is None


async def test_a_later_vote_replaces_the_earlier_one_and_each_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="iamwhy.feedback")
    log = MemoryFeedbackLog()

    def vote(user: str, value: Vote) -> Feedback:
        return Feedback("ref", 0, user, value, "implicit_deny", "reported", ("identity",), 0.0)

    await log.record(vote("U1", Vote.UP))
    await log.record(vote("U2", Vote.UP))
    await log.record(vote("U1", Vote.DOWN))
    assert {f.user: f.vote for f in await log.for_diagnosis("ref", 0)} == {"U1": Vote.DOWN, "U2": Vote.UP}
    assert await log.for_diagnosis("ref", 1) == ()
    assert await log.totals() == (1, 1)
    fields = [r.fields for r in caplog.records]  # type: ignore[attr-defined]
    assert [f["vote"] for f in fields] == ["up", "up", "down"]
    assert fields[0] == {
        "ref": "ref",
        "index": 0,
        "user": "U1",
        "vote": "up",
        "decision": "implicit_deny",
        "confidence": "reported",
        "layers": ["identity"],
    }


def test_bounds_must_make_sense() -> None:
    with pytest.raises(ValueError, match="ttl must be positive"):
        MemorySeenKeys(ttl=0)


def _entry(n: int, *, user: str, channel: str | None) -> AuditEntry:
    return AuditEntry(f"a{n}", 100.0 + n, "paste", user, channel, None, ("123456789012",), (), (), "answered")


async def test_audit_entries_come_back_newest_first_filtered_by_asker_or_channel() -> None:
    log = MemoryAuditLog(max_entries=4)
    for n, (user, channel) in enumerate([("U1", "C1"), ("U2", "C2"), ("U2", "C1"), ("U3", None), ("U1", "C9")]):
        await log.record(_entry(n, user=user, channel=channel))
    # The oldest entry went when the fifth arrived.
    assert [e.id for e in await log.query()] == ["a4", "a3", "a2", "a1"]
    assert [e.id for e in await log.query(user="U1")] == ["a4"]
    assert [e.id for e in await log.query(user="U3", channels={"C1"})] == ["a3", "a2"]
    assert [e.id for e in await log.query(since=102.0)] == ["a4", "a3", "a2"]
    assert [e.id for e in await log.query(limit=2)] == ["a4", "a3"]
