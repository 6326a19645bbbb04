"""`/iamwhy status`: the doctor's checklist, answered privately to whoever asked."""

from __future__ import annotations

from slack_bolt.context.respond.async_respond import AsyncRespond

from handlers.blocks import Message, render_notice
from handlers.deps import Deps
from handlers.status_blocks import render_status

STATUS_WORDS = frozenset({"status", "doctor"})
# A checklist this recent is shown as it is: asking again and again does not repeat every AWS read.
FRESH_ENOUGH = 10.0
NOT_OFFERED = "ℹ️ This installation of iamwhy does not run status checks. On the command line: `iamwhy doctor`."


async def answer_status(deps: Deps, respond: AsyncRespond) -> None:
    """Run the checks (or join the run in progress, or reuse one a few seconds old) and send the whole checklist."""
    if deps.status is None:
        message: Message = render_notice(NOT_OFFERED)
    else:
        message = render_status(await deps.status.get(max_age=FRESH_ENOUGH))
    await respond(text=message.text, blocks=message.blocks, response_type="ephemeral", replace_original=False)
