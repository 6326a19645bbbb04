"""Benchmark: how fast the Slack app acknowledges events while diagnoses are running, and when every answer is in.

The real app (create_app behind the real aiohttp server, the investigator `iamwhy serve` builds) runs on its own
event loop in its own thread; a fake Slack records its replies; AWS is moto behind a proxy that holds every
request for --aws-delay seconds. The baseline is the acknowledgement latency of events sent one at a time to an
idle app, measured in the same run; then --events signed events arrive at once and each acknowledgement is
timed, as is the time until every threaded answer has replaced its placeholder. Target: p99 ack < 100 ms.

    python bench/ack.py [--events 50] [--aws-delay 0.05] [--baseline 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import Settings, build_investigator, create_app, create_web_app
from diagnostics.aws import AwsAdapter
from handlers.health import Health
from tests.harness.fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, Sender, message_event
from tests.harness.sdk import botocore_session
from tests.harness.servers import MotoServer
from tests.harness.toolbox import FakeToolbox
from tests.harness.world import HUB_ACCOUNT, REGION, AwsWorld

CHANNEL = "CBENCH01"


def _error(n: int) -> str:
    # A different principal per event, so no diagnosis is answered from another's cached reads.
    return (
        "An error occurred (AccessDenied) when calling the GetObject operation: User: "
        f"arn:aws:iam::{HUB_ACCOUNT}:user/build-bot-{n:03d} is not authorized to perform: s3:GetObject on resource: "
        '"arn:aws:s3:::prod-artifacts/release.tar.gz" because no identity-based policy allows the s3:GetObject action'
    )


class DelayProxy:
    """Forwards every request to `target` after holding it for `delay` seconds (AWS's latency, on loopback)."""

    def __init__(self, target: str, delay: float) -> None:
        self.target = target
        self.delay = delay
        self.requests = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.endpoint = ""

    async def start(self) -> DelayProxy:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._session = aiohttp.ClientSession(auto_decompress=False)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.endpoint = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        self.requests += 1
        body = await request.read()
        await asyncio.sleep(self.delay)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self._session.request(
            request.method, self.target + request.path_qs, data=body, headers=headers
        ) as upstream:
            payload = await upstream.read()
            kept = {
                k: v
                for k, v in upstream.headers.items()
                if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding")
            }
            return web.Response(status=upstream.status, body=payload, headers=kept)


class AppThread:
    """The app under test on its own event loop, as a separate process would have it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = ""
        self.investigation = ""
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="iamwhy-app", daemon=True)

    def start(self) -> AppThread:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the app did not start")
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _run(self) -> None:
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        from slack_sdk.web.async_client import AsyncWebClient

        self._stop = asyncio.Event()
        adapter = AwsAdapter(self.settings.aws, session=botocore_session())
        investigator, self.investigation = build_investigator(adapter)
        client = AsyncWebClient(token=self.settings.bot_token, base_url=self.settings.slack_api_url)
        app = create_app(self.settings, investigator=investigator, client=client)
        web_app = create_web_app(app, Health({}), signing_secret=self.settings.signing_secret)
        runner = web.AppRunner(web_app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()
        await asyncio.to_thread(adapter.close)


async def _timed(call: Callable[[], Awaitable[tuple[int, str, Any]]]) -> float:
    started = time.perf_counter()
    status, _, _ = await call()
    elapsed = time.perf_counter() - started
    if status != 200:
        raise RuntimeError(f"the app answered HTTP {status}")
    return elapsed * 1000


def _percentile(samples: list[float], q: int) -> float:
    """The q-th percentile (nearest rank): with 50 samples, p99 is the slowest."""
    ordered = sorted(samples)
    rank = max(1, -(-q * len(ordered) // 100))
    return ordered[rank - 1]


async def _bench(args: argparse.Namespace, world: AwsWorld) -> None:
    proxy = await DelayProxy(world.endpoint, args.aws_delay).start()
    fake = await FakeSlack().start()
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "IAMWHY_SLACK_API_URL": fake.api_url,
        "IAMWHY_WATCH_CHANNELS": CHANNEL,
    }
    os.environ["AWS_ENDPOINT_URL"] = proxy.endpoint
    app = AppThread(Settings.from_env(env)).start()
    session = aiohttp.ClientSession()
    try:
        send = Sender(app.url, session)
        total = args.baseline + args.events
        events = [message_event(_error(n), channel=CHANNEL) for n in range(total)]

        idle = []
        for n, event in enumerate(events[: args.baseline], start=1):
            idle.append(await _timed(lambda e=event: send.event(e)))
            await fake.wait_for("chat.update", count=n, timeout=120)
        reads_before = proxy.requests

        started = time.perf_counter()
        loaded = await asyncio.gather(*(_timed(lambda e=e: send.event(e)) for e in events[args.baseline :]))
        await fake.wait_for("chat.update", count=total, timeout=600)
        all_answered = (time.perf_counter() - started) * 1000
        reads = proxy.requests - reads_before
    finally:
        await session.close()
        app.stop()
        await fake.stop()
        await proxy.stop()

    idle_p99 = _percentile(idle, 99)
    print(
        f"investigation: {app.investigation}; AWS held {args.aws_delay * 1000:.0f} ms per request; "
        f"{args.events} events at once ({reads} AWS requests); baseline: {args.baseline} events one at a time"
    )
    rows = [
        ("baseline ack p50 (idle app)", _percentile(idle, 50), idle_p99),
        ("baseline ack p99 (idle app)", idle_p99, idle_p99),
        (f"ack p50, {args.events} at once", _percentile(loaded, 50), idle_p99),
        (f"ack p99, {args.events} at once", _percentile(loaded, 99), idle_p99),
        (f"all {args.events} answers in their threads", all_answered, idle_p99),
    ]
    for label, value, reference in rows:
        print(f"{label:<42} {value:10.1f} ms   x{value / reference:.2f} of baseline p99")
    verdict = "met" if _percentile(loaded, 99) < 100 else "MISSED"
    print(f"target p99 ack < 100 ms: {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--aws-delay", type=float, default=0.05)
    parser.add_argument("--baseline", type=int, default=20)
    args = parser.parse_args()

    server = MotoServer()
    server.start()
    toolbox = FakeToolbox().start()
    world = AwsWorld(server, toolbox)
    try:
        world.reset()
        world.create_user(HUB_ACCOUNT, "iamwhy-bot")
        key = world.create_access_key(HUB_ACCOUNT, "iamwhy-bot")
        for n in range(args.baseline + args.events):
            world.create_user(HUB_ACCOUNT, f"build-bot-{n:03d}")
        os.environ.update(
            AWS_ENDPOINT_URL_IAM_TOOLBOX=toolbox.endpoint,
            AWS_ACCESS_KEY_ID=key.access_key_id,
            AWS_SECRET_ACCESS_KEY=key.secret_access_key,
            AWS_DEFAULT_REGION=REGION,
        )
        asyncio.run(_bench(args, world))
    finally:
        toolbox.stop()
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
