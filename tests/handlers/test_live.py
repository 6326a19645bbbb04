"""With the live investigation: the seed failures read from the moto sandbox, rendered, and answered end to end."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from diagnostics.aws import AwsAdapter
from diagnostics.investigate import InvestigationSettings, LiveInvestigator
from diagnostics.model import Diagnosis
from handlers.blocks import evidence_modal, full_fix_modal, render_answer
from tests.conftest import ServeSlackApp
from tests.handlers.live_scenarios import OBJECT, SCENARIOS, T, missing_grant
from tests.harness.fake_slack import block_action, message_event
from tests.harness.world import AwsWorld, allow, policy

GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "golden" / "slack" / "live"
UPDATE = os.environ.get("IAMWHY_UPDATE_GOLDEN") == "1"

MakeLive = Callable[..., LiveInvestigator]


@pytest.fixture
def live(make_adapter: Callable[..., AwsAdapter]) -> MakeLive:
    def build(**config: Any) -> LiveInvestigator:
        # The read cache as served (a minute): the Re-run button must see changes made a moment ago all the same.
        adapter = make_adapter(**{"cache_ttl": 60.0, **config})
        return LiveInvestigator(adapter, settings=InvestigationSettings(authorization_delay=0.0))

    return build


def _steady(diagnosis: Diagnosis) -> Diagnosis:
    """The diagnosis without what changes from run to run: how long it took, and how many reads went to AWS
    (identical reads share one request when they overlap in time, so the count depends on timing)."""
    steady = dataclasses.replace(diagnosis.provenance, duration_ms=None, aws_reads=0)
    return dataclasses.replace(diagnosis, provenance=steady)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_golden_answer_for_each_seed_scenario_read_live(
    scenario: str, live: MakeLive, aws_world: AwsWorld
) -> None:
    seeded = SCENARIOS[scenario](aws_world)
    investigation = await live(**seeded.config).investigate(seeded.text)
    (diagnosis,) = investigation.diagnoses
    diagnosis = _steady(diagnosis)
    answer = render_answer(diagnosis, ref="ref0000:0")
    document = {
        "text": answer.text,
        "blocks": answer.blocks_json(),
        "full_fix_modal": full_fix_modal(diagnosis).to_dict(),
        "evidence_modal": evidence_modal(diagnosis).to_dict(),
    }
    path = GOLDEN / f"{scenario}.json"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8")) == document


async def test_a_paste_is_answered_from_the_account_s_own_policies(
    serve_slack_app: ServeSlackApp, live: MakeLive, aws_world: AwsWorld
) -> None:
    slack = await serve_slack_app(investigator=live(), env={"IAMWHY_ACCOUNTS": T})
    seeded = missing_grant(aws_world)
    await slack.send.event(message_event(seeded.text))
    (update,) = await slack.fake.wait_for("chat.update", timeout=30)
    texts = json.dumps(update.blocks, ensure_ascii=False)
    assert update.blocks[0]["text"]["text"] == "🔒 s3:GetObject denied for user build-bot"
    assert "*Verdict*  Implicit deny · evaluated: every layer's live policies were read and evaluated" in texts
    footer = update.blocks[-1]["elements"][0]["text"]
    assert re.fullmatch(rf"Checked as IamWhyReadOnly in {T} · \d+\.\d s · \d+ AWS reads", footer), footer
    assert "✅ re-evaluated: this change alone makes the request allowed" in texts


async def test_rerun_reads_aws_again_and_sees_the_change(
    serve_slack_app: ServeSlackApp, live: MakeLive, aws_world: AwsWorld
) -> None:
    slack = await serve_slack_app(investigator=live(), env={"IAMWHY_ACCOUNTS": T})
    seeded = missing_grant(aws_world)
    await slack.send.event(message_event(seeded.text))
    (answer,) = await slack.fake.wait_for("chat.update", timeout=30)
    assert answer.blocks[0]["text"]["text"] == "🔒 s3:GetObject denied for user build-bot"
    reads_before = len(aws_world.moto.seen(account=T))

    # Someone applies the fix, then presses Re-run.
    aws_world.client("iam", T).put_user_policy(
        UserName="build-bot",
        PolicyName="ReadArtifacts",
        PolicyDocument=json.dumps(policy(allow("s3:GetObject", OBJECT))),
    )
    value = next(b for b in answer.blocks if b["type"] == "actions")["elements"][0]["value"]
    click = block_action("rerun", value, response_url=slack.fake.response_url(), message_ts=str(answer.body["ts"]))
    await slack.send.interaction(click)
    rerun = (await slack.fake.wait_for("chat.update", count=3, timeout=30))[-1]

    assert len(aws_world.moto.seen(account=T)) > reads_before
    # Every policy now allows what AWS denied earlier: the answer says so instead of inventing a cause.
    assert rerun.blocks[0]["text"]["text"] == "❔ s3:GetObject denied for user build-bot"
    texts = json.dumps(rerun.blocks)
    assert "a policy may have changed since the denial" in texts
    assert "ReadArtifacts" in texts
