"""GET /metrics in Prometheus text format: the values after driving events through the served app.

The registry lives as long as the process, so each test reads the endpoint before and after and checks the change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from diagnostics import metrics
from diagnostics.aws import AwsAdapter
from diagnostics.investigate import InvestigationSettings, LiveInvestigator
from tests.conftest import ServedSlackApp, ServeSlackApp
from tests.handlers.live_scenarios import T, missing_grant
from tests.handlers.seed import SEED_ERRORS
from tests.harness.fake_slack import bot_post, message_event
from tests.harness.world import AwsWorld

SEED_ERROR = SEED_ERRORS["missing_grant"]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def _scrape(slack: ServedSlackApp) -> Samples:
    url = slack.url.replace("/slack/events", "/metrics")
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _change(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_a_pasted_error_is_counted_from_receipt_to_diagnosis(slack: ServedSlackApp) -> None:
    before = await _scrape(slack)
    await slack.send.event(message_event(SEED_ERROR))
    await slack.send.event(message_event("nothing to see here"))
    await slack.fake.wait_for("chat.update")
    await slack.idle()
    after = await _scrape(slack)

    assert _change(before, after, "iamwhy_slack_requests_total", kind="message") == 2
    assert _change(before, after, "iamwhy_denials_found_total") == 1
    assert _change(before, after, "iamwhy_diagnoses_total", decision="implicit_deny", confidence="reported") == 1
    assert _change(before, after, "iamwhy_investigations_total", trigger="paste", outcome="answered") == 1
    assert _change(before, after, "iamwhy_investigation_seconds_count", trigger="paste") == 1
    assert _change(before, after, "iamwhy_investigation_seconds_bucket", trigger="paste", le="+Inf") == 1


async def test_commands_and_rejected_requests_are_counted(slack: ServedSlackApp) -> None:
    before = await _scrape(slack)
    await slack.send.command(SEED_ERROR, response_url=slack.fake.response_url())
    await slack.fake.wait_for("response")
    status, _, _ = await slack.send.post('{"type": "event_callback"}', {"Content-Type": "application/json"})
    assert status == 401
    await slack.idle()
    after = await _scrape(slack)
    assert _change(before, after, "iamwhy_slack_requests_total", kind="command") == 1
    assert _change(before, after, "iamwhy_investigations_total", trigger="command", outcome="answered") == 1
    assert _change(before, after, "iamwhy_slack_requests_rejected_total") == 1


async def test_a_repeated_alert_is_a_storm_suppression(slack: ServedSlackApp) -> None:
    before = await _scrape(slack)
    await slack.send.event(bot_post("CALERT01", text=SEED_ERROR))
    await slack.fake.wait_for("chat.update")
    await slack.idle()
    await slack.send.event(bot_post("CALERT01", text=SEED_ERROR))
    await slack.send.event(bot_post("CALERT01", text=SEED_ERROR))
    await slack.idle()
    after = await _scrape(slack)
    assert _change(before, after, "iamwhy_storm_suppressions_total") == 2
    assert _change(before, after, "iamwhy_investigations_total", trigger="alert", outcome="answered") == 1


async def test_aws_calls_by_operation_and_outcome_and_cache_hits(
    serve_slack_app: ServeSlackApp, make_adapter: Callable[..., AwsAdapter], aws_world: AwsWorld
) -> None:
    investigator = LiveInvestigator(make_adapter(), settings=InvestigationSettings(authorization_delay=0.0))
    slack = await serve_slack_app(investigator=investigator, env={"IAMWHY_ACCOUNTS": T})
    seeded = missing_grant(aws_world)
    before = await _scrape(slack)
    await slack.send.event(message_event(seeded.text))
    await slack.fake.wait_for("chat.update", timeout=30)
    await slack.idle()
    middle = await _scrape(slack)
    await slack.send.event(message_event(seeded.text))
    await slack.fake.wait_for("chat.update", count=2, timeout=30)
    await slack.idle()
    after = await _scrape(slack)

    def calls(samples: Samples, operation: str, outcome: str) -> float:
        service = "sts" if operation == "AssumeRole" else "iam" if operation == "GetUser" else "s3"
        key = ("iamwhy_aws_calls_total", (("operation", operation), ("outcome", outcome), ("service", service)))
        return samples.get(key, 0.0)

    assert calls(middle, "AssumeRole", "ok") - calls(before, "AssumeRole", "ok") == 1
    assert calls(middle, "GetUser", "ok") - calls(before, "GetUser", "ok") == 1
    assert calls(middle, "GetBucketPolicy", "not_found") - calls(before, "GetBucketPolicy", "not_found") == 1
    assert _change(before, middle, "iamwhy_diagnoses_total", decision="implicit_deny", confidence="evaluated") == 1
    assert _change(before, middle, "iamwhy_aws_call_seconds_count", service="iam") >= 1
    # The same question a moment later is answered from the read cache: no new GetUser, cache hits instead.
    assert calls(after, "GetUser", "ok") == calls(middle, "GetUser", "ok")
    assert _change(middle, after, "iamwhy_cache_hits_total", cache="aws") >= 5


@pytest.fixture
def queue_depth() -> Iterator[Callable[[Callable[[], float] | None], None]]:
    yield metrics.watch_queue_depth
    metrics.watch_queue_depth(None)


async def test_the_queue_depth_is_read_from_the_queue_s_hook(
    slack: ServedSlackApp, queue_depth: Callable[[Callable[[], float] | None], None]
) -> None:
    waiting = [3.0]
    queue_depth(lambda: waiting[0])
    assert (await _scrape(slack))[("iamwhy_queue_depth", ())] == 3.0
    waiting[0] = 7.0
    assert (await _scrape(slack))[("iamwhy_queue_depth", ())] == 7.0
    queue_depth(None)
    assert (await _scrape(slack))[("iamwhy_queue_depth", ())] == 0.0


async def test_every_metric_is_exposed_with_help(slack: ServedSlackApp) -> None:
    url = slack.url.replace("/slack/events", "/metrics")
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        families = {f.name: f for f in text_string_to_metric_families(await response.text())}
    assert set(families) >= {
        "iamwhy_slack_requests",
        "iamwhy_slack_requests_rejected",
        "iamwhy_slack_delivery_failures",
        "iamwhy_denials_found",
        "iamwhy_diagnoses",
        "iamwhy_investigations",
        "iamwhy_investigation_seconds",
        "iamwhy_aws_calls",
        "iamwhy_aws_call_seconds",
        "iamwhy_aws_reads_paused",
        "iamwhy_cache_hits",
        "iamwhy_storm_suppressions",
        "iamwhy_queue_depth",
    }
    assert all(family.documentation for family in families.values())
