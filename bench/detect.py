"""How fast the parser rules out chat, parses denials and survives a hostile paste; figures, not assertions.

Run from the repository root: python bench/detect.py [--quick]

Measures the parser as this process imports it: compiled by the build (see setup.py) or, when it was not compiled,
is older than its source, or IAMWHY_PURE_PYTHON=1 is set, plain Python. Prints, each measured in this run on one
core:
  - non-matching chat messages scanned per second, against a baseline that applies every pattern of
    the format table to every message (what the parser would cost without its cheap pre-filter);
  - a chat stream of 99% ordinary lines and 1% denials, in messages per second;
  - microseconds per denial parsed, and again with the parser's per-value memos (an action's catalogue entry, a
    principal ARN's parse, an operation's action) emptied before each message, as for text never seen before;
    with the compiled parser, also the same figure for the plain Python one, measured in a child process;
  - the time to scan a 100 KB and a 1 MB adversarial paste (long runs of "arn:aws:", "is not
    authorized", quotes and colons) and the ratio between them, which stays near 10 when the work
    grows linearly with the paste.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import diagnostics  # noqa: E402
from diagnostics import operations, parse  # noqa: E402
from diagnostics.formats import HTTP_403, LAYER_PHRASES, LOOK_ALIKES, SHAPES  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "messages"

# Words of an engineering team's chat, most frequent first. Words are drawn with Zipf's law (the
# n-th word n times rarer than the first), as in any natural text, so the few that the pre-filter
# looks for (denied, token, expired, 403, secret, session, ...) turn up at a plausible rate.
_CHAT_WORDS = (
    "the to i a and it is that of in for on we this you be have not can with but so just do are was "
    "if at deploy what me my will build now it's there get think should out up see an all one by check "
    "from PR prod or about like test tests know need also still looks thanks job pipeline staging branch "
    "service error logs again why any release merged running main yeah ok some time fix broken failing "
    "changes config how when cluster issue team today cache run could would maybe review please who "
    "green image docker database api endpoint latency alert dashboard metrics rollback migration "
    "terraform helm chart node pod queue worker cron retry timeout slow fast fixed lgtm ship tomorrow "
    "yesterday morning standup meeting sync later soon eta blocked waiting customer users traffic spike "
    "load cpu memory disk bucket key role permission access auth login sso request status code aws "
    "region account policy user lambda s3 iam grafana redis incident on-call page p99 flaky 500 502 "
    "session security token expired denied 403 secret credentials"
)
WORDS = _CHAT_WORDS.split()
_WEIGHTS = list(itertools.accumulate(1 / rank for rank in range(1, len(WORDS) + 1)))


def chat_lines(count: int, rnd: random.Random) -> list[str]:
    """Chat messages of realistic length: 3 to 40 words, most around a dozen."""
    lines = []
    for _ in range(count):
        length = max(3, min(40, int(rnd.lognormvariate(2.4, 0.55))))
        words = rnd.choices(WORDS, cum_weights=_WEIGHTS, k=length)
        words[0] = words[0].capitalize()
        lines.append(" ".join(words) + rnd.choice(("", ".", "?", "!", " :)")))
    return lines


def denial_texts() -> list[str]:
    """Every fixture text that holds exactly one denial."""
    texts = []
    for path in sorted(FIXTURES.glob("*.json")):
        for row in json.loads(path.read_text(encoding="utf-8")):
            if len(row["expected"]["denials"]) == 1:
                texts.append(row["text"])
    return texts


def adversarial(size: int, rnd: random.Random) -> str:
    """Long runs of the fragments the patterns are built from, where a backtracking regex would blow up."""
    runs = ("arn:aws:", "is not authorized ", "is not authorized to perform: ", '"', "'", ":", "User: ", " ", "\n")
    out: list[str] = []
    total = 0
    while total < size:
        piece = rnd.choice(runs) * rnd.randint(1, 400)
        out.append(piece)
        total += len(piece)
    return "".join(out)[:size]


def best_of(repeats: int, work: Callable[[], object]) -> float:
    """The fastest of several runs, in CPU seconds of this process: what the parser costs one core,
    least disturbed by whatever else the machine runs."""
    timings = []
    for _ in range(repeats):
        start = time.process_time()
        work()
        timings.append(time.process_time() - start)
    return min(timings)


def every_pattern(lines: list[str]) -> None:
    patterns = [shape.pattern for shape in SHAPES]
    patterns += [look_alike.pattern for look_alike in (*LOOK_ALIKES, HTTP_403)]
    patterns += [pattern for pattern, _, _ in LAYER_PHRASES]
    for line in lines:
        for pattern in patterns:
            pattern.search(line)


def scan_all(texts: list[str]) -> int:
    return sum(len(parse.scan(text).denials) for text in texts)


def per_value_memos() -> list[Any]:
    """The parser's memos of small values (lru caches with room for more than one entry); the catalogue's own
    tables, loaded once per process, are not among them."""
    return [
        value
        for module in (parse, operations)
        for value in vars(module).values()
        if hasattr(value, "cache_clear") and (value.cache_info().maxsize or 2) > 1
    ]


def scan_cold(texts: list[str], memos: list[Any]) -> float:
    """CPU seconds to scan each text with the memos emptied just before it (the emptying is not timed)."""
    total = 0.0
    for text in texts:
        for memo in memos:
            memo.cache_clear()
        start = time.process_time()
        parse.scan(text)
        total += time.process_time() - start
    return total


def reference_loop() -> None:
    """A fixed pure-Python workload, to tell a slow or busy machine from a slow parser."""
    for _ in range(1_000_000):
        pass


def per_denial(denials: list[str], repeats: int) -> tuple[float, int, int]:
    """CPU seconds to parse every denial text a few times over (the best of ``repeats`` runs), denials found,
    and messages read."""
    batch = denials * max(1, 3000 // len(denials))
    found = scan_all(batch)
    return best_of(repeats, lambda: scan_all(batch)), found, len(batch)


def plain_python_per_denial(quick: bool) -> float:
    """Microseconds per denial of the plain Python parser, in a child process that does not load the compiled one."""
    command = [sys.executable, __file__, "--per-denial", *(["--quick"] if quick else [])]
    environment = {**os.environ, "IAMWHY_PURE_PYTHON": "1"}
    out = subprocess.run(command, env=environment, capture_output=True, text=True, check=True).stdout
    return float(out)


def main() -> None:
    quick = "--quick" in sys.argv
    repeats = 3 if quick else 5
    denials = denial_texts()
    parse.scan(denials[0])  # load the action catalogue once, outside every timing
    if "--per-denial" in sys.argv:
        seconds, found, _ = per_denial(denials, repeats)
        print(f"{seconds / found * 1e6:.1f}")
        return
    rnd = random.Random(20240501)
    chat = chat_lines(20_000 if quick else 100_000, rnd)
    print(f"parser: {'compiled (mypyc)' if diagnostics.COMPILED else 'plain Python'}, {Path(parse.__file__).name}")
    reference = best_of(repeats, reference_loop)
    print(f"machine reference: an empty Python loop of 1,000,000 iterations takes {reference * 1000:.1f} ms")

    missed = sum(1 for line in chat if parse.scan(line).denials)
    hinted = sum(1 for line in chat if parse._mentions(line.lower(), parse._ANY_HINTS))
    scan_time = best_of(repeats, lambda: scan_all(chat))
    baseline_time = best_of(1 if quick else 2, lambda: every_pattern(chat))
    scan_rate, baseline_rate = len(chat) / scan_time, len(chat) / baseline_time
    print(f"chat lines: {len(chat):,}, mean {statistics.mean(map(len, chat)):.0f} characters, {missed} with a denial")
    print(f"chat lines past the pre-filter: {hinted / len(chat):7.1%}   (a hint word: they are read further)")
    print(f"non-matching messages/s:     {scan_rate:12,.0f}   (target >= 200,000)")
    print(f"baseline, every pattern:     {baseline_rate:12,.0f}   messages/s")
    print(f"pre-filter speed-up:         {scan_rate / baseline_rate:12.1f} x")

    stream = list(chat)
    for index in range(0, len(stream), 100):
        stream[index] = denials[(index // 100) % len(denials)]
    stream_time = best_of(repeats, lambda: scan_all(stream))
    print(f"stream (99% chat, 1% denials): {len(stream) / stream_time:10,.0f}   messages/s")

    denial_time, found, messages = per_denial(denials, repeats)
    print(f"denials parsed:              {found:12,}   from {messages:,} messages")
    print(f"microseconds per denial:     {denial_time / found * 1e6:12.1f}   (target <= 100)")
    memos = per_value_memos()
    cold = min(scan_cold(denials, memos) for _ in range(repeats))
    print(f"  with the memos emptied:    {cold / len(denials) * 1e6:12.1f}   (each message as if never seen)")
    # A paste with line breaks inside a paragraph is also read with its lines re-joined (see parse.scan).
    for label, part in (
        ("one-line messages", [text for text in denials if "\n" not in text]),
        ("multi-line pastes", [text for text in denials if "\n" in text]),
    ):
        part_batch = part * max(1, 1500 // len(part))
        part_time = best_of(repeats, functools.partial(scan_all, part_batch))
        print(f"  {label} ({len(part)}):{part_time / len(part_batch) * 1e6:{27 - len(label) - len(str(len(part)))}.1f}")
    if diagnostics.COMPILED:
        plain = plain_python_per_denial(quick)
        print(
            f"  plain Python, same texts:  {plain:12.1f}   (compiled / plain: {denial_time / found * 1e6 / plain:.2f})"
        )

    small, large = adversarial(100_000, rnd), adversarial(1_000_000, rnd)
    small_time = best_of(repeats, lambda: parse.scan(small))
    large_time = best_of(repeats, lambda: parse.scan(large))
    print(f"adversarial 100 KB paste:    {small_time * 1000:12.1f} ms")
    print(f"adversarial 1 MB paste:      {large_time * 1000:12.1f} ms   (target <= 50)")
    print(f"ratio 1 MB / 100 KB:         {large_time / small_time:12.1f}   (linear: about 10)")


if __name__ == "__main__":
    main()
