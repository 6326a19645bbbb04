"""The Kubernetes and Compose examples run what the app expects: replicas on shared Redis, probes on /healthz."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from app import DEFAULT_PORT, Settings
from diagnostics.state import StateUrl

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"


def _load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def _container() -> dict[str, Any]:
    (container,) = _load(K8S / "deployment.yaml")["spec"]["template"]["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def test_the_deployment_runs_several_replicas_on_shared_state() -> None:
    deployment = _load(K8S / "deployment.yaml")
    assert deployment["spec"]["replicas"] >= 2
    env = {e["name"]: e for e in _container()["env"]}
    # Several replicas need the shared backend: the state URL comes from the Secret, and the example is Redis.
    assert env["IAMWHY_STATE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "iamwhy", "key": "state-url"}
    example = _load(K8S / "secret.example.yaml")["stringData"]
    assert StateUrl.parse(example["state-url"]).scheme == "redis"
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "IAMWHY_EXTERNAL_ID"):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "iamwhy"
        assert "value" not in env[name]
    plain = {name: e["value"] for name, e in env.items() if "value" in e}
    secrets = {name: "replace-me" for name in env if name not in plain}
    settings = Settings.from_env(
        {
            **plain,
            **secrets,
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "a" * 32,
            "IAMWHY_STATE_URL": example["state-url"],
        }
    )
    assert settings.port == DEFAULT_PORT


def test_probes_ask_healthz_on_the_served_port_and_resources_are_bounded() -> None:
    container = _container()
    (port,) = container["ports"]
    assert port["containerPort"] == DEFAULT_PORT
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert container["resources"]["requests"]["memory"]
    assert container["resources"]["limits"]["memory"]
    pod = _load(K8S / "deployment.yaml")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_the_service_selects_the_deployments_pods() -> None:
    service = _load(K8S / "service.yaml")
    labels = _load(K8S / "deployment.yaml")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_compose_runs_one_container_with_redis() -> None:
    compose = _load(ROOT / "deploy" / "docker-compose.yml")
    iamwhy, redis = compose["services"]["iamwhy"], compose["services"]["redis"]
    url = StateUrl.parse(iamwhy["environment"]["IAMWHY_STATE_URL"])
    assert (url.scheme, url.describe()) == ("redis", "redis://redis:6379/0")
    assert iamwhy["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "noeviction" in redis["command"]
