"""Benchmark: what starting the demo sandbox costs, against moto's own threaded server started and stopped bare.

Measured in one fresh process: importing moto, the first sandbox (cold moto backends), then warm repeats. The
baseline, measured in the same run, is a bare ThreadedMotoServer on a free loopback port: start, one request,
stop. Every figure is printed with its ratio to that baseline.

    python bench/sandbox.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from diagnostics.sandbox import Sandbox
from diagnostics.sandbox.lifecycle import _load_embedded


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _touch(endpoint: str) -> None:
    urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=10).close()


def _bare_server() -> tuple[float, float]:
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    started = time.perf_counter()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    _touch(f"http://{host}:{port}")
    up = _ms(started)
    started = time.perf_counter()
    server.stop()
    return up, _ms(started)


def _sandbox() -> tuple[float, float]:
    started = time.perf_counter()
    box = Sandbox().start()
    _touch(box.endpoint)
    up = _ms(started)
    started = time.perf_counter()
    box.stop()
    return up, _ms(started)


def _medians(run: Callable[[], tuple[float, float]], repeat: int) -> tuple[float, float]:
    ups, downs = zip(*(run() for _ in range(repeat)), strict=True)
    return statistics.median(ups), statistics.median(downs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()

    started = time.perf_counter()
    _load_embedded()
    import_ms = _ms(started)
    cold_up, cold_down = _sandbox()
    bare_up, bare_down = _medians(_bare_server, args.repeat)
    warm_up, warm_down = _medians(_sandbox, args.repeat)
    baseline = bare_up + bare_down

    rows = [
        ("baseline: bare moto server start + 1 request + stop", baseline),
        ("import moto's server and backends (once per process)", import_ms),
        ("first sandbox: start + seed + 1 request (cold backends)", cold_up),
        ("first sandbox: stop + reset", cold_down),
        ("sandbox: start + seed + 1 request (median)", warm_up),
        ("sandbox: stop + reset (median)", warm_down),
        ("sandbox: whole cycle (median)", warm_up + warm_down),
    ]
    print(f"n={args.repeat} for the medians; ratio to the baseline")
    for label, value in rows:
        print(f"{label:<58} {value:9.1f} ms   x{value / baseline:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
