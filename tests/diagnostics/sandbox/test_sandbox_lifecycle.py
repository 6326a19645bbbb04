"""The sandbox starts, serves, stops and cleans up; it points only this process at itself; it explains what it lacks."""

from __future__ import annotations

import importlib.metadata
import logging
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import diagnostics.sandbox
from diagnostics.sandbox import INSTALL_HINT, SCENARIOS, Sandbox, SandboxError, SandboxUnavailable
from diagnostics.sandbox.world import BOT_USER_ARN, EXTERNAL_ID, ORG_ROLE_ARN, REGION, WORKLOAD_ACCOUNT

ROOT = Path(__file__).resolve().parents[3]


def _answers(endpoint: str) -> bool:
    request = urllib.request.Request(f"{endpoint}/moto-api/data.json")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return bool(response.status == 200)
    except urllib.error.URLError:
        return False


def test_it_serves_while_running_and_leaves_nothing_behind() -> None:
    from moto.cloudtrail.responses import CloudTrailResponse
    from moto.iam.models import iam_backends
    from moto.organizations.models import organizations_backends

    lookup_events = vars(CloudTrailResponse).get("lookup_events")
    with Sandbox() as box:
        endpoint = box.endpoint
        assert box.running
        assert endpoint.startswith("http://127.0.0.1:")
        assert _answers(endpoint)
        assert WORKLOAD_ACCOUNT in iam_backends
        assert box.startup_ms is not None
        assert box.startup_ms > 0

    assert not box.running
    assert not _answers(endpoint)
    assert WORKLOAD_ACCOUNT not in iam_backends
    assert organizations_backends.master_accounts == {}
    assert vars(CloudTrailResponse).get("lookup_events") is lookup_events
    with pytest.raises(SandboxError, match="has been stopped"):
        _ = box.endpoint


def _record(logger: logging.Logger, message: str, error: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(error), error, None) if error is not None else None
    return logger.makeRecord(logger.name, logging.ERROR, __file__, 1, message, (), exc_info)


def test_moto_tracebacks_for_operations_it_lacks_stay_out_of_the_bots_logs() -> None:
    # werkzeug logs the traceback as text after answering 500; Flask logs it with exc_info.
    unimplemented = (
        "Error on request:\nTraceback ...\nNotImplementedError: The lookup_events action has not been implemented"
    )
    crash = "Error on request:\nTraceback ...\nKeyError: 'Bucket'"
    loggers = [logging.getLogger(name) for name in ("werkzeug", "moto")]
    before = [(list(logger.filters), logger.level) for logger in loggers]

    with Sandbox():
        for logger in loggers:
            assert not logger.filter(_record(logger, unimplemented))
            assert not logger.filter(_record(logger, "Exception on / [POST]", NotImplementedError("x")))
            assert logger.filter(_record(logger, crash))
            assert logger.filter(_record(logger, "Exception on / [POST]", KeyError("Bucket")))
        assert logging.getLogger("werkzeug").level == logging.ERROR

    assert [(list(logger.filters), logger.level) for logger in loggers] == before


def test_account_host_names_resolve_to_loopback_only_while_it_runs() -> None:
    before = socket.getaddrinfo
    with Sandbox():
        [(_, _, _, _, address)] = socket.getaddrinfo("123456789012.127.0.0.1", 80, socket.AF_INET, socket.SOCK_STREAM)
        assert address == ("127.0.0.1", 80)
    assert socket.getaddrinfo is before


def test_what_the_bot_needs() -> None:
    with Sandbox() as box:
        endpoint = box.endpoint
        environment = box.environment
        config = box.aws_config

    assert environment["AWS_ENDPOINT_URL"] == endpoint
    assert environment["AWS_ACCESS_KEY_ID"].startswith("AKIA")
    assert environment["AWS_SECRET_ACCESS_KEY"]
    assert environment["AWS_DEFAULT_REGION"] == REGION
    assert environment["AWS_CONFIG_FILE"] == environment["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull
    assert config.allowed_accounts == frozenset({WORKLOAD_ACCOUNT})
    assert (config.org_role_arn, config.external_id, config.region) == (ORG_ROLE_ARN, EXTERNAL_ID, REGION)
    assert box.scenarios == SCENARIOS


def test_the_same_seed_gives_the_same_credentials() -> None:
    with Sandbox() as first:
        key = first.environment["AWS_ACCESS_KEY_ID"]
    with Sandbox() as second:
        assert second.environment["AWS_ACCESS_KEY_ID"] == key


def test_an_error_inside_still_stops_it() -> None:
    box = Sandbox()
    with pytest.raises(KeyError), box:
        raise KeyError("boom")
    assert not box.running
    with Sandbox() as again:
        assert again.running


def test_one_sandbox_at_a_time_and_each_starts_once() -> None:
    with Sandbox() as box:
        with pytest.raises(SandboxError, match="another sandbox is running"):
            Sandbox().start()
        with pytest.raises(SandboxError, match="starts only once"):
            box.start()
        assert _answers(box.endpoint)
    with pytest.raises(SandboxError, match="starts only once"):
        box.start()


def test_nothing_is_available_before_start() -> None:
    box = Sandbox()
    with pytest.raises(SandboxError, match="has not been started"):
        _ = box.environment
    with pytest.raises(SandboxError, match="has not been started"):
        _ = box.aws_config
    box.stop()
    assert box.startup_ms is None


def test_activate_replaces_the_aws_environment_and_restores_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production-admin")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "stale-token")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "https://s3.example.com")
    monkeypatch.setenv("NO_PROXY", "corp.example.com")
    monkeypatch.delenv("no_proxy", raising=False)
    before = dict(os.environ)

    with Sandbox() as box, box.activate() as applied:
        inside = dict(os.environ)

    aws_inside = {k: v for k, v in inside.items() if k.startswith("AWS_")}
    assert aws_inside == {k: v for k, v in applied.items() if k.startswith("AWS_")}
    assert aws_inside["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert (inside["NO_PROXY"], inside["no_proxy"]) == ("corp.example.com,127.0.0.1", "127.0.0.1")
    assert dict(os.environ) == before


# Starts a sandbox in a process whose own AWS setup names a profile that does not exist, and hands
# box.environment to a child process: the child must reach the sandbox as the bot, and the services it is
# first to use (moto creates their backends on demand) must not trip over the parent's profile.
_PARENT = """
import os, subprocess, sys
from diagnostics.sandbox import Sandbox
child = (
    "import boto3; print(boto3.client('sts').get_caller_identity()['Arn']); "
    "print(boto3.client('sqs').list_queues().get('QueueUrls', []))"
)
with Sandbox() as box:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env = {**clean, **box.environment}
    out = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, text=True)
sys.stdout.write(out.stdout)
sys.stderr.write(out.stderr)
sys.exit(out.returncode)
"""


def test_its_environment_alone_points_another_process_at_the_sandbox() -> None:
    hostile = {"AWS_PROFILE": "no-such-profile", "AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIAREALACCOUNTKEY00"}
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    out = subprocess.run(
        [sys.executable, "-c", _PARENT],
        cwd=ROOT,
        env={**clean, **hostile},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [BOT_USER_ARN, "[]"]


def test_importing_the_package_does_not_import_moto() -> None:
    code = "import sys, diagnostics.sandbox; print('moto' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_without_moto_it_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    with pytest.raises(SandboxUnavailable, match="moto, which is not installed") as caught:
        Sandbox().start()
    assert INSTALL_HINT in str(caught.value)


@pytest.mark.parametrize("version", ["4.2.14", "5.1.9", "6.0.0"])
def test_an_unsupported_moto_is_named(monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    monkeypatch.setattr(importlib.metadata, "version", lambda name: version)
    with pytest.raises(SandboxUnavailable, match=rf"needs moto 5\.2 or a later 5\.x release, not {version}"):
        Sandbox().start()


def test_a_broken_moto_install_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(diagnostics.sandbox, "embedded", raising=False)
    monkeypatch.setitem(sys.modules, "diagnostics.sandbox.embedded", None)
    with pytest.raises(SandboxUnavailable, match="cannot load moto's server") as caught:
        Sandbox().start()
    assert INSTALL_HINT in str(caught.value)


def test_a_server_that_cannot_listen_is_reported_and_released(monkeypatch: pytest.MonkeyPatch) -> None:
    from diagnostics.sandbox import embedded

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(99, "Cannot assign requested address")

    monkeypatch.setattr(embedded, "make_server", refuse)
    with pytest.raises(SandboxError, match=r"could not start its server: could not listen on 127\.0\.0\.1"):
        Sandbox().start()
    monkeypatch.undo()
    with Sandbox() as box:
        assert box.running
