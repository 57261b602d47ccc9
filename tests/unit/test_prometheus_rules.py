"""deploy/prometheus/alerts.yml: the alerts issue 18 asks for are there, every halton_* series a rule reads is
one a worker exports (a renamed metric would silently never fire), and every runbook link lands on a heading."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import Counter, Histogram

from workers.runtime import metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def exported_series() -> set[str]:
    families = [family for value in vars(metrics).values() if isinstance(value, (Counter, Histogram))
                for family in value.describe()]
    families += metrics.FleetCollector("redis://unused", [], "postgresql://unused").describe()
    return {family.name + suffix for family in families for suffix in SUFFIXES[family.type]}


def anchors(markdown: str) -> set[str]:
    headings = re.findall(r"^#+ (.+)$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_the_alerts_of_the_issue_are_there() -> None:
    names = {rule["alert"] for rule in rules()}
    assert {"HaltonNoWorkerUp", "HaltonTaskFailures", "HaltonRefreshLag", "HaltonQueueGrowing"} <= names
    by_name = {rule["alert"]: rule for rule in rules()}
    assert "26 * 3600" in by_name["HaltonRefreshLag"]["expr"]
    assert "[10m]" in by_name["HaltonTaskFailures"]["expr"]
    assert "[30m]" in by_name["HaltonQueueGrowing"]["expr"]


def test_every_series_a_rule_reads_is_one_a_worker_exports() -> None:
    exported = exported_series()
    assert {"halton_tasks_total", "halton_stage_seconds_count", "halton_queue_length",
            "halton_refresh_lag_seconds"} <= exported
    read = {name for rule in rules() for name in re.findall(r"\bhalton_[a-z_]+", rule["expr"])}
    assert read and read <= exported, read - exported


def test_every_rule_says_what_it_means_and_links_a_runbook_heading() -> None:
    headings = anchors((DEPLOY / "runbook.md").read_text())
    for rule in rules():
        annotations = rule["annotations"]
        assert annotations["summary"] and annotations["description"], rule["alert"]
        page, _, anchor = annotations["runbook"].partition("#")
        assert page == "deploy/runbook.md" and anchor in headings, rule["alert"]
