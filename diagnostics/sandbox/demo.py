"""`iamwhy demo`'s report: the sandbox, then each scenario's pasted error followed by its full live diagnosis."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from diagnostics.investigate import Investigator
from diagnostics.report import WIDTH, Style, render_text
from diagnostics.sandbox.scenarios import Scenario
from diagnostics.sandbox.world import (
    BOT_USER,
    MANAGEMENT_ACCOUNT,
    ORG_ROLE,
    READ_ROLE,
    WORKLOAD_ACCOUNT,
    WORKLOADS_OU,
)

if TYPE_CHECKING:
    from diagnostics.sandbox.lifecycle import Sandbox

_RULE: Final = "━"
_LABEL: Final = 14


def _field(label: str, text: str) -> list[str]:
    return textwrap.wrap(
        text, WIDTH, initial_indent=label.ljust(_LABEL), subsequent_indent=" " * _LABEL, break_on_hyphens=False
    )


def intro(endpoint: str, startup_ms: float | None, scenarios: Sequence[Scenario], *, color: bool) -> str:
    """What the sandbox is, before the first scenario."""
    style = Style(color)
    ready = f", ready in {startup_ms:.0f} ms" if startup_ms is not None else ""
    lines = [
        style.bold(f"iamwhy demo: an AWS sandbox in this process (moto on {endpoint}{ready})"),
        *_field(
            "Organization",
            f"management account {MANAGEMENT_ACCOUNT} › OU {WORKLOADS_OU} › member account {WORKLOAD_ACCOUNT}, "
            "where SCPs apply",
        ),
        *_field(
            "The bot",
            f"user {BOT_USER} in {MANAGEMENT_ACCOUNT}; reads each account as {READ_ROLE} and the organization as "
            f"{ORG_ROLE} (both require its ExternalId)",
        ),
        *_field(
            "Scenarios",
            f"{len(scenarios)} classic AccessDenied causes, each pasted as a person would and diagnosed live",
        ),
        style.dim("Nothing here reaches AWS: the endpoint and credentials exist only inside this process."),
    ]
    return "\n".join(lines) + "\n"


def scenario_header(scenario: Scenario, number: int, total: int, *, color: bool) -> str:
    """The scenario's title, the root cause it reproduces, and the error exactly as pasted."""
    style = Style(color)
    title = f"{_RULE * 3} {number}/{total} · {scenario.title} ({scenario.name}) "
    seeded = ", ".join(f"{b.layer} ({b.kind})" for b in scenario.expected.blocked_by)
    decision = scenario.expected.decision.replace("_", " ")
    lines = [
        style.bold(title + _RULE * max(WIDTH - len(title), 3)),
        *_field("Root cause", scenario.root_cause),
        *_field("Seeded cause", f"{seeded} → {decision}"),
        *_field("Pasted from", f"{scenario.source}:"),
    ]
    for line in scenario.text.splitlines():
        wrapped = textwrap.wrap(line, WIDTH - 4, break_on_hyphens=False) or [""]
        lines.extend(f"{style.dim('  │')} {part}" for part in wrapped)
    return "\n".join(lines) + "\n"


async def run_demo(box: Sandbox, investigator: Investigator, *, write: Callable[[str], None], color: bool) -> None:
    """Investigate every scenario's pasted error in turn, writing each out as soon as it is diagnosed."""
    started = time.perf_counter()
    scenarios = box.scenarios
    write(intro(box.endpoint, box.startup_ms, scenarios, color=color))
    for number, scenario in enumerate(scenarios, start=1):
        investigation = await investigator.investigate(scenario.text, correlation_id=f"demo-{scenario.name}")
        write("\n" + scenario_header(scenario, number, len(scenarios), color=color) + "\n")
        write(render_text(investigation.scan, investigation.diagnoses, color=color))
    elapsed = time.perf_counter() - started
    write("\n" + Style(color).dim(f"{len(scenarios)} errors diagnosed live in {elapsed:.1f} s.") + "\n")
