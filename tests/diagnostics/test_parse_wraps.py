"""Every one-line denial of the fixtures, cut by a terminal at every width, reads as it does on one line.

The property tests draw a few widths at random; this tries them all (about 18,600 texts, a few seconds).
"""

from __future__ import annotations

import pytest

from diagnostics.parse import scan
from tests.diagnostics.parse_fixtures import denial_record
from tests.diagnostics.test_parse_properties import SINGLE_LINE, _hard_wrap

COMMAND = "$ ./deploy.sh --stage prod"


# A terminal wrap alone, and below the command that failed (from 40 columns: a terminal wider than the command).
PLACINGS = [("", 20), (f"{COMMAND}\n", 40)]


@pytest.mark.parametrize(("before", "narrowest"), PLACINGS, ids=["alone", "below-command"])
@pytest.mark.parametrize(("name", "text"), SINGLE_LINE, ids=[name for name, _ in SINGLE_LINE])
def test_every_terminal_width_reads_as_one_line(name: str, text: str, before: str, narrowest: int) -> None:
    expected = [denial_record(scan(text).denials[0])]
    misread = [
        width
        for width in range(narrowest, 161)
        if [denial_record(d) for d in scan(f"{before}{_hard_wrap(text, width)}").denials] != expected
    ]
    assert misread == []
