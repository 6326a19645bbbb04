"""Every Prometheus metric iamwhy exposes on GET /metrics, and the functions the rest of the code records them with.

Label values come from fixed vocabularies (DESIGN.md §2 words, allow-listed AWS operations, known Slack request
kinds), never from user input, so a hostile payload cannot grow the number of series.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from diagnostics.model import Diagnosis, ScanResult
from diagnostics.reader import CallOutcome, read_operation

# iamwhy's own registry (not the library's global one): GET /metrics serves exactly the metrics below.
REGISTRY = CollectorRegistry(auto_describe=True)

# Slack request kinds counted by name; anything else is counted as "other".
SLACK_REQUEST_KINDS = frozenset(
    {
        "message",
        "app_mention",
        "url_verification",
        "command",
        "block_actions",
        "view_submission",
        "view_closed",
        "message_action",
        "shortcut",
        "block_suggestion",
    }
)

# Seconds: an investigation reads AWS concurrently and usually ends within a few seconds.
_INVESTIGATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 60.0)
_AWS_CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

SLACK_REQUESTS = Counter(
    "iamwhy_slack_requests",
    "Signed Slack requests received, by kind (event type, command, interaction type).",
    ["kind"],
    registry=REGISTRY,
)
SLACK_REJECTED = Counter(
    "iamwhy_slack_requests_rejected",
    "HTTP requests refused before reaching the app: bad or missing signature, stale, or unreadable body.",
    registry=REGISTRY,
)
SLACK_DELIVERY_FAILURES = Counter(
    "iamwhy_slack_delivery_failures",
    "Messages Slack did not take after the retries, by Web API method (or response_url).",
    ["method"],
    registry=REGISTRY,
)
DENIALS_FOUND = Counter(
    "iamwhy_denials_found",
    "Access denials found in the text of investigations.",
    registry=REGISTRY,
)
DIAGNOSES = Counter(
    "iamwhy_diagnoses",
    "Diagnoses made, by decision and confidence.",
    ["decision", "confidence"],
    registry=REGISTRY,
)
INVESTIGATIONS = Counter(
    "iamwhy_investigations",
    "Investigations run, by trigger and outcome (answered, failed, undelivered).",
    ["trigger", "outcome"],
    registry=REGISTRY,
)
INVESTIGATION_SECONDS = Histogram(
    "iamwhy_investigation_seconds",
    "Wall time of one investigation (parse, AWS reads, evaluation), by trigger.",
    ["trigger"],
    buckets=_INVESTIGATION_BUCKETS,
    registry=REGISTRY,
)
AWS_CALLS = Counter(
    "iamwhy_aws_calls",
    "AWS calls by service, operation and outcome (cache hits and shared in-flight calls are counted as cache "
    "hits instead); local outcomes such as not_allowed or paused were refused without sending anything.",
    ["service", "operation", "outcome"],
    registry=REGISTRY,
)
AWS_CALL_SECONDS = Histogram(
    "iamwhy_aws_call_seconds",
    "Wall time of one AWS call as the adapter saw it (retries included), by service.",
    ["service"],
    buckets=_AWS_CALL_BUCKETS,
    registry=REGISTRY,
)
AWS_PAUSES = Counter(
    "iamwhy_aws_reads_paused",
    "Times a circuit breaker paused the reads of an account (or of the organizations role), by role kind.",
    ["role"],
    registry=REGISTRY,
)
CACHE_HITS = Counter(
    "iamwhy_cache_hits",
    "Answers served without asking again: aws (the read cache), aws_in_flight (joined an identical call).",
    ["cache"],
    registry=REGISTRY,
)
STORM_SUPPRESSIONS = Counter(
    "iamwhy_storm_suppressions",
    "Alerts not investigated again because the same denial was just answered (an alert storm).",
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "iamwhy_queue_depth",
    "Investigations waiting for a worker.",
    registry=REGISTRY,
)


def slack_request(kind: str) -> None:
    SLACK_REQUESTS.labels(kind if kind in SLACK_REQUEST_KINDS else "other").inc()


def slack_request_rejected() -> None:
    SLACK_REJECTED.inc()


def slack_delivery_failed(method: str) -> None:
    SLACK_DELIVERY_FAILURES.labels(method).inc()


def investigated(
    trigger: str, outcome: str, seconds: float, scan: ScanResult | None, diagnoses: Collection[Diagnosis]
) -> None:
    """One investigation's counts: its outcome and wall time, the denials it found and each diagnosis."""
    INVESTIGATIONS.labels(trigger, outcome).inc()
    INVESTIGATION_SECONDS.labels(trigger).observe(seconds)
    if scan is not None:
        DENIALS_FOUND.inc(len(scan.denials))
    for diagnosis in diagnoses:
        DIAGNOSES.labels(str(diagnosis.decision), str(diagnosis.confidence)).inc()


def aws_call(service: str, operation: str, outcome: CallOutcome, seconds: float) -> None:
    known = read_operation(service, operation) is not None or (service, operation) == ("sts", "AssumeRole")
    # A refused operation (outside the allow-list) keeps one label value whatever was asked for.
    if not known:
        service, operation = "refused", "refused"
    AWS_CALLS.labels(service, operation, str(outcome)).inc()
    AWS_CALL_SECONDS.labels(service).observe(seconds)


def aws_reads_paused(role: str) -> None:
    AWS_PAUSES.labels(role).inc()


def cache_hit(cache: str) -> None:
    CACHE_HITS.labels(cache).inc()


def storm_suppressed(count: int = 1) -> None:
    """Called by the alert-storm logic each time it keeps a repeated alert from being investigated again."""
    STORM_SUPPRESSIONS.inc(count)


def watch_queue_depth(depth: Callable[[], float] | None) -> None:
    """Report the depth the queue gives (a callback read at every scrape); None: no queue, depth 0."""
    if depth is None:
        QUEUE_DEPTH.set_function(lambda: 0.0)
    else:
        QUEUE_DEPTH.set_function(depth)
