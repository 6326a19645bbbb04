"""Stored records are JSON of the dataclasses and decode back into equal values; anything else is refused."""

from __future__ import annotations

import json

import pytest

from diagnostics import codec
from diagnostics.model import Decision, Diagnosis
from diagnostics.state import Job, JobKind, JobStatus, StoredInvestigation
from tests.diagnostics.test_state_backends import RICH


def test_a_diagnosis_round_trips_through_plain_json() -> None:
    text = codec.dumps(StoredInvestigation("pasted", (RICH,)))
    data = json.loads(text)
    diagnosis = data["diagnoses"][0]
    assert diagnosis["decision"] == "explicit_deny"
    assert diagnosis["blocked_by"][0]["conditions"][1]["actual"] == ["a", "b"]
    assert diagnosis["request"]["context"] == {"aws:SourceIp": "203.0.113.5", "aws:TagKeys": ["a", "b"]}
    back = codec.loads(StoredInvestigation, text)
    assert back == StoredInvestigation("pasted", (RICH,))
    assert back.diagnoses[0].blocked_by[0].conditions[1].actual == ("a", "b")
    assert back.diagnoses[0].decision is Decision.EXPLICIT_DENY


def test_fields_added_later_with_defaults_may_be_missing() -> None:
    job = Job("j", JobKind.ANSWER, "alert", "text", 1.0)
    data = codec.to_data(job)
    for name in ("status", "attempts", "only", "storms"):
        del data[name]
    assert codec.from_data(Job, data) == job
    assert codec.from_data(Job, data).status is JobStatus.QUEUED


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"decision": "maybe"}, "not a Decision"),
        ({"confidence": None}, "None is not a Confidence"),
        ({"explanation": 3}, "expected str"),
        ({"warnings": "one"}, "expected a list"),
        ({"provenance": {"aws_reads": "9"}}, "expected int"),
    ],
)
def test_data_that_does_not_fit_the_types_is_refused(change: dict[str, object], words: str) -> None:
    data = {**codec.to_data(RICH), **change}
    with pytest.raises(codec.CodecError, match=words):
        codec.from_data(Diagnosis, data)


def test_a_required_field_missing_or_text_that_is_not_json_is_refused() -> None:
    data = codec.to_data(RICH)
    del data["request"]
    with pytest.raises(codec.CodecError, match="request is missing"):
        codec.from_data(Diagnosis, data)
    with pytest.raises(codec.CodecError, match="not JSON"):
        codec.loads(Diagnosis, "{")


def test_values_that_are_not_plain_data_are_not_stored() -> None:
    with pytest.raises(codec.CodecError, match="cannot store a set"):
        codec.dumps({"x": {1, 2}})
