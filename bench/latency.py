"""Benchmark: how long a live diagnosis takes when every AWS call costs real latency, against two baselines.

moto runs behind a loopback proxy (bench/delay_proxy.py) that makes every AWS request take a fixed delay (moto's own
work included, as AWS's is in its latency); both stand for AWS's side and each runs in a process of its own, so their
work does not compete with iamwhy's for this interpreter. On a machine with two cores or more they also run on cores
of their own: iamwhy on one core, AWS's side on the others, because AWS's servers do not share the bot's machine and
moto spends more CPU per call than iamwhy does (both are printed). ``--shared-cores`` lets all of them share every
core instead, to see what that costs. For each of three seeded scenarios it prints:

- iamwhy: the wall time of one diagnosis (LiveInvestigator.diagnose) in a running bot: botocore clients and
  role credentials already made by an earlier diagnosis, the answer cache emptied;
- sequential: the same diagnosis on an adapter with one worker thread, so the very same calls run one after
  another, as a person following the manual workflow would make them;
- critical path: the longest chain of calls that wait on one another, times the delay. Each call's depth is one
  more than the deepest call whose answer the calling code had already awaited (tracked through contextvars,
  across tasks and asyncio.gather), so the chain is the code's own data dependencies;
- AWS calls per diagnosis, and a repeat of the same diagnosis within the cache TTL (calls sent, wall time).

Ratios: iamwhy / critical path (target <= 1.3) and sequential / iamwhy (target >= 3). No assertion is made.

    python bench/latency.py [--delay-ms 50] [--concurrency N] [--rounds 3] [--shared-cores]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import os
import socket
import statistics
import sys
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.delay_proxy import DelayedAws, split_cores
from diagnostics.aws import AwsAdapter
from diagnostics.investigate import InvestigationSettings, LiveInvestigator
from diagnostics.model import DeniedRequest, Diagnosis
from diagnostics.parse import scan
from diagnostics.reader import AwsConfig, NotFound, RecordingReader, requests_sent
from tests.harness import servers
from tests.harness.sdk import botocore_session
from tests.harness.toolbox import FakeToolbox
from tests.harness.world import HUB_ACCOUNT, MANAGEMENT_ACCOUNT, REGION, TARGET_ACCOUNT, AwsWorld, allow, deny, policy

ORG_ROLE = f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/OrgRead"
OBJECT = "arn:aws:s3:::prod-artifacts/release.tar.gz"

# --- dependency depth ----------------------------------------------------------------------------------------

_depth: contextvars.ContextVar[int] = contextvars.ContextVar("depth", default=0)
_finished: dict[int, int] = {}


class _TrackedTask(asyncio.Task[Any]):
    """A task whose awaiter learns how deep a chain of calls the task waited on."""

    def __await__(self) -> Any:
        result = yield from super().__await__()
        _depth.set(max(_depth.get(), _finished.get(id(self), 0)))
        return result


def _task_factory(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any) -> asyncio.Task[Any]:
    async def run() -> Any:
        try:
            return await coro
        finally:
            _finished[id(task)] = _depth.get()

    task = _TrackedTask(run(), loop=loop, **kwargs)
    return task


_original_gather = asyncio.gather


def _tracked_gather(*aws: Any, return_exceptions: bool = False) -> Any:
    tasks = [asyncio.ensure_future(a) for a in aws]

    async def joined() -> Any:
        results = await _original_gather(*tasks, return_exceptions=return_exceptions)
        _depth.set(max([_depth.get(), *(_finished.get(id(t), 0) for t in tasks)]))
        return results

    return joined()


class _DepthScope:
    """A ReadScope that gives each call a depth: one more than the deepest answer its caller had awaited.

    A call the adapter answers from one already made or in flight (the same call, asked twice) waits only for
    that first call: its depth is the first call's, or the caller's own if that is deeper."""

    def __init__(self, scope: RecordingReader, sink: list[int]) -> None:
        self._scope = scope
        self._sink = sink
        self._first: dict[str, asyncio.Future[int]] = {}

    @property
    def records(self) -> Any:
        return self._scope.records

    async def call(self, *args: Any, **kwargs: Any) -> Mapping[str, Any]:
        key = repr((args, sorted(kwargs.items())))
        own = _depth.get()
        first = self._first.get(key)
        if first is None:
            first = self._first[key] = asyncio.get_running_loop().create_future()
            mine = True
        else:
            mine = False
        try:
            return await self._scope.call(*args, **kwargs)
        finally:
            if mine:
                depth = own + 1
                first.set_result(depth)
            else:
                # Answered with the first call's result: no deeper than it, unless the caller already was.
                depth = max(own, first.result()) if first.done() else own + 1
            _depth.set(depth)
            self._sink.append(depth)


@dataclass
class _Tracking:
    """The adapter, seen through depth-tracking scopes."""

    adapter: AwsAdapter
    depths: list[int] = field(default_factory=list)
    scopes: list[RecordingReader] = field(default_factory=list)

    @property
    def config(self) -> AwsConfig:
        return self.adapter.config

    def scope(
        self, *, budget: int | None = None, correlation_id: str | None = None, accounts: Any = None, fresh: bool = False
    ) -> Any:
        scope = self.adapter.scope(budget=budget, correlation_id=correlation_id, accounts=accounts, fresh=fresh)
        self.scopes.append(scope)
        return _DepthScope(scope, self.depths)

    async def own_account(self) -> str:
        return await self.adapter.own_account()


# --- scenarios -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    seed: Callable[[AwsWorld], tuple[str, frozenset[str]]]


def _user_without_grant(world: AwsWorld) -> tuple[str, frozenset[str]]:
    t = TARGET_ACCOUNT
    managed = [world.create_policy(t, f"Team{i}", policy(allow(f"ec2:Describe{i}*", "*"))) for i in range(2)]
    for group in ("developers", "ci"):
        world.create_group(t, group, inline={f"{group}-inline": policy(allow("logs:*", "*"))}, managed=[managed[0]])
    world.create_user(
        t,
        "build-bot",
        inline={"Deploy": policy(allow("s3:PutObject", OBJECT)), "Logs": policy(allow("logs:PutLogEvents", "*"))},
        managed=managed,
        groups=["developers", "ci"],
    )
    world.create_bucket(t, "prod-artifacts", bucket_policy=policy(allow("s3:GetObject", "*", Principal={"AWS": t})))
    text = (
        f"User: arn:aws:iam::{t}:user/build-bot is not authorized to perform: s3:GetObject on resource: "
        f'"{OBJECT}" because no identity-based policy allows the s3:GetObject action'
    )
    return text, frozenset({t})


def _scp_region_guardrail(world: AwsWorld) -> tuple[str, frozenset[str]]:
    org = world.create_organization()
    ou = world.create_ou(org, "Workloads")
    team = world.create_ou(org, "Team", parent_id=ou)
    account = world.create_member_account(org, "workload", parent_id=team)
    statement = deny("*", "*", Sid="DenyOutsideUS", Condition={"StringNotLike": {"aws:RequestedRegion": ["us-*"]}})
    world.create_scp(org, "DenyOutsideUSRegions", policy(statement), targets=[ou])
    world.create_user(account, "deployer", inline={"Admin": policy(allow("*", "*"))})
    world.client("sqs", account, "eu-west-1").create_queue(QueueName="jobs")
    text = (
        f"User: arn:aws:iam::{account}:user/deployer is not authorized to perform: sqs:SendMessage on resource: "
        f"arn:aws:sqs:eu-west-1:{account}:jobs with an explicit deny in a service control policy"
    )
    return text, frozenset({account})


def _s3_kms_chain(world: AwsWorld) -> tuple[str, frozenset[str]]:
    t = TARGET_ACCOUNT
    admin = f"arn:aws:iam::{t}:role/key-admin"
    key = world.create_kms_key(t, key_policy=policy(allow("kms:*", "*", Principal={"AWS": admin})))
    reader = world.create_policy(t, "ArtifactsRead", policy(allow("s3:GetObject", "arn:aws:s3:::prod-artifacts/*")))
    world.create_role(t, "build-bot-role", inline={"Decrypt": policy(allow("kms:Decrypt", key))}, managed=[reader])
    world.create_bucket(t, "prod-artifacts")
    world.client("s3", t).put_bucket_encryption(
        Bucket="prod-artifacts",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]
        },
    )
    text = (
        f"User: arn:aws:sts::{t}:assumed-role/build-bot-role/ci-42 is not authorized to perform: s3:GetObject "
        f'on resource: "{OBJECT}"'
    )
    return text, frozenset({t})


SCENARIOS = (
    Scenario("IAM user, no grant (groups, managed policies)", _user_without_grant),
    Scenario("SCP region guardrail (OU two levels deep)", _scp_region_guardrail),
    Scenario("S3 object on an SSE-KMS key (role session)", _s3_kms_chain),
)


# --- measuring -----------------------------------------------------------------------------------------------


@dataclass
class Figures:
    # One AWS call's round trip through the proxy, measured alone: the delay plus the sandbox's own work.
    call_ms: float = 0.0
    wall_ms: list[float] = field(default_factory=list)
    # CPU time this process spent during the diagnosis: iamwhy and botocore.
    cpu_ms: list[float] = field(default_factory=list)
    # CPU time moto and the proxy spent meanwhile: they share this machine's cores with iamwhy.
    sandbox_cpu_ms: list[float] = field(default_factory=list)
    sequential_ms: list[float] = field(default_factory=list)
    repeat_ms: list[float] = field(default_factory=list)
    calls: int = 0
    repeat_calls: int = 0
    # How much later than the delay the sandbox answered, for each call it could not answer in time (all rounds).
    late_ms: list[float] = field(default_factory=list)
    depth: int = 0
    decision: str = ""


def _adapter(accounts: frozenset[str], concurrency: int) -> AwsAdapter:
    config = AwsConfig(
        allowed_accounts=accounts, org_role_arn=ORG_ROLE, max_attempts=1, max_concurrency=concurrency, cache_ttl=300
    )
    return AwsAdapter(config, session=botocore_session())


async def _timed(investigator: LiveInvestigator, request: DeniedRequest) -> tuple[float, Diagnosis]:
    started, cpu = time.perf_counter(), time.process_time()
    diagnosis = await investigator.diagnose(request)
    _cpu.append((time.process_time() - cpu) * 1000)
    return (time.perf_counter() - started) * 1000, diagnosis


_cpu: list[float] = []


async def _measure(
    request: DeniedRequest, accounts: frozenset[str], args: argparse.Namespace, aws: DelayedAws
) -> Figures:
    """A running bot's numbers: clients and role credentials already made (one diagnosis first, unmeasured), the
    answer cache emptied before each measured diagnosis; the repeat runs right after, within the cache TTL."""
    asyncio.get_running_loop().set_task_factory(_task_factory)  # type: ignore[arg-type]
    settings = InvestigationSettings(authorization_delay=0.0)
    figures = Figures()
    adapter = _adapter(accounts, args.concurrency)
    serial = _adapter(accounts, 1)
    try:
        tracking = _Tracking(adapter)
        bot = LiveInvestigator(tracking, settings=settings)
        serial_bot = LiveInvestigator(serial, settings=settings)
        for warm in (bot, serial_bot):
            await warm.diagnose(request)
        figures.call_ms = await _one_call_ms(adapter, next(iter(accounts)))
        for _ in range(args.rounds):
            _forget_answers(adapter, serial)
            tracking.depths.clear()
            _depth.set(0)
            aws.late_answers()
            sandbox_cpu = aws.cpu_ms()
            wall, diagnosis = await _timed(bot, request)
            figures.sandbox_cpu_ms.append(aws.cpu_ms() - sandbox_cpu)
            figures.late_ms.extend(aws.late_answers())
            figures.cpu_ms.append(_cpu[-1])
            figures.wall_ms.append(wall)
            figures.calls = requests_sent(tracking.scopes[-1].records)
            figures.depth = max(tracking.depths, default=0)
            figures.decision = f"{diagnosis.decision} · {diagnosis.confidence}"
            repeat, again = await _timed(bot, request)
            figures.repeat_ms.append(repeat)
            figures.repeat_calls = again.provenance.aws_reads
            figures.sequential_ms.append((await _timed(serial_bot, request))[0])
    finally:
        adapter.close()
        serial.close()
    return figures


async def _one_call_ms(adapter: AwsAdapter, account: str) -> float:
    samples = []
    for i in range(10):
        started = time.perf_counter()
        with contextlib.suppress(NotFound):
            # A user that does not exist: a real round trip each time (every name is new to the cache).
            await adapter.call(
                "iam", "GetUser", {"UserName": f"iamwhy-bench-probe-{time.time_ns()}-{i}"}, account=account
            )
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _forget_answers(*adapters: AwsAdapter) -> None:
    # The adapter has no public way to drop its cache (a running bot never needs one): the benchmark reaches in.
    for adapter in adapters:
        adapter._cache.clear()


def _bot_environment(world: AwsWorld, endpoint: str) -> None:
    world.create_user(HUB_ACCOUNT, "iamwhy-bot")
    key = world.create_access_key(HUB_ACCOUNT, "iamwhy-bot")
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID=key.access_key_id,
        AWS_SECRET_ACCESS_KEY=key.secret_access_key,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )


def _cores(cores: frozenset[int]) -> str:
    return ", ".join(str(core) for core in sorted(cores))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=float, default=50.0, help="delay the proxy adds to every AWS call")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=AwsConfig().max_concurrency,
        help="the adapter's worker threads (max_concurrency; default: what iamwhy serve uses)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="diagnoses per scenario; medians are printed")
    parser.add_argument(
        "--shared-cores", action="store_true", help="run iamwhy, moto and the proxy on every core, not apart"
    )
    args = parser.parse_args()
    delay = args.delay_ms / 1000

    split = None if args.shared_cores else split_cores()
    if split is None:
        cores = f"iamwhy, moto and the proxy share every core ({len(os.sched_getaffinity(0))})"
        server = DelayedAws(delay)
    else:
        own, sandbox = split
        # Before any thread starts: the threads this process starts inherit it.
        os.sched_setaffinity(0, own)
        cores = f"iamwhy on core {_cores(own)}, moto and the proxy on {_cores(sandbox)}"
        server = DelayedAws(delay, cores=sandbox)
    toolbox = FakeToolbox().start()
    world = AwsWorld(server, toolbox)  # type: ignore[arg-type]
    # S3 Control puts the account id in front of the host (222222222222.127.0.0.1): resolve it as the harness does.
    socket.getaddrinfo = servers._getaddrinfo
    asyncio.gather = _tracked_gather  # type: ignore[assignment]
    results: list[tuple[Scenario, Figures]] = []
    try:
        for scenario in SCENARIOS:
            world.reset()
            _bot_environment(world, server.delayed)
            text, accounts = scenario.seed(world)
            (request,) = scan(text).denials
            results.append((scenario, asyncio.run(_measure(request, accounts, args, server))))
    finally:
        asyncio.gather = _original_gather
        socket.getaddrinfo = servers._real_getaddrinfo
        toolbox.stop()
        server.stop()

    print(
        f"delay {args.delay_ms:.0f} ms per AWS call; adapter max_concurrency={args.concurrency}; "
        f"medians of {args.rounds} rounds; {cores}\n"
    )
    header = (
        f"{'scenario':<46} {'calls':>5} {'chain':>5} {'critical':>9} {'iamwhy':>8} {'/crit':>6} {'/crit*':>6} "
        f"{'sequential':>10} {'seq/iamwhy':>10} {'repeat':>8} {'calls':>5}"
    )
    print(header)
    print("-" * len(header))
    for scenario, figures in results:
        wall = statistics.median(figures.wall_ms)
        sequential = statistics.median(figures.sequential_ms)
        repeat = statistics.median(figures.repeat_ms)
        critical = figures.depth * args.delay_ms
        measured = figures.depth * figures.call_ms
        print(
            f"{scenario.name:<46} {figures.calls:>5} {figures.depth:>5} {critical:>7.0f}ms {wall:>6.0f}ms "
            f"{wall / critical:>6.2f} {wall / measured:>6.2f} {sequential:>8.0f}ms {sequential / wall:>10.1f} "
            f"{repeat:>6.1f}ms {figures.repeat_calls:>5}"
        )
        print(
            f"{'':<46} answer: {figures.decision}; one call alone: {figures.call_ms:.1f} ms; "
            f"CPU in this process: {statistics.median(figures.cpu_ms):.0f} ms, in the sandbox: "
            f"{statistics.median(figures.sandbox_cpu_ms):.0f} ms"
        )
        print(
            f"{'':<46} iamwhy over the rounds: {min(figures.wall_ms):.0f}-{max(figures.wall_ms):.0f} ms "
            f"(/crit {min(figures.wall_ms) / critical:.2f}-{max(figures.wall_ms) / critical:.2f})"
        )
        late = figures.late_ms
        print(
            f"{'':<46} sandbox late: {len(late)} of {figures.calls * args.rounds} answers"
            + (f" (median {statistics.median(late):.1f} ms, max {max(late):.1f} ms past the delay)" if late else "")
        )
    print(
        "\ncalls: AWS requests one diagnosis sent; chain: longest chain of calls that wait on one another; critical: "
        "chain x delay; /crit: iamwhy / critical (target <= 1.3); /crit*: iamwhy / (chain x one call's measured round "
        "trip, delay plus the sandbox's own time); CPU in this process: iamwhy's, botocore's signing and parsing "
        "included, which one interpreter lock serialises; in the sandbox: moto's and the proxy's; "
        "sandbox late: answers that left the proxy later than the "
        "delay because moto (one interpreter) took longer than the delay under the fan-out; "
        "seq/iamwhy: how many times faster than the same calls one "
        "after "
        "another (target >= 3); repeat: the same diagnosis again within the cache TTL, and the AWS requests it sent "
        "(target 0)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
