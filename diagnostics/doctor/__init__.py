"""`iamwhy doctor`: checks the whole configuration end to end and says, line by line, what works and the exact fix.

The AWS side reads through the read-only adapter and judges what it read with pure checks; the Slack side is
probed by handlers.doctor; the composition root puts the sections together.
"""

from diagnostics.doctor.config import config_lines
from diagnostics.doctor.report import (
    MARKS,
    AccountOutlook,
    DoctorReport,
    LayerGap,
    Line,
    Status,
    render_text,
    report_json,
)
from diagnostics.doctor.run import CachedReport, Section, StatusSource, assemble, check_aws, guarded

__all__ = [
    "MARKS",
    "AccountOutlook",
    "CachedReport",
    "DoctorReport",
    "LayerGap",
    "Line",
    "Section",
    "Status",
    "StatusSource",
    "assemble",
    "check_aws",
    "config_lines",
    "guarded",
    "render_text",
    "report_json",
]
