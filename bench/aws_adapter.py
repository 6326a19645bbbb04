"""Benchmark: the AWS adapter's cost over a bare botocore call, and the test harness's per-test overhead.

Single calls run against the harness's in-process moto server, with a reused botocore client calling iam:GetRole
as the baseline; the fan-out runs against a loopback endpoint with fixed latency, one worker thread as its
baseline. Baselines are measured in the same run, and every figure is printed with its ratio to its baseline.

    python bench/aws_adapter.py [--repeat 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from diagnostics.aws import AwsAdapter
from diagnostics.reader import AwsConfig
from tests.harness.sdk import botocore_session
from tests.harness.servers import LoopbackServer, MotoServer
from tests.harness.toolbox import FakeToolbox
from tests.harness.world import HUB_ACCOUNT, REGION, TARGET_ACCOUNT, AwsWorld

FAN_OUT = 40
LATENCY = 0.02


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _time(fn: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


async def _atime(fn: Callable[[], Awaitable[object]], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - started)
    return samples


def _seed_bot(world: AwsWorld) -> None:
    world.create_user(HUB_ACCOUNT, "iamwhy-bot")
    key = world.create_access_key(HUB_ACCOUNT, "iamwhy-bot")
    os.environ.update(
        AWS_ENDPOINT_URL=world.endpoint,
        AWS_ENDPOINT_URL_IAM_TOOLBOX=world.toolbox.endpoint,
        AWS_ACCESS_KEY_ID=key.access_key_id,
        AWS_SECRET_ACCESS_KEY=key.secret_access_key,
        AWS_DEFAULT_REGION=REGION,
    )


async def _adapter_figures(repeat: int) -> dict[str, float]:
    adapter = AwsAdapter(
        AwsConfig(allowed_accounts=frozenset({TARGET_ACCOUNT}), cache_ttl=0), session=botocore_session()
    )
    cached = AwsAdapter(AwsConfig(allowed_accounts=frozenset({TARGET_ACCOUNT})), session=botocore_session())
    params = {"RoleName": "app"}
    try:
        for warm in (adapter, cached):
            await warm.call("iam", "GetRole", params, account=TARGET_ACCOUNT)
        uncached_samples = await _atime(lambda: adapter.call("iam", "GetRole", params, account=TARGET_ACCOUNT), repeat)
        cached_samples = await _atime(lambda: cached.call("iam", "GetRole", params, account=TARGET_ACCOUNT), repeat)
    finally:
        adapter.close()
        cached.close()
    return {"uncached": _median_ms(uncached_samples), "cached": _median_ms(cached_samples)}


def _held_for(seconds: float) -> LoopbackServer:
    """An IAM endpoint that answers NoSuchEntity after a delay, standing in for AWS's network latency."""
    body = b"<ErrorResponse><Error><Code>NoSuchEntity</Code><Message>none</Message></Error></ErrorResponse>"

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        time.sleep(seconds)
        start_response("404 Not Found", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
        return [body]

    return LoopbackServer(app).start()


async def _fan_out(count: int, concurrency: int) -> float:
    adapter = AwsAdapter(AwsConfig(max_concurrency=concurrency, max_attempts=1), session=botocore_session())
    try:
        started = time.perf_counter()
        await asyncio.gather(
            *(adapter.call("iam", "GetRole", {"RoleName": f"r{i}"}) for i in range(count)), return_exceptions=True
        )
        return (time.perf_counter() - started) * 1000
    finally:
        adapter.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()

    server = MotoServer()
    server.start()
    toolbox = FakeToolbox().start()
    world = AwsWorld(server, toolbox)
    try:
        world.reset()
        _seed_bot(world)
        world.create_role(TARGET_ACCOUNT, "app")

        raw = botocore_session().create_client("iam", region_name=REGION)
        raw.meta.events.register(
            "before-sign.*.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", TARGET_ACCOUNT)
        )
        raw.get_role(RoleName="app")
        baseline = _median_ms(_time(lambda: raw.get_role(RoleName="app"), args.repeat))

        figures = asyncio.run(_adapter_figures(args.repeat))

        def per_test_setup() -> None:
            world.reset()
            _seed_bot(world)

        setup = _median_ms(_time(per_test_setup, max(args.repeat // 4, 10)))

        held = _held_for(LATENCY)
        os.environ["AWS_ENDPOINT_URL_IAM"] = held.endpoint
        try:
            one_at_a_time = asyncio.run(_fan_out(FAN_OUT, 1))
            pooled = asyncio.run(_fan_out(FAN_OUT, 8))
        finally:
            held.stop()
    finally:
        toolbox.stop()
        server.stop()

    rows = [
        ("baseline: botocore iam:GetRole on a reused client", baseline, baseline),
        ("adapter call, cache off (worker thread, guard, copy)", figures["uncached"], baseline),
        ("adapter call answered from the TTL cache", figures["cached"], baseline),
        ("harness per-test setup (moto reset + bot identity)", setup, baseline),
        (f"{FAN_OUT} reads at {LATENCY * 1000:.0f} ms latency, 1 worker thread", one_at_a_time, one_at_a_time),
        (f"{FAN_OUT} reads at {LATENCY * 1000:.0f} ms latency, 8 worker threads", pooled, one_at_a_time),
    ]
    print(f"n={args.repeat}; medians for single calls, totals for the fan-outs; ratio to the row's baseline")
    for label, value, reference in rows:
        print(f"{label:<58} {value:9.3f} ms   x{value / reference:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
