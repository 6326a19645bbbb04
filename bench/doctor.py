"""Benchmark: how long `iamwhy doctor`'s AWS checks take as accounts are added, against the same reads made one by one.

The sandbox is the tests' moto server behind a loopback proxy that makes every AWS request take --delay-ms, as a
round trip to AWS would; iam-toolbox (the tests' fake) sits behind its own such proxy. Each run builds a fresh
adapter, so every read role is assumed again, as in `iamwhy doctor`. The baseline, measured in the same run and on
the same installation, is the adapter with one worker thread: every read waits for the one before. A first,
untimed run warms moto's per-account backends. Figures: the requests sent, the wall time of both, their ratio.

    python bench/doctor.py [--delay-ms 50] [--accounts 1 3 5] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.delay_proxy import DelayProxy
from diagnostics.aws import AwsAdapter
from diagnostics.doctor import Section, Status, check_aws
from diagnostics.reader import AwsConfig
from tests.harness.installed import EXTERNAL_ID, ORG_ROLE_ARN, READ_ROLE, install
from tests.harness.sdk import botocore_session
from tests.harness.servers import MotoServer
from tests.harness.toolbox import FakeToolbox
from tests.harness.world import HUB_ACCOUNT, REGION, AwsWorld, trust


def _installation(world: AwsWorld, accounts: int) -> frozenset[str]:
    """The tests' installation with `accounts` member accounts in IAMWHY_ACCOUNTS; the bot's own is checked too."""
    world.reset()
    world.create_user(HUB_ACCOUNT, "iamwhy-bot")
    key = world.create_access_key(HUB_ACCOUNT, "iamwhy-bot")
    os.environ.update(AWS_ACCESS_KEY_ID=key.access_key_id, AWS_SECRET_ACCESS_KEY=key.secret_access_key)
    installed = install(world, key.user_arn)
    members = {installed.member}
    for n in range(1, accounts):
        member = world.create_member_account(installed.organization, f"workload{n}")
        world.create_role(member, READ_ROLE, trust_policy=trust(key.user_arn, external_id=EXTERNAL_ID))
        members.add(member)
    return frozenset(members)


async def _run(accounts: frozenset[str], concurrency: int) -> tuple[float, Section]:
    config = AwsConfig(
        allowed_accounts=accounts,
        external_id=EXTERNAL_ID,
        org_role_arn=ORG_ROLE_ARN,
        region=REGION,
        max_attempts=1,
        cache_ttl=0,
        max_concurrency=concurrency,
    )
    adapter = AwsAdapter(config, session=botocore_session())
    try:
        started = time.perf_counter()
        section = await check_aws(adapter, config, region=REGION)
        return time.perf_counter() - started, section
    finally:
        adapter.close()


async def _measure(world: AwsWorld, proxies: list[DelayProxy], accounts: int, repeat: int) -> dict[str, float]:
    members = _installation(world, accounts)
    # moto builds each account's service backends on first use (EC2's takes seconds): not the doctor's cost.
    await _run(members, AwsConfig().max_concurrency)
    figures: dict[str, list[float]] = {"concurrent": [], "sequential": []}
    requests = 0
    for _ in range(repeat):
        for name, concurrency in (("concurrent", AwsConfig().max_concurrency), ("sequential", 1)):
            before = sum(p.requests for p in proxies)
            elapsed, section = await _run(members, concurrency)
            failed = [(line.id, line.subject) for line in section.lines if line.status is Status.FAILED]
            if failed:
                raise SystemExit(f"the installation is not green: {failed}")
            figures[name].append(elapsed)
            requests = sum(p.requests for p in proxies) - before
    return {
        "requests": requests,
        "concurrent_s": statistics.median(figures["concurrent"]),
        "sequential_s": statistics.median(figures["sequential"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--delay-ms", type=float, default=50.0, help="time every AWS request takes (default 50)")
    parser.add_argument("--accounts", type=int, nargs="+", default=[1, 3, 5], help="IAMWHY_ACCOUNTS sizes to time")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the median is printed (default 3)")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]
    os.environ.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_DEFAULT_REGION=REGION)
    server, toolbox = MotoServer(), FakeToolbox()
    server.start()
    toolbox.start()
    delay = args.delay_ms / 1000
    try:
        with DelayProxy(server.endpoint, delay) as aws, DelayProxy(toolbox.endpoint, delay) as troubleshooter:
            os.environ.update(AWS_ENDPOINT_URL=aws.endpoint, AWS_ENDPOINT_URL_IAM_TOOLBOX=troubleshooter.endpoint)
            world = AwsWorld(server, toolbox)
            print(f"iamwhy doctor, AWS checks; every AWS request takes {args.delay_ms:.0f} ms; median of {args.repeat}")
            print(f"{'accounts':>8} {'requests':>8} {'doctor':>9} {'one by one':>11} {'ratio':>6}")
            for accounts in args.accounts:
                f = asyncio.run(_measure(world, [aws, troubleshooter], accounts, args.repeat))
                ratio = f["concurrent_s"] / f["sequential_s"]
                # The bot's own account is checked besides IAMWHY_ACCOUNTS.
                print(
                    f"{accounts + 1:>8} {f['requests']:>8.0f} {f['concurrent_s']:>8.2f}s {f['sequential_s']:>10.2f}s "
                    f"{ratio:>6.2f}"
                )
    finally:
        toolbox.stop()
        server.stop()


if __name__ == "__main__":
    main()
