"""The migration runner: ordered, idempotent, refuses edited files, can leave `meter` to its owner."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from core.errors import ConfigError
from store.migrate import Migration, bundled_migrations, migrate
from workers.runtime.embedded import drop_database, recreate_database, with_database


@pytest.fixture
def empty_db(database_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    # a name of this run alone: runs on one shared server (parallel checkouts) must not drop each other's
    name = f"halton_migrate_test_{uuid.uuid4().hex[:10]}"
    admin = with_database(database_url, "postgres")
    recreate_database(admin, name)
    with psycopg.connect(with_database(database_url, name), autocommit=True) as conn:
        yield conn
    drop_database(admin, name)


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


def test_the_report_counting_migration_fills_the_latest_arrival_of_the_days_already_rolled_up(
        empty_db: psycopg.Connection[tuple[object, ...]]) -> None:
    migrate(empty_db, [m for m in bundled_migrations() if m.version < "0014"])
    empty_db.execute(
        """insert into meter.requests (workspace_id, device_id, project_id, provider, model, started_at, status_code,
               input_tokens, output_tokens, cost_nanos, rates_version, synced_at)
           values (1, 1, 7, 'openai', 'gpt-5', '2026-10-01 09:00+00', 200, 1, 1, 10, 'v', '2026-10-01 09:01+00'),
                  (1, 1, 7, 'openai', 'gpt-5', '2026-10-01 10:00+00', 200, 1, 1, 20, 'v', '2026-11-20 01:55+00'),
                  (1, 1, null, 'openai', 'gpt-5', '2026-10-01 11:00+00', 200, 1, 1, 40, 'v', '2026-10-02 08:00+00'),
                  (1, 1, null, 'openai', 'gpt-5', '2026-10-01 12:00+00', 200, 1, 1, 80, 'v', '2026-11-20 03:00+00')""")
    empty_db.execute("""insert into analysis.daily_totals (workspace_id, day, project_id, provider, requests,
                            cost_nanos)
                        values (1, '2026-10-01', 7, 'openai', 2, 30), (1, '2026-10-01', null, 'openai', 1, 40)""")
    empty_db.execute("""insert into analysis.rollup_state (workspace_id, synced_through, window_start, window_end,
                            run_id, updated_at)
                        values (1, '2026-11-20 02:00+00', '2022-01-01', '2026-11-20', 1, now())""")
    # a report rendered before the migration: it keeps 0012's probe (the unattributed request came after it)
    empty_db.execute("""insert into analysis.reports (request_id, workspace_id, status, counted_through, counted_from,
                            counted_to)
                        values (5, 1, 'succeeded', '2026-11-20 01:55+00', '2026-10-01', '2026-11-01')""")
    assert migrate(empty_db, [m for m in bundled_migrations() if m.version <= "0014"]) == ["0014"]
    # the latest arrival the rollup counted per row, and how many arrived within the margin before its refresh
    assert empty_db.execute("""select project_id, (last_synced_at at time zone 'UTC')::text, margin_requests
                               from analysis.daily_totals order by project_id nulls first""").fetchall() == [
        (None, "2026-10-02 08:00:00", 0), (7, "2026-11-20 01:55:00", 1)]
    assert empty_db.execute("select (settled_through at time zone 'UTC')::text from analysis.rollup_state"
                            ).fetchone() == ("2026-11-20 01:50:00",)
    assert empty_db.execute("select later_requests from analysis.report_freshness").fetchone() == (True,)
