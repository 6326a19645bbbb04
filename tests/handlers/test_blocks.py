"""Block Kit rendering: golden answers for the seed scenarios, Slack's limits (checked by to_dict()), escaping."""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnostics.investigate import OfflineInvestigator
from diagnostics.model import (
    Blocker,
    ConditionCheck,
    Confidence,
    Decision,
    DenialKind,
    DeniedRequest,
    Diagnosis,
    Fix,
    Layer,
    LayerStatus,
    LayerVerdict,
    Principal,
    PrincipalType,
    Provenance,
    Reported,
    ScanResult,
    Unreadable,
)
from handlers.blocks import (
    BUTTON_TEXT,
    FIELD_TEXT,
    HEADER_TEXT,
    MESSAGE_BLOCKS,
    MODAL_BLOCKS,
    SECTION_TEXT,
    HelpFacts,
    Message,
    clip,
    code_chunks,
    credentials_warning,
    evidence_modal,
    fallback_text,
    full_fix_modal,
    input_modal,
    render_answer,
    render_diagnosis,
    render_help,
    render_investigation,
    render_placeholder,
    render_shared,
    shortcut_modal,
)
from tests.handlers.seed import SEED_ERRORS

GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "golden" / "slack"
# Set to regenerate the golden files after a deliberate change; review the diff before committing it.
UPDATE = os.environ.get("IAMWHY_UPDATE_GOLDEN") == "1"
CONTROL = re.compile(r"<[!@#]|<https?:|<mailto:")

ROLE = Principal(
    arn="arn:aws:sts::123456789012:assumed-role/build-bot-role/ci-42",
    type=PrincipalType.ASSUMED_ROLE,
    partition="aws",
    account_id="123456789012",
    name="build-bot-role",
    session_name="ci-42",
)


def _offline(text: str) -> Diagnosis:
    investigation = asyncio.run(OfflineInvestigator().investigate(text))
    (diagnosis,) = investigation.diagnoses
    return diagnosis


def _walk_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _walk_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _walk_strings(v)]
    return []


def _check_limits(blocks: list[dict[str, Any]]) -> None:
    """The limits slack_sdk does not check itself: section fields, context elements, message size."""
    assert len(blocks) <= MESSAGE_BLOCKS
    for block in blocks:
        for item in block.get("fields") or []:
            assert len(item["text"]) <= FIELD_TEXT
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
        if block["type"] == "actions":
            values = [e["value"] for e in block["elements"]]
            assert all(len(v) <= 2000 for v in values)


@pytest.mark.parametrize("scenario", sorted(SEED_ERRORS))
def test_golden_answer_for_each_seed_scenario(scenario: str) -> None:
    diagnosis = _offline(SEED_ERRORS[scenario])
    answer = render_answer(diagnosis, ref="ref0000:0", shareable=True)
    document = {
        "text": answer.text,
        "blocks": answer.blocks_json(),
        "full_fix_modal": full_fix_modal(diagnosis).to_dict(),
        "evidence_modal": evidence_modal(diagnosis).to_dict(),
    }
    _check_limits(document["blocks"])
    path = GOLDEN / f"{scenario}.json"
    rendered = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8")) == document


def test_the_answer_names_who_what_verdict_and_owner() -> None:
    diagnosis = _offline(SEED_ERRORS["kms_key_policy"])
    blocks = render_diagnosis(diagnosis, ref="r:0")
    as_json = [b.to_dict() for b in blocks]
    assert as_json[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "🔒 kms:Decrypt denied for role build-bot-role (session ci-42)"},
    }
    fields = [f["text"] for f in as_json[1]["fields"]]
    assert fields[:5] == [
        "*Principal*\n`arn:aws:sts::123456789012:assumed-role/build-bot-role/ci-42`",
        "*Action*\n`kms:Decrypt`",
        "*Resource*\n`arn:aws:kms:us-east-1:123456789012:key/abcd-1234`",
        "*Account*\n`123456789012`",
        "*Region*\n`us-east-1`",
    ]
    texts = "\n".join(_walk_strings(as_json))
    assert "*Verdict*  Implicit deny · reported: from the error message alone" in texts
    assert "*Fix* · owner: *key administrators* · on `arn:aws:kms:us-east-1:123456789012:key/abcd-1234`" in texts
    assert '"Principal": {\n    "AWS": "arn:aws:iam::123456789012:role/build-bot-role"' in texts


def _big_policy(size: int) -> dict[str, Any]:
    """A policy whose indented JSON is at least `size` characters."""

    def statement(n: int) -> dict[str, Any]:
        return {
            "Sid": f"AllowReadBucket{n:05d}",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::bucket-{n:05d}", f"arn:aws:s3:::bucket-{n:05d}/*"],
            "Condition": {"StringEquals": {"aws:PrincipalTag/team": "<!channel> & co"}},
        }

    count = size // len(json.dumps(statement(0), indent=2)) + 1
    return {"Version": "2012-10-17", "Statement": [statement(n) for n in range(count)]}


def _live_like(policy: dict[str, Any], **overrides: Any) -> Diagnosis:
    request = DeniedRequest(
        principal=ROLE,
        action="s3:GetObject",
        resource_arn="arn:aws:s3:::prod-artifacts/release.tar.gz",
        account_id="123456789012",
        api_operation="GetObject",
        region="us-east-1",
        reported=Reported(Layer.IDENTITY, DenialKind.IMPLICIT, phrase="because no identity-based policy allows"),
        snippet="User: arn:aws:sts::123456789012:assumed-role/build-bot-role/ci-42 is not authorized …",
    )
    values: dict[str, Any] = {
        "request": request,
        "decision": Decision.EXPLICIT_DENY,
        "confidence": Confidence.EVALUATED,
        "explanation": "The bucket policy denies plain-HTTP requests.",
        "blocked_by": (
            Blocker(
                Layer.RESOURCE,
                DenialKind.EXPLICIT,
                policy="bucket policy of prod-artifacts",
                sid="DenyInsecureTransport",
                conditions=(ConditionCheck("aws:SecureTransport", "Bool", ("false",), "false"),),
                statement={
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": "*",
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ),
        ),
        "unreadable": (Unreadable(Layer.SCP, "no organizations read role configured"),),
        "fixes": (
            Fix("Replace the bucket policy.", "resource owner", "arn:aws:s3:::prod-artifacts", policy, True),
            Fix("Or use HTTPS.", "caller", None, None, None),
        ),
        "commands": ("aws s3api get-bucket-policy --bucket prod-artifacts --query Policy --output text",),
        "layers": (
            LayerVerdict(Layer.IDENTITY, LayerStatus.ALLOWS, "ArtifactsRead allows s3:GetObject", ("ArtifactsRead",)),
            LayerVerdict(Layer.SCP, LayerStatus.UNREADABLE, "could not be read"),
            LayerVerdict(Layer.RESOURCE, LayerStatus.EXPLICIT_DENY, "DenyInsecureTransport denies it"),
        ),
        "provenance": Provenance(checked_as="IamWhyReadOnly in 123456789012", aws_reads=9, duration_ms=1234.0),
    }
    values.update(overrides)
    return Diagnosis(**values)


def test_a_ten_kilobyte_policy_is_clipped_in_the_answer_and_whole_in_the_modal() -> None:
    policy = _big_policy(10_000)
    diagnosis = _live_like(policy)
    blocks = [b.to_dict() for b in render_diagnosis(diagnosis, ref="r:0")]
    _check_limits(blocks)
    texts = _walk_strings(blocks)
    assert all(len(t) <= SECTION_TEXT for t in texts)
    (code,) = [t for t in texts if t.startswith("```\n{")]
    assert code.endswith("\n… (clipped)\n```")
    assert "The policy is clipped here: *Show full fix* has all of it." in texts
    assert "✅ re-evaluated: this change alone makes the request allowed" in texts
    assert "1 more change(s) needed or possible: *Show full fix*." in texts
    actions = next(b for b in blocks if b["type"] == "actions")
    assert actions["elements"][0]["action_id"] == "show_full_fix"

    modal = full_fix_modal(diagnosis).to_dict()
    assert len(modal["blocks"]) <= MODAL_BLOCKS
    chunks = [b["text"]["text"] for b in modal["blocks"] if b.get("text", {}).get("text", "").startswith("```")]
    body = "\n".join(c.removeprefix("```\n").removesuffix("\n```") for c in chunks)
    expected = json.dumps(policy, indent=2).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert body == expected


def test_a_policy_too_big_for_a_modal_is_clipped_with_a_note() -> None:
    modal = full_fix_modal(_live_like(_big_policy(400_000))).to_dict()
    assert len(modal["blocks"]) == MODAL_BLOCKS
    assert modal["blocks"][-1]["elements"][0]["text"] == "Clipped: more than Slack can show in one window."


def test_the_checklist_shows_every_layer_with_unreadable_reasons() -> None:
    blocks = [b.to_dict() for b in render_diagnosis(_live_like(_big_policy(100)), ref="r:0")]
    (checklist,) = [t for t in _walk_strings(blocks) if t.startswith("*Layers*")]
    assert checklist.split("\n")[1:] == [
        "✅ *Identity*  ArtifactsRead allows s3:GetObject · `ArtifactsRead`",
        "⚠️ *SCPs*  could not be read (no organizations read role configured)",
        "⛔ *Resource*  DenyInsecureTransport denies it",
    ]
    (blocker,) = [t for t in _walk_strings(blocks) if t.startswith("⛔ *Explicit deny*")]
    assert blocker.startswith(
        "⛔ *Explicit deny* · Resource · policy `bucket policy of prod-artifacts` · statement `DenyInsecureTransport`\n"
        "> `Bool` `aws:SecureTransport` `false` — request had: `false`\n```"
    )
    footer = blocks[-1]["elements"][0]["text"]
    assert footer == "Checked as IamWhyReadOnly in 123456789012 · 1.2 s · 9 AWS reads"


def test_many_blockers_stay_within_the_message_limit() -> None:
    blocker = Blocker(Layer.SCP, DenialKind.EXPLICIT, policy="p", sid="S", statement={"Effect": "Deny"})
    diagnosis = _live_like({}, blocked_by=(blocker,) * 200, warnings=("w",) * 30, unknown_context_keys=("k",) * 500)
    blocks = [b.to_dict() for b in render_diagnosis(diagnosis, ref="r:0")]
    _check_limits(blocks)
    assert "196 more blocking statement(s): *Show evidence* lists them all." in _walk_strings(blocks)
    assert len(evidence_modal(diagnosis).to_dict()["blocks"]) <= MODAL_BLOCKS


HOSTILE = st.lists(
    st.sampled_from([*"<>&|!@#`*_~:/.\n abcHTTPS0123456789", "<!channel>", "<@U123>", "https://", "AKIA"]),
    max_size=120,
).map("".join)


@settings(max_examples=60, deadline=None)
@given(action=HOSTILE, resource=HOSTILE, explanation=HOSTILE, sid=HOSTILE, owner=HOSTILE, value=HOSTILE)
def test_any_text_renders_escaped_and_within_limits(
    action: str, resource: str, explanation: str, sid: str, owner: str, value: str
) -> None:
    request = DeniedRequest(ROLE, action or None, resource or None, "123456789012", snippet=value)
    diagnosis = Diagnosis(
        request,
        Decision.EXPLICIT_DENY,
        Confidence.REPORTED,
        explanation,
        blocked_by=(
            Blocker(Layer.IDENTITY, DenialKind.EXPLICIT, policy=sid, sid=sid, detail=value, statement={"Sid": sid}),
        ),
        fixes=(Fix(explanation, owner, resource, {"Condition": {"StringEquals": {"k": value * 20}}}),),
        layers=(LayerVerdict(Layer.IDENTITY, LayerStatus.EXPLICIT_DENY, value, (sid,)),),
        warnings=(value,),
        notes=(value,),
    )
    rendered = [
        [b.to_dict() for b in render_diagnosis(diagnosis, ref="r:0")],
        full_fix_modal(diagnosis).to_dict(),
        evidence_modal(diagnosis).to_dict(),
    ]
    _check_limits(rendered[0])
    strings = [*_walk_strings(rendered), fallback_text(diagnosis)]
    for text in strings:
        assert not CONTROL.search(text), text
    header = rendered[0][0]["text"]["text"]
    assert len(header) <= HEADER_TEXT


def test_placeholders_name_what_is_being_investigated() -> None:
    request = _live_like({}).request
    one = render_placeholder([request]).blocks[0].to_dict()
    assert one["text"]["text"] == "⏳ Investigating `s3:GetObject` denied for role build-bot-role (session ci-42)…"
    assert render_placeholder([request, request]).blocks[0].to_dict()["text"]["text"] == "⏳ Investigating 2 denials…"
    assert render_placeholder([request], verb="Re-running").text == "Re-running…"


def test_an_investigation_with_many_denials_is_capped_with_a_pointer() -> None:
    diagnosis = _live_like({})
    from diagnostics.investigate import Investigation

    investigation = Investigation(ScanResult((diagnosis.request,) * 8), (diagnosis,) * 8, 1.0)
    messages = render_investigation(investigation, ref="abc")
    assert len(messages) == 5
    assert messages[-1].text.startswith("4 more denial(s) in this message are not answered here")
    values = {m.blocks[-2].to_dict()["elements"][0]["value"] for m in messages[:-1]}
    assert values == {"abc:0", "abc:1", "abc:2", "abc:3"}
    assert len(render_investigation(investigation, ref="abc", limit=8)) == 8


def test_shared_answers_lose_the_share_button_and_say_who_shared() -> None:
    answer = render_answer(_live_like({}), ref="r:0", shareable=True)
    shared = render_shared(answer, "U0SHARER")
    actions = next(b.to_dict() for b in shared.blocks if b.to_dict()["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == [
        "show_full_fix",
        "show_evidence",
        "rerun",
        "feedback_up",
        "feedback_down",
    ]
    assert shared.blocks[-1].to_dict()["elements"][0]["text"] == "Shared by <@U0SHARER>"
    with pytest.raises(ValueError, match="not a Slack user id"):
        render_shared(answer, "<!channel>")


def test_modals_and_notices_validate() -> None:
    assert input_modal("C0123").to_dict()["private_metadata"] == "C0123"
    empty = shortcut_modal(ScanResult(()), metadata="{}").to_dict()
    assert "submit" not in empty
    found = shortcut_modal(ScanResult((_live_like({}).request,)), metadata="{}", had_secrets=True).to_dict()
    assert found["submit"]["text"] == "Explain"
    assert found["blocks"][-1]["elements"][0]["text"].startswith("⚠️ The message contains AWS credentials")
    assert isinstance(credentials_warning(), Message)
    facts = HelpFacts(accounts=(), scps_readable=False, live=True, alert_channels=(), watch_channels=("C0WATCH",))
    assert "paste an error in <#C0WATCH>" in render_help(facts).blocks[0].to_dict()["text"]["text"]


def test_clip_never_cuts_an_escape_entity() -> None:
    text = "a" * 10 + "&amp;&lt;"
    for limit in range(5, len(text)):
        clipped = clip(text, limit)
        assert len(clipped) <= limit
        assert not re.search(r"&[a-z]*…$", clipped)
    assert len(code_chunks("x" * 10_000, 3000)) == 4


def test_button_labels_fit() -> None:
    blocks = [b.to_dict() for b in render_diagnosis(_live_like({}), ref="r:0", shareable=True)]
    actions = next(b for b in blocks if b["type"] == "actions")
    assert all(len(e["text"]["text"]) <= BUTTON_TEXT for e in actions["elements"])


def test_a_chained_call_is_named_by_its_subject_and_a_fix_states_its_assumption() -> None:
    request = DeniedRequest(None, "s3:GetObject", "arn:aws:s3:::prod-artifacts/a", "123456789012")
    key = "KMS key abcd-1234"
    diagnosis = Diagnosis(
        request,
        Decision.IMPLICIT_DENY,
        Confidence.EVALUATED,
        "why",
        blocked_by=(Blocker(Layer.RESOURCE, DenialKind.IMPLICIT, policy="key policy of abcd-1234", subject=key),),
        layers=(
            LayerVerdict(Layer.RESOURCE, LayerStatus.NOT_APPLICABLE, "bucket policy: not needed"),
            LayerVerdict(Layer.RESOURCE, LayerStatus.IMPLICIT_DENY, "no statement allows kms:Decrypt", subject=key),
        ),
        fixes=(Fix("add a statement", "key administrators", resolves=True, assuming="the call used HTTPS"),),
    )
    text = json.dumps([b.to_dict() for b in render_diagnosis(diagnosis, ref="r1")], ensure_ascii=False)
    assert "🚫 *Resource (KMS)*  no statement allows kms:Decrypt" in text
    assert "⚪ *Resource*  bucket policy: not needed" in text
    assert "*Implicit deny* · Resource (KMS)" in text
    assert "this change alone makes the request allowed, assuming the call used HTTPS" in text
