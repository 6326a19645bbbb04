"""The local policy evaluator: pure Python over plain policy data, exact to AWS's documented logic."""

from diagnostics.policy.cases import Case, CaseError, Expected, ExpectedStatement, load_cases, parse_cases
from diagnostics.policy.documents import NamedPolicy, PolicyError
from diagnostics.policy.engine import evaluate
from diagnostics.policy.request import EvalRequest, EvaluationResult, KmsGrant, PolicySet, StatementMatch
from diagnostics.policy.s3 import PublicAccessBlock

__all__ = [
    "Case",
    "CaseError",
    "EvalRequest",
    "EvaluationResult",
    "Expected",
    "ExpectedStatement",
    "KmsGrant",
    "NamedPolicy",
    "PolicyError",
    "PolicySet",
    "PublicAccessBlock",
    "StatementMatch",
    "evaluate",
    "load_cases",
    "parse_cases",
]
