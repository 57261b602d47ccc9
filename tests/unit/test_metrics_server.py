"""The worker's metrics server listens where HALTON_METRICS_ADDR says, and an address it cannot take is one
line naming both settings (workers.runtime.metrics.start_metrics_server)."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path

import pytest

from core.errors import ConfigError
from workers.runtime import metrics

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # the scrape-time sources answer nothing: the server still serves
UNREACHABLE_DB = "postgresql://nobody@127.0.0.1:1/none"


@pytest.fixture
def multiprocess_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    return tmp_path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def collector() -> metrics.FleetCollector:
    return metrics.FleetCollector(UNREACHABLE_REDIS, ["analysis"], UNREACHABLE_DB, timeout=0.5)


def test_metrics_are_served_on_the_named_address(multiprocess_dir: Path) -> None:
    port = free_port()
    metrics.start_metrics_server(port, collector(), addr="127.0.0.1")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        body = answer.read().decode()
    assert 'halton_metrics_source_up{source="redis"} 0.0' in body


def test_an_address_not_of_this_host_is_refused_naming_both_settings(multiprocess_dir: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        metrics.start_metrics_server(free_port(), collector(), addr="192.0.2.1")  # TEST-NET-1: never local
    assert str(refused.value).startswith("HALTON_METRICS_PORT/HALTON_METRICS_ADDR: cannot serve metrics on "
                                          "192.0.2.1 port ")
