"""`rates check --traffic` against a real meter.requests: unknown models and tiers the model does not offer."""

from __future__ import annotations

from datetime import UTC, datetime

from typer.testing import CliRunner

from pricing import load_rates
from pricing.lint import missing_rates
from store.pricing_reads import distinct_provider_model_tiers
from tests.factories import Conn, add_request, make_workspace
from workers.cli_rates import rates_app

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
