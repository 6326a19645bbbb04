"""config: whether the environment parses, every problem at once with an example value, and which secrets are set.

Values are never shown: a secret is reported only as set or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from diagnostics.doctor.fixes import EXAMPLE_EXTERNAL_ID
from diagnostics.doctor.report import Line, Status
from diagnostics.reader import ConfigError

GROUP = "Configuration"
SECRET_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "IAMWHY_EXTERNAL_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)
# What each variable should look like, for the fix of a bad or missing one (placeholders for secrets).
EXAMPLES: Mapping[str, str] = {
    "SLACK_BOT_TOKEN": "xoxb-… (OAuth & Permissions › Bot User OAuth Token)",
    "SLACK_SIGNING_SECRET": "… (Basic Information › App Credentials › Signing Secret)",
    "SLACK_APP_TOKEN": "xapp-… (Basic Information › App-Level Tokens, with connections:write)",
    "IAMWHY_SLACK_API_URL": "https://slack.com/api/",
    "IAMWHY_ALERT_CHANNELS": "C0123ALERT,C0456PAGES",
    "IAMWHY_WATCH_CHANNELS": "all",
    "IAMWHY_ROLE_NAME": "IamWhyReadOnly",
    "IAMWHY_ROLE_ARN_TEMPLATE": "arn:{partition}:iam::{account_id}:role/IamWhyReadOnly",
    "IAMWHY_EXTERNAL_ID": EXAMPLE_EXTERNAL_ID,
    "IAMWHY_ORG_ROLE_ARN": "arn:aws:iam::333333333333:role/IamWhyOrgReadOnly",
    "IAMWHY_ACCOUNTS": "222222222222,444444444444",
    "IAMWHY_STATE_URL": "redis://redis.internal:6379/0",
    "IAMWHY_STORM_WINDOW": "15m",
    "IAMWHY_CONCURRENCY": "8",
    "IAMWHY_JOB_LEASE": "60s",
    "PORT": "3000",
    "LOG_LEVEL": "INFO",
}
_READ_PREFIXES = ("SLACK_", "IAMWHY_")
_READ_NAMES = ("PORT", "LOG_LEVEL")


def variables_read(env: Mapping[str, str]) -> list[str]:
    return sorted(k for k in env if (k.startswith(_READ_PREFIXES) or k in _READ_NAMES) and env[k].strip())


def config_lines(env: Mapping[str, str], problems: Iterable[ConfigError]) -> tuple[Line, ...]:
    """One ✓ line when the configuration parses, else one ✗ line per bad or missing variable."""
    read = variables_read(env)
    tried = f"read {len(read)} variable{'s' if len(read) != 1 else ''} from the environment" + (
        f" ({', '.join(read)})" if read else ""
    )
    secrets = [name for name in SECRET_VARIABLES if env.get(name, "").strip()]
    lines = [
        Line(
            "config",
            GROUP,
            problem.variable,
            Status.FAILED,
            tried,
            problem.problem,
            _fix(problem.variable),
            subject=problem.variable,
        )
        for problem in problems
    ]
    if lines:
        return tuple(lines)
    shown = ", ".join(secrets) if secrets else "none"
    return (
        Line(
            "config",
            GROUP,
            "Configuration",
            Status.OK,
            tried,
            f"parses; secrets set (values never shown): {shown}",
            details={"variables": read, "secrets_set": secrets},
        ),
    )


def _fix(variable: str) -> str:
    example = EXAMPLES.get(variable)
    if example is None:
        return f"Correct {variable} (the README's configuration table says what it takes), or unset it."
    return f"Set {variable} to a valid value, for example: {variable}={example}"
