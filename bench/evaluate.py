"""Benchmark of the local policy evaluator, against @cloud-copilot/iam-simulate measured in the same run.

Prints evaluations per second for a realistic request and for a worst case, the per-evaluation time of
iam-simulate (npm, installed into a temporary folder at run time) beside ours as a ratio, and how many of N
randomly generated cases (fixed seed) the two evaluators disagree on; the disagreements are saved for review.

    python bench/evaluate.py [--cases 1000] [--seed 7] [--out bench/out/disagreements.json] [--no-npm]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from diagnostics.policy import EvalRequest, PolicySet, evaluate  # noqa: E402
from diagnostics.policy.cases import parse_case  # noqa: E402

IAM_SIMULATE = "@cloud-copilot/iam-simulate"
IAM_SIMULATE_VERSION = "0.1.173"
TARGET_PER_SECOND = 20_000
A, B = "111122223333", "444455556666"

# --- the two fixed benchmark cases ---------------------------------------------------------------


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def realistic_case() -> dict[str, Any]:
    """A CI role reading a release artifact: two roles' worth of managed policies, 3 SCP levels, a bucket policy."""
    services = ["s3", "ecr", "logs", "cloudwatch", "ssm", "secretsmanager", "kms", "sqs", "sns", "dynamodb"]
    identity = []
    for i, service in enumerate(services):
        identity.append(
            {
                "name": f"{service}-access",
                "arn": f"arn:aws:iam::{A}:policy/{service}-access",
                "document": _doc(
                    {
                        "Sid": f"{service}Read",
                        "Effect": "Allow",
                        "Action": [f"{service}:Get*", f"{service}:List*", f"{service}:Describe*"],
                        "Resource": "*",
                    },
                    {
                        "Sid": f"{service}Write",
                        "Effect": "Allow",
                        "Action": [f"{service}:Put*", f"{service}:Create*"],
                        "Resource": f"arn:aws:{service}:*:{A}:*",
                        "Condition": {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}},
                    },
                    {
                        "Sid": f"{service}NoDelete{i}",
                        "Effect": "Deny",
                        "Action": f"{service}:Delete*",
                        "Resource": "*",
                        "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "platform"}},
                    },
                ),
            }
        )
    full = {"name": "FullAWSAccess", "document": _doc({"Effect": "Allow", "Action": "*", "Resource": "*"})}
    regions = {
        "name": "DenyOutsideRegions",
        "document": _doc(
            {
                "Sid": "DenyOutsideRegions",
                "Effect": "Deny",
                "NotAction": ["iam:*", "sts:*", "organizations:*", "support:*", "cloudfront:*"],
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}},
            }
        ),
    }
    guard = {
        "name": "ProtectSecurityTooling",
        "document": _doc(
            {
                "Sid": "ProtectTrail",
                "Effect": "Deny",
                "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail"],
                "Resource": "*",
            },
            {
                "Sid": "ProtectRoles",
                "Effect": "Deny",
                "Action": "iam:*",
                "Resource": "arn:aws:iam::*:role/security-*",
                "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/security-admin"}},
            },
        ),
    }
    bucket = {
        "name": "prod-artifacts-policy",
        "document": _doc(
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::prod-artifacts", "arn:aws:s3:::prod-artifacts/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "OrgRead",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{A}:role/ci-build"},
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": "arn:aws:s3:::prod-artifacts/*",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
            },
            {
                "Sid": "DenyOutsideVpce",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::prod-artifacts/*",
                "Condition": {"StringNotEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c"}},
            },
        ),
    }
    return {
        "id": "bench/realistic",
        "request": {
            "principal": f"arn:aws:sts::{A}:assumed-role/ci-build/run-4711",
            "action": "s3:GetObject",
            "resource": "arn:aws:s3:::prod-artifacts/release.tar.gz",
            "resource_account": A,
            "context": {
                "aws:SecureTransport": "true",
                "aws:RequestedRegion": "us-east-1",
                "aws:PrincipalOrgID": "o-abc123",
                "aws:PrincipalTag/team": "build",
                "aws:PrincipalArn": f"arn:aws:iam::{A}:role/ci-build",
            },
        },
        "policies": {
            "identity": identity,
            "scp_levels": [[full], [full, regions], [full, guard]],
            "resource": bucket,
        },
    }


def worst_case() -> dict[str, Any]:
    """500 identity statements, all with wildcards and conditions, many of them candidates for the request."""
    rng = random.Random(500)
    statements = []
    for i in range(500):
        action = rng.choice(["s3:*", "s3:Get*", "s3:*Object", "*", "s3:GetObj?ct", "s3:List*", "ec2:*"])
        resource = rng.choice(
            [
                "*",
                "arn:aws:s3:::prod-*/*",
                "arn:aws:s3:::*/release*",
                "arn:aws:s3:::prod-artifacts/*/*.gz",
                "arn:aws:s3:::other/*",
            ]
        )
        condition = rng.choice(
            [
                {"StringLike": {"aws:PrincipalTag/team": ["bui*", "plat*"]}},
                {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}},
                {"ForAnyValue:StringEquals": {"aws:TagKeys": ["owner", "env"]}},
                {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
                {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}},
            ]
        )
        effect = "Deny" if i % 50 == 49 else "Allow"
        if effect == "Deny":
            condition = {"StringEquals": {"aws:PrincipalTag/team": "nobody"}}
        statements.append(
            {"Sid": f"S{i}", "Effect": effect, "Action": action, "Resource": resource, "Condition": condition}
        )
    identity = [{"name": f"bulk-{p}", "document": _doc(*statements[p * 50 : (p + 1) * 50])} for p in range(10)]
    return {
        "id": "bench/worst",
        "request": {
            "principal": f"arn:aws:sts::{A}:assumed-role/ci-build/run-4711",
            "action": "s3:GetObject",
            "resource": "arn:aws:s3:::prod-artifacts/builds/release.tar.gz",
            "resource_account": A,
            "context": {
                "aws:PrincipalTag/team": "ops",
                "aws:SourceIp": "203.0.113.9",
                "aws:TagKeys": ["cost"],
                "aws:CurrentTime": "2019-06-01T00:00:00Z",
                "aws:MultiFactorAuthAge": "7200",
            },
        },
        "policies": {"identity": identity},
    }


# --- timing ours -----------------------------------------------------------------------------------


def per_second(fn: Callable[[], object], *, seconds: float = 1.0, repeats: int = 5) -> float:
    """Best of several CPU-time samples (CPU time, so other work on the machine disturbs it less)."""
    fn()
    best = 0.0
    for _ in range(repeats):
        count, start = 0, time.process_time()
        while True:
            for _ in range(50):
                fn()
            count += 50
            elapsed = time.process_time() - start
            if elapsed >= seconds / repeats:
                break
        best = max(best, count / elapsed)
    return best


def ours(case: dict[str, Any]) -> tuple[EvalRequest, PolicySet]:
    parsed = parse_case(case)
    return parsed.request, parsed.policies


# --- iam-simulate ----------------------------------------------------------------------------------

DRIVER = r"""
const fs = require('fs');
const { runSimulation, anonymousPrincipal } = require('@cloud-copilot/iam-simulate');
const input = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
function fix(sim) {
  if (sim.request.principal === 'anonymous') sim.request.principal = anonymousPrincipal;
  return sim;
}
(async () => {
  const out = { timings: {}, results: [] };
  for (const [name, spec] of Object.entries(input.timed)) {
    const sim = fix(spec.simulation);
    for (let i = 0; i < 20; i++) await runSimulation(sim, {});
    let best = Infinity;
    for (let r = 0; r < 5; r++) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < spec.iterations; i++) await runSimulation(sim, {});
      const ns = Number(process.hrtime.bigint() - start) / spec.iterations;
      best = Math.min(best, ns);
    }
    const last = await runSimulation(sim, {});
    const result = last.resultType === 'error' ? 'error: ' + last.errors.message : last.overallResult;
    out.timings[name] = { ns_per_eval: best, result };
  }
  for (const sim of input.cases) {
    try {
      const r = await runSimulation(fix(sim), {});
      if (r.resultType === 'error') {
        out.results.push({ error: r.errors.message, details: r.errors });
        continue;
      }
      const blockedBy = r.resultType === 'single' ? r.result.analysis.blockedBy || null : null;
      out.results.push({ decision: r.overallResult, blockedBy });
    } catch (e) {
      out.results.push({ error: String(e) });
    }
  }
  process.stdout.write(JSON.stringify(out));
})();
"""

DECISIONS = {"Allowed": "allowed", "ExplicitlyDenied": "explicit_deny", "ImplicitlyDenied": "implicit_deny"}


def to_simulation(case: dict[str, Any]) -> dict[str, Any]:
    """Our case-file form in iam-simulate's Simulation shape."""
    req, pol = case["request"], case["policies"]
    principal = req["principal"]
    if principal.startswith("service:"):
        principal = principal[len("service:") :]

    def named(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"name": p["name"], "policy": p["document"]} for p in items]

    sim: dict[str, Any] = {
        "request": {
            "principal": principal,
            "action": req["action"],
            "resource": {"resource": req["resource"], "accountId": req.get("resource_account") or A},
            "contextVariables": req.get("context", {}),
        },
        "identityPolicies": named(pol.get("identity", [])),
        "serviceControlPolicies": [
            {"orgIdentifier": f"level-{i}", "policies": named(level)}
            for i, level in enumerate(pol.get("scp_levels", []))
        ],
        "resourceControlPolicies": [
            {"orgIdentifier": f"level-{i}", "policies": named([p for p in level if p["name"] != "RCPFullAWSAccess"])}
            for i, level in enumerate(pol.get("rcp_levels", []))
        ],
    }
    if pol.get("boundary"):
        sim["permissionBoundaryPolicies"] = named(pol["boundary"])
    if pol.get("session"):
        statements = []
        for p in pol["session"]:
            body = p["document"]["Statement"]
            statements.extend(body if isinstance(body, list) else [body])
        sim["sessionPolicy"] = {"Version": "2012-10-17", "Statement": statements}
    if pol.get("resource"):
        sim["resourcePolicy"] = pol["resource"]["document"]
    if pol.get("vpce"):
        sim["vpcEndpointPolicies"] = named(pol["vpce"])
    return sim


def install_iam_simulate(version: str) -> Path | None:
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        print("iam-simulate comparison skipped: node/npm not found on PATH")
        return None
    folder = Path(tempfile.mkdtemp(prefix="iamwhy-iam-simulate-"))
    (folder / "package.json").write_text('{"name": "iamwhy-bench", "private": true}', encoding="utf-8")
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--silent", f"{IAM_SIMULATE}@{version}"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        print(f"iam-simulate comparison skipped: npm install failed: {done.stderr.strip()[:300]}")
        shutil.rmtree(folder, ignore_errors=True)
        return None
    (folder / "driver.js").write_text(DRIVER, encoding="utf-8")
    return folder


def run_iam_simulate(folder: Path, timed: dict[str, Any], cases: list[dict[str, Any]]) -> dict[str, Any]:
    payload = folder / "input.json"
    payload.write_text(json.dumps({"timed": timed, "cases": cases}), encoding="utf-8")
    done = subprocess.run(
        ["node", str(folder / "driver.js"), str(payload)],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# --- random cases ----------------------------------------------------------------------------------

ACTIONS = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "sqs:SendMessage",
    "kms:Decrypt",
    "ec2:StartInstances",
    "dynamodb:GetItem",
    "sts:AssumeRole",
]
RESOURCES = {
    "s3:GetObject": "arn:aws:s3:::data-bucket/reports/q1.csv",
    "s3:PutObject": "arn:aws:s3:::data-bucket/uploads/file.bin",
    "s3:ListBucket": "arn:aws:s3:::data-bucket",
    "sqs:SendMessage": f"arn:aws:sqs:us-east-1:{A}:orders",
    "kms:Decrypt": f"arn:aws:kms:us-east-1:{A}:key/1234abcd",
    "ec2:StartInstances": f"arn:aws:ec2:us-east-1:{A}:instance/i-0abc",
    "dynamodb:GetItem": f"arn:aws:dynamodb:us-east-1:{A}:table/users",
    "sts:AssumeRole": f"arn:aws:iam::{A}:role/deployer",
}
PATTERNS = {
    "s3:GetObject": [
        "arn:aws:s3:::data-bucket/*",
        "arn:aws:s3:::data-*/reports/*",
        "arn:aws:s3:::other/*",
        "arn:aws:s3:::data-bucket/${aws:username}/*",
    ],
    "s3:PutObject": [
        "arn:aws:s3:::data-bucket/uploads/*",
        "arn:aws:s3:::data-bucket/*",
        "arn:aws:s3:::*/uploads/file.bin",
    ],
    "s3:ListBucket": ["arn:aws:s3:::data-bucket", "arn:aws:s3:::data-*", "arn:aws:s3:::other"],
    "sqs:SendMessage": [
        f"arn:aws:sqs:*:{A}:orders",
        f"arn:aws:sqs:us-east-1:{A}:*",
        f"arn:aws:sqs:us-west-2:{A}:orders",
    ],
    "kms:Decrypt": [
        f"arn:aws:kms:*:{A}:key/*",
        f"arn:aws:kms:us-east-1:{A}:key/1234abcd",
        f"arn:aws:kms:us-east-1:{B}:key/*",
    ],
    "ec2:StartInstances": [
        f"arn:aws:ec2:*:{A}:instance/*",
        f"arn:aws:ec2:us-east-1:{A}:instance/i-0abc",
        f"arn:aws:ec2:us-east-1:{A}:volume/*",
    ],
    "dynamodb:GetItem": [
        f"arn:aws:dynamodb:*:{A}:table/users",
        f"arn:aws:dynamodb:us-east-1:{A}:table/*",
        f"arn:aws:dynamodb:us-east-1:{A}:table/orders",
    ],
    "sts:AssumeRole": [
        f"arn:aws:iam::{A}:role/deployer",
        f"arn:aws:iam::{A}:role/*",
        f"arn:aws:iam::{B}:role/deployer",
    ],
}
CONDITIONS = [
    ("StringEquals", "aws:PrincipalTag/team", ["build", "ops"]),
    ("StringNotEquals", "aws:PrincipalTag/team", ["build"]),
    ("StringLike", "aws:PrincipalTag/team", ["b*"]),
    ("StringEqualsIfExists", "aws:PrincipalTag/env", ["prod"]),
    ("Bool", "aws:SecureTransport", ["true"]),
    ("BoolIfExists", "aws:MultiFactorAuthPresent", ["true"]),
    ("IpAddress", "aws:SourceIp", ["10.0.0.0/8"]),
    ("NotIpAddress", "aws:SourceIp", ["10.0.0.0/8", "2001:db8::/32"]),
    ("NumericLessThan", "aws:MultiFactorAuthAge", ["3600"]),
    ("DateGreaterThan", "aws:CurrentTime", ["2024-01-01T00:00:00Z"]),
    ("ArnLike", "aws:PrincipalArn", [f"arn:aws:iam::{A}:role/app*"]),
    ("ForAnyValue:StringEquals", "aws:PrincipalOrgPaths", ["o-abc/r-1/ou-1/"]),
    ("ForAllValues:StringLike", "aws:TagKeys", ["team", "env*"]),
    ("StringEquals", "aws:PrincipalOrgID", ["o-abc"]),
    ("Null", "aws:SourceVpce", ["true"]),
    ("StringEqualsIgnoreCase", "aws:PrincipalTag/team", ["BUILD"]),
]
PRINCIPALS = [
    "anonymous",
    f"arn:aws:iam::{A}:user/alice",
    f"arn:aws:sts::{A}:assumed-role/app-role/run-1",
    f"arn:aws:iam::{B}:user/partner",
    f"arn:aws:sts::{B}:assumed-role/partner-role/s",
]
PRINCIPAL_NAMES = {
    f"arn:aws:iam::{A}:user/alice": "alice",
    f"arn:aws:iam::{B}:user/partner": "partner",
}


def _statement(
    rng: random.Random, action: str, effect: str | None = None, *, resource_policy: bool = False, everyone: bool = False
) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": effect or rng.choice(["Allow", "Allow", "Deny"])}
    chosen = rng.choice([action, action.split(":")[0] + ":*", "*", action.split(":")[0] + ":Get*", rng.choice(ACTIONS)])
    statement["NotAction" if rng.random() < 0.1 else "Action"] = chosen
    resource = rng.choice(["*", *PATTERNS[action], RESOURCES[rng.choice(ACTIONS)]])
    statement["NotResource" if rng.random() < 0.1 else "Resource"] = resource
    if rng.random() < 0.5:
        operator, key, values = rng.choice(CONDITIONS)
        statement["Condition"] = {operator: {key: values}}
    if everyone:
        statement["Principal"] = "*"
    elif resource_policy:
        statement["Principal"] = rng.choice(
            [
                "*",
                {"AWS": f"arn:aws:iam::{A}:root"},
                {"AWS": B},
                {"AWS": f"arn:aws:iam::{A}:user/alice"},
                {"AWS": f"arn:aws:iam::{A}:role/app-role"},
                {"AWS": f"arn:aws:sts::{A}:assumed-role/app-role/run-1"},
                {"AWS": f"arn:aws:iam::{B}:user/partner"},
                {"AWS": f"arn:aws:iam::{B}:role/partner-role"},
            ]
        )
    return statement


def _context(rng: random.Random, principal: str) -> dict[str, Any]:
    context: dict[str, Any] = {}
    pool: dict[str, Any] = {
        "aws:PrincipalTag/team": rng.choice(["build", "ops", "Build", "dev"]),
        "aws:PrincipalTag/env": rng.choice(["prod", "dev"]),
        "aws:SecureTransport": rng.choice(["true", "false"]),
        "aws:MultiFactorAuthPresent": rng.choice(["true", "false"]),
        "aws:SourceIp": rng.choice(["10.1.2.3", "203.0.113.9", "2001:db8::5"]),
        "aws:MultiFactorAuthAge": rng.choice(["60", "7200"]),
        "aws:CurrentTime": rng.choice(["2023-06-01T00:00:00Z", "2025-06-01T00:00:00Z"]),
        "aws:PrincipalOrgPaths": rng.choice([["o-abc/r-1/ou-1/"], ["o-abc/r-1/ou-2/"]]),
        "aws:TagKeys": rng.choice([["team"], ["team", "owner"], ["env1", "team"]]),
        "aws:PrincipalOrgID": rng.choice(["o-abc", "o-zzz"]),
        "aws:SourceVpce": "vpce-1a2b",
    }
    for key, value in pool.items():
        if rng.random() < 0.6:
            context[key] = value
    if principal == "anonymous":
        return context
    if "assumed-role" in principal:
        context["aws:PrincipalArn"] = (
            principal.replace(":sts::", ":iam::").replace("assumed-role/", "role/").rsplit("/", 1)[0]
        )
    else:
        context["aws:PrincipalArn"] = principal
    context["aws:PrincipalAccount"] = principal.split(":")[4]
    if principal in PRINCIPAL_NAMES and rng.random() < 0.7:
        context["aws:username"] = PRINCIPAL_NAMES[principal]
    return context


def random_case(rng: random.Random, index: int) -> dict[str, Any]:
    action = rng.choice(ACTIONS)
    principal = rng.choice(PRINCIPALS)

    def policy(name: str, count: int, *, resource_policy: bool = False, everyone: bool = False) -> dict[str, Any]:
        statements = [_statement(rng, action, resource_policy=resource_policy, everyone=everyone) for _ in range(count)]
        return {"name": name, "document": _doc(*statements)}

    policies: dict[str, Any] = {}
    if principal != "anonymous":
        policies["identity"] = [policy(f"id{i}", rng.randint(1, 4)) for i in range(rng.randint(0, 2))]
    if principal != "anonymous" and rng.random() < 0.3:
        policies["boundary"] = [policy("boundary", rng.randint(1, 3))]
    if "assumed-role" in principal and rng.random() < 0.25:
        policies["session"] = [policy("session", rng.randint(1, 2))]
    if principal != "anonymous" and rng.random() < 0.4:
        full = {"name": "FullAWSAccess", "document": _doc({"Effect": "Allow", "Action": "*", "Resource": "*"})}
        policies["scp_levels"] = [
            [full] + ([policy("scp", 2)] if rng.random() < 0.5 else []) for _ in range(rng.randint(1, 3))
        ]
    if rng.random() < 0.25:
        # RCPs name their services: "*" alone is reserved to RCPFullAWSAccess.
        deny = {
            "Effect": "Deny",
            "Principal": "*",
            "Action": rng.choice([action, action.split(":")[0] + ":*"]),
            "Resource": "*",
        }
        operator, key, values = rng.choice(CONDITIONS)
        deny["Condition"] = {operator: {key: values}}
        policies["rcp_levels"] = [[{"name": "rcp", "document": _doc(deny)}]]
    if action != "ec2:StartInstances" and rng.random() < 0.6:
        policies["resource"] = policy("resource-policy", rng.randint(1, 3), resource_policy=True)
    if rng.random() < 0.15:
        policies["vpce"] = [policy("endpoint", rng.randint(1, 2), everyone=True)]
    return {
        "id": f"random/{index}",
        "request": {
            "principal": principal,
            "action": action,
            "resource": RESOURCES[action],
            "resource_account": A,
            "context": _context(rng, principal),
        },
        "policies": policies,
    }


# --- reviewing disagreements ------------------------------------------------------------------------

# Classes of disagreement already traced to iam-simulate departing from AWS documentation.
KNOWN = {
    "rcp-scope": "iam-simulate applies an RCP to a service that does not support RCPs "
    "(Organizations User Guide, 'Resource control policies': list of supported services)",
    "session-direct-grant": "a resource policy grant naming the session (or everyone) is not limited by the "
    "session policy (IAM User Guide, 'Session policies')",
    "no-trust-policy": "no trust policy was given: AssumeRole needs the role's trust policy to allow the caller "
    "(IAM User Guide, 'Role terms and concepts': trust policy)",
}


def classify(case: dict[str, Any], ours: Any, their_decision: str) -> str:
    from diagnostics import catalog
    from diagnostics.model import Decision, Layer, LayerStatus

    action = case["request"]["action"]
    policies = case["policies"]
    if (
        policies.get("rcp_levels")
        and action.split(":")[0] not in catalog.rcp_services()
        and their_decision == "explicit_deny"
    ):
        return "rcp-scope"
    if action.lower().startswith("sts:assumerole") and not policies.get("resource") and their_decision == "allowed":
        return "no-trust-policy"
    if ours.decision is Decision.ALLOWED and policies.get("session"):
        session = next(v for v in ours.layers if v.layer is Layer.SESSION)
        if session.status is not LayerStatus.ALLOWS:
            return "session-direct-grant"
    return "unexplained"


# --- main ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000, help="random cases to compare (default 1000)")
    parser.add_argument("--seed", type=int, default=7, help="seed for the random cases (default 7)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "disagreements.json")
    parser.add_argument("--no-npm", action="store_true", help="skip the iam-simulate comparison")
    parser.add_argument("--iam-simulate-version", default=IAM_SIMULATE_VERSION)
    args = parser.parse_args(argv)

    fixed = {"realistic": realistic_case(), "worst": worst_case()}
    rates = {}
    for name, case in fixed.items():
        request, policies = ours(case)
        decision = evaluate(request, policies).decision.value
        rates[name] = per_second(lambda request=request, policies=policies: evaluate(request, policies))
        statements = sum(len(p["document"]["Statement"]) for p in case["policies"].get("identity", []))
        print(
            f"ours  {name:<10} {rates[name]:>10,.0f} evaluations/s  ({1e6 / rates[name]:.1f} µs each; "
            f"decision {decision}; {statements} identity statements)"
        )
    ratio = rates["realistic"] / TARGET_PER_SECOND
    print(f"target: ≥ {TARGET_PER_SECOND:,} realistic evaluations/s on one core: ratio {ratio:.2f}")

    rng = random.Random(args.seed)
    cases = [random_case(rng, i) for i in range(args.cases)]
    folder = None if args.no_npm else install_iam_simulate(args.iam_simulate_version)
    if folder is None:
        return 0
    try:
        timed = {
            name: {"simulation": to_simulation(case), "iterations": 2000 if name == "realistic" else 200}
            for name, case in fixed.items()
        }
        theirs = run_iam_simulate(folder, timed, [to_simulation(c) for c in cases])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for name, timing in theirs["timings"].items():
        ns = timing["ns_per_eval"]
        ours_ns = 1e9 / rates[name]
        print(
            f"iam-simulate {args.iam_simulate_version} {name:<10} {ns / 1000:>8.1f} µs each ({timing['result']}); "
            f"ours {ours_ns / 1000:.1f} µs: ours is {ns / ours_ns:.2f}x its speed"
        )

    disagreements, rejected = [], 0
    for case, their in zip(cases, theirs["results"], strict=True):
        parsed = parse_case(case)
        mine = evaluate(parsed.request, parsed.policies)
        if "error" in their:
            rejected += 1
            continue
        their_decision = DECISIONS.get(their["decision"], their["decision"])
        if their_decision != mine.decision.value:
            reason = classify(case, mine, their_decision)
            disagreements.append(
                {
                    "reason": reason,
                    "explanation": KNOWN.get(reason, "not yet traced: review against AWS documentation"),
                    "case": case,
                    "ours": {
                        "decision": mine.decision.value,
                        "blocked_by": [layer.value for layer in mine.blocking_layers],
                    },
                    "iam_simulate": {"decision": their_decision, "blocked_by": their.get("blockedBy")},
                }
            )
    compared = len(cases) - rejected
    print(
        f"random cases (seed {args.seed}): {len(cases)} generated, {rejected} rejected by iam-simulate's input "
        f"validation, {compared} compared, {len(disagreements)} disagreements"
    )
    for reason, count in sorted(Counter(d["reason"] for d in disagreements).items()):
        print(f"  {count:>4}  {reason}: {KNOWN.get(reason, 'not yet traced')}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(disagreements, indent=2), encoding="utf-8")
    print(f"disagreements saved to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
