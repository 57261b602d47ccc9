"""The migration runner: ordered, idempotent, refuses edited files, can leave `meter` to its owner."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from core.errors import ConfigError
from store.migrate import Migration, bundled_migrations, migrate
from workers.embedded import drop_database, recreate_database, with_database


@pytest.fixture
def empty_db(database_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    admin = with_database(database_url, "postgres")
    recreate_database(admin, "halton_migrate_test")
    with psycopg.connect(with_database(database_url, "halton_migrate_test"), autocommit=True) as conn:
        yield conn
    drop_database(admin, "halton_migrate_test")


def schemas(conn: psycopg.Connection[tuple[object, ...]]) -> set[str]:
    return {str(row[0]) for row in conn.execute("select nspname from pg_namespace").fetchall()}


def test_skip_meter_creates_only_the_analysis_schema(empty_db: psycopg.Connection[tuple[object, ...]]) -> None:
    applied = migrate(empty_db, include_meter=False)
    assert "meter" not in schemas(empty_db) and "analysis" in schemas(empty_db)
    assert applied == [m.version for m in bundled_migrations() if not m.creates_meter]


def test_an_edited_applied_migration_is_refused(empty_db: psycopg.Connection[tuple[object, ...]]) -> None:
    migrate(empty_db)
    edited = [Migration(m.version, m.name, m.sql + "\n-- edited") for m in bundled_migrations()]
    with pytest.raises(ConfigError, match="was edited after it was applied"):
        migrate(empty_db, edited)


def test_a_new_migration_is_applied_once(empty_db: psycopg.Connection[tuple[object, ...]]) -> None:
    migrate(empty_db)
    extra = [*bundled_migrations(), Migration("9999", "probe", "create table analysis.probe (x int)")]
    assert migrate(empty_db, extra) == ["9999"]
    assert migrate(empty_db, extra) == []


def test_the_daily_totals_migration_fills_them_from_the_rollup_already_there(
        empty_db: psycopg.Connection[tuple[object, ...]]) -> None:
    before = [m for m in bundled_migrations() if m.version < "0009"]
    migrate(empty_db, before)
    empty_db.execute(
        """insert into analysis.daily_spend (workspace_id, day, project_id, device_id, provider, model, service_tier,
               requests, errors, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens,
               reasoning_tokens, cost_nanos)
           values (1, '2026-10-01', 7, 1, 'openai', 'gpt-5', 'standard', 2, 0, 0, 0, 0, 0, 0, 10),
                  (1, '2026-10-01', 7, 2, 'openai', 'gpt-5-mini', 'standard', 3, 0, 0, 0, 0, 0, 0, 20),
                  (1, '2026-10-01', null, 1, 'openai', 'gpt-5', 'standard', 4, 0, 0, 0, 0, 0, 0, 40),
                  (1, '2026-10-01', null, 2, 'openai', 'gpt-5', 'batch', 5, 0, 0, 0, 0, 0, 0, 80),
                  (1, '2026-10-02', 7, 1, 'anthropic', 'claude-haiku-4-5', 'standard', 6, 0, 0, 0, 0, 0, 0, 160)""")
    assert migrate(empty_db, bundled_migrations())[0] == "0009"
    assert empty_db.execute("""select day::text, project_id, provider, requests, cost_nanos from analysis.daily_totals
                               order by day, project_id nulls first""").fetchall() == [
        ("2026-10-01", None, "openai", 9, 120), ("2026-10-01", 7, "openai", 5, 30),
        ("2026-10-02", 7, "anthropic", 6, 160)]


RECOMMENDATION = """insert into analysis.recommendations (workspace_id, fingerprint, check_id, title, rationale,
    monthly_saving_nanos, confidence, request_count, sample_request_ids, evidence, status, first_seen_at,
    last_seen_at, run_id{columns})
  values (1, %s, 'batch-api', 't', 'r', %s, 'high', 1, '{{}}', '{{}}', 'open', now(), now(), 0{values})"""


def test_a_recommendations_money_cannot_contradict_itself(empty_db: psycopg.Connection[tuple[object, ...]]) -> None:
    migrate(empty_db, [m for m in bundled_migrations() if m.version < "0016"])
    # rows as writers stored them before 0016: relying on the defaults ('monthly', impact 0), or contradictory
    stored = [("default", 45_000_000_000, None), ("monthly-differs", 30_000_000_000, ("monthly", 20_000_000_000)),
              ("loop-saving", 6_690_000_000, ("one_off", 0)), ("spike-both", 5_000_000_000, ("anomaly", 9_000_000_000)),
              ("consistent", 7_000_000_000, ("monthly", 7_000_000_000))]
    for fingerprint, saving, kind in stored:
        columns, values = (", recurrence, impact_nanos", ", %s, %s") if kind else ("", "")
        empty_db.execute(RECOMMENDATION.format(columns=columns, values=values), (fingerprint, saving, *(kind or ())))
    migrate(empty_db, bundled_migrations())
    assert empty_db.execute("""select fingerprint, recurrence, impact_nanos, monthly_saving_nanos
                               from analysis.recommendations order by id""").fetchall() == [
        ("default", "monthly", 45_000_000_000, 45_000_000_000),  # the quote it stated is its impact
        ("monthly-differs", "monthly", 20_000_000_000, 20_000_000_000),  # the impact, as the fleet writes both
        ("loop-saving", "one_off", 6_690_000_000, 0),  # its money kept as what it is about, not a saving
        ("spike-both", "anomaly", 9_000_000_000, 0),
        ("consistent", "monthly", 7_000_000_000, 7_000_000_000)]
    with pytest.raises(psycopg.errors.CheckViolation, match="recommendations_monthly_saving_is_the_monthly_impact"):
        empty_db.execute(RECOMMENDATION.format(columns=", recurrence, impact_nanos", values=", 'monthly', 0"),
                         ("monthly-without-impact", 45_000_000_000))
    with pytest.raises(psycopg.errors.CheckViolation):
        empty_db.execute(RECOMMENDATION.format(columns=", recurrence, impact_nanos", values=", 'one_off', %s"),
                         ("loop-as-a-saving", 6_690_000_000, 6_690_000_000))
    with pytest.raises(psycopg.errors.NotNullViolation):  # no default: a writer states the kind and the money
        empty_db.execute(RECOMMENDATION.format(columns="", values=""), ("no-kind", 0))
    with pytest.raises(psycopg.errors.NotNullViolation):
        empty_db.execute(RECOMMENDATION.format(columns=", recurrence", values=", 'monthly'"), ("no-impact", 0))
