"""Benchmark: an alert storm against the served app, with the embedded state and with two replicas on Redis.

A burst of --posts alert posts (default 1,000) carrying --denials distinct denials (default 200: each posted
posts/denials times, shuffled) arrives in --channels alert channels. The app is the real one (create_app behind
the real aiohttp server, the live investigation over the AWS adapter, the journaled worker, JSON logs), each
replica in a process of its own as `iamwhy serve` runs (bench/served.py), so that the senders and the fake Slack,
which are Slack's side, share neither its event loop nor its interpreter lock. The fake Slack enforces Slack's
posting limit (about one message per second per channel, answering 429 beyond it); AWS is moto in a child process
behind bench/delay_proxy.py, every request held --delay-ms.

Printed for each configuration: every post acknowledged (p50/p99 ack), the investigation threads (placeholders
and answers: the target is exactly one per distinct denial), the AWS requests made against --denials times the
requests of one diagnosis measured alone first (the baseline), the Slack calls by method and the 429s, the time
until the last reply, and the peak memory of each replica. No assertion is made.

    python bench/storm.py [--posts 1000] [--denials 200] [--channels 10] [--delay-ms 50] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import socket
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.delay_proxy import DelayedAws
from bench.served import ServedApp, percentile
from tests.harness import servers
from tests.harness.fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, Sender, bot_post
from tests.harness.redis_server import RedisServer, with_prefix
from tests.harness.toolbox import FakeToolbox
from tests.harness.world import HUB_ACCOUNT, REGION, TARGET_ACCOUNT, AwsWorld, allow, policy

OBJECT = "arn:aws:s3:::prod-artifacts/release.tar.gz"


def _error(n: int) -> str:
    return (
        "An error occurred (AccessDenied) when calling the GetObject operation: User: "
        f"arn:aws:iam::{TARGET_ACCOUNT}:user/storm-{n:04d} is not authorized to perform: s3:GetObject on "
        f'resource: "{OBJECT}" because no identity-based policy allows the s3:GetObject action'
    )


def _seed(world: AwsWorld, users: int) -> dict[str, str]:
    world.create_user(HUB_ACCOUNT, "iamwhy-bot")
    key = world.create_access_key(HUB_ACCOUNT, "iamwhy-bot")
    world.create_bucket(TARGET_ACCOUNT, "prod-artifacts")
    for n in range(users):
        world.create_user(TARGET_ACCOUNT, f"storm-{n:04d}", inline={"Deploy": policy(allow("s3:PutObject", OBJECT))})
    return {
        "AWS_ACCESS_KEY_ID": key.access_key_id,
        "AWS_SECRET_ACCESS_KEY": key.secret_access_key,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


async def _storm(args: argparse.Namespace, aws: DelayedAws, state_url: str, replicas: int) -> dict[str, Any]:
    fake = await FakeSlack().start()
    fake.pace_posts(interval=1.0, burst=3)
    channels = [f"CSTORM{n:03d}" for n in range(args.channels)]
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "IAMWHY_SLACK_API_URL": fake.api_url,
        "IAMWHY_ALERT_CHANNELS": ",".join(channels),
        "IAMWHY_WATCH_CHANNELS": "none",
        "IAMWHY_ACCOUNTS": TARGET_ACCOUNT,
        "IAMWHY_STATE_URL": state_url,
    }
    os.environ["AWS_ENDPOINT_URL"] = aws.delayed
    apps = await asyncio.gather(*(asyncio.to_thread(ServedApp, {**os.environ, **env}) for _ in range(replicas)))
    session = aiohttp.ClientSession()
    try:
        senders = [Sender(a.url, session) for a in apps]
        # The baseline: one denial (not in the storm) diagnosed alone, and the AWS requests it took.
        before = aws.requests()
        await senders[0].event(bot_post(channels[0], text=_error(args.denials)))
        await fake.wait_for("chat.update", timeout=120)
        await _idle(apps)
        per_diagnosis = aws.requests() - before
        # Every replica's Bolt asks auth.test once before serving: a post without a denial warms each one up.
        for sender in senders[1:]:
            await sender.event(bot_post(channels[0], text="deploy finished"))
        await fake.wait_for("auth.test", count=len(senders), timeout=60)
        calls_before = Counter(c.method for c in fake.calls)

        rng = random.Random(42)
        posts = [n % args.denials for n in range(args.posts)]
        rng.shuffle(posts)
        events = [bot_post(channels[n % args.channels], text=f"Alarm {i}: {_error(n)}") for i, n in enumerate(posts)]
        before = aws.requests()
        in_flight = asyncio.Semaphore(args.in_flight)
        acks: list[float] = []
        statuses: Counter[int] = Counter()

        async def send(i: int, event: dict[str, Any]) -> None:
            async with in_flight:
                started = time.perf_counter()
                status, _, _ = await senders[i % len(senders)].event(event)
                acks.append((time.perf_counter() - started) * 1000)
                statuses[status] += 1

        started = time.perf_counter()
        await asyncio.gather(*(send(i, e) for i, e in enumerate(events)))
        answers = args.denials + 1
        await fake.wait_for("chat.update", lambda c: "denied" in c.text, count=answers, timeout=1800)
        await _idle(apps)
        last_reply = max(c.at for c in fake.calls if c.method in ("chat.postMessage", "chat.update"))
        first_post = min(c.at for c in fake.calls[sum(calls_before.values()) :])
        elapsed = last_reply - first_post
        burst_calls = Counter(c.method for c in fake.calls) - calls_before
        # A placeholder Slack refused with 429 and that was sent again is one thread.
        threads = {
            (c.body["channel"], c.body.get("thread_ts"))
            for c in fake.calls_of("chat.postMessage")
            if c.text.startswith("Investigating")
        }
        placeholders = len(threads) - 1
        result = {
            "acked": statuses[200],
            "ack_p50": percentile(acks, 50),
            "ack_p99": percentile(acks, 99),
            "threads": placeholders,
            "aws": aws.requests() - before,
            "per_diagnosis": per_diagnosis,
            "slack": burst_calls,
            "rate_limited": dict(fake.rate_limited),
            "last_reply_s": elapsed,
            "send_s": time.perf_counter() - started,
        }
    finally:
        await session.close()
        # Each replica's last storm counts reach the fake Slack, served by this loop, while it stops.
        await asyncio.gather(*(asyncio.to_thread(app.stop) for app in apps))
        await fake.stop()
    result["replica_mib"] = [app.peak_mib for app in apps]
    return result


async def _idle(apps: list[ServedApp]) -> None:
    await asyncio.gather(*(asyncio.to_thread(app.idle) for app in apps))


def _report(title: str, r: dict[str, Any], args: argparse.Namespace) -> None:
    expected = args.denials * r["per_diagnosis"]
    slack = ", ".join(f"{m} {n}" for m, n in sorted(r["slack"].items()))
    print(f"\n{title}")
    print(
        f"  acknowledged            {r['acked']} of {args.posts} (p50 {r['ack_p50']:.1f} ms, p99 {r['ack_p99']:.1f} ms)"
    )
    print(f"  investigation threads   {r['threads']} (target: exactly {args.denials})")
    print(
        f"  AWS requests            {r['aws']} vs {args.denials} x {r['per_diagnosis']} = {expected} for the "
        f"denials alone (x{r['aws'] / expected:.2f}); without storm handling {args.posts} x {r['per_diagnosis']}"
    )
    print(f"  Slack calls             {sum(r['slack'].values())} (429-refused attempts included): {slack}")
    print(f"  429 answers             {sum(r['rate_limited'].values())} {r['rate_limited'] or ''}".rstrip())
    pace = f"Slack allows ~1 post/s in each of {args.channels} channels"
    print(f"  last reply after        {r['last_reply_s']:.1f} s ({pace})")
    print(f"  peak memory per replica {', '.join(f'{m:.0f} MiB' for m in r['replica_mib'])}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--denials", type=int, default=200)
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--in-flight", type=int, default=100, help="posts sent at once (Slack's own concurrency)")
    parser.add_argument("--redis-url", help="a Redis to use (default: a redis-server started on loopback)")
    parser.add_argument("--only", choices=("embedded", "redis"), help="run one configuration")
    args = parser.parse_args()

    aws = DelayedAws(args.delay_ms / 1000)
    toolbox = FakeToolbox().start()
    world = AwsWorld(aws, toolbox)  # type: ignore[arg-type]
    socket.getaddrinfo = servers._getaddrinfo
    redis_server = None
    runs: list[tuple[str, dict[str, Any]]] = []
    try:
        for name in [n for n in os.environ if n.startswith("AWS_")]:
            del os.environ[name]
        aws.reset()
        os.environ.update(_seed(world, args.denials + 1))
        os.environ["AWS_ENDPOINT_URL_IAM_TOOLBOX"] = toolbox.endpoint
        if args.only != "redis":
            with_file = Path(tempfile.gettempdir()) / f"iamwhy-storm-{os.getpid()}.db"
            result = asyncio.run(_storm(args, aws, f"sqlite:///{with_file}", 1))
            runs.append(("embedded state (SQLite file), one replica", result))
            for suffix in ("", "-wal", "-shm"):
                Path(f"{with_file}{suffix}").unlink(missing_ok=True)
        if args.only != "embedded":
            url = args.redis_url
            if url is None:
                redis_server = RedisServer().start()
                url = redis_server.url
            result = asyncio.run(_storm(args, aws, with_prefix(url), 2))
            runs.append(("Redis, two replicas", result))
    finally:
        socket.getaddrinfo = servers._real_getaddrinfo
        if redis_server is not None:
            redis_server.stop()
        toolbox.stop()
        aws.stop()

    print(
        f"{args.posts} alert posts carrying {args.denials} distinct denials in {args.channels} channels; every AWS "
        f"request takes {args.delay_ms:.0f} ms; the fake Slack answers 429 beyond one post a second per channel"
    )
    for title, result in runs:
        _report(title, result, args)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory of this process (the fake Slack and the senders): {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
