"""Arbitrary (mostly malformed) policy documents never crash: they compile, or raise PolicyError naming the policy."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from policy_builders import request

from diagnostics.model import Decision
from diagnostics.policy import CaseError, NamedPolicy, PolicyError, PolicySet, evaluate
from diagnostics.policy.cases import parse_case

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.sampled_from(["*", "s3:GetObject", "arn:aws:s3:::b/*", "arn:aws:sqs", "${aws:username}", "", "Allow", "Deny"]),
    st.text(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
operators = st.sampled_from(
    [
        "StringEquals",
        "ForAllValues:StringLike",
        "NumericLessThan",
        "DateGreaterThan",
        "IpAddress",
        "ArnLike",
        "Null",
        "Bool",
        "Bogus",
    ]
)
statement = st.fixed_dictionaries(
    {},
    optional={
        "Sid": values,
        "Effect": st.sampled_from(["Allow", "Deny", "allow", 1]),
        "Action": values,
        "NotAction": values,
        "Resource": values,
        "NotResource": values,
        "Principal": st.one_of(
            values, st.just("*"), st.dictionaries(st.sampled_from(["AWS", "Service", "Other"]), values, max_size=2)
        ),
        "Condition": st.one_of(
            values,
            st.dictionaries(
                operators, st.dictionaries(st.sampled_from(["aws:SourceIp", "k"]), values, max_size=2), max_size=2
            ),
        ),
    },
)
documents = st.one_of(
    values,
    st.fixed_dictionaries(
        {"Statement": st.one_of(statement, st.lists(statement, max_size=3), values)},
        optional={"Version": st.sampled_from(["2012-10-17", "2008-10-17", "1"])},
    ),
)


@settings(max_examples=300, deadline=None)
@given(documents, st.sampled_from(["identity", "resource", "scp", "vpce"]))
def test_any_document_compiles_or_raises_policy_error(document: Any, slot: str) -> None:
    named = NamedPolicy("fuzzed", document)
    policies = {
        "identity": PolicySet(identity=(named,)),
        "resource": PolicySet(resource=named),
        "scp": PolicySet(scp_levels=((named,),)),
        "vpce": PolicySet(vpce=(named,)),
    }[slot]
    context = {"aws:SourceIp": "10.0.0.1", "k": ["a", "b"], "aws:username": "bob"}
    message = None
    try:
        result = evaluate(request(context=context), policies)
    except PolicyError as exc:
        message = str(exc)
    if message is not None:
        assert "policy 'fuzzed'" in message
    else:
        assert result.decision in set(Decision)
        assert result.layers


VALID_REQUEST = {"principal": "arn:aws:iam::111122223333:user/a", "action": "s3:GetObject", "resource": "*"}
policy_slots = st.sampled_from(
    [
        "identity",
        "scp_levels",
        "rcp_levels",
        "resource",
        "kms_grants",
        "s3_public_access_block",
        "scp_level_names",
        "bogus",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "request": st.one_of(
                values,
                st.just(VALID_REQUEST),
                st.builds(
                    lambda extra: {**VALID_REQUEST, **extra},
                    st.dictionaries(
                        st.sampled_from(
                            ["context", "unknown", "resource_account", "management_account", "aws_managed_resource"]
                        ),
                        values,
                        max_size=2,
                    ),
                ),
            )
        },
        optional={
            "policies": st.dictionaries(
                policy_slots, st.one_of(values, st.lists(st.lists(values, max_size=2), max_size=2)), max_size=3
            ),
            "expected": st.one_of(
                values,
                st.dictionaries(
                    st.sampled_from(["decision", "blocked_by", "statements", "unknown_context_keys"]),
                    values,
                    max_size=3,
                ),
            ),
            "source": values,
            "requires": values,
        },
    )
)
def test_any_case_loads_or_raises_a_clear_error(data: dict[str, Any]) -> None:
    message = "fuzz.json"
    try:
        parse_case(data, origin="fuzz.json")
    except (CaseError, PolicyError) as exc:
        message = str(exc)
    assert message.startswith("fuzz.json")
