"""Whatever the parser hands over, the offline explanation and both reports hold their contract and never crash."""

from __future__ import annotations

import json
import shlex

from hypothesis import given, settings
from hypothesis import strategies as st

from diagnostics.arn import parse_principal
from diagnostics.explain import explain_offline
from diagnostics.model import Confidence, Decision, DenialKind, DeniedRequest, Layer, Reported, ScanResult
from diagnostics.report import render_text, to_json

_ACCOUNTS = st.sampled_from(["123456789012", "210987654321", ""])
_NAMES = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30),
    st.just("\x1b[2J\x1b[31mfake\nline\x1b[0m"),
)
_PRINCIPALS = st.one_of(
    st.none(),
    st.just("anonymous"),
    st.just("events.amazonaws.com"),
    st.builds(lambda a, n: f"arn:aws:iam::{a}:user/{n}", _ACCOUNTS, _NAMES),
    st.builds(lambda a, n: f"arn:aws:iam::{a}:role/path/{n}", _ACCOUNTS, _NAMES),
    st.builds(lambda a, n, s: f"arn:aws:sts::{a}:assumed-role/{n}/{s}", _ACCOUNTS, _NAMES, _NAMES),
    st.builds(lambda a: f"arn:aws:iam::{a}:root", _ACCOUNTS),
    _NAMES,
)
_ACTIONS = st.one_of(
    st.none(),
    st.sampled_from(["s3:GetObject", "kms:Decrypt", "sts:AssumeRole", "ec2:DescribeInstances", "sqs:SendMessage"]),
    _NAMES,
)
_RESOURCES = st.one_of(
    st.none(),
    st.just("*"),
    st.builds(lambda n: f"arn:aws:s3:::{n}", _NAMES),
    st.builds(lambda a, n: f"arn:aws:kms:us-east-1:{a}:key/{n}", _ACCOUNTS, _NAMES),
    st.builds(lambda a, n: f"arn:aws:sqs:eu-west-1:{a}:{n}", _ACCOUNTS, _NAMES),
    st.builds(lambda a, n: f"arn:aws:iam::{a}:role/{n}", _ACCOUNTS, _NAMES),
    st.builds(lambda a, n: f"arn:aws:lambda:us-east-1:{a}:function:{n}", _ACCOUNTS, _NAMES),
    _NAMES,
)


@st.composite
def _requests(draw: st.DrawFn) -> DeniedRequest:
    principal = draw(_PRINCIPALS)
    return DeniedRequest(
        principal=parse_principal(principal) if principal is not None else None,
        action=draw(_ACTIONS),
        resource_arn=draw(_RESOURCES),
        account_id=draw(st.one_of(st.none(), _ACCOUNTS)),
        region=draw(st.one_of(st.none(), st.just("us-east-1"))),
        reported=Reported(
            layer=draw(st.one_of(st.none(), st.sampled_from(Layer))),
            kind=draw(st.one_of(st.none(), st.sampled_from(DenialKind))),
            policy_arn=draw(st.one_of(st.none(), _NAMES)),
            phrase=draw(st.one_of(st.none(), _NAMES)),
        ),
        authorization_id=draw(st.one_of(st.none(), st.from_regex(r"[0-9a-z]{1,40}", fullmatch=True))),
        encoded_message=draw(st.one_of(st.none(), _NAMES)),
        context=draw(st.one_of(st.just({}), st.builds(lambda v: {"aws:SourceVpce": v}, _NAMES))),
    )


@settings(max_examples=150, deadline=None)
@given(_requests())
def test_any_request_explains_and_renders(request: DeniedRequest) -> None:
    diagnosis = explain_offline(request)
    reported = request.reported
    expected = {DenialKind.EXPLICIT: Decision.EXPLICIT_DENY, DenialKind.IMPLICIT: Decision.IMPLICIT_DENY}
    assert diagnosis.decision is (expected[reported.kind] if reported.kind else Decision.UNKNOWN)
    assert diagnosis.confidence is (Confidence.REPORTED if reported.kind else Confidence.UNKNOWN)
    assert diagnosis.explanation
    assert diagnosis.fixes
    assert "aws sts get-caller-identity" in diagnosis.commands
    for command in diagnosis.commands:
        if "$(" not in command:
            assert shlex.split(command)[0] == "aws"
    scan = ScanResult(denials=(request,))
    document = to_json(scan, [diagnosis])
    json.dumps(document)
    assert document["denials"][0]["request"]["encoded_message"] is bool(request.encoded_message)
    for color in (False, True):
        text = render_text(scan, [diagnosis], color=color)
        assert text.endswith("\n")
        assert ("\x1b[" in text) is color
