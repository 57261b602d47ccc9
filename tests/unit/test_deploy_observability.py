"""deploy/'s observability and scaling (issue 18 item 4) read what the code exports and consumes, so a renamed
metric or queue breaks a test here rather than a dashboard or an autoscaler in production: every halton_* series
the Grafana dashboard reads is one a worker exports; every Redis list a KEDA trigger reads is one of a queue the
scaled Deployment consumes (kombu's naming, priorities included); the scrape port is the one the workers serve;
Flower is pinned, behind basic auth, and not published beyond the host's loopback."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from tests.unit.test_deploy_least_privilege import compose_services, manifests, queues_of
from tests.unit.test_prometheus_rules import exported_series, rules
from workers.app.queues import HEAVY_PRIORITY, PRIORITY_STEPS, priority_lists, worker_queues
from workers.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ISSUE_METRICS = ("halton_tasks_total", "halton_task_seconds", "halton_stage_seconds", "halton_queue_length",
                 "halton_rows_processed_total", "halton_refresh_lag_seconds", "halton_alert_deliveries_total")
SCRAPE_JOB = "halton-workers"


def default_settings() -> Settings:
    return Settings(database_url="postgresql://x@db/h", redis_url="redis://r:6379/0")


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DEPLOY / "grafana" / "halton-fleet.json").read_text())
    return loaded


def dashboard_queries() -> list[str]:
    board = dashboard()
    queries = [target["expr"] for panel in board["panels"] for target in panel.get("targets", [])]
    for variable in board["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            queries.append(query["query"])
    return queries


def series_in(expression: str) -> set[str]:
    return set(re.findall(r"\bhalton_[a-z_]+", expression))


def test_every_series_the_dashboard_reads_is_one_a_worker_exports() -> None:
    read = {name for query in dashboard_queries() for name in series_in(query)}
    exported = exported_series()
    assert read and read <= exported, read - exported


def test_the_dashboard_shows_every_metric_of_the_issue() -> None:
    read = {name for query in dashboard_queries() for name in series_in(query)}
    for metric in ISSUE_METRICS:  # a histogram is read through its _bucket/_sum/_count series
        assert any(name == metric or name.startswith(f"{metric}_") for name in read), metric


def test_the_dashboard_and_the_alerts_name_the_scrape_job_prometheus_scrapes() -> None:
    jobs = {job for query in dashboard_queries() + [rule["expr"] for rule in rules()]
            for job in re.findall(r'job="([^"]+)"', query)}
    assert jobs == {SCRAPE_JOB}
    for config in ("prometheus.yml", "kubernetes-scrape.yml"):
        scraped = yaml.safe_load((DEPLOY / "prometheus" / config).read_text())["scrape_configs"]
        assert [job["job_name"] for job in scraped] == [SCRAPE_JOB], config
    assert yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())["rule_files"] == ["alerts.yml"]


# --- KEDA ------------------------------------------------------------------------------------------------

def scaled_objects() -> dict[str, dict[str, Any]]:
    docs = [doc for doc in yaml.safe_load_all((DEPLOY / "k8s" / "keda.yaml").read_text()) if doc]
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "ScaledObject"}


def queue_of_list(name: str, queues: list[str]) -> str | None:
    """The queue whose Redis list `name` is (any priority step), or None."""
    owners = [queue for queue in queues if name in priority_lists(queue)]
    return owners[0] if owners else None


def test_every_keda_trigger_reads_a_list_of_a_queue_its_deployment_consumes() -> None:
    queues = worker_queues(default_settings())
    deployments = {name: doc for name, doc in manifests().items() if doc["kind"] == "Deployment"}
    scaled = scaled_objects()
    assert scaled, "no ScaledObject"
    for name, scaler in scaled.items():
        target = scaler["spec"]["scaleTargetRef"]["name"]
        assert target in deployments, f"{name} scales {target}, which fleet.yaml does not declare"
        consumed = set(queues_of(deployments[target]).split(","))
        assert consumed <= set(queues), f"{target} consumes a queue no worker knows: {consumed - set(queues)}"
        triggers = scaler["spec"]["triggers"]
        assert triggers and all(trigger["type"] == "redis" for trigger in triggers), name
        read = {queue_of_list(trigger["metadata"]["listName"], queues) for trigger in triggers}
        assert read == consumed, f"{name} reads the lists of {read}, its Deployment consumes {consumed}"
        for trigger in triggers:
            assert trigger["authenticationRef"]["name"] == "halton-broker", name
            assert int(trigger["metadata"]["listLength"]) > 0, name


def test_every_worker_deployment_but_none_other_is_scaled_by_keda() -> None:
    workers = {name for name, doc in manifests().items() if doc["kind"] == "Deployment" and name != "halton-beat"}
    assert {scaler["spec"]["scaleTargetRef"]["name"] for scaler in scaled_objects().values()} == workers


def test_the_heavy_scaler_reads_the_list_where_the_fanout_sends_large_workspaces() -> None:
    settings = default_settings()
    step = max(s for s in PRIORITY_STEPS if s <= HEAVY_PRIORITY)
    heavy_list = priority_lists(settings.queue_heavy)[PRIORITY_STEPS.index(step)]
    heavy_deployments = [name for name, doc in manifests().items()
                         if doc["kind"] == "Deployment" and queues_of(doc) == settings.queue_heavy]
    assert heavy_deployments == ["halton-worker-heavy"]
    lists = {trigger["metadata"]["listName"] for trigger in scaled_objects()["halton-worker-heavy"]["spec"]["triggers"]}
    assert heavy_list in lists and heavy_list != settings.queue_heavy


# --- the scrape port ---------------------------------------------------------------------------------------

def test_kubernetes_workers_serve_metrics_on_the_declared_port() -> None:
    pods = manifests()
    port = int(pods["halton-fleet-config"]["data"]["HALTON_METRICS_PORT"])
    for name, doc in pods.items():
        if doc["kind"] != "Deployment" or name == "halton-beat":
            continue
        template = doc["spec"]["template"]
        container = template["spec"]["containers"][0]
        assert {"name": "metrics", "containerPort": port} in container["ports"], name
        assert template["metadata"]["labels"]["app.kubernetes.io/component"] == "worker", name
        assert template["metadata"]["annotations"]["prometheus.io/port"] == str(port), name


def test_compose_workers_serve_metrics_to_the_network_and_prometheus_scrapes_them() -> None:
    services = compose_services()
    workers = {name for name, service in services.items() if service.get("command", [None])[0] == "worker"}
    assert workers == {"worker-analysis", "worker-heavy", "worker-billing", "worker-pdf"}
    for name in workers:
        port = services[name]["environment"]["HALTON_METRICS_PORT"]
        assert services[name]["expose"] == [port] and "ports" not in services[name], name
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())["scrape_configs"][0]
    (sd,) = scrape["dns_sd_configs"]
    assert set(sd["names"]) == workers
    assert {str(sd["port"])} == {services[name]["environment"]["HALTON_METRICS_PORT"] for name in workers}


def test_flower_is_pinned_behind_basic_auth_and_on_the_loopback_only() -> None:
    services = compose_services()
    flower = services["flower"]
    image, _, tag = flower["image"].partition(":")
    assert image == "mher/flower" and re.fullmatch(r"\d+\.\d+\.\d+", tag), flower["image"]
    assert re.fullmatch(r"\$\{HALTON_FLOWER_BASIC_AUTH:\?[^}]+\}", flower["environment"]["FLOWER_BASIC_AUTH"])
    assert all(port.startswith("127.0.0.1:") for port in flower["ports"]), flower["ports"]
    # the broker only: no database URL, no encryption key
    assert set(flower["environment"]) == {"CELERY_BROKER_URL", "FLOWER_BASIC_AUTH"}
    for name, service in services.items():  # nothing else published beyond the loopback either
        assert all(str(port).startswith("127.0.0.1:") for port in service.get("ports", [])), name
