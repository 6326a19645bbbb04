"""The message shapes iamwhy recognises, as data: one ordered, named table, most specific shape first."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from diagnostics.model import DenialKind, Layer


class Role(StrEnum):
    """What part of an error a shape matches, which decides how the parser uses it."""

    # A structured event (a CloudTrail record), decoded as JSON rather than matched.
    RECORD = "record"
    # An encoded authorization failure message (EC2 and the services that copy it).
    ENCODED = "encoded"
    # An error document around the message (XML, JSON): the message is inside or just before it.
    BODY = "body"
    # An SDK or CLI prefix: the message follows it.
    HEAD = "head"
    # An SDK suffix: the message precedes it.
    TAIL = "tail"
    # The sentence itself that says who was denied what.
    CORE = "core"
    # A terse "Access Denied" that only counts next to an S3 bucket or object the text names.
    TERSE = "terse"


# Rows are told apart by identity (each is one row of its table), which also makes them cheap to hash.
@dataclass(frozen=True, eq=False)
class Shape:
    """One row of the format table.

    ``pattern`` is searched for anywhere in the text; its named groups (code, operation, service,
    status, endpoint, message, principal, action, blob, exception, account) are what the row contributes.
    """

    name: str
    role: Role
    pattern: re.Pattern[str]
    # Wrappers: how many characters may lie between the wrapper and the message it wraps.
    reach: int = 0
    # Wrappers: how many line breaks may lie between them (SDKs print the message on the wrapper's line).
    line_breaks: int = 0
    # A documented instance of the shape; a test checks the pattern matches it.
    example: str = ""
    # Lower-case words one of which the text must contain for the row to be tried at all, and one of
    # ``needs_also`` as well (when given): every match of the pattern contains them. A chat line that
    # happens to hold one word of a message is ruled out by these checks, before any pattern runs.
    needs: tuple[str, ...] = ()
    needs_also: tuple[str, ...] = ()
    # Fields the shape itself implies, named as the pattern's groups are: the service (as an IAM prefix) of a
    # service's own error document (an S3 error document is S3's), or all that a service's own denial wording
    # says (Lambda's "unable to decrypt the environment variables": operation, code and action). A shape implying
    # a denial code is a denial whatever its message goes on to say.
    implies: tuple[tuple[str, str], ...] = ()

    def implied(self, key: str) -> str | None:
        return dict(self.implies).get(key)


# Error codes AWS uses for an authorization refusal. Anything else with a 403 is not assumed to be one.
DENIAL_CODES: frozenset[str] = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "Client.UnauthorizedOperation",
        "AuthorizationError",
        "AuthorizationErrorException",
        "UnauthorizedResourceAccessException",
        "AccessDeniedFault",
        # Lambda's, when it cannot decrypt a function's environment variables with the function's KMS key.
        "KMSAccessDeniedException",
    }
)

# Codes that only mean "denied" when an SDK reports them for a named API operation (S3 HEAD requests
# have no body, so the CLI can only say "(403) ... Forbidden").
STATUS_CODES: frozenset[str] = frozenset({"403", "Forbidden"})


@dataclass(frozen=True, eq=False)
class LookAlike:
    """An error that looks like an access denial but is not one, with the one-line explanation to give."""

    code: str
    pattern: re.Pattern[str]
    explanation: str
    # Lower-case words one of which the text must contain for the pattern to be tried (every match
    # contains one), and one of ``needs_also`` as well when given.
    needs: tuple[str, ...] = ()
    needs_also: tuple[str, ...] = ()


_NOT_PERMISSIONS = "this is not a permissions problem."

# Ordered: the first row whose pattern matches a piece of text names it. Codes first, then the
# messages AWS prints for them (pastes often lose the code).
LOOK_ALIKES: tuple[LookAlike, ...] = (
    LookAlike(
        "InvalidClientTokenId",
        re.compile(r"\bInvalidClientTokenId\b|The security token included in the request is invalid"),
        "The access key id is not valid (deleted, mistyped, or from another partition or a region that is "
        f"not enabled): fix the credentials; {_NOT_PERMISSIONS}",
        needs=("invalidclienttokenid", "security token included"),
    ),
    LookAlike(
        "ExpiredTokenException",
        re.compile(r"\bExpiredTokenException\b"),
        f"The credentials have expired: refresh them (aws sso login / re-assume the role); {_NOT_PERMISSIONS}",
        needs=("expiredtokenexception",),
    ),
    LookAlike(
        "ExpiredToken",
        re.compile(r"\bExpiredToken\b|The (?:security|provided) token (?:included in the request )?is expired"),
        f"The credentials have expired: refresh them (aws sso login / re-assume the role); {_NOT_PERMISSIONS}",
        needs=("expiredtoken", "is expired"),
    ),
    LookAlike(
        "SignatureDoesNotMatch",
        re.compile(
            r"\bSignatureDoesNotMatch\b"
            r"|The request signature we calculated does not match the signature you provided"
        ),
        "The request signature does not match: the secret access key is wrong for this access key id, or a "
        f"proxy or clock changed the request; fix the credentials; {_NOT_PERMISSIONS}",
        needs=("signaturedoesnotmatch", "does not match the signature"),
    ),
    LookAlike(
        "InvalidSignatureException",
        re.compile(r"\bInvalidSignatureException\b"),
        "The request signature is invalid: the secret access key is wrong for this access key id, or the clock "
        f"is skewed; fix the credentials; {_NOT_PERMISSIONS}",
        needs=("invalidsignatureexception",),
    ),
    LookAlike(
        "UnrecognizedClientException",
        re.compile(r"\bUnrecognizedClientException\b"),
        "The service does not recognise the access key or security token (invalid, deleted, or from another "
        f"partition or region): fix the credentials; {_NOT_PERMISSIONS}",
        needs=("unrecognizedclientexception",),
    ),
    LookAlike(
        "InvalidAccessKeyId",
        re.compile(r"\bInvalidAccessKeyId\b|The AWS Access Key Id you provided does not exist in our records"),
        "S3 does not know this access key id (deleted, mistyped or from another partition): fix the credentials; "
        f"{_NOT_PERMISSIONS}",
        needs=("invalidaccesskeyid", "access key id you provided"),
    ),
    LookAlike(
        "AuthFailure",
        re.compile(r"\bAuthFailure\b|AWS was not able to validate the provided access credentials"),
        "EC2 could not validate the credentials (invalid access key, wrong secret or clock skew): fix the "
        f"credentials; {_NOT_PERMISSIONS}",
        needs=("authfailure", "validate the provided access credentials"),
    ),
    LookAlike(
        "RequestExpired",
        re.compile(r"\bRequestExpired\b|\bRequest has expired\b|\bSignature expired\b"),
        "The request was signed too long ago (clock skew, or an expired presigned URL): sync the clock or sign "
        f"it again; {_NOT_PERMISSIONS}",
        needs=("requestexpired", "request has expired", "signature expired"),
    ),
    LookAlike(
        "RequestNotYetValid",
        re.compile(r"\bRequest is not yet valid\b"),
        "S3 refused a request signed for a time still in the future by its clock (the signer's clock runs ahead, or "
        f"a presigned URL was dated ahead): sync the clock or sign it again; {_NOT_PERMISSIONS}",
        needs=("valid",),
    ),
    LookAlike(
        "UnauthorizedSSOTokenError",
        re.compile(
            r"\bUnauthorizedSSOTokenError\b|The SSO session associated with this profile has expired"
            r"|Token has expired and refresh failed"
        ),
        f"The IAM Identity Center (SSO) session has expired: run aws sso login again; {_NOT_PERMISSIONS}",
        needs=("unauthorizedssotokenerror", "sso session associated", "token has expired"),
    ),
    LookAlike(
        "NoCredentialsError",
        re.compile(r"\bNoCredentialsError\b|Unable to locate credentials"),
        "The SDK found no credentials in its credential chain (profile, environment, instance role), so no "
        f"request reached AWS; configure credentials; {_NOT_PERMISSIONS}",
        needs=("nocredentialserror", "unable to locate credentials"),
    ),
    LookAlike(
        "MissingAuthenticationTokenException",
        re.compile(r"\bMissingAuthenticationToken(?:Exception)?\b|Missing Authentication Token"),
        "The request was not signed, or API Gateway has no such route or stage (it answers unknown paths this "
        "way); this is not an IAM policy decision.",
        needs=("missingauthenticationtoken", "missing authentication token"),
    ),
    LookAlike(
        "Forbidden",
        re.compile(r"Error from server \(Forbidden\)|\bis forbidden: User \"[^\"\n]{1,300}\" cannot [a-z]+"),
        "Kubernetes RBAC refused the request: it needs a Role/ClusterRole binding for that user (check kubectl "
        "auth can-i, or the EKS access entry of the IAM principal); this is not an AWS IAM decision.",
        needs=("error from server (forbidden)", "is forbidden: user"),
    ),
)

# A bare HTTP 403 with no AWS error code and no IAM sentence: reported only when nothing else was found.
HTTP_403 = LookAlike(
    "403",
    re.compile(
        r"\bHTTP(?:/\d(?:\.\d)?)?\s*(?:status\s*)?403\b|\b403\s*\(?Forbidden\b|\bForbidden\s*\(HTTP\s*403\)"
        r"|\b[Ss]tatus(?:\s*[Cc]ode)?\s*[:=]?\s*403\b",
    ),
    "An HTTP 403 with no AWS error code or IAM detail: it may come from a proxy, a WAF, an expired presigned URL "
    "or the application itself; paste the full AWS error (with its error code) to diagnose it.",
    needs=("403",),
    needs_also=("http", "forbidden", "status"),
)

# Shapes match codes only from this list, so a JSON "code" key of some unrelated API is never taken for one.
_CODES = sorted(
    DENIAL_CODES | {look_alike.code for look_alike in LOOK_ALIKES} | {"ExpiredToken", "Forbidden"},
    key=len,
    reverse=True,
)
_CODE_WORDS = "|".join(re.escape(code) for code in _CODES)
# The same codes, each only where it starts a word or a dotted name. The look-behind comes after each
# code's first character: a pattern that starts with one cannot be skipped ahead to its first
# character by the regex engine, which then tries every position of the text (three times slower).
# Codes are grouped by that character (in their order within a group), so each capital the text holds
# is looked at once, not once per code.
_CODE_WORD_STARTS = "|".join(
    re.escape(first)
    + rf"(?<![\w.]{re.escape(first)})(?:"
    + "|".join(re.escape(code[1:]) for code in _CODES if code[0] == first)
    + ")"
    for first in dict.fromkeys(code[0] for code in _CODES)
)
# The codes above in lower case, leaving out those that contain another (accessdenied covers
# accessdeniedexception): every match of a code contains one.
_CODE_HINTS = tuple(
    sorted(
        {
            code.lower()
            for code in _CODES
            if not any(other != code and other.lower() in code.lower() for other in _CODES)
        }
    )
)

# The ordered table. Order is precedence: a denial's source_format is the name of the first row that
# matched it, and of two rows matching the same text only the first is used.
SHAPES: tuple[Shape, ...] = (
    Shape(
        "cloudtrail",
        Role.RECORD,
        re.compile(r"errorCode[\"']\s*:"),
        example='{"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "errorCode": "AccessDenied"}',
        needs=("errorcode",),
    ),
    Shape(
        "ec2-encoded",
        Role.ENCODED,
        re.compile(r"Encoded\s*authori[sz]ation\s*failure\s*message\s*:\s*(?P<blob>[\w-]{8,})"),
        example="You are not authorized to perform this operation. Encoded authorization failure message: 4Gx_k-9Q",
        needs=("encoded",),
    ),
    Shape(
        "aws-xml",
        Role.BODY,
        re.compile(
            r"<Error(?:s>\s*<Error>\s*|>\s*<Type>\s*(?P<type>\w{1,20})\s*</Type>\s*)"
            r"<Code>\s*(?P<code>[\w.]{1,100})\s*</Code>\s*<Message>(?P<message>[^<]{0,4000})</Message>"
        ),
        example="<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: x</Message>"
        "</Error><RequestId>1</RequestId></ErrorResponse>",
        needs=("<error",),
    ),
    Shape(
        "s3-xml",
        Role.BODY,
        re.compile(
            r"<Error>\s*<Code>\s*(?P<code>[\w.]{1,100})\s*</Code>\s*<Message>(?P<message>[^<]{0,4000})</Message>"
        ),
        example="<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>R</RequestId></Error>",
        implies=(("service", "s3"),),
        needs=("<error",),
    ),
    Shape(
        "go-sdk",
        Role.HEAD,
        re.compile(
            r"operation\s*error\s*(?P<service>[A-Za-z0-9][A-Za-z0-9 .-]{0,60}?)\s*:\s*(?P<operation>\w{1,100})\s*,"
            r"\s*(?:exceeded\s*maximum\s*number\s*of\s*attempts\s*,\s*\d+\s*,\s*)?"
            r"https\s*response\s*error\s*StatusCode\s*:\s*(?P<status>\d{3})\s*,"
            # Pastes trim the request id, or all up to the message itself: the rest still names service and operation.
            r"(?:\s*RequestID\s*:\s*(?:[^,\s]{1,100}\s*,)?\s*(?:HostID\s*:\s*[^,\s]{0,300}\s*,\s*)?"
            r"api\s*error\s*(?P<code>[\w.]{1,100})\s*:|(?=\s*User\s*:))\s*"
        ),
        reach=200,
        example="operation error S3: GetObject, https response error StatusCode: 403, RequestID: R, HostID: H, "
        "api error AccessDenied: Access Denied",
        needs=("statuscode",),
        needs_also=("operation",),
    ),
    Shape(
        "cloudformation",
        Role.TAIL,
        re.compile(r"\(\s*RequestToken\s*:\s*[\w-]{1,100}\s*,\s*HandlerErrorCode\s*:\s*(?P<code>\w{1,100})\s*\)"),
        reach=300,
        example='Resource handler returned message: "Access Denied (Service: S3, Status Code: 403, Request ID: R)" '
        "(RequestToken: 5d2c, HandlerErrorCode: AccessDenied)",
        needs=("handlererrorcode",),
    ),
    Shape(
        "go-sdk-v1",
        Role.TAIL,
        re.compile(r"status\s*code\s*:\s*(?P<status>\d{3})\s*,\s*request\s*id\s*:[ \t]*[\w-]{0,100}"),
        reach=200,
        line_breaks=1,
        example="AccessDenied: Access Denied\n\tstatus code: 403, request id: 9D3F",
        needs=("status",),
        needs_also=("request",),
    ),
    Shape(
        "java-sdk",
        Role.TAIL,
        re.compile(
            r"\(\s*Service\s*:\s*(?P<service>[^;,()\n]{0,80})[;,]\s*Status\s*Code\s*:\s*(?P<status>\d{3})"
            # S3 answers a HEAD request with no body: the SDK for Java 1.x says "Error Code: 403 Forbidden".
            r"(?:\s*[;,]\s*Error\s*Code\s*:\s*(?P<code>[\w.]{1,100})(?:\s*Forbidden)?)?\s*[;,]\s*Request\s*ID\s*:"
            r"[^()\n]{0,300}\)?"
        ),
        reach=200,
        example="Access Denied (Service: Amazon S3; Status Code: 403; Error Code: AccessDenied; Request ID: R)",
        needs=("status",),
        needs_also=("service",),
    ),
    Shape(
        "java-sdk",
        Role.HEAD,
        re.compile(
            r"Status\s*Code\s*:\s*(?P<status>\d{3})\s*,\s*AWS\s*Service\s*:\s*(?P<service>[^,\n]{1,80}),"
            r"\s*AWS\s*Request\s*ID\s*:\s*[^,\s]{0,100}\s*,\s*AWS\s*Error\s*Code\s*:\s*(?P<code>[\w.]{1,100})\s*,"
            r"\s*AWS\s*Error\s*Message\s*:\s*"
        ),
        reach=100,
        example="Status Code: 403, AWS Service: Amazon S3, AWS Request ID: R, AWS Error Code: AccessDenied, "
        "AWS Error Message: Access Denied",
        needs=("status",),
        needs_also=("aws",),
    ),
    Shape(
        "java-sdk",
        Role.HEAD,
        re.compile(r"\.services\.(?P<service>\w{1,60})\.model\.(?P<exception>\w{1,100})\s*:\s*"),
        reach=100,
        example="software.amazon.awssdk.services.s3.model.S3Exception: Access Denied",
        needs=(".services.",),
    ),
    # The SDKs for Java 2.x and Kotlin, when the service sent no message of its own.
    Shape(
        "java-sdk",
        Role.HEAD,
        # The code ends where its wording goes on ("(Service: ...", ": Forbidden"), not where a terminal cut it.
        re.compile(
            r"Service\s*returned\s*error\s*code\s*(?P<code>[A-Za-z][\w.]{0,99}|\d{3})(?=[ \t]*[(:,\"]|\s*$)\s*:?\s*"
        ),
        reach=100,
        example="Service returned error code AccessDeniedException (Service: Lambda, Status Code: 403, Request ID: R)",
        needs=("returned",),
    ),
    Shape(
        "dotnet-sdk",
        Role.HEAD,
        re.compile(
            r"Amazon\.(?P<service>\w{1,60})\.(?:Model\.)?(?P<exception>\w{0,100}Exception)\s*:\s*"
            r"(?:Error\s*making\s*request\s*with\s*Error\s*Code\s*(?P<code>\w{1,100})\s*and\s*Http\s*Status\s*Code"
            r"\s*(?P<status>\w{1,40})\.?\s*)?"
        ),
        reach=100,
        example="Amazon.S3.AmazonS3Exception: Access Denied",
        needs=("amazon.",),
    ),
    Shape(
        "js-sdk",
        Role.BODY,
        re.compile(
            # (Each alternative starts with a literal, so the engine skips ahead to those characters.)
            r"(?:__type|errorType|C(?<!errorC)ode|c(?<!errorc)ode)[\"']?\s*:\s*[\"'](?:[\w.:/-]{0,200}#)?"
            rf"(?P<code>{_CODE_WORDS})[\"']"
        ),
        reach=4000,
        line_breaks=200,
        example='{"__type": "AccessDeniedException", "message": "User: x is not authorized"}',
        needs=_CODE_HINTS,
        needs_also=("type", "code"),
    ),
    Shape(
        "js-sdk",
        Role.BODY,
        re.compile(r"\$metadata[\"']?\s*:\s*\{[^{}]{0,400}?httpStatusCode[\"']?\s*:\s*(?P<status>\d{3})"),
        reach=4000,
        line_breaks=200,
        example="'$metadata': { httpStatusCode: 403, requestId: 'R' }",
        needs=("$metadata",),
    ),
    Shape(
        "php-sdk",
        Role.HEAD,
        re.compile(
            r"Error\s*executing\s*\"(?P<operation>\w{1,100})\"\s*on\s*\"(?P<endpoint>[^\"\s]{1,300})\"\s*;"
            r"\s*AWS\s*HTTP\s*error\s*:\s*"
        ),
        reach=600,
        example='Error executing "AssumeRole" on "https://sts.amazonaws.com"; AWS HTTP error: Client error: '
        "`POST https://sts.amazonaws.com` resulted in a `403 Forbidden` response",
        needs=("executing",),
    ),
    Shape(
        "cli",
        Role.HEAD,
        re.compile(
            r"An\s*error\s*occurred\s*\((?P<code>[^()\s]{1,100})\)\s*when\s*calling\s*the\s*(?P<operation>\w{1,100})"
            r"\s*operation(?:\s*\(reached\s*max\s*retries\s*:\s*\d+\))?\s*:?\s*"
        ),
        reach=300,
        example="An error occurred (AccessDenied) when calling the GetObject operation: Access Denied",
        needs=("occurred",),
    ),
    # Lambda's wording when an Invoke fails because the function's environment variables cannot be decrypted;
    # KMS's own refusal follows it ("KMS Exception: AccessDeniedExceptionKMS Message: ...").
    Shape(
        "lambda-env-kms",
        Role.HEAD,
        re.compile(
            r"Lambda\s*(?:was\s*unable\s*to|couldn[’']?t|could\s*not)\s*decrypt\s*the\s*environment\s*variables\s*"
            r"because\s*KMS\s*access\s*(?:was|has\s*been)\s*denied\s*\.?"
            r"(?:\s*(?:Please\s*)?check\s*the\s*(?:Lambda\s*)?function[’']?s\s*(?:AWS\s*)?KMS\s*(?:key\s*settings|permissions)"
            r"\s*\.?)?(?:\s*KMS\s*Exception\s*:\s*)?"
        ),
        reach=200,
        line_breaks=2,
        example="Lambda was unable to decrypt the environment variables because KMS access was denied. Please check "
        "the function's KMS key settings. KMS Exception: AccessDeniedExceptionKMS Message: The ciphertext refers to "
        "a customer master key that does not exist, does not exist in this region, or you are not allowed to access.",
        needs=("environment",),
        needs_also=("decrypt",),
        # Lambda decrypts them with the function's execution role: what was refused is kms:Decrypt, not the Invoke.
        implies=(
            ("service", "lambda"),
            ("operation", "Invoke"),
            ("code", "KMSAccessDeniedException"),
            ("action", "kms:Decrypt"),
        ),
    ),
    Shape(
        "plain",
        Role.HEAD,
        re.compile(rf"(?P<code>{_CODE_WORD_STARTS})(?:\s*\((?:client|server)\))?\s*:\s*"),
        # EC2 puts "You are not authorized to perform this operation." between the code and what follows.
        reach=80,
        example="AccessDeniedException: User: arn:aws:iam::123456789012:user/x is not authorized",
        needs=_CODE_HINTS,
    ),
    # The anchor is the literal part, followed by an action (or by the end of a cut-off message); the
    # parser reads "User: <principal> is not" before it and the resource, reason and authorization
    # details after it.
    Shape(
        "plain",
        Role.CORE,
        re.compile(
            r"authori[sz]ed\s*to\s*perform(?=\s*:?\s*(?:[A-Za-z][A-Za-z0-9-]{0,60}(?::[A-Za-z0-9*]|\s*\(?truncated)"
            r"|null\b|[\"'}\]]|$))"
        ),
        example="User: arn:aws:iam::123456789012:user/x is not authorized to perform: s3:GetObject",
        needs=("authori",),
    ),
    Shape(
        "not-allowed",
        Role.CORE,
        re.compile(
            r"Principal\s*\[\s*(?P<principal>[^\]\s]{1,2048})\s*\]\s*is\s*not\s*allowed\s*to\s*execute\s*"
            r"\[\s*(?P<action>[^\]\s]{1,200})\s*\](?:\s*on\s*the\s*resource)?"
        ),
        example="Principal [arn:aws:iam::123456789012:user/x] is not allowed to execute [workdocs:GetFolder] on "
        "the resource",
        needs=("execute",),
        needs_also=("principal",),
    ),
    # Like "plain", the principal ("User: <arn>" or just "User") is read before the anchor.
    Shape(
        "access-resource",
        Role.CORE,
        re.compile(
            r"is\s*not\s*authori[sz]ed\s*to\s*access\s*this\s*resource(?P<explicit>\s*with\s*an\s*explicit\s*deny)?"
        ),
        example="User: arn:aws:iam::123456789012:user/x is not authorized to access this resource",
        needs=("resource",),
        needs_also=("authori",),
    ),
    # KMS's wording of a denied Decrypt, which names neither the caller nor the key.
    Shape(
        "kms-ciphertext",
        Role.CORE,
        re.compile(
            r"(?:The\s*)?ciphertext\s*refers\s*to\s*a\s*customer\s*master\s*key\s*that\s*does\s*not\s*exist\s*,?\s*does\s*not\s*"
            r"exist\s*in\s*this\s*region\s*,?\s*or\s*you\s*are\s*not\s*allowed\s*to\s*access"
        ),
        example="AccessDeniedException: The ciphertext refers to a customer master key that does not exist, does not "
        "exist in this region, or you are not allowed to access.",
        needs=("ciphertext",),
        needs_also=("refers",),
    ),
    # Secrets Manager's wording when the caller may read the secret but not decrypt it.
    Shape(
        "secretsmanager-kms",
        Role.CORE,
        re.compile(r"Access\s*to\s*KMS\s*is\s*not\s*allowed"),
        example="AccessDeniedException: Access to KMS is not allowed",
        needs=("kms",),
        needs_also=("allowed",),
    ),
    # CloudWatch Logs' wording: an account and an API operation, sometimes "with Tags".
    Shape(
        "logs-account",
        Role.CORE,
        re.compile(
            r"User\s*with\s*accountId\s*:\s*(?P<account>\d{12})\s*is\s*not\s*authori[sz]ed\s*to\s*perform\s*"
            r"(?P<operation>[A-Z][A-Za-z0-9]{1,100})(?P<tags>\s*with\s*Tags\b)?"
        ),
        example="User with accountId: 123456789012 is not authorized to perform CreateLogGroup with Tags",
        needs=("accountid",),
        needs_also=("authori",),
        implies=(("service", "logs"),),
    ),
    # SQS's own wording; the queue URL names region, account and queue.
    Shape(
        "sqs-denied",
        Role.CORE,
        re.compile(
            r"Access\s*to\s*the\s*resource\s*(?P<resource>https?://sqs\.[a-z0-9-]{1,40}\.amazonaws\.com(?:\.cn)?/\d{12}/"
            r"[\w.-]{1,80})\s*is\s*denied"
        ),
        example="Access to the resource https://sqs.us-east-1.amazonaws.com/123456789012/jobs is denied.",
        needs=("sqs.",),
        needs_also=("denied",),
    ),
    Shape(
        "service-assume",
        Role.CORE,
        re.compile(
            r"Neither\s*the\s*global\s*service\s*principal\s*(?P<principal>[a-z0-9.-]{1,100}\.amazonaws\.com)\s*,?"
            r"\s*nor\s*the\s*regional\s*one\s*is\s*authori[sz]ed\s*to\s*assume\s*the\s*provided\s*role"
        ),
        example="Neither the global service principal states.amazonaws.com, nor the regional one is authorized "
        "to assume the provided role.",
        needs=("neither",),
    ),
    Shape(
        "access-denied",
        Role.TERSE,
        re.compile(r"[Aa]ccess(?<![\w][Aa]ccess)\s*[Dd]enied(?![\w])"),
        example="Access Denied",
        needs=("denied",),
    ),
)


# The words AWS's reason phrases are made of, so a phrase whose spaces a line wrap removed can be
# written out again with them ("because noidentity-based" -> "because no identity-based").
_PHRASE_VOCABULARY = (
    "because no with an a the explicit deny in allows allow action policy policies transitively "
    "through identity-based identity based resource-based resource role trust permissions "
    "permission boundary boundaries sessions session service control VPC endpoint SCP RCP does "
    "not exist this Region access or explicitly denies"
)
PHRASE_WORDS: tuple[str, ...] = tuple(_PHRASE_VOCABULARY.split())

# Each denial reason AWS prints, as (phrase, layer, kind), most specific first. The phrases come from
# the IAM "Troubleshoot access denied error messages" guide, plus variants seen in real pastes.
_A = r"(?:an?|the)\s*"
_DENY = r"with\s*an\s*explicit\s*deny\s*in\s*"
_NO = r"because\s*no\s*"
_ALLOWS = r"\s*allows?(?:\s*the\s*(?P<allowed>[\w:*-]{1,200}?)\s*action)?"
LAYER_PHRASES: tuple[tuple[re.Pattern[str], Layer | None, DenialKind | None], ...] = (
    (
        re.compile(
            _DENY + _A + r"VPC\s*endpoint\s*policy\s*transitively\s*through\s*" + _A + r"service\s*control\s*"
            r"polic(?:y|ies)"
        ),
        Layer.SCP,
        DenialKind.EXPLICIT,
    ),
    (re.compile(_DENY + _A + r"identity[\s-]*based\s*polic(?:y|ies)"), Layer.IDENTITY, DenialKind.EXPLICIT),
    (re.compile(_DENY + _A + r"resource[\s-]*based\s*polic(?:y|ies)"), Layer.RESOURCE, DenialKind.EXPLICIT),
    (re.compile(_DENY + _A + r"(?:role\s*)?trust\s*polic(?:y|ies)"), Layer.TRUST, DenialKind.EXPLICIT),
    (
        re.compile(_DENY + _A + r"permissions?\s*boundar(?:y|ies)(?:\s*polic(?:y|ies))?"),
        Layer.BOUNDARY,
        DenialKind.EXPLICIT,
    ),
    (re.compile(_DENY + _A + r"sessions?\s*polic(?:y|ies)"), Layer.SESSION, DenialKind.EXPLICIT),
    (re.compile(_DENY + _A + r"(?:service\s*control\s*polic(?:y|ies)|SCPs?\b)"), Layer.SCP, DenialKind.EXPLICIT),
    (re.compile(_DENY + _A + r"(?:resource\s*control\s*polic(?:y|ies)|RCPs?\b)"), Layer.RCP, DenialKind.EXPLICIT),
    (re.compile(_DENY + _A + r"VPC\s*endpoint\s*polic(?:y|ies)"), Layer.VPCE, DenialKind.EXPLICIT),
    (re.compile(_NO + r"identity[\s-]*based\s*polic(?:y|ies)" + _ALLOWS), Layer.IDENTITY, DenialKind.IMPLICIT),
    (re.compile(_NO + r"resource[\s-]*based\s*polic(?:y|ies)" + _ALLOWS), Layer.RESOURCE, DenialKind.IMPLICIT),
    (re.compile(_NO + r"(?:role\s*)?trust\s*polic(?:y|ies)" + _ALLOWS), Layer.TRUST, DenialKind.IMPLICIT),
    (
        re.compile(_NO + r"permissions?\s*boundar(?:y|ies)(?:\s*polic(?:y|ies))?" + _ALLOWS),
        Layer.BOUNDARY,
        DenialKind.IMPLICIT,
    ),
    (re.compile(_NO + r"sessions?\s*polic(?:y|ies)" + _ALLOWS), Layer.SESSION, DenialKind.IMPLICIT),
    (re.compile(_NO + r"(?:service\s*control\s*polic(?:y|ies)|SCPs?\b)" + _ALLOWS), Layer.SCP, DenialKind.IMPLICIT),
    (re.compile(_NO + r"(?:resource\s*control\s*polic(?:y|ies)|RCPs?\b)" + _ALLOWS), Layer.RCP, DenialKind.IMPLICIT),
    (re.compile(_NO + r"VPC\s*endpoint\s*polic(?:y|ies)" + _ALLOWS), Layer.VPCE, DenialKind.IMPLICIT),
    # KMS names the key policy but cannot say whether it denied or just did not allow.
    (
        re.compile(
            r"because\s*the\s*resource\s*does\s*not\s*exist\s*in\s*this\s*Region\s*,\s*no\s*resource[\s-]*based\s*"
            r"policies\s*allow\s*access\s*,\s*or\s*a\s*resource[\s-]*based\s*policy\s*explicitly\s*denies\s*access"
        ),
        Layer.RESOURCE,
        None,
    ),
    # Older messages say only that a Deny matched.
    (re.compile(r"with\s*an\s*explicit\s*deny\b"), None, DenialKind.EXPLICIT),
)
# The words every phrase above starts with: where the text holds neither, no phrase is tried.
LAYER_PHRASE_STARTS = ("because", "with")
