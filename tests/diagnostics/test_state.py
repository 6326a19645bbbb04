"""The in-process state bounded in age and size; IAMWHY_STATE_URL; one state file shared by several processes."""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from diagnostics.model import Confidence, Decision, DeniedRequest, Diagnosis
from diagnostics.state import (
    AuditEntry,
    Feedback,
    MemoryAuditLog,
    MemoryFeedbackLog,
    MemoryInvestigationStore,
    MemorySeenKeys,
    StateUrl,
    StateUrlError,
    StoredInvestigation,
    Vote,
    open_state,
)
from tests.harness.redis_server import with_prefix


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


# ------------------------------------------------------------------------------------------------ IAMWHY_STATE_URL


@pytest.mark.parametrize(
    ("value", "scheme", "target", "prefix", "described"),
    [
        ("memory:", "memory", "", "", "memory"),
        (
            "sqlite:////var/lib/iamwhy/state.db",
            "sqlite",
            "/var/lib/iamwhy/state.db",
            "",
            "sqlite:/var/lib/iamwhy/state.db",
        ),
        ("sqlite:///state.db", "sqlite", "state.db", "", "sqlite:state.db"),
        ("redis://cache:6379/0", "redis", "redis://cache:6379/0", "iamwhy:", "redis://cache:6379/0"),
        (
            "rediss://:s3cret@cache.example:6380/2?key_prefix=team-a:&ssl_cert_reqs=required",
            "rediss",
            "rediss://:s3cret@cache.example:6380/2?ssl_cert_reqs=required",
            "team-a:",
            "rediss://cache.example:6380/2",
        ),
    ],
)
def test_state_urls(value: str, scheme: str, target: str, prefix: str, described: str) -> None:
    url = StateUrl.parse(value)
    assert (url.scheme, url.target, url.key_prefix, url.describe()) == (scheme, target, prefix, described)


def test_without_a_state_url_the_state_is_a_file_in_the_xdg_state_directory() -> None:
    assert StateUrl.parse(None, {"XDG_STATE_HOME": "/data"}) == StateUrl("sqlite", "/data/iamwhy/state.db")
    assert StateUrl.parse("", {"HOME": "/home/bot"}) == StateUrl("sqlite", "/home/bot/.local/state/iamwhy/state.db")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("postgres://db/iamwhy", "is not memory:, sqlite:///path or redis://host:port/db"),
        ("memory", "is not memory:"),
        ("sqlite://", "names no file"),
        ("sqlite:///", "names no file"),
        ("redis://", "names no Redis host"),
        ("redis://cache:port/0", "port that is not a number"),
        ("redis://cache:6379/0?key_prefix=", "key_prefix is empty"),
    ],
)
def test_a_bad_state_url_is_refused_in_one_line(value: str, words: str) -> None:
    with pytest.raises(StateUrlError, match=re.escape(words)) as caught:
        StateUrl.parse(value)
    assert "\n" not in str(caught.value)


async def test_a_state_file_that_cannot_be_created_is_said_in_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(StateUrlError, match=r"cannot use .*a-file/state\.db for the state") as caught:
        await open_state(StateUrl("sqlite", str(blocker / "state.db")))
    assert "\n" not in str(caught.value)


async def test_an_unreachable_redis_is_said_in_one_line_without_its_password() -> None:
    url = StateUrl.parse("redis://:s3cret@127.0.0.1:9/0")
    with pytest.raises(StateUrlError, match=r"cannot reach Redis at redis://127.0.0.1:9/0") as caught:
        await open_state(url)
    assert "s3cret" not in str(caught.value)


_CONTENDER = """
import asyncio, sys
from pathlib import Path
from diagnostics.state_sqlite import open_sqlite_state

async def main():
    state = await open_sqlite_state(Path(sys.argv[1]))
    won = [n for n in range(int(sys.argv[2])) if await state.seen.first_sight(f"k{n}")]
    await state.close()
    print(" ".join(map(str, won)))

asyncio.run(main())
"""


def test_processes_sharing_one_state_file_see_each_key_first_exactly_once(tmp_path: Path) -> None:
    path, keys = tmp_path / "shared.db", 300
    root = Path(__file__).resolve().parents[2]
    contenders = [
        subprocess.Popen(
            [sys.executable, "-c", _CONTENDER, str(path), str(keys)], cwd=root, stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    won = [out.split() for out, _ in (p.communicate(timeout=120) for p in contenders)]
    assert all(p.returncode == 0 for p in contenders)
    assert sorted(int(n) for w in won for n in w) == list(range(keys))


async def test_a_burst_larger_than_the_redis_connection_pool_waits_for_connections(redis_url: str) -> None:
    state = await open_state(StateUrl.parse(with_prefix(redis_url)))
    try:
        firsts = await asyncio.gather(*(state.seen.first_sight(f"k{n % 100}") for n in range(400)))
    finally:
        await state.close()
    assert sum(firsts) == 100
