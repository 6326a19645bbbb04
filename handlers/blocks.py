"""Pure Block Kit rendering of diagnoses, modals and notices: every dynamic string escaped and clipped to fit.

Nothing here calls Slack. Strings that came from the input or from AWS are redacted again (no credential can
be echoed even if one slipped into a field), escaped for mrkdwn (`&`, `<`, `>`, so `<!channel>` or
`<https://evil|click>` show as text and never ping or link), and clipped to the limit of the place they go.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from diagnostics.commands import CALLER_IDENTITY_COMMAND
from diagnostics.investigate import Investigation
from diagnostics.model import (
    Blocker,
    ConditionCheck,
    Decision,
    DenialKind,
    DeniedRequest,
    Diagnosis,
    Fix,
    LayerStatus,
    OtherError,
    ScanResult,
)
from diagnostics.remediation import describe_principal
from diagnostics.secrets import redact
from diagnostics.wording import (
    CONFIDENCE_NOTES,
    DECISION_TITLES,
    KIND_TITLES,
    LAYER_TITLES,
    layer_title,
    policy_json,
)
from handlers import ids

# Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks).
SECTION_TEXT = 3000
FIELD_TEXT = 2000
SECTION_FIELDS = 10
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
CONTEXT_ELEMENTS = 10
MESSAGE_BLOCKS = 50
MODAL_BLOCKS = 100
MODAL_TITLE = 24
PRIVATE_METADATA = 3000
INPUT_MAX_LENGTH = 3000
# Notification text: Slack accepts far more, but nobody reads more than this in a notification.
FALLBACK_TEXT = 500

# One reply per denial; a paste with more gets the first ones and a pointer to the command line for the rest.
MAX_ANSWERS = 5
# Blocking statements quoted in a message; the evidence modal has them all.
MAX_BLOCKERS = 4
# The part of one quoted statement shown in a message.
STATEMENT_PREVIEW = 1200
# The part of a fix's policy shown in a message; "Show full fix" has it whole.
FIX_PREVIEW = 1800

INVESTIGATING = "Investigating…"
PRIVATE_DETAILS = (
    "The authorization id and the policy statements read from the account are shown only to whoever opens "
    "*Show evidence*."
)
NO_DENIAL = "No AWS access denial found in that text."

_STATUS_MARKS: Mapping[LayerStatus, str] = {
    LayerStatus.ALLOWS: "✅",
    LayerStatus.EXPLICIT_DENY: "⛔",
    LayerStatus.IMPLICIT_DENY: "🚫",
    LayerStatus.NOT_APPLICABLE: "⚪",
    LayerStatus.UNREADABLE: "⚠️",
    LayerStatus.UNKNOWN: "❔",
}

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# Plain-text objects are not parsed for markup, but angle brackets there are replaced anyway so that no
# string of ours ever carries Slack's <...> control syntax.
_PLAIN = str.maketrans({"<": "‹", ">": "›"})
_ENTITY_TAIL = re.compile(r"&[a-z]{0,4}$")
# A zero-width space after the scheme keeps Slack from turning a pasted URL into a link.
_URL_SCHEME = re.compile(r"(?i)\b(https?|ftp|mailto|tel|slack):(?=//|[^\s])")
_CLIPPED = "…"


@dataclass(frozen=True)
class Message:
    """A message to post: blocks and the notification text Slack needs beside them."""

    text: str
    blocks: tuple[Block, ...]

    def blocks_json(self) -> list[dict[str, Any]]:
        return [block.to_dict() for block in self.blocks]


@dataclass(frozen=True)
class HelpFacts:
    """What `/iamwhy help` tells people about this installation."""

    accounts: tuple[str, ...]
    scps_readable: bool
    live: bool
    alert_channels: tuple[str, ...]
    watch_channels: tuple[str, ...] | None


# --------------------------------------------------------------------------------------------------- text helpers


def mrkdwn(text: str) -> str:
    """A dynamic string made safe for mrkdwn prose: credentials redacted, control characters escaped, URLs inert."""
    return _inert(redact(text).translate(_ESCAPES))


def _inert(text: str) -> str:
    return _URL_SCHEME.sub("\\1:\u200b", text)


def plain(text: str) -> str:
    return redact(text).translate(_PLAIN)


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, marked when cut, never inside an escape entity."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - len(_CLIPPED))]
    tail = _ENTITY_TAIL.search(cut)
    if tail is not None:
        cut = cut[: tail.start()]
    return cut + _CLIPPED


def code(text: str | None, limit: int = 500) -> str:
    """An inline code span of a dynamic value ("—" when there is none)."""
    if not text:
        return "—"
    inner = clip(_inert(redact(text).replace("`", "ˋ").replace("\n", " ").translate(_ESCAPES)), limit)
    return f"`{inner}`"


def code_block(text: str, limit: int, *, inert: bool = False) -> tuple[str, bool]:
    """A fenced code block of at most `limit` characters, cut at a line boundary; True when something was cut.

    `inert` also disarms URLs, for text people read rather than copy (a policy or a command must stay exact).
    """
    body = redact(text).replace("```", "ˋˋˋ").translate(_ESCAPES)
    if inert:
        body = _inert(body)
    fence = "```"
    room = limit - 2 * len(fence) - 2
    if len(body) <= room:
        return f"{fence}\n{body}\n{fence}", False
    marker = "\n… (clipped)"
    head = body[: max(0, room - len(marker))]
    newline = head.rfind("\n")
    if newline > 0:
        head = head[:newline]
    tail = _ENTITY_TAIL.search(head)
    if tail is not None:
        head = head[: tail.start()]
    return f"{fence}\n{head}{marker}\n{fence}", True


def code_chunks(text: str, size: int) -> list[str]:
    """`text` split at line boundaries into fenced code blocks of at most `size` characters each."""
    body = redact(text).replace("```", "ˋˋˋ").translate(_ESCAPES)
    room = size - 8
    chunks: list[str] = []
    current: list[str] = []
    length = 0
    for line in body.split("\n"):
        while len(line) > room:
            if current:
                chunks.append("\n".join(current))
                current, length = [], 0
            piece = line[:room]
            tail = _ENTITY_TAIL.search(piece)
            if tail is not None and tail.start() > 0:
                piece = piece[: tail.start()]
            chunks.append(piece)
            line = line[len(piece) :]
        if length + len(line) + 1 > room and current:
            chunks.append("\n".join(current))
            current, length = [], 0
        current.append(line)
        length += len(line) + 1
    if current:
        chunks.append("\n".join(current))
    return [f"```\n{chunk}\n```" for chunk in chunks]


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, SECTION_TEXT) or " "))


def _context(*texts: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(t, SECTION_TEXT)) for t in texts[:CONTEXT_ELEMENTS]])


def _button(label: str, action: ids.Action, value: str, *, style: str | None = None) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=clip(label, BUTTON_TEXT), emoji=True),
        action_id=action,
        value=clip(value, BUTTON_VALUE),
        style=style,
    )


# ------------------------------------------------------------------------------------------------------ answers


def answer_value(ref: str, index: int) -> str:
    """The value carried by an answer's buttons: the stored investigation and which of its diagnoses."""
    return f"{ref}:{index}"


def who(request: DeniedRequest) -> str:
    return describe_principal(request.principal) if request.principal is not None else "an unnamed caller"


def headline(diagnosis: Diagnosis) -> str:
    """The one-line summary: what was denied, for whom."""
    request = diagnosis.request
    action = request.action or "access"
    if diagnosis.decision is Decision.ALLOWED:
        return f"✅ {action} is allowed now for {who(request)}"
    mark = "❔" if diagnosis.decision is Decision.UNKNOWN else "🔒"
    return f"{mark} {action} denied for {who(request)}"


def fallback_text(diagnosis: Diagnosis) -> str:
    """Notification text for an answer: the headline, the verdict and the blocking layers."""
    parts = [headline(diagnosis), f"{DECISION_TITLES[diagnosis.decision].lower()} ({diagnosis.confidence})"]
    layers = [LAYER_TITLES[b.layer] for b in diagnosis.blocked_by]
    if layers:
        parts.append("blocked by " + ", ".join(dict.fromkeys(layers)))
    fix = diagnosis.fix
    if fix is not None:
        parts.append(f"fix owner: {fix.owner}")
    return clip(mrkdwn(" · ".join(parts)), FALLBACK_TEXT)


def render_diagnosis(diagnosis: Diagnosis, *, ref: str, shareable: bool = False, details: bool = True) -> list[Block]:
    """The answer for one denial: who/what, the verdict, every layer, the blocking statements, the fix, buttons.

    `ref` is the value the buttons carry (see answer_value). `shareable` adds the Share button, for answers
    only the requester can see. Without `details` (a message everyone in a channel reads), the authorization id
    is masked and no policy statement read from the account is quoted: *Show evidence* has them, privately.
    """
    blocks = _diagnosis_blocks(diagnosis, ref=ref, shareable=shareable, details=details)
    if details:
        return blocks
    return _masked(blocks, diagnosis.request.authorization_id)


def _diagnosis_blocks(diagnosis: Diagnosis, *, ref: str, shareable: bool, details: bool) -> list[Block]:
    request = diagnosis.request
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=clip(plain(headline(diagnosis)), HEADER_TEXT)))]
    blocks.append(_request_fields(request))
    blocks.append(_section(_verdict(diagnosis)))
    why = mrkdwn(diagnosis.explanation)
    if diagnosis.notes:
        why += "\n" + "\n".join(f"• {mrkdwn(note)}" for note in diagnosis.notes)
    blocks.append(_section(f"*Why*\n{why}"))
    checklist = _checklist(diagnosis)
    if checklist:
        blocks.append(_section(checklist))
    # A blocker known only by its layer adds nothing to the checklist line above.
    quoted = [b for b in diagnosis.blocked_by if _has_evidence(b)]
    preview = STATEMENT_PREVIEW if details else 0
    blocks.extend(_section(_blocker_text(b, statement_limit=preview)) for b in quoted[:MAX_BLOCKERS])
    if len(quoted) > MAX_BLOCKERS:
        more = len(quoted) - MAX_BLOCKERS
        blocks.append(_context(f"{more} more blocking statement(s): *Show evidence* lists them all."))
    if diagnosis.unknown_context_keys:
        keys = ", ".join(code(k, 200) for k in diagnosis.unknown_context_keys[:20])
        blocks.append(_section(f"*Could flip the answer*: request context iamwhy could not see: {keys}"))
    blocks.extend(_fix_blocks(diagnosis))
    if diagnosis.warnings:
        blocks.append(_context(*(f"⚠️ {mrkdwn(w)}" for w in diagnosis.warnings)))
    if not details and (request.authorization_id or any(b.statement is not None for b in quoted)):
        blocks.append(_context(f"🔒 {PRIVATE_DETAILS}"))
    blocks.append(_answer_actions(diagnosis, ref, shareable=shareable))
    blocks.append(_context(_footer(diagnosis)))
    return blocks[:MESSAGE_BLOCKS]


def render_answer(diagnosis: Diagnosis, *, ref: str, shareable: bool = False, details: bool = True) -> Message:
    text = fallback_text(diagnosis)
    if not details and diagnosis.request.authorization_id:
        text = mask_authorization_id(text, diagnosis.request.authorization_id)
    return Message(text, tuple(render_diagnosis(diagnosis, ref=ref, shareable=shareable, details=details)))


def mask_authorization_id(text: str, authorization_id: str) -> str:
    """`text` with every occurrence of the authorization id cut to its first characters."""
    pattern = rf"(?<![A-Za-z0-9]){re.escape(authorization_id)}(?![A-Za-z0-9])"
    return re.sub(pattern, authorization_id[:4] + "…(masked)", text)


def _masked(blocks: list[Block], authorization_id: str | None) -> list[Block]:
    if not authorization_id:
        return blocks
    masked = [Block.parse(_mask_strings(block.to_dict(), authorization_id)) for block in blocks]
    return [block for block in masked if block is not None]


def _mask_strings(value: Any, authorization_id: str) -> Any:
    if isinstance(value, str):
        return mask_authorization_id(value, authorization_id)
    if isinstance(value, Mapping):
        return {k: _mask_strings(v, authorization_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_strings(v, authorization_id) for v in value]
    return value


def render_investigation(
    investigation: Investigation,
    *,
    ref: str,
    shareable: bool = False,
    only: Collection[int] | None = None,
    limit: int = MAX_ANSWERS,
    details: bool = True,
) -> list[Message]:
    """One message per diagnosis (those at the positions in `only`, if given), at most `limit` messages in all.

    With no denial at all, one message saying so, explaining any look-alike errors found instead.
    """
    chosen = [(i, d) for i, d in enumerate(investigation.diagnoses) if only is None or i in only]
    if not chosen:
        return [render_no_denial(investigation.scan)]
    shown = chosen if len(chosen) <= limit else chosen[: max(1, limit - 1)]
    messages = [render_answer(d, ref=answer_value(ref, i), shareable=shareable, details=details) for i, d in shown]
    if len(shown) < len(chosen):
        rest = len(chosen) - len(shown)
        text = (
            f"{rest} more denial(s) in this message are not answered here, to keep the answer readable. "
            "`iamwhy explain` on the command line explains every one."
        )
        messages.append(Message(text, (_section(text),)))
    return messages


def render_no_denial(scan: ScanResult) -> Message:
    lines = [f"🤷 {NO_DENIAL}"]
    if scan.other_errors:
        lines.append("It does contain:")
        lines.extend(_other_error_line(error) for error in scan.other_errors[:10])
    else:
        lines.append(
            "Paste the whole error, for example `User: arn:aws:iam::123456789012:user/ci is not authorized to "
            "perform: s3:GetObject on resource: …`, a CloudTrail event, or an encoded authorization message."
        )
    text = "\n".join(lines)
    return Message(clip(NO_DENIAL, FALLBACK_TEXT), (_section(text),))


def _other_error_line(error: OtherError) -> str:
    return f"• {code(error.code, 100)}: {mrkdwn(error.explanation)}"


def _request_fields(request: DeniedRequest) -> SectionBlock:
    principal = request.principal
    account = request.account_id or (principal.account_id if principal is not None else None)
    fields = [
        ("Principal", request.principal_arn),
        ("Action", request.action),
        ("Resource", request.resource_arn),
        ("Account", account),
        ("Region", request.region),
    ]
    if request.api_operation:
        fields.append(("Operation", request.api_operation))
    texts = [MarkdownTextObject(text=clip(f"*{name}*\n{code(value, 1900)}", FIELD_TEXT)) for name, value in fields]
    return SectionBlock(fields=texts[:SECTION_FIELDS])


def _verdict(diagnosis: Diagnosis) -> str:
    text = f"*Verdict*  {DECISION_TITLES[diagnosis.decision]} · {CONFIDENCE_NOTES[diagnosis.confidence]}"
    reported = diagnosis.request.reported
    if reported.phrase:
        text += f"\nAWS reported: _{mrkdwn(reported.phrase)}_"
    elif reported.kind is None:
        text += "\nThe message itself gives no reason."
    if diagnosis.request.authorization_id:
        text += "\nThe message carries an authorization id (sensitive: share it only with this account's admins)."
    if diagnosis.request.encoded_message:
        text += "\nAWS encoded the details; *Show evidence* has the command that decodes them."
    return text


def _checklist(diagnosis: Diagnosis) -> str:
    unreadable = {u.layer: u.why for u in diagnosis.unreadable}
    lines: list[str] = []
    for verdict in diagnosis.layers:
        title = mrkdwn(layer_title(verdict.layer, verdict.subject))
        line = f"{_STATUS_MARKS[verdict.status]} *{title}*  {mrkdwn(verdict.summary)}"
        if verdict.policies:
            line += " · " + ", ".join(code(p, 200) for p in verdict.policies[:5])
        why = unreadable.pop(verdict.layer, None)
        if why and why not in verdict.summary:
            line += f" ({mrkdwn(why)})"
        lines.append(line)
    lines.extend(f"⚠️ *{LAYER_TITLES[layer]}*  could not be read: {mrkdwn(why)}" for layer, why in unreadable.items())
    if not lines:
        return ""
    return "*Layers*\n" + "\n".join(lines)


def condition_text(check: ConditionCheck) -> str:
    """One condition and what the request had, as mrkdwn."""
    values = ", ".join(code(v, 200) for v in check.values[:10]) or "—"
    if check.unknown:
        actual = "unknown"
    elif check.actual is None:
        actual = "absent"
    elif isinstance(check.actual, str):
        actual = code(check.actual, 300)
    else:
        actual = ", ".join(code(v, 200) for v in check.actual[:10]) or "empty"
    return f"{code(check.operator, 100)} {code(check.key, 200)} {values} — request had: {actual}"


def _has_evidence(blocker: Blocker) -> bool:
    return bool(
        blocker.policy
        or blocker.policy_arn
        or blocker.sid
        or blocker.statement_index is not None
        or blocker.conditions
        or blocker.unmet
        or blocker.detail
        or blocker.statement is not None
    )


def _blocker_text(blocker: Blocker, *, statement_limit: int = STATEMENT_PREVIEW) -> str:
    mark = "⛔" if blocker.kind is DenialKind.EXPLICIT else "🚫"
    parts = [f"{mark} *{KIND_TITLES[blocker.kind]}* · {mrkdwn(layer_title(blocker.layer, blocker.subject))}"]
    if blocker.policy:
        parts.append(f"policy {code(blocker.policy, 300)}")
    if blocker.sid:
        parts.append(f"statement {code(blocker.sid, 200)}")
    elif blocker.statement_index is not None:
        parts.append(f"statement #{blocker.statement_index + 1}")
    lines = [" · ".join(parts)]
    if blocker.policy_arn and blocker.policy_arn != blocker.policy:
        lines.append(f"{code(blocker.policy_arn, 600)}")
    if blocker.kind is DenialKind.IMPLICIT and blocker.unmet:
        lines.append(f"The closest Allow fails on its {mrkdwn(blocker.unmet)}.")
    lines.extend(f"> {condition_text(c)}" for c in blocker.conditions[:8])
    if blocker.detail:
        lines.append(mrkdwn(blocker.detail))
    text = "\n".join(lines)
    if blocker.statement is not None:
        room = min(statement_limit, SECTION_TEXT - len(text) - 1)
        if room > 40:
            block, _ = code_block(policy_json(blocker.statement), room)
            text += "\n" + block
    return text


def _fix_heading(fix: Fix, title: str) -> str:
    heading = f"*{title}* · owner: *{mrkdwn(fix.owner)}*"
    if fix.attach_to:
        heading += f" · on {code(fix.attach_to, 600)}"
    return heading


def _resolution(fix: Fix) -> str | None:
    if fix.resolves is True:
        assuming = f", assuming {mrkdwn(fix.assuming)}" if fix.assuming else ""
        return f"✅ re-evaluated: this change alone makes the request allowed{assuming}"
    if fix.resolves is False:
        still = ", ".join(LAYER_TITLES[layer] for layer in fix.still_blocked_by)
        return f"⚠️ re-evaluated: still denied by {still}" if still else "⚠️ re-evaluated: still denied"
    return None


def _fix_blocks(diagnosis: Diagnosis) -> list[Block]:
    fix = diagnosis.fix
    if fix is None:
        return []
    text = f"{_fix_heading(fix, 'Fix')}\n{mrkdwn(fix.summary)}"
    blocks: list[Block] = [_section(text)]
    notes: list[str] = []
    if fix.policy is not None:
        policy, clipped = code_block(policy_json(fix.policy), FIX_PREVIEW)
        blocks.append(_section(policy))
        if clipped:
            notes.append("The policy is clipped here: *Show full fix* has all of it.")
    resolution = _resolution(fix)
    if resolution:
        notes.append(resolution)
    if len(diagnosis.fixes) > 1:
        notes.append(f"{len(diagnosis.fixes) - 1} more change(s) needed or possible: *Show full fix*.")
    if notes:
        blocks.append(_context(*notes))
    return blocks


def _answer_actions(diagnosis: Diagnosis, ref: str, *, shareable: bool) -> ActionsBlock:
    buttons: list[ButtonElement] = []
    if diagnosis.fixes:
        buttons.append(_button("Show full fix", ids.Action.SHOW_FIX, ref, style="primary"))
    buttons.append(_button("Show evidence", ids.Action.SHOW_EVIDENCE, ref))
    buttons.append(_button("Re-run", ids.Action.RERUN, ref))
    if shareable:
        buttons.append(_button("Share in channel", ids.Action.SHARE, ref))
    buttons.append(_button("👍", ids.Action.FEEDBACK_UP, ref))
    buttons.append(_button("👎", ids.Action.FEEDBACK_DOWN, ref))
    return ActionsBlock(block_id=ids.Block.ANSWER_ACTIONS, elements=buttons)


def _footer(diagnosis: Diagnosis) -> str:
    provenance = diagnosis.provenance
    parts: list[str] = []
    if provenance.checked_as:
        parts.append(f"Checked as {mrkdwn(provenance.checked_as)}")
        if provenance.duration_ms is not None:
            parts.append(f"{provenance.duration_ms / 1000:.1f} s")
        parts.append(f"{provenance.aws_reads} AWS read{'s' if provenance.aws_reads != 1 else ''}")
    else:
        parts.append("Answered from the message alone: nothing was read from AWS")
    return " · ".join(parts)


# ------------------------------------------------------------------------------------------------ notices


def render_placeholder(denials: Sequence[DeniedRequest], *, verb: str = "Investigating") -> Message:
    """The message shown while an investigation runs, naming what is being looked at."""
    if len(denials) == 1:
        request = denials[0]
        subject = f" {code(request.action or 'access', 200)} denied for {mrkdwn(who(request))}"
    elif denials:
        subject = f" {len(denials)} denials"
    else:
        subject = ""
    text = f"⏳ {verb}{subject}…"
    return Message(f"{verb}…", (_section(text),))


def render_notice(text: str) -> Message:
    """A short message of our own wording (errors, confirmations); `text` is trusted mrkdwn."""
    return Message(clip(text, FALLBACK_TEXT), (_section(text),))


def credentials_warning() -> Message:
    text = (
        "⚠️ *Your message contains AWS credentials* (an access key, a secret key or a session token). "
        "iamwhy did not store or repeat them, but everyone who can read that message may have seen them. "
        "Delete the message, then deactivate and rotate the access key "
        "(`aws iam update-access-key --status Inactive --access-key-id …`); for temporary credentials, "
        "revoke the role's active sessions."
    )
    return Message("Your message contains AWS credentials: delete it and rotate them.", (_section(text),))


def render_shared(message: Message, user: str) -> Message:
    """An answer as shared in the channel by `user` (a Slack user id), without the Share button."""
    blocks = [_without_share(block) for block in message.blocks]
    blocks.append(_context(f"Shared by <@{_user_id(user)}>"))
    return Message(message.text, tuple(blocks[:MESSAGE_BLOCKS]))


def _without_share(block: Block) -> Block:
    if isinstance(block, ActionsBlock) and block.block_id == ids.Block.ANSWER_ACTIONS:
        elements = [e for e in block.elements if isinstance(e, ButtonElement) and e.action_id != ids.Action.SHARE]
        return ActionsBlock(block_id=block.block_id, elements=elements)
    return block


def _user_id(user: str) -> str:
    if not re.fullmatch(r"[UW][A-Z0-9]{2,20}", user):
        raise ValueError(f"not a Slack user id: {user!r}")
    return user


def render_help(facts: HelpFacts) -> Message:
    if facts.watch_channels is None:
        watched = "any channel I am a member of"
    elif facts.watch_channels:
        watched = ", ".join(f"<#{_channel_id(c)}>" for c in facts.watch_channels)
    else:
        watched = "no channel (only the ways below)"
    usage = "\n".join(
        [
            "*iamwhy* explains AWS `AccessDenied` errors: which policy layer denied the request, which statement "
            "and condition, how sure it is, the fix and who owns it.",
            "",
            "*How to ask*",
            "• `/iamwhy <error>`: an answer only you see, with a *Share in channel* button",
            "• `/iamwhy` alone: a box for long errors",
            f"• paste an error in {watched}: I react 👀 and answer in the thread",
            "• `@iamwhy <error>` in a channel, or a direct message to me",
            "• *Explain AccessDenied* in a message's ⋮ menu, for messages anywhere",
            "• `/iamwhy status`: is iamwhy set up right? Every check, with the fix for what is not",
        ]
    )
    if facts.alert_channels:
        channels = ", ".join(f"<#{_channel_id(c)}>" for c in facts.alert_channels)
        usage += f"\n• alerts posted by other bots in {channels} are answered automatically"
    if not facts.live:
        seen = "I answer from the message alone: nothing is read from AWS in this installation."
    else:
        accounts = ", ".join(f"`{a}`" for a in facts.accounts)
        seen = "Accounts I may read: my own" + (f" and {accounts}" if accounts else "") + "."
        seen += " Errors about other accounts are answered from the message alone."
        if facts.scps_readable:
            seen += "\nSCPs and RCPs: readable (an organizations read role is configured)."
        else:
            seen += (
                "\nSCPs and RCPs: *not readable* (no organizations read role is configured), so organization-level "
                "denies are reported only as the message states them."
            )
    text = f"{usage}\n\n*What I can see*\n{seen}"
    return Message("How to use iamwhy", (_section(text),))


def _channel_id(channel: str) -> str:
    if not re.fullmatch(r"[CGD][A-Z0-9]{2,20}", channel):
        raise ValueError(f"not a Slack channel id: {channel!r}")
    return channel


# -------------------------------------------------------------------------------------------------- modals


def _modal(callback: ids.View, title: str, blocks: Sequence[Block], **extra: Any) -> View:
    kept = list(blocks)
    if len(kept) > MODAL_BLOCKS:
        kept = [*kept[: MODAL_BLOCKS - 1], _context("Clipped: more than Slack can show in one window.")]
    return View(
        type="modal",
        callback_id=callback,
        title=PlainTextObject(text=clip(title, MODAL_TITLE)),
        close=PlainTextObject(text="Close"),
        blocks=kept,
        **extra,
    )


def _long_text_sections(text: str) -> list[SectionBlock]:
    """Prose longer than one section, split at line or word boundaries."""
    sections: list[SectionBlock] = []
    while text:
        piece = clip(text, SECTION_TEXT)
        if len(piece) < len(text):
            cut = max(text.rfind("\n", 0, SECTION_TEXT - 1), text.rfind(" ", 0, SECTION_TEXT - 1))
            cut = cut if cut > SECTION_TEXT // 2 else SECTION_TEXT - 1
            tail = _ENTITY_TAIL.search(text[:cut])
            if tail is not None:
                cut = tail.start()
            piece = text[:cut]
        sections.append(_section(piece))
        text = text[len(piece) :].lstrip()
    return sections


def full_fix_modal(diagnosis: Diagnosis) -> View:
    """Every fix in full: owner, where it goes, the summary and the whole policy across as many blocks as needed."""
    blocks: list[Block] = [_section(f"*{mrkdwn(headline(diagnosis))}*")]
    for position, fix in enumerate(diagnosis.fixes):
        blocks.append(DividerBlock())
        title = "Fix" if position == 0 else f"Also ({position + 1} of {len(diagnosis.fixes)})"
        blocks.extend(_long_text_sections(f"{_fix_heading(fix, title)}\n{mrkdwn(fix.summary)}"))
        if fix.policy is not None:
            blocks.extend(_section(chunk) for chunk in code_chunks(policy_json(fix.policy), SECTION_TEXT))
        resolution = _resolution(fix)
        if resolution:
            blocks.append(_context(resolution))
    if not diagnosis.fixes:
        blocks.append(_section("No change to propose: see *Why* in the answer."))
    return _modal(ids.View.FULL_FIX, "Full fix", blocks)


def evidence_modal(diagnosis: Diagnosis) -> View:
    """The evidence behind an answer: blocking statements in full, unreadable layers, and the CLI commands."""
    request = diagnosis.request
    blocks: list[Block] = [_section(f"*{mrkdwn(headline(diagnosis))}*\n{_verdict(diagnosis)}")]
    if diagnosis.blocked_by:
        blocks.append(DividerBlock())
        blocks.append(_section("*Blocking statements*"))
        for blocker in diagnosis.blocked_by:
            blocks.append(_section(_blocker_text(blocker, statement_limit=SECTION_TEXT)))
    if diagnosis.unreadable:
        lines = "\n".join(f"⚠️ *{LAYER_TITLES[u.layer]}*: {mrkdwn(u.why)}" for u in diagnosis.unreadable)
        blocks.append(_section(f"*Could not read*\n{lines}"))
    if diagnosis.unknown_context_keys:
        keys = ", ".join(code(k, 200) for k in diagnosis.unknown_context_keys)
        blocks.append(_section(f"*Unknown request context that could flip the answer*\n{keys}"))
    if diagnosis.commands:
        blocks.append(DividerBlock())
        caller = (
            "; run `get-caller-identity` with the credentials of the failing call"
            if CALLER_IDENTITY_COMMAND in diagnosis.commands
            else ""
        )
        blocks.append(_section(f"*Reproduce the evidence* (read-only AWS CLI commands{caller})"))
        blocks.extend(_section(chunk) for c in diagnosis.commands for chunk in code_chunks(c, SECTION_TEXT))
    if request.snippet:
        blocks.append(DividerBlock())
        blocks.append(_section("*What the message said* (credentials redacted)"))
        blocks.append(_section(code_block(request.snippet, SECTION_TEXT, inert=True)[0]))
    blocks.append(_context(_footer(diagnosis)))
    return _modal(ids.View.EVIDENCE, "Evidence", blocks)


def input_modal(channel: str | None) -> View:
    """The `/iamwhy` box for long errors; the channel it was opened in rides along for the answer."""
    element = PlainTextInputElement(
        action_id=ids.Action.ERROR_TEXT,
        multiline=True,
        max_length=INPUT_MAX_LENGTH,
        placeholder=PlainTextObject(text="An error occurred (AccessDenied) when calling …"),
    )
    blocks: list[Block] = [
        InputBlock(
            block_id=ids.Block.ERROR_TEXT,
            label=PlainTextObject(text="The AWS error"),
            element=element,
        ),
        _context("Only you will see the answer. Credentials in the text are never stored or repeated."),
    ]
    return _modal(
        ids.View.INPUT,
        "Explain AccessDenied",
        blocks,
        submit=PlainTextObject(text="Explain"),
        private_metadata=clip(channel or "", PRIVATE_METADATA),
    )


def shortcut_modal(scan: ScanResult, *, metadata: str, had_secrets: bool = False) -> View:
    """The message shortcut's window: what was found, and where the answer should go."""
    if not scan.denials:
        return _modal(ids.View.SHORTCUT, "Explain AccessDenied", [render_no_denial(scan).blocks[0]])
    found = "\n".join(
        f"• {code(d.action or 'access', 200)} denied for {mrkdwn(who(d))}" for d in scan.denials[:MAX_ANSWERS]
    )
    if len(scan.denials) > MAX_ANSWERS:
        found += f"\n• … and {len(scan.denials) - MAX_ANSWERS} more"
    only_me = Option(value=ids.ReplyChoice.ONLY_ME, text=PlainTextObject(text="Only me"))
    thread = Option(value=ids.ReplyChoice.THREAD, text=PlainTextObject(text="Everyone, in the message's thread"))
    blocks: list[Block] = [
        _section(f"*Found in this message*\n{found}"),
        InputBlock(
            block_id=ids.Block.REPLY_CHOICE,
            label=PlainTextObject(text="Who should see the answer?"),
            element=RadioButtonsElement(
                action_id=ids.Action.REPLY_CHOICE, options=[only_me, thread], initial_option=only_me
            ),
        ),
    ]
    if had_secrets or scan.secrets_found:
        blocks.append(_context("⚠️ The message contains AWS credentials; they will not be repeated."))
    return _modal(
        ids.View.SHORTCUT,
        "Explain AccessDenied",
        blocks,
        submit=PlainTextObject(text="Explain"),
        private_metadata=clip(metadata, PRIVATE_METADATA),
    )
