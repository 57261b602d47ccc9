"""deploy/ hands each process only the credentials its work needs (issue 16, docs/SECURITY.md):
migrate the owner's; workers and beat the fleet's role; the key that decrypts provider admin keys only
the billing worker, the one queue that decrypts them; the PDF worker neither the owner nor the key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.errors import ConfigError
from workers.app.queues import TASK_FAMILIES, Family
from workers.settings import get_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
OWNER_DB, FLEET_DB, BROKER, KEY = "halton-owner-db", "halton-fleet-db", "halton-broker", "halton-encryption-key"
# the tasks that decrypt with the fleet's key (workers/runtime/billing_keys.py: admin keys, alert channels): their queue
# alone may hold the key
DECRYPTING_TASKS = ("halton.pull_billing", "halton.deliver_alerts", "halton.export_workspace", "halton.export")


def manifests() -> dict[str, dict[str, Any]]:
    docs = yaml.safe_load_all((DEPLOY / "k8s" / "fleet.yaml").read_text())
    return {doc["metadata"]["name"]: doc for doc in docs if doc}


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = doc["spec"]["template"]["spec"]
    return spec


def secrets_of(doc: dict[str, Any]) -> set[str]:
    """Every Secret a pod can read: envFrom, env valueFrom and volumes."""
    spec = pod_spec(doc)
    found = {volume["secret"]["secretName"] for volume in spec.get("volumes", []) if "secret" in volume}
    for container in spec["containers"] + spec.get("initContainers", []):
        found |= {source["secretRef"]["name"] for source in container.get("envFrom", []) if "secretRef" in source}
        found |= {var["valueFrom"]["secretKeyRef"]["name"] for var in container.get("env", [])
                  if "secretKeyRef" in var.get("valueFrom", {})}
    return found


def queues_of(doc: dict[str, Any]) -> str:
    args: list[str] = pod_spec(doc)["containers"][0]["args"]
    return args[args.index("--queues") + 1] if "--queues" in args else ""


def test_the_decrypting_tasks_all_run_on_the_billing_queue() -> None:
    assert {TASK_FAMILIES[task] for task in DECRYPTING_TASKS} == {Family.BILLING}


def test_kubernetes_migrate_alone_holds_the_owner() -> None:
    pods = manifests()
    assert secrets_of(pods["halton-migrate"]) == {OWNER_DB, "halton-sentry"}
    holders = {name for name, doc in pods.items() if doc["kind"] != "ConfigMap" and OWNER_DB in secrets_of(doc)}
    assert holders == {"halton-migrate"}


def test_kubernetes_workers_and_beat_connect_as_the_fleet() -> None:
    pods = manifests()
    fleet_pods = {name for name, doc in pods.items() if doc["kind"] == "Deployment"}
    assert fleet_pods == {"halton-worker-analysis", "halton-worker-heavy", "halton-worker-billing", "halton-worker-pdf",
                          "halton-beat"}
    for name in fleet_pods:
        assert {FLEET_DB, BROKER} <= secrets_of(pods[name]), name


def test_kubernetes_only_the_billing_worker_holds_the_encryption_key() -> None:
    pods = manifests()
    holders = {name for name, doc in pods.items() if doc["kind"] != "ConfigMap" and KEY in secrets_of(doc)}
    assert holders == {"halton-worker-billing"}
    assert queues_of(pods["halton-worker-billing"]) == Family.BILLING.value


def test_kubernetes_the_pdf_worker_holds_neither_owner_nor_key() -> None:
    assert secrets_of(manifests()["halton-worker-pdf"]) == {FLEET_DB, BROKER, "halton-sentry"}


def test_kubernetes_pods_run_in_production_without_an_api_token() -> None:
    pods = manifests()
    assert pods["halton-fleet-config"]["data"]["HALTON_ENV"] == "production"
    for name, doc in pods.items():
        if doc["kind"] == "ConfigMap":
            continue
        spec = pod_spec(doc)
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert {"configMapRef": {"name": "halton-fleet-config"}} in spec["containers"][0]["envFrom"], name


def test_the_image_is_production_unless_told_otherwise() -> None:
    assert "ENV HALTON_ENV=production" in (DEPLOY / "Dockerfile").read_text().splitlines()


# --- compose -------------------------------------------------------------------------------------------

def compose_services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    return services


def interpolated(value: str) -> str:
    """compose's ${NAME:?…} / ${NAME:-…} with a stand-in value per variable, as an operator's .env gives."""
    return re.sub(r"\$\{([A-Z_]+)[^}]*\}", lambda m: f"x-{m.group(1).lower().replace('_', '-')}", value)


def fleet_services() -> dict[str, dict[str, str]]:
    built = {name: service for name, service in compose_services().items()
             if "build" in service and name != "migrate"}
    return {name: {key: interpolated(str(value)) for key, value in service["environment"].items()}
            for name, service in built.items()}


def test_compose_migrate_alone_logs_in_as_the_owner() -> None:
    services = compose_services()
    assert services["migrate"]["environment"]["DATABASE_URL"].startswith("postgresql://halton:")
    for name, env in fleet_services().items():
        assert env["DATABASE_URL"].startswith("postgresql://halton_fleet:x-halton-fleet-db-password@"), name
        assert "HALTON_OWNER_DATABASE_URL" not in env and "HALTON_OWNER_DB_PASSWORD" not in str(env), name


def test_compose_only_the_billing_worker_holds_the_encryption_key() -> None:
    services = fleet_services()
    assert set(services) == {"worker-analysis", "worker-heavy", "worker-billing", "worker-pdf", "beat"}
    holding = {name for name, env in services.items() if any(n.startswith("HALTON_ENCRYPTION_KEY") for n in env)}
    assert holding == {"worker-billing"}  # the single key and the list of keys of a rotation
    assert "--queues" in compose_services()["worker-billing"]["command"]
    assert Family.BILLING.value in compose_services()["worker-billing"]["command"]


def test_compose_redis_requires_the_password_the_fleet_sends() -> None:
    command = compose_services()["redis"]["command"]
    assert interpolated(command[command.index("--requirepass") + 1]) == "x-halton-redis-password"


@pytest.mark.parametrize("service", ["worker-analysis", "worker-heavy", "worker-billing", "worker-pdf", "beat"])
def test_compose_settings_pass_production_checks(monkeypatch: pytest.MonkeyPatch, service: str) -> None:
    """What each fleet service receives loads as production settings (a broker with a password)."""
    env = fleet_services()[service]
    for name in ("HALTON_ENCRYPTION_KEY", "HALTON_ENCRYPTION_KEYS"):
        if name in env:  # a well-formed Fernet key in place of the operator's (the list holds the same one)
            env[name] = "A" * 43 + "="
    for name in ("REDIS_URL", "SENTRY_DSN", "HALTON_ENCRYPTION_KEY", "HALTON_ENCRYPTION_KEYS",
                 "HALTON_ALLOW_PRIVILEGED_WORKER"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        if value:
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        settings = get_settings()
    except ConfigError as error:
        pytest.fail(f"{service}: {error}")
    finally:
        get_settings.cache_clear()
    assert settings.environment == "production"
