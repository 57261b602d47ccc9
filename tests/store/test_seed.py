"""seed_workspace against a real Postgres: the rows, the statements, the patterns, append, refusals."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from pricing import load_rates
from store import seed_writes
from synthetic import PLANTS, SeedOptions, SeedReport, seed_workspace
from synthetic.catalog import DEVICES, PROJECTS
from synthetic.options import DEFAULT_BILLING_VARIANCE
from synthetic.rows import generate_rows

Conn = psycopg.Connection[Any]

END = dt.date(2026, 11, 2)  # the last seeded day is 2026-11-01: two months, the second a single day


def seed(conn: Conn, slug: str = "acme", days: int = 8, **options: Any) -> SeedReport:
    options.setdefault("end_date", END)
    return seed_workspace(conn, SeedOptions(slug=slug, days=days, requests_per_day=300, seed=5, **options))


def one(conn: Conn, sql: str, *params: Any) -> tuple[Any, ...]:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return tuple(row)


def scalar(conn: Conn, sql: str, *params: Any) -> Any:
    return one(conn, sql, *params)[0]


def entry(report: SeedReport, pattern: str) -> dict[str, Any]:
    (found,) = [e for e in report.planted if e["pattern"] == pattern]
    return found


def table_counts(conn: Conn) -> dict[str, int]:
    tables = ("workspaces", "cost_centers", "projects", "devices", "requests", "billing_statements")
    return {t: scalar(conn, f"select count(*) from meter.{t}") for t in tables}


# Every column but the ids, with projects by slug suffix and devices by name.
COMPARABLE = """
    select substr(p.slug, length(w.slug) + 2) as project, d.name as device,
           r.attribution_tier, r.provider, r.model, r.provider_request_id, r.started_at, r.latency_ms,
           r.status_code, r.service_tier, r.input_tokens, r.cache_read_tokens, r.cache_write_tokens,
           r.output_tokens, r.reasoning_tokens, r.max_tokens, r.cost_nanos, r.rates_version,
           r.prompt_hash, r.synced_at
      from meter.requests r join meter.workspaces w on w.id = r.workspace_id
      join meter.devices d on d.id = r.device_id left join meter.projects p on p.id = r.project_id
     where w.slug = %s
"""


def only_in(conn: Conn, left: str, right: str) -> int:
    """Rows of workspace `left` that `right` does not have (as a multiset)."""
    return int(scalar(conn, f"select count(*) from (({COMPARABLE}) except all ({COMPARABLE})) x", left, right))


def test_seed_writes_the_reported_rows_and_its_catalog(db_conn: Conn) -> None:
    report = seed(db_conn)
    ws = report.workspace_id
    assert report.requests == scalar(db_conn, "select count(*) from meter.requests where workspace_id = %s", ws)
    assert report.requests > 8 * 200
    assert report.cost_nanos == scalar(db_conn, "select sum(cost_nanos) from meter.requests where workspace_id = %s",
                                       ws)
    assert scalar(db_conn, "select count(*) from meter.projects where workspace_id = %s", ws) == len(PROJECTS)
    assert scalar(db_conn, "select count(*) from meter.devices where workspace_id = %s", ws) == len(DEVICES)
    assert scalar(db_conn, "select count(*) from meter.cost_centers where workspace_id = %s", ws) == 4
    slugs = {r[0] for r in db_conn.execute("select slug from meter.projects where workspace_id = %s", (ws,))}
    assert {"acme-batch-summariser", "acme-support-bot", "acme-code-review", "acme-search"} <= slugs
    first, last = one(db_conn, "select min(started_at), max(started_at) from meter.requests where workspace_id = %s",
                      ws)
    assert first.date() >= dt.date(2026, 10, 25) and last.date() <= dt.date(2026, 11, 1)


def test_every_column_round_trips_through_copy(db_conn: Conn) -> None:
    options = SeedOptions(slug="acme", days=1, requests_per_day=200, end_date=END)
    report = seed_workspace(db_conn, options)
    day = END - dt.timedelta(days=1)
    rows = generate_rows(options, [day], day, "America/New_York", load_rates()).rows
    stored = db_conn.execute(
        """select d.name, p.slug, r.started_at, r.synced_at, r.input_tokens, r.cache_read_tokens,
                  r.cache_write_tokens, r.output_tokens, r.reasoning_tokens, r.max_tokens, r.cost_nanos,
                  r.rates_version, r.prompt_hash, r.provider_request_id, r.status_code, r.latency_ms,
                  r.service_tier, r.attribution_tier, r.model, r.provider
             from meter.requests r join meter.devices d on d.id = r.device_id
             left join meter.projects p on p.id = r.project_id
            where r.workspace_id = %s order by r.id""", (report.workspace_id,)).fetchall()
    assert len(stored) == len(rows["model"])
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    for i in (0, len(stored) // 2, len(stored) - 1):
        got = stored[i]
        assert got[0] == DEVICES[rows["device"][i]].name
        assert got[1] == (None if rows["project"][i] < 0 else f"acme-{PROJECTS[rows['project'][i]].key}")
        assert (got[2] - epoch) // dt.timedelta(microseconds=1) == rows["started"][i]
        assert (got[3] - epoch) // dt.timedelta(microseconds=1) == rows["synced"][i]
        assert got[4:9] == tuple(int(rows[c][i]) for c in (
            "input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens"))
        assert got[9] == (None if rows["max_tokens"][i] < 0 else rows["max_tokens"][i])
        assert got[10:16] == (rows["cost_nanos"][i], rows["rates_version"][i], rows["prompt_hash"][i],
                              rows["provider_request_id"][i], rows["status"][i], rows["latency_ms"][i])
    sums = one(db_conn, "select sum(input_tokens), sum(output_tokens), sum(latency_ms), count(prompt_hash), "
                        "count(project_id), count(max_tokens) from meter.requests")
    assert sums == (rows["input_tokens"].sum(), rows["output_tokens"].sum(), rows["latency_ms"].sum(),
                    sum(h is not None for h in rows["prompt_hash"]), (rows["project"] >= 0).sum(),
                    (rows["max_tokens"] > 0).sum())


def test_billing_statements_differ_from_logged_spend_by_the_chosen_ratios(db_conn: Conn) -> None:
    report = seed(db_conn)
    logged = dict(((p, m), n) for p, m, n in db_conn.execute(
        """select provider, date_trunc('month', started_at at time zone 'UTC')::date, sum(cost_nanos)
             from meter.requests where workspace_id = %s group by 1, 2""", (report.workspace_id,)).fetchall())
    statements = db_conn.execute(
        """select provider, period, source, raw_text, amount_nanos from meter.billing_statements
            where workspace_id = %s""", (report.workspace_id,)).fetchall()
    assert {(p, m) for p, m, *_ in statements} == set(logged) and len(statements) == 8  # 4 providers x 2 months
    for provider, period, source, raw_text, amount_nanos in statements:
        assert source == "manual" and amount_nanos is None and raw_text.startswith("$")
        billed = Decimal(raw_text.lstrip("$").replace(",", "")) * 10**9
        expected = Decimal(logged[(provider, period)]) * (1 + DEFAULT_BILLING_VARIANCE[provider])
        assert abs(billed - expected) <= 5_000_000, (provider, period)  # within half a cent
    assert len([e for e in report.planted if e["pattern"] == "billing_variance"]) == 8


def test_planted_patterns_are_in_the_database(db_conn: Conn) -> None:
    report = seed(db_conn, days=14)
    ws = report.workspace_id

    loop = entry(report, "runaway_loop")
    devices, count, span = one(
        db_conn, """select array_agg(distinct d.name), count(*), max(started_at) - min(started_at)
                      from meter.requests r join meter.devices d on d.id = r.device_id
                     where r.workspace_id = %s and prompt_hash = %s""", ws, loop["where"]["prompt_hash"])
    assert devices == ["dan-xps"] and count == loop["rows"] >= 300 and span < dt.timedelta(minutes=15)

    hot = entry(report, "repeated_prompts")
    per_hash = db_conn.execute(
        """select prompt_hash, count(*), count(distinct device_id), count(distinct started_at::date)
             from meter.requests where workspace_id = %s and prompt_hash = any(%s) group by 1""",
        (ws, hot["where"]["prompt_hashes"])).fetchall()
    assert sorted(n for _, n, _, _ in per_hash) == sorted(hot["detail"]["requests_per_hash"])
    assert all(devices >= 2 and days >= 5 for _, _, devices, days in per_hash)

    heavy = entry(report, "overpowered_model")
    assert heavy["rows"] == scalar(
        db_conn, """select count(*) from meter.requests r join meter.projects p on p.id = r.project_id
                     where r.workspace_id = %s and p.slug = 'acme-batch-summariser'
                       and r.model = 'claude-sonnet-4-6' and r.status_code = 200""", ws)

    nightly = one(
        db_conn, """select count(*), count(*) filter (where service_tier = 'standard'),
                           max(extract(hour from started_at at time zone 'America/New_York'))
                      from meter.requests r join meter.projects p on p.id = r.project_id
                     where r.workspace_id = %s and p.slug = 'acme-doc-indexer'""", ws)
    assert nightly[0] == nightly[1] > 0 and nightly[2] < 5

    stale = entry(report, "stale_rate")
    by_device = db_conn.execute(
        """select d.name, count(*) from meter.requests r join meter.devices d on d.id = r.device_id
            where r.workspace_id = %s and r.rates_version = %s group by 1""",
        (ws, stale["where"]["rates_version"])).fetchall()
    assert by_device == [("olivia-mbp", stale["detail"]["rows_stamped"])]
    assert 0 < stale["rows"] == stale["detail"]["rows_with_delta"] < stale["detail"]["rows_stamped"]

    unattributed = entry(report, "unattributed")
    assert unattributed["rows"] == scalar(
        db_conn, "select count(*) from meter.requests where workspace_id = %s and project_id is null", ws)
    assert scalar(db_conn, """select count(*) from meter.requests where workspace_id = %s
                                    and (project_id is null) <> (attribution_tier is null)""", ws) == 0

    thresholds = entry(report, "long_context")["detail"]["thresholds"]
    long_rows = sum(scalar(db_conn, """select count(*) from meter.requests where workspace_id = %s and model = %s
                                        and status_code = 200
                                        and input_tokens + cache_read_tokens + cache_write_tokens > %s""",
                           ws, model, threshold) for model, threshold in thresholds.items())
    assert long_rows >= entry(report, "long_context")["rows"] > 0


def test_appending_days_gives_the_same_rows_as_seeding_them_at_once(db_conn: Conn) -> None:
    seed(db_conn, slug="whole", days=6)
    seed(db_conn, slug="split", days=2, end_date=END - dt.timedelta(days=4))
    appended = seed(db_conn, slug="split", days=4, end_date=None, append=True)  # the loop day is in here
    assert appended.first_day == END - dt.timedelta(days=4) and appended.last_day == END - dt.timedelta(days=1)
    assert entry(appended, "runaway_loop")["rows"] > 0
    assert only_in(db_conn, "whole", "split") == 0
    assert only_in(db_conn, "split", "whole") == 0
    counts = dict(db_conn.execute("select w.slug, count(*) from meter.requests r join meter.workspaces w "
                                  "on w.id = r.workspace_id group by 1").fetchall())
    assert counts["whole"] == counts["split"] > appended.requests > 0
    latest = """select distinct on (provider, period) provider, period, raw_text
                  from meter.billing_statements s join meter.workspaces w on w.id = s.workspace_id
                 where w.slug = %s order by provider, period, entered_at desc, s.id desc"""
    assert db_conn.execute(latest, ("whole",)).fetchall() == db_conn.execute(latest, ("split",)).fetchall()


def test_seeding_an_existing_slug_fails_with_a_hint_and_writes_nothing(db_conn: Conn) -> None:
    seed(db_conn, days=2)
    before = table_counts(db_conn)
    with pytest.raises(ValueError, match="workspace 'acme' already exists; pass --append to add days"):
        seed(db_conn, days=2)
    assert table_counts(db_conn) == before


def test_appending_to_a_missing_slug_fails_with_a_hint_and_writes_nothing(db_conn: Conn) -> None:
    with pytest.raises(ValueError, match="workspace 'ghost' does not exist"):
        seed(db_conn, slug="ghost", days=1, append=True)
    assert set(table_counts(db_conn).values()) == {0}


def test_a_seed_that_fails_half_way_leaves_nothing(db_conn: Conn, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("the statements could not be written")

    monkeypatch.setattr(seed_writes, "insert_billing_statements", broken)
    with pytest.raises(RuntimeError):
        seed(db_conn, days=2)
    assert set(table_counts(db_conn).values()) == {0}


def test_without_plants_there_is_nothing_to_find(db_conn: Conn) -> None:
    report = seed(db_conn, days=4, plants=frozenset())
    assert report.planted == []
    ws = report.workspace_id
    assert scalar(db_conn, "select count(*) from meter.billing_statements where workspace_id = %s", ws) == 0
    assert scalar(db_conn, "select count(*) from meter.requests where workspace_id = %s and project_id is null",
                       ws) == 0
    most_repeated = scalar(db_conn, """select max(n) from (select count(*) n from meter.requests
                                        where workspace_id = %s and prompt_hash is not null group by prompt_hash) x""",
                           ws)
    assert most_repeated < 20


def test_report_prints_and_serialises(db_conn: Conn) -> None:
    report = seed(db_conn, days=3, plants=frozenset(PLANTS) - {"billing_variance"})
    lines = report.lines()
    assert lines[0].startswith("seeded workspace 'acme'")
    assert any("runaway_loop" in line for line in lines)
    data = report.to_dict()
    assert data["slug"] == "acme" and data["requests"] == report.requests
    assert data["first_day"] == "2026-10-30" and isinstance(data["planted"], list)
    assert json.loads(json.dumps(data)) == data  # plain JSON types only
