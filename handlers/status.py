"""`/iamwhy status`: the doctor's checklist, answered privately to whoever asked."""

from __future__ import annotations

from handlers.blocks import render_notice
from handlers.deps import Deps
from handlers.replies import Responder
from handlers.status_blocks import render_status

STATUS_WORDS = frozenset({"status", "doctor"})
# A checklist this recent is shown as it is: asking again and again does not repeat every AWS read.
FRESH_ENOUGH = 10.0
NOT_OFFERED = "ℹ️ This installation of iamwhy does not run status checks. On the command line: `iamwhy doctor`."


async def answer_status(deps: Deps, send: Responder) -> None:
    """Run the checks (or join the run in progress, or reuse one a few seconds old) and send the whole checklist."""
    if deps.status is None:
        await send(render_notice(NOT_OFFERED))
        return
    await send(render_status(await deps.status.get(max_age=FRESH_ENOUGH)))
