"""The error texts of the troubleshooting guide's seven scenarios, as people paste them."""

from __future__ import annotations

_S3_OBJECT = '"arn:aws:s3:::prod-artifacts/release.tar.gz"'

SEED_ERRORS = {
    "missing_grant": (
        "An error occurred (AccessDenied) when calling the GetObject operation: User: "
        "arn:aws:iam::123456789012:user/build-bot is not authorized to perform: s3:GetObject on resource: "
        f"{_S3_OBJECT} because no identity-based policy allows the s3:GetObject action"
    ),
    "explicit_deny": (
        "An error occurred (AccessDenied) when calling the DeleteObject operation: User: "
        "arn:aws:iam::123456789012:user/build-bot is not authorized to perform: s3:DeleteObject on resource: "
        f"{_S3_OBJECT} with an explicit deny in an identity-based policy: "
        "arn:aws:iam::123456789012:policy/ProdGuardrails"
    ),
    "scp": (
        "An error occurred (AccessDeniedException) when calling the PutItem operation: User: "
        "arn:aws:sts::123456789012:assumed-role/build-bot-role/ci-42 is not authorized to perform: dynamodb:PutItem "
        "on resource: arn:aws:dynamodb:eu-west-1:123456789012:table/jobs with an explicit deny in a service control "
        "policy"
    ),
    "boundary": (
        "An error occurred (AccessDenied) when calling the GetObject operation: User: "
        "arn:aws:sts::123456789012:assumed-role/build-bot-role/ci-42 is not authorized to perform: s3:GetObject on "
        f"resource: {_S3_OBJECT} because no permissions boundary allows the s3:GetObject action"
    ),
    "bucket_policy": (
        "An error occurred (AccessDenied) when calling the GetObject operation: User: "
        "arn:aws:iam::123456789012:user/build-bot is not authorized to perform: s3:GetObject on resource: "
        f"{_S3_OBJECT} with an explicit deny in a resource-based policy"
    ),
    "mfa_condition": (
        "An error occurred (AccessDenied) when calling the PutObject operation: User: "
        "arn:aws:iam::123456789012:user/deployer is not authorized to perform: s3:PutObject on resource: "
        '"arn:aws:s3:::prod-artifacts/uploads/build.log" because no identity-based policy allows the s3:PutObject '
        "action"
    ),
    "kms_key_policy": (
        "An error occurred (AccessDeniedException) when calling the Decrypt operation: User: "
        "arn:aws:sts::123456789012:assumed-role/build-bot-role/ci-42 is not authorized to perform: kms:Decrypt on "
        "resource: arn:aws:kms:us-east-1:123456789012:key/abcd-1234 because no resource-based policy allows the "
        "kms:Decrypt action"
    ),
}
