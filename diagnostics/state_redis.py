"""The shared state for several replicas: Redis (`IAMWHY_STATE_URL=redis://...`, or `rediss://` for TLS).

Every read-modify-write is one Lua script, so replicas racing on the same event, storm or job see one winner.
Times are those of the caller's clock (as in the other backends); Redis's own expiry only collects garbage a
little after a record's time is up. Records are JSON of the domain's dataclasses (diagnostics.codec), never
pickles. One Redis server (or a primary with replicas), not a Redis Cluster: scripts touch keys they derive.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection
from dataclasses import replace
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from diagnostics import codec
from diagnostics.state import (
    AUDIT_MAX,
    DEFAULT_KEY_PREFIX,
    FINISHED,
    INVESTIGATION_TTL,
    JOB_TTL,
    SEEN_TTL,
    STORM_GRACE,
    AuditEntry,
    AuditLog,
    Clock,
    Feedback,
    FeedbackLog,
    InvestigationStore,
    Job,
    JobJournal,
    PostingSlots,
    SeenKeys,
    Sighting,
    State,
    StateUrlError,
    StoredInvestigation,
    Storm,
    StormLog,
    log_feedback,
    new_id,
    new_reference,
    newest_matching,
)

# Redis keeps a record this much longer than its logical life, so that its own expiry never decides.
GRACE_MS = 60_000
# Connections one replica opens at most; a call waits up to POOL_TIMEOUT seconds for one to be free.
MAX_CONNECTIONS = 32
POOL_TIMEOUT = 30


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000)) + GRACE_MS


def _num(value: float) -> str:
    return repr(float(value))


_FIRST_SIGHT = """
local v = redis.call('GET', KEYS[1])
if v and tonumber(v) > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""

_SAVE_NEW = """
local v = redis.call('HGET', KEYS[1], 'expires')
if v and tonumber(v) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'expires', ARGV[2], 'body', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
"""

# KEYS: votes of the diagnosis (hash user -> body), their order (zset), the order counter, the totals (hash).
_RECORD_VOTE = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then redis.call('HINCRBY', KEYS[4], cjson.decode(old)['vote'], -1) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
redis.call('HINCRBY', KEYS[4], ARGV[3], 1)
return 1
"""

# KEYS: the denial's key. ARGV: now, until, channel, ts, new id, key prefix of storms, ms to keep the record,
# ms to keep the key.
_SIGHT = """
local id = redis.call('GET', KEYS[1])
if id then
  local s = ARGV[6] .. id
  local u = redis.call('HGET', s, 'until')
  if u and tonumber(u) > tonumber(ARGV[1]) then
    redis.call('HINCRBY', s, 'count', 1)
    redis.call('HSET', s, 'last_at', ARGV[1])
    local added = redis.call('SADD', s .. ':pointed', ARGV[3])
    redis.call('PEXPIRE', s .. ':pointed', ARGV[7])
    return {id, 0, added}
  end
end
id = ARGV[5]
local s = ARGV[6] .. id
redis.call('HSET', s, 'channel', ARGV[3], 'ts', ARGV[4], 'started_at', ARGV[1], 'until', ARGV[2], 'count', 1,
  'last_at', ARGV[1])
redis.call('PEXPIRE', s, ARGV[7])
redis.call('SET', KEYS[1], id, 'PX', ARGV[8])
return {id, 1, 0}
"""

# KEYS: the new key, the storm. ARGV: storm id, now, ms to keep the key, key prefix of storms.
_ALIAS = """
local u = redis.call('HGET', KEYS[2], 'until')
if not u or tonumber(u) <= tonumber(ARGV[2]) then return 0 end
local other = redis.call('GET', KEYS[1])
if other then
  local ou = redis.call('HGET', ARGV[4] .. other, 'until')
  if ou and tonumber(ou) > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
"""

_ATTACH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'answer_ts', ARGV[1], 'ref', ARGV[2], 'index', ARGV[3])
return 1
"""

# KEYS: the storm, the denial keys pointing to it (set). ARGV: now, storm id.
_END = """
local u = redis.call('HGET', KEYS[1], 'until')
if u and tonumber(u) > tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'until', ARGV[1]) end
for _, key in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('GET', key) == ARGV[2] then redis.call('DEL', key) end
end
return 1
"""

# KEYS: the job, the open jobs (zset by creation). ARGV: body, owner, lease until, created at, attempts, id.
_ADD_JOB = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'body', ARGV[1], 'owner', ARGV[2], 'lease_until', ARGV[3], 'attempts', ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[6])
return 1
"""

# KEYS: the job, the open jobs. ARGV: body, owner, finished (1/0), now, job id, ms to keep a finished job.
_SAVE_JOB = """
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[2] or redis.call('HEXISTS', KEYS[1], 'finished_at') == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'body', ARGV[1])
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'finished_at', ARGV[4])
  redis.call('ZREM', KEYS[2], ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
end
return 1
"""

# KEYS: the jobs. ARGV: owner, lease until.
_RENEW = """
local held = {}
for i, key in ipairs(KEYS) do
  if redis.call('HGET', key, 'owner') == ARGV[1] and redis.call('HEXISTS', key, 'finished_at') == 0 then
    redis.call('HSET', key, 'lease_until', ARGV[2])
    table.insert(held, i)
  end
end
return held
"""

# KEYS: the open jobs. ARGV: now, owner, lease until, limit, key prefix of jobs.
_TAKE_OVER = """
local taken = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = ARGV[5] .. id
  local lease = redis.call('HGET', key, 'lease_until')
  if lease == false then
    redis.call('ZREM', KEYS[1], id)
  elseif tonumber(lease) <= tonumber(ARGV[1]) then
    redis.call('HSET', key, 'owner', ARGV[2], 'lease_until', ARGV[3])
    redis.call('HINCRBY', key, 'attempts', 1)
    table.insert(taken, id)
    if #taken >= tonumber(ARGV[4]) then break end
  end
end
return taken
"""

# GCRA. KEYS: the slot. ARGV: now, interval, burst. Returns the wait as a string (Lua numbers become integers).
_RESERVE = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if tat < now then tat = now end
local wait = tat - (tonumber(ARGV[3]) - 1) * interval - now
if wait < 0 then wait = 0 end
local new = tat + interval
redis.call('SET', KEYS[1], string.format('%.6f', new), 'PX', math.ceil((new - now) * 1000) + 60000)
return string.format('%.6f', wait)
"""


class RedisBackend:
    """The connection, the key prefix and the clock shared by every part."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = DEFAULT_KEY_PREFIX, clock: Clock = time.time):
        self.client = client
        self.prefix = prefix
        self.clock = clock

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def script(self, source: str) -> Any:
        return self.client.register_script(source)


class RedisSeenKeys(SeenKeys):
    def __init__(self, backend: RedisBackend, *, ttl: float = SEEN_TTL):
        self._r = backend
        self._ttl = ttl
        self._script = backend.script(_FIRST_SIGHT)

    async def first_sight(self, key: str, *, ttl: float | None = None) -> bool:
        life = ttl if ttl is not None else self._ttl
        now = self._r.clock()
        args = [_num(now), _num(now + life), _ms(life)]
        return bool(await self._script(keys=[self._r.key("seen", key)], args=args))


class RedisInvestigationStore(InvestigationStore):
    def __init__(self, backend: RedisBackend, *, ttl: float = INVESTIGATION_TTL):
        self._r = backend
        self._ttl = ttl
        self._save_new = backend.script(_SAVE_NEW)

    async def save(self, stored: StoredInvestigation) -> str:
        body = codec.dumps(stored)
        while True:
            ref = new_reference()
            now = self._r.clock()
            args = [_num(now), _num(now + self._ttl), body, _ms(self._ttl)]
            if await self._save_new(keys=[self._r.key("inv", ref)], args=args):
                return ref

    async def load(self, ref: str) -> StoredInvestigation | None:
        expires, body = await self._r.client.hmget(self._r.key("inv", ref), ["expires", "body"])
        if expires is None or body is None or float(expires) <= self._r.clock():
            return None
        return codec.loads(StoredInvestigation, body)

    async def replace(self, ref: str, stored: StoredInvestigation) -> None:
        key = self._r.key("inv", ref)
        async with self._r.client.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"expires": _num(self._r.clock() + self._ttl), "body": codec.dumps(stored)})
            pipe.pexpire(key, _ms(self._ttl))
            await pipe.execute()


class RedisFeedbackLog(FeedbackLog):
    def __init__(self, backend: RedisBackend):
        self._r = backend
        self._record = backend.script(_RECORD_VOTE)

    def _keys(self, ref: str, index: int) -> tuple[str, str]:
        return self._r.key("fb", ref, str(index)), self._r.key("fb", ref, str(index), "order")

    async def record(self, feedback: Feedback) -> None:
        votes, order = self._keys(feedback.ref, feedback.index)
        keys = [votes, order, self._r.key("fb-seq"), self._r.key("fb-totals")]
        await self._record(keys=keys, args=[feedback.user, codec.dumps(feedback), str(feedback.vote)])
        log_feedback(feedback)

    async def for_diagnosis(self, ref: str, index: int) -> tuple[Feedback, ...]:
        votes, order = self._keys(ref, index)
        users = [str(u) for u in await self._r.client.zrange(order, 0, -1)]
        if not users:
            return ()
        bodies = await self._r.client.hmget(votes, users)
        return tuple(codec.loads(Feedback, body) for body in bodies if body is not None)

    async def totals(self) -> tuple[int, int]:
        up, down = await self._r.client.hmget(self._r.key("fb-totals"), ["up", "down"])
        return int(up or 0), int(down or 0)


class RedisAuditLog(AuditLog):
    def __init__(self, backend: RedisBackend, *, max_entries: int = AUDIT_MAX):
        self._r = backend
        self._max = max_entries

    async def record(self, entry: AuditEntry) -> None:
        key = self._r.key("audit")
        async with self._r.client.pipeline(transaction=True) as pipe:
            pipe.lpush(key, codec.dumps(entry))
            pipe.ltrim(key, 0, self._max - 1)
            await pipe.execute()

    async def query(
        self,
        *,
        since: float | None = None,
        user: str | None = None,
        channels: Collection[str] | None = None,
        limit: int = 100,
    ) -> tuple[AuditEntry, ...]:
        bodies = await self._r.client.lrange(self._r.key("audit"), 0, -1)
        entries = (codec.loads(AuditEntry, body) for body in bodies)
        return newest_matching(entries, since=since, user=user, channels=channels, limit=limit)


class RedisStormLog(StormLog):
    def __init__(self, backend: RedisBackend):
        self._r = backend
        self._sight = backend.script(_SIGHT)
        self._alias = backend.script(_ALIAS)
        self._attach = backend.script(_ATTACH)
        self._end = backend.script(_END)

    def _storm_key(self, storm_id: str) -> str:
        return self._r.key("storm", storm_id)

    async def sight(self, key: str, *, channel: str, ts: str, window: float) -> Sighting:
        now = self._r.clock()
        denial = self._r.key("storm-key", key)
        candidate = new_id()
        args = [
            _num(now),
            _num(now + window),
            channel,
            ts,
            candidate,
            self._r.key("storm", ""),
            _ms(window + STORM_GRACE),
            _ms(window),
        ]
        storm_id, first, pointer = await self._sight(keys=[denial], args=args)
        if first:
            await self._remember_key(storm_id, denial, window)
        storm = await self.get(storm_id)
        if storm is None:
            raise StateUrlError(f"storm {storm_id} vanished from Redis while being counted")
        return Sighting(storm, first=bool(first), pointer=bool(pointer))

    async def _remember_key(self, storm_id: str, denial: str, window: float) -> None:
        keys = self._storm_key(storm_id) + ":keys"
        async with self._r.client.pipeline(transaction=True) as pipe:
            pipe.sadd(keys, denial)
            pipe.pexpire(keys, _ms(window + STORM_GRACE))
            await pipe.execute()

    async def alias(self, storm_id: str, key: str) -> None:
        storm = await self.get(storm_id)
        now = self._r.clock()
        if storm is None or storm.until <= now:
            return
        denial = self._r.key("storm-key", key)
        args = [storm_id, _num(now), _ms(storm.until - now), self._r.key("storm", "")]
        if await self._alias(keys=[denial, self._storm_key(storm_id)], args=args):
            await self._remember_key(storm_id, denial, storm.until - now)

    async def attach(self, storm_id: str, *, answer_ts: str, ref: str, index: int) -> Storm | None:
        if not await self._attach(keys=[self._storm_key(storm_id)], args=[answer_ts, ref, str(index)]):
            return None
        return await self.get(storm_id)

    async def get(self, storm_id: str) -> Storm | None:
        key = self._storm_key(storm_id)
        async with self._r.client.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.smembers(key + ":pointed")
            fields, pointed = await pipe.execute()
        if not fields:
            return None
        return Storm(
            id=storm_id,
            channel=fields["channel"],
            ts=fields["ts"],
            started_at=float(fields["started_at"]),
            until=float(fields["until"]),
            count=int(fields["count"]),
            last_at=float(fields["last_at"]),
            answer_ts=fields.get("answer_ts"),
            ref=fields.get("ref"),
            index=int(fields["index"]) if "index" in fields else None,
            pointed=tuple(sorted(pointed)),
        )

    async def end(self, storm_id: str) -> None:
        key = self._storm_key(storm_id)
        await self._end(keys=[key, key + ":keys"], args=[_num(self._r.clock()), storm_id])


class RedisJobJournal(JobJournal):
    def __init__(self, backend: RedisBackend):
        self._r = backend
        self._add = backend.script(_ADD_JOB)
        self._save = backend.script(_SAVE_JOB)
        self._renew = backend.script(_RENEW)
        self._take_over = backend.script(_TAKE_OVER)

    def _job_key(self, job_id: str) -> str:
        return self._r.key("job", job_id)

    @property
    def _open(self) -> str:
        return self._r.key("jobs-open")

    async def add(self, job: Job) -> bool:
        args = [codec.dumps(job), job.owner or "", _num(job.lease_until), _num(job.created_at), job.attempts, job.id]
        return bool(await self._add(keys=[self._job_key(job.id), self._open], args=args))

    async def get(self, job_id: str) -> Job | None:
        fields = await self._r.client.hgetall(self._job_key(job_id))
        return _job({str(k): str(v) for k, v in fields.items()}) if fields else None

    async def save(self, job: Job) -> bool:
        finished = job.status in FINISHED
        body = codec.dumps(job)
        args = [body, job.owner or "", "1" if finished else "0", _num(self._r.clock()), job.id, _ms(JOB_TTL)]
        return bool(await self._save(keys=[self._job_key(job.id), self._open], args=args))

    async def renew(self, job_ids: Collection[str], *, owner: str, lease: float) -> frozenset[str]:
        ids = list(job_ids)
        if not ids:
            return frozenset()
        held = await self._renew(keys=[self._job_key(i) for i in ids], args=[owner, _num(self._r.clock() + lease)])
        return frozenset(ids[int(i) - 1] for i in held)

    async def release(self, job_ids: Collection[str], *, owner: str) -> None:
        ids = list(job_ids)
        if ids:
            await self._renew(keys=[self._job_key(i) for i in ids], args=[owner, "0"])

    async def take_over(self, *, owner: str, lease: float, limit: int) -> tuple[Job, ...]:
        now = self._r.clock()
        args = [_num(now), owner, _num(now + lease), limit, self._r.key("job", "")]
        taken = await self._take_over(keys=[self._open], args=args)
        jobs = [await self.get(job_id) for job_id in taken]
        return tuple(job for job in jobs if job is not None)

    async def pending(self) -> int:
        return int(await self._r.client.zcard(self._open))


def _job(fields: dict[str, str]) -> Job:
    job = codec.loads(Job, fields["body"])
    finished_at = fields.get("finished_at")
    return replace(
        job,
        owner=fields.get("owner") or None,
        lease_until=float(fields.get("lease_until") or 0),
        attempts=int(fields.get("attempts") or 0),
        finished_at=float(finished_at) if finished_at is not None else None,
    )


class RedisPostingSlots(PostingSlots):
    def __init__(self, backend: RedisBackend):
        self._r = backend
        self._reserve = backend.script(_RESERVE)

    async def reserve(self, key: str, *, interval: float, burst: int) -> float:
        args = [_num(self._r.clock()), _num(interval), max(1, burst)]
        return float(await self._reserve(keys=[self._r.key("slot", key)], args=args))


def redis_state(
    client: aioredis.Redis, *, where: str, prefix: str = DEFAULT_KEY_PREFIX, clock: Clock = time.time
) -> State:
    backend = RedisBackend(client, prefix=prefix, clock=clock)
    return State(
        seen=RedisSeenKeys(backend),
        investigations=RedisInvestigationStore(backend),
        feedback=RedisFeedbackLog(backend),
        audit=RedisAuditLog(backend),
        storms=RedisStormLog(backend),
        jobs=RedisJobJournal(backend),
        slots=RedisPostingSlots(backend),
        where=where,
        closer=client.aclose,
    )


async def open_redis_state(
    url: str, *, where: str, prefix: str = DEFAULT_KEY_PREFIX, clock: Clock = time.time
) -> State:
    """Connect and check that Redis answers; StateUrlError (without the password) when it does not."""
    try:
        # A burst waits for a free connection instead of failing with "Too many connections".
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            decode_responses=True,
            socket_timeout=10,
            socket_connect_timeout=5,
            max_connections=MAX_CONNECTIONS,
            timeout=POOL_TIMEOUT,
        )
    except ValueError as exc:
        raise StateUrlError(f"{where}: {exc}") from None
    client = aioredis.Redis(connection_pool=pool)

    async def close() -> None:
        await client.aclose()
        await pool.disconnect()

    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await close()
        raise StateUrlError(f"cannot reach Redis at {where}: {type(exc).__name__}") from None
    return replace(redis_state(client, where=where, prefix=prefix, clock=clock), closer=close)
