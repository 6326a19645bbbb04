"""Benchmark: how fast the Slack app acknowledges events while diagnoses run, and when every answer is in.

The app under test is the real one, composed as `iamwhy serve` composes it (the aiohttp server, the Bolt app, the
live investigation over the AWS adapter, the journaled worker, JSON logs) and run in a process of its own
(bench/served.py): the senders and the fake Slack, which are Slack's side, share neither its event loop nor its
interpreter lock. A fake Slack records its replies; events go to --channels watched channels in turn, since
Slack's posting pace (about one message a second per channel) would otherwise set when the last answer is in.
AWS is the harness's moto server in a child process behind bench/delay_proxy.py, which makes every AWS request
take --delay-ms (moto's own work included, as AWS's is in its latency).

Each event is a different user's denial in a target account the bot reads by assuming its read-only role, so no
answer comes from another's cached reads. The baseline is the acknowledgement latency of events sent one at a time
to an idle app (each answered before the next), measured in the same run; then --events signed events arrive at
once, each acknowledgement is timed, and so is the time until every threaded answer has replaced its placeholder.
Target: p99 ack < 100 ms (Slack's limit is 3 s). No assertion is made.

    python bench/ack.py [--events 50] [--delay-ms 50] [--baseline 20] [--channels 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.delay_proxy import DelayedAws
from bench.served import ServedApp, percentile
from tests.harness import servers
from tests.harness.fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, Sender, message_event
from tests.harness.toolbox import FakeToolbox
from tests.harness.world import HUB_ACCOUNT, REGION, TARGET_ACCOUNT, AwsWorld, allow, policy

OBJECT = "arn:aws:s3:::prod-artifacts/release.tar.gz"


def _error(n: int) -> str:
    return (
        "An error occurred (AccessDenied) when calling the GetObject operation: User: "
        f"arn:aws:iam::{TARGET_ACCOUNT}:user/build-bot-{n:03d} is not authorized to perform: s3:GetObject on "
        f'resource: "{OBJECT}" because no identity-based policy allows the s3:GetObject action'
    )


def _seed(world: AwsWorld, users: int) -> dict[str, str]:
    """The bot's identity in the hub account, and a user per event in the target account; the bot's environment."""
    world.create_user(HUB_ACCOUNT, "iamwhy-bot")
    key = world.create_access_key(HUB_ACCOUNT, "iamwhy-bot")
    world.create_bucket(TARGET_ACCOUNT, "prod-artifacts")
    for n in range(users):
        world.create_user(
            TARGET_ACCOUNT, f"build-bot-{n:03d}", inline={"Deploy": policy(allow("s3:PutObject", OBJECT))}
        )
    return {
        "AWS_ACCESS_KEY_ID": key.access_key_id,
        "AWS_SECRET_ACCESS_KEY": key.secret_access_key,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


async def _timed(call: Callable[[], Awaitable[tuple[int, str, Any]]]) -> float:
    started = time.perf_counter()
    status, _, _ = await call()
    elapsed = (time.perf_counter() - started) * 1000
    if status != 200:
        raise RuntimeError(f"the app answered HTTP {status}")
    return elapsed


async def _run(args: argparse.Namespace, delayed_endpoint: str) -> tuple[list[float], list[float], float, str, str]:
    fake = await FakeSlack().start()
    channels = [f"CBENCH{n:02d}" for n in range(args.channels)]
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "IAMWHY_SLACK_API_URL": fake.api_url,
        "IAMWHY_WATCH_CHANNELS": ",".join(channels),
        "IAMWHY_ACCOUNTS": TARGET_ACCOUNT,
    }
    os.environ["AWS_ENDPOINT_URL"] = delayed_endpoint
    app = await asyncio.to_thread(ServedApp, {**os.environ, **env})
    session = aiohttp.ClientSession()
    try:
        send = Sender(app.url, session)
        events = [
            message_event(_error(n), channel=channels[n % len(channels)]) for n in range(args.baseline + args.events)
        ]
        idle = []
        for n, event in enumerate(events[: args.baseline], start=1):
            idle.append(await _timed(lambda e=event: send.event(e)))
            await fake.wait_for("chat.update", count=n, timeout=120)
        started = time.perf_counter()
        loaded = await asyncio.gather(*(_timed(lambda e=e: send.event(e)) for e in events[args.baseline :]))
        answers = await fake.wait_for("chat.update", count=len(events), timeout=600)
        all_in = (time.perf_counter() - started) * 1000
    finally:
        await session.close()
        await asyncio.to_thread(app.stop)
        await fake.stop()
    # The notification text of each answer ends its verdict with the confidence: "implicit deny (evaluated)".
    verdicts = Counter(m.group(1) if (m := re.search(r" · ([a-z ]+ \([a-z]+\))", a.text)) else "?" for a in answers)
    return idle, list(loaded), all_in, app.investigation, ", ".join(f"{n} {v}" for v, n in verdicts.most_common())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50, help="events sent at once")
    parser.add_argument("--delay-ms", type=float, default=50.0, help="delay the proxy adds to every AWS request")
    parser.add_argument("--baseline", type=int, default=20, help="events sent one at a time to an idle app first")
    parser.add_argument("--channels", type=int, default=10, help="watched channels the events are posted in")
    args = parser.parse_args()

    aws = DelayedAws(args.delay_ms / 1000)
    toolbox = FakeToolbox().start()
    world = AwsWorld(aws, toolbox)  # type: ignore[arg-type]
    # S3 Control puts the account id in front of the host (222222222222.127.0.0.1): resolve it as the harness does.
    socket.getaddrinfo = servers._getaddrinfo
    try:
        aws.reset()
        for name in [n for n in os.environ if n.startswith("AWS_")]:
            del os.environ[name]
        os.environ.update(_seed(world, args.baseline + args.events))
        os.environ["AWS_ENDPOINT_URL_IAM_TOOLBOX"] = toolbox.endpoint
        idle, loaded, all_in, investigation, verdicts = asyncio.run(_run(args, aws.delayed))
    finally:
        socket.getaddrinfo = servers._real_getaddrinfo
        toolbox.stop()
        aws.stop()

    reference = percentile(idle, 99)
    print(
        f"investigation: {investigation}; every AWS request takes {args.delay_ms:.0f} ms; {args.events} events at "
        f"once; baseline: {args.baseline} events one at a time to an idle app"
    )
    rows = [
        ("baseline ack p50", percentile(idle, 50)),
        ("baseline ack p99", reference),
        (f"ack p50, {args.events} at once", percentile(loaded, 50)),
        (f"ack p99, {args.events} at once", percentile(loaded, 99)),
        (f"all {args.events} answers in their threads", all_in),
    ]
    for label, value in rows:
        print(f"{label:<40} {value:10.1f} ms   x{value / reference:.2f} of baseline p99")
    print(f"answers: {verdicts}")
    met = percentile(loaded, 99) < 100
    print(f"target p99 ack < 100 ms: {'met' if met else 'missed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
