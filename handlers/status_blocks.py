"""Pure Block Kit rendering of the doctor's checklist (`/iamwhy status`) and of the Home tab."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from diagnostics.doctor import MARKS, DoctorReport, Line, Status
from diagnostics.model import Decision, Layer
from diagnostics.state import AuditedDiagnosis
from diagnostics.wording import DECISION_TITLES, LAYER_TITLES
from handlers import ids
from handlers.blocks import (
    FALLBACK_TEXT,
    HEADER_TEXT,
    MESSAGE_BLOCKS,
    MODAL_BLOCKS,
    SECTION_TEXT,
    HelpFacts,
    Message,
    clip,
    code,
    mrkdwn,
    plain,
)

# The status message: at most this many sections of checklist, and room kept for the dividers and the outlook.
_CHECKLIST_SECTIONS = 12
_RESERVED_BLOCKS = 3
# A fix line that is something to copy (a policy statement, a command, a variable) rather than prose.
_COPYABLE = re.compile(r"^(\{|aws |iamwhy |[A-Z][A-Z0-9_]+=)")
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,20}")
_CONVERSATION = re.compile(r"[CGD][A-Z0-9]{2,20}")
_TS = re.compile(r"\d{1,12}\.\d{1,9}")
_WORKSPACE_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:\d+)?/?")
STATUS_COMMAND = "/iamwhy status"
# How many diagnoses the Home tab lists.
RECENT_DIAGNOSES = 20


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, SECTION_TEXT) or " "))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, SECTION_TEXT))])


def _channel(channel: str | None) -> str | None:
    """A channel mention, only for a well-formed public or private channel id (never text from elsewhere)."""
    return f"<#{channel}>" if channel and _CHANNEL_ID.fullmatch(channel) else None


def _when(at: float) -> str:
    """A timestamp every reader sees in their own time zone (the fallback is UTC)."""
    fallback = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))
    return f"<!date^{int(at)}^{{date_short_pretty}} at {{time}}|{fallback}>"


def _summary_line(line: Line) -> str:
    subject = f" ({mrkdwn(line.subject)})" if line.subject and line.subject not in line.group else ""
    return f"{MARKS[line.status]} *{mrkdwn(line.title)}*{subject}: {mrkdwn(line.result)}"


def fix_text(fix: str) -> str:
    """A fix for mrkdwn: prose escaped, what is meant to be copied (statements, commands) in code spans."""
    out = []
    for raw in fix.splitlines():
        stripped = raw.strip()
        if not stripped:
            continue
        out.append(code(stripped, 1500) if _COPYABLE.match(stripped) else mrkdwn(stripped))
    return "\n".join(out)


def _group_sections(report: DoctorReport, limit: int) -> list[SectionBlock]:
    """Every line under its group's title, packed into at most `limit` sections of Slack's size."""
    entries: list[str] = []
    group: str | None = None
    for line in report.lines:
        if line.group != group:
            group = line.group
            entries.append(f"*{mrkdwn(group)}*")
        entries.append(_summary_line(line))
    texts: list[str] = []
    for entry in entries:
        entry = clip(entry, SECTION_TEXT)
        if texts and len(texts[-1]) + len(entry) + 1 <= SECTION_TEXT:
            texts[-1] += "\n" + entry
        else:
            texts.append(entry)
    if len(texts) > limit:
        texts = [*texts[: limit - 1], "… more lines: `iamwhy doctor` prints the whole checklist."]
    return [_section(text) for text in texts]


def _fix_section(line: Line) -> SectionBlock:
    head = f"{MARKS[line.status]} *{mrkdwn(line.title)}*"
    if line.subject and line.subject not in line.group:
        head += f" ({mrkdwn(line.subject)})"
    head += f" · {mrkdwn(line.group)}\n{mrkdwn(line.result)}\n_Tried:_ {mrkdwn(line.tried)}"
    return _section(f"{head}\n*Fix*\n{fix_text(line.fix or '')}")


def headline(report: DoctorReport) -> str:
    mark = "✓" if report.ok and not report.count(Status.WARNING) else ("!" if report.ok else "✗")
    return f"{mark} iamwhy status: {report.headline()}"


def render_status(report: DoctorReport) -> Message:
    """The whole checklist for `/iamwhy status`: every line, then each ✗ and ! with its fix, then the outlook."""
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=clip(plain(headline(report)), HEADER_TEXT)))]
    blocks.append(
        _context(
            f"Checked {_when(report.checked_at)} in {report.duration_ms / 1000:.1f} s · `iamwhy doctor` prints the "
            "same checklist on the command line"
        )
    )
    blocks.extend(_group_sections(report, _CHECKLIST_SECTIONS))
    problems = [line for s in (Status.FAILED, Status.WARNING) for line in report.lines if line.status is s and line.fix]
    room = MESSAGE_BLOCKS - len(blocks) - _RESERVED_BLOCKS
    if problems:
        blocks.append(DividerBlock())
        shown = problems[:room] if len(problems) <= room else problems[: room - 1]
        blocks.extend(_fix_section(line) for line in shown)
        if len(shown) < len(problems):
            blocks.append(_context(f"{len(problems) - len(shown)} more to fix: `iamwhy doctor` prints every one."))
    if report.outlook:
        blocks.append(DividerBlock())
        blocks.append(_section(_outlook_text(report)))
    return Message(clip(plain(headline(report)), FALLBACK_TEXT), tuple(blocks[:MESSAGE_BLOCKS]))


def _outlook_text(report: DoctorReport) -> str:
    return "*What diagnoses will say*\n" + "\n".join(f"• {mrkdwn(o.summary)}" for o in report.outlook)


def render_checking() -> Message:
    text = "⏳ Checking iamwhy's setup (Slack, AWS, every account)…"
    return Message("Checking iamwhy's setup…", (_section(text),))


# ------------------------------------------------------------------------------------------------------- Home tab


@dataclass(frozen=True)
class RecentDiagnosis:
    """One diagnosis for the Home tab, with where it was answered."""

    at: float
    channel: str | None
    # The thread the answer went to; None for an answer only its asker saw.
    thread_ts: str | None
    diagnosis: AuditedDiagnosis


@dataclass(frozen=True)
class HomeContent:
    help: HelpFacts
    diagnoses: tuple[RecentDiagnosis, ...]
    feedback: tuple[int, int]
    # The workspace's address (auth.test), for links to threads; None when unknown.
    workspace_url: str | None
    status: DoctorReport | None = None
    # How old the status is, in seconds; None with no status.
    status_age: float | None = None
    # A fresh check is running and the tab will be published again when it ends.
    checking: bool = False
    # True when the Slack app offers status checks at all.
    status_offered: bool = True
    # Why diagnoses from the viewer's channels could not be listed (only the viewer's own are shown then).
    channels_note: str | None = None


def thread_link(workspace_url: str, channel: str, ts: str) -> str | None:
    """The permalink of a message, https://<workspace>.slack.com/archives/<channel>/p<ts without the dot>, when
    every part is well formed (nothing else may end up inside Slack's <url|text> syntax)."""
    if not (_WORKSPACE_URL.fullmatch(workspace_url) and _CONVERSATION.fullmatch(channel) and _TS.fullmatch(ts)):
        return None
    return f"{workspace_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"


def _intro(facts: HelpFacts) -> str:
    if facts.watch_channels is None:
        watched = "any channel I am in"
    elif facts.watch_channels:
        watched = ", ".join(m for m in (_channel(c) for c in facts.watch_channels) if m)
    else:
        watched = "no channel (the other ways work)"
    lines = [
        "*iamwhy* explains AWS `AccessDenied` errors: which policy layer denied the request, which statement and "
        "condition, how sure it is, the fix and who owns it. It reads your accounts read-only.",
        "",
        "*How to ask*",
        f"• Paste an error in {watched}: I react 👀 and answer in its thread",
        "• `/iamwhy <error>`: an answer only you see, with *Share in channel*; `/iamwhy` alone opens a box for long "
        "errors",
        "• *Explain AccessDenied* in any message's ⋮ menu",
        "• `@iamwhy <error>` in a channel, or a direct message in the Messages tab",
        f"• `{STATUS_COMMAND}`: is iamwhy set up right? Every check, with the fix for what is not",
    ]
    alerts = [m for m in (_channel(c) for c in facts.alert_channels) if m]
    if alerts:
        channels = ", ".join(alerts)
        lines.append(f"• Alerts posted by integrations in {channels} are answered automatically")
    return "\n".join(lines)


def _status_text(content: HomeContent) -> str:
    if not content.status_offered:
        return "*Status*\nThis installation does not run status checks."
    report = content.status
    if report is None:
        return "*Status*\n⏳ Checking the setup now; this tab updates when it is done."
    age = f"checked {_when(report.checked_at)}"
    if content.checking:
        age += ", checking again now"
    lines = [f"*Status* · {age}", mrkdwn(headline(report))]
    problems = [line for line in report.lines if line.status in (Status.FAILED, Status.WARNING)]
    lines.extend(_summary_line(line) for line in problems[:8])
    if len(problems) > 8:
        lines.append(f"… and {len(problems) - 8} more")
    if problems:
        lines.append(f"`{STATUS_COMMAND}` shows each with its fix.")
    lines.extend(f"• {mrkdwn(o.summary)}" for o in report.outlook[:10])
    return "\n".join(lines)


def _title(titles: Mapping[Any, str], kind: type[StrEnum], word: str) -> str:
    """The renderers' word for a stored decision or layer (the audit trail keeps them as plain strings)."""
    return titles[kind(word)] if word in kind._value2member_map_ else mrkdwn(word)


def _diagnosis_text(item: RecentDiagnosis, workspace_url: str | None) -> str:
    d = item.diagnosis
    mark = "✅" if d.decision == "allowed" else ("❔" if d.decision == "unknown" else "🔒")
    who = code(d.principal_arn, 300) if d.principal_arn else "an unnamed caller"
    first = f"{mark} {code(d.action or 'access', 200)} for {who}"
    parts = [_title(DECISION_TITLES, Decision, d.decision), mrkdwn(d.confidence)]
    if d.blocked_by:
        parts.append("blocked by " + ", ".join(_title(LAYER_TITLES, Layer, layer) for layer in d.blocked_by))
    mention = _channel(item.channel)
    if item.thread_ts is None:
        place = "answered to you privately"
    elif item.channel and workspace_url and (link := thread_link(workspace_url, item.channel, item.thread_ts)):
        place = f"<{link}|in the thread>" + (f" in {mention}" if mention else "")
    else:
        place = f"in {mention}" if mention else "in a thread"
    return f"{first}\n{' · '.join(parts)} · {place} · {_when(item.at)}"


def render_home(content: HomeContent) -> View:
    """The Home tab: what iamwhy is and how to ask, the status, recent diagnoses with links, the 👍/👎 totals."""
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text="iamwhy")),
        _section(_intro(content.help)),
        DividerBlock(),
        _section(_status_text(content)),
        DividerBlock(),
    ]
    recent: Sequence[RecentDiagnosis] = content.diagnoses[:RECENT_DIAGNOSES]
    title = "*Recent diagnoses* · asked by you or answered in your channels"
    if not recent:
        blocks.append(_section(f"{title}\nNone yet. Paste an AccessDenied error in a channel I am in to get one."))
    else:
        blocks.append(_section(title))
        blocks.extend(_section(_diagnosis_text(item, content.workspace_url)) for item in recent)
    if content.channels_note:
        blocks.append(_context(f"⚠️ {mrkdwn(content.channels_note)}"))
    blocks.append(DividerBlock())
    up, down = content.feedback
    blocks.append(_context(f"Feedback on answers so far: 👍 {up} · 👎 {down}"))
    return View(type="home", callback_id=ids.View.HOME, blocks=blocks[:MODAL_BLOCKS])
