"""`rates check --traffic` against a real meter.requests: unknown models and tiers the model does not offer."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import psycopg
from psycopg.conninfo import make_conninfo
from typer.testing import CliRunner

from pricing import load_rates
from pricing.lint import missing_rates
from store.pricing_reads import distinct_provider_model_tiers
from tests.factories import Conn, add_request, make_workspace
from workers.cli.rates import rates_app

AT = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _seed(conn: Conn) -> None:
    scene = make_workspace(conn)
    other = make_workspace(conn, slug="globex")  # the read crosses workspaces on purpose
    add_request(conn, scene, AT, model="claude-haiku-4-5", provider="anthropic")  # priced: no gap
    add_request(conn, scene, AT, model="claude-haiku-4-5", provider="anthropic", service_tier="batch")  # offered
    add_request(conn, scene, AT, model="gpt-5-2025-08-07", provider="openai", service_tier="flex")  # offered
    add_request(conn, other, AT, model="claude-haiku-4-5", provider="anthropic", service_tier="flex")  # not offered
    add_request(conn, scene, AT, model="gpt-99-preview", provider="openai")  # unknown model
    add_request(conn, other, AT, model="gpt-99-preview", provider="openai", service_tier="priority")


def test_the_read_returns_each_provider_model_and_tier_once_across_workspaces(db_conn: Conn) -> None:
    _seed(db_conn)
    assert distinct_provider_model_tiers(db_conn) == [
        ("anthropic", "claude-haiku-4-5", "batch"), ("anthropic", "claude-haiku-4-5", "flex"),
        ("anthropic", "claude-haiku-4-5", "standard"), ("openai", "gpt-5-2025-08-07", "flex"),
        ("openai", "gpt-99-preview", "priority"), ("openai", "gpt-99-preview", "standard"),
    ]


def test_an_unknown_model_and_a_tier_the_model_does_not_offer_are_both_reported(db_conn: Conn) -> None:
    _seed(db_conn)
    gaps = missing_rates(load_rates(), distinct_provider_model_tiers(db_conn))
    assert [(g.provider, g.model, g.service_tier) for g in gaps] == [
        ("anthropic", "claude-haiku-4-5", "flex"),
        ("openai", "gpt-99-preview", None),  # once for the model, whatever tiers it was sent on
    ]


def test_rates_check_traffic_lists_both_gaps_and_exits_1(db_conn: Conn, database_url: str) -> None:
    _seed(db_conn)
    result = CliRunner().invoke(rates_app, ["check", "--traffic", "--database-url", database_url])
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [
        "traffic: anthropic claude-haiku-4-5 [flex]: claude-haiku-4-5 does not offer the 'flex' tier in version "
        "2026-11-26 (offers standard, batch)",
        "traffic: openai gpt-99-preview: no rate in any version",
    ]


def test_rates_check_traffic_passes_when_everything_is_priced(db_conn: Conn, database_url: str) -> None:
    scene = make_workspace(db_conn)
    add_request(db_conn, scene, AT, model="claude-haiku-4-5", provider="anthropic", service_tier="batch")
    result = CliRunner().invoke(rates_app, ["check", "--traffic", "--database-url", database_url])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ")


def test_check_traffic_before_migrate_says_run_migrate_in_one_line(database_url: str) -> None:
    name = f"halton_unmigrated_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f"create database {name}")
        try:
            empty = make_conninfo(database_url, dbname=name)
            done = subprocess.run([sys.executable, "-m", "workers.cli", "rates", "check", "--traffic"],
                                  env={**os.environ, "DATABASE_URL": empty}, capture_output=True, text=True,
                                  timeout=60)
        finally:
            admin.execute(f"drop database {name} with (force)")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: meter.requests does not exist yet; run `halton-workers migrate` first"]
