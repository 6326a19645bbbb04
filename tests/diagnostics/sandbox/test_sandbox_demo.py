"""The demo's own lines: the sandbox's introduction and each scenario's header, plain or in colour."""

from __future__ import annotations

from diagnostics.report import WIDTH
from diagnostics.sandbox import SCENARIOS
from diagnostics.sandbox.demo import intro, scenario_header

ESCAPE = "\x1b["


def test_plain_output_has_no_escape_codes_and_fits_the_width() -> None:
    texts = [intro("http://127.0.0.1:5000", 120.0, SCENARIOS, color=False)]
    texts += [scenario_header(s, n, len(SCENARIOS), color=False) for n, s in enumerate(SCENARIOS, start=1)]

    for text in texts:
        assert ESCAPE not in text
        assert max(len(line) for line in text.splitlines()) <= WIDTH


def test_the_header_keeps_every_line_of_the_paste_in_order() -> None:
    scenario = next(s for s in SCENARIOS if s.name == "scp-region")
    header = scenario_header(scenario, 3, 7, color=False)

    pasted = [line[4:] for line in header.splitlines() if line.startswith("  │")]
    assert " ".join(pasted).split() == scenario.text.split()
    assert header.splitlines()[0].startswith("━━━ 3/7 · An SCP blocks it at the org level (scp-region) ━")
    assert "Seeded cause  scp (explicit) → explicit deny" in header


def test_colour_marks_the_titles_not_the_paste() -> None:
    scenario = SCENARIOS[0]
    header = scenario_header(scenario, 1, 7, color=True)

    assert header.startswith(f"{ESCAPE}1m━━━ 1/7 · ")
    gutter = f"{ESCAPE}2m  │{ESCAPE}0m "
    pasted = [line[len(gutter) :] for line in header.splitlines() if line.startswith(gutter)]
    assert pasted
    assert " ".join(pasted).split() == scenario.text.split()
    assert intro("http://127.0.0.1:5000", None, SCENARIOS, color=True).startswith(f"{ESCAPE}1miamwhy demo: ")
