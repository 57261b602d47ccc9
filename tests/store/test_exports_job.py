"""The nightly FOCUS export against a real Postgres, to a directory sink: a seeded month reads back with
the rollup's day sums to the nano, a rerun writes nothing, a late row restates its day (and the manifest says
so), a reconciled month's provider total equals the bill, every file passes the conformance check."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from exports import conformance
from exports.sink import DirectorySink
from pricing import load_rates, price_requests
from store import exports as store_exports
from store.audit import audit
from store.reconciliation import findings_by_cause, insert_statement
from store.tenancy import workspace_scope
from tests.factories import Conn, Scene, add_request, make_workspace
from workers import jobs
from workers.jobs import reconcile
from workers.jobs.exports import ExportTarget, export_destination

NOV = dt.date(2026, 11, 1)
AS_OF = dt.datetime(2026, 12, 2, 3, 0, tzinfo=dt.UTC)
D = 1_000_000_000
MODELS = [("anthropic", "claude-sonnet-4-6"), ("openai", "gpt-4o-mini"), ("anthropic", "claude-haiku-4-5")]


def cost(model: str, day: dt.date, inp: int, out: int) -> int:
    batch = price_requests(load_rates(), model=[model], service_tier="standard", input_tokens=[inp],
                           cache_read_tokens=[0], cache_write_tokens=[0], output_tokens=[out], at=day)
    return int(batch.cost_nanos[0])


def seed_month(conn: Conn) -> Scene:
    scene = make_workspace(conn, "acme")
    for day in range(1, 31):
        for i, (provider, model) in enumerate(MODELS):
            inp, out = 1_000 + 37 * day + i, 100 + 11 * day
            for hour in (3, 15):
                # a stale daemon price on some rows: ListCost then differs from BilledCost
                extra = 1_234 if day % 7 == 0 else 0
                add_request(conn, scene, dt.datetime(2026, 11, day, hour, tzinfo=dt.UTC), provider=provider,
                            model=model, input_tokens=inp, output_tokens=out, project=(day + i) % 2,
                            device=hour % 2, cost_nanos=cost(model, dt.date(2026, 11, day), inp, out) + extra)
    return scene


def refresh(conn: Conn, workspace_id: int, as_of: dt.datetime) -> None:
    jobs.refresh_workspace(conn, workspace_id, as_of, stage="rollup")


def day_sums(conn: Conn, workspace_id: int) -> dict[dt.date, int]:
    rows = conn.execute("select day, sum(cost_nanos) from analysis.daily_spend where workspace_id = %s group by day",
                        (workspace_id,)).fetchall()
    return {d: int(c) for d, c in rows}


def billed(rows: list[dict[str, object]]) -> Decimal:
    return sum((Decimal(str(r["BilledCost"])) for r in rows), Decimal(0))


def read_focus(root: Path) -> dict[str, list[dict[str, object]]]:
    return {str(p.relative_to(root)): pq.read_table(io.BytesIO(p.read_bytes())).to_pylist()
            for p in sorted(root.glob("focus/billing_period=*/*.parquet"))}


def test_a_seeded_month_exports_incrementally_and_restates_a_late_day(db_conn: Conn, tmp_path: Path) -> None:
    scene = seed_month(db_conn)
    ws = scene.workspace_id
    refresh(db_conn, ws, AS_OF)
    target = ExportTarget(None, DirectorySink(tmp_path))
    with workspace_scope(db_conn, ws):
        first = export_destination(db_conn, ws, target, AS_OF)
    assert first["objects_written"] == 30 and first["manifests_written"] == 1
    files = read_focus(tmp_path)
    assert len(files) == 30
    sums = day_sums(db_conn, ws)
    for name, rows in files.items():
        day = dt.date.fromisoformat(Path(name).stem)
        assert billed(rows) * D == sums[day]
        assert conformance.check((tmp_path / name).read_bytes(), "parquet") == []
    stale = [r for rows in files.values() for r in rows if r["ListCost"] != r["BilledCost"]]
    assert stale and all(getattr(r["ChargePeriodStart"], "day", 0) % 7 == 0 for r in stale)

    # a rerun with nothing new writes nothing
    again = export_destination(db_conn, ws, target, AS_OF + dt.timedelta(hours=1))
    assert again["objects_written"] == 0 and again["manifests_written"] == 0

    # a late row for 5 November, synced a day later: only its day is written again
    late_at = AS_OF + dt.timedelta(days=1)
    add_request(db_conn, scene, dt.datetime(2026, 11, 5, 12, tzinfo=dt.UTC), cost_nanos=777_777_777,
                synced_at=late_at - dt.timedelta(hours=2))
    refresh(db_conn, ws, late_at)
    restated = export_destination(db_conn, ws, target, late_at)
    assert restated["keys"] == ["focus/billing_period=2026-11/2026-11-05.parquet"]
    rows = read_focus(tmp_path)["focus/billing_period=2026-11/2026-11-05.parquet"]
    assert billed(rows) * D == day_sums(db_conn, ws)[dt.date(2026, 11, 5)]
    manifest = json.loads((tmp_path / "focus/billing_period=2026-11/manifest.json").read_text())
    entries = {o["key"]: o for o in manifest["objects"]}
    assert entries["focus/billing_period=2026-11/2026-11-05.parquet"]["restated"] is True
    assert len(entries["focus/billing_period=2026-11/2026-11-05.parquet"]["replaced"]) == 1
    assert entries["focus/billing_period=2026-11/2026-11-04.parquet"]["restated"] is False
    assert manifest["totals"]["cost_nanos"] == sum(day_sums(db_conn, ws).values())
    recorded = db_conn.execute("select count(*) from analysis.exports where dataset = 'focus'").fetchone()
    assert recorded == (31,)


def test_a_reconciled_months_provider_total_equals_the_bill(db_conn: Conn, tmp_path: Path) -> None:
    scene = seed_month(db_conn)
    ws = scene.workspace_id
    refresh(db_conn, ws, AS_OF)
    target = ExportTarget(None, DirectorySink(tmp_path))
    export_destination(db_conn, ws, target, AS_OF)
    insert_statement(db_conn, ws, "anthropic", NOV, "Total: $1.23", "finance")
    reconcile.reconcile(db_conn, ws, "anthropic", NOV, AS_OF)
    after = export_destination(db_conn, ws, target, AS_OF + dt.timedelta(hours=1))
    assert after["keys"] == ["focus/billing_period=2026-11/adjustments.parquet"]
    everything = [r for rows in read_focus(tmp_path).values() for r in rows]
    anthropic = [r for r in everything if r["ProviderName"] == "Anthropic"]
    assert billed(anthropic) == Decimal("1.23")
    (adjustment,) = [r for r in anthropic if r["ChargeCategory"] == "Adjustment"]
    assert "Reconciliation with the Anthropic bill for 2026-11: billed $1.23" in str(adjustment["ChargeDescription"])
    assert conformance.check((tmp_path / "focus/billing_period=2026-11/adjustments.parquet").read_bytes(),
                             "parquet") == []
    # unchanged inputs: nothing more
    assert export_destination(db_conn, ws, target, AS_OF + dt.timedelta(hours=2))["objects_written"] == 0


def test_a_row_stamped_before_the_last_export_but_committed_after_it_restates_its_day(
        db_conn: Conn, tmp_path: Path) -> None:
    """A sync transaction stamps its rows when it starts and may commit up to the late-commit margin later:
    the rollup's next refresh counts such a row, so the export must restate its day too."""
    scene = seed_month(db_conn)
    ws = scene.workspace_id
    refresh(db_conn, ws, AS_OF)
    target = ExportTarget(None, DirectorySink(tmp_path))
    export_destination(db_conn, ws, target, AS_OF)
    add_request(db_conn, scene, dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC), cost_nanos=555_555_555,
                synced_at=AS_OF - dt.timedelta(minutes=5))
    refresh(db_conn, ws, AS_OF + dt.timedelta(hours=1))
    restated = export_destination(db_conn, ws, target, AS_OF + dt.timedelta(hours=1))
    assert "focus/billing_period=2026-11/2026-11-20.parquet" in restated["keys"]
    rows = read_focus(tmp_path)["focus/billing_period=2026-11/2026-11-20.parquet"]
    assert billed(rows) * D == day_sums(db_conn, ws)[dt.date(2026, 11, 20)]


def test_a_second_directory_gets_every_day_the_first_one_got(db_conn: Conn, tmp_path: Path) -> None:
    """Days exported to one directory named by hand are not done for another: each is its own place."""
    ws = seed_month(db_conn).workspace_id
    refresh(db_conn, ws, AS_OF)
    first = export_destination(db_conn, ws, ExportTarget(None, DirectorySink(tmp_path / "a")), AS_OF)
    second = export_destination(db_conn, ws, ExportTarget(None, DirectorySink(tmp_path / "b")),
                                AS_OF + dt.timedelta(hours=1))
    assert first["objects_written"] == second["objects_written"] == 30
    assert read_focus(tmp_path / "a") == read_focus(tmp_path / "b")
    again = export_destination(db_conn, ws, ExportTarget(None, DirectorySink(tmp_path / "a")),
                               AS_OF + dt.timedelta(hours=2))
    assert again["objects_written"] == 0


def test_two_names_of_one_directory_are_one_place_with_one_lock(db_conn: Conn, tmp_path: Path) -> None:
    ws = seed_month(db_conn).workspace_id
    refresh(db_conn, ws, AS_OF)
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    first = export_destination(db_conn, ws, ExportTarget(None, DirectorySink(tmp_path / "real")), AS_OF)
    again = export_destination(db_conn, ws, ExportTarget(None, DirectorySink(tmp_path / "alias")),
                               AS_OF + dt.timedelta(hours=1))
    assert first["objects_written"] == 30 and again["objects_written"] == 0
    scopes = {row[0] for row in db_conn.execute(
        "select lock_scope from analysis.runs where workspace_id = %s and job = 'export'", (ws,)).fetchall()}
    assert scopes == {f"sink:{(tmp_path / 'real').resolve()}/"}


def test_a_month_that_is_no_longer_reconciled_gets_its_adjustments_emptied(db_conn: Conn, tmp_path: Path) -> None:
    """The paste withdrawn (in the dashboard) takes the month out of status 'ok': the nightly replaces its
    Adjustment rows with an empty object and the manifest says so, so the bucket never shows a stale one."""
    ws = seed_month(db_conn).workspace_id
    refresh(db_conn, ws, AS_OF)
    target = ExportTarget(None, DirectorySink(tmp_path))
    insert_statement(db_conn, ws, "anthropic", NOV, "Total: $1.23", "finance")
    reconcile.reconcile(db_conn, ws, "anthropic", NOV, AS_OF)
    export_destination(db_conn, ws, target, AS_OF)
    key = "focus/billing_period=2026-11/adjustments.parquet"
    assert len(read_focus(tmp_path)[key]) == 1

    db_conn.execute("delete from meter.billing_statements where workspace_id = %s", (ws,))
    reconcile.reconcile(db_conn, ws, "anthropic", NOV, AS_OF + dt.timedelta(hours=1), force=True)
    status = db_conn.execute("select status from analysis.reconciliation where workspace_id = %s", (ws,)).fetchone()
    assert status is not None and status[0] != "ok"
    after = export_destination(db_conn, ws, target, AS_OF + dt.timedelta(hours=2))
    assert after["keys"] == [key] and read_focus(tmp_path)[key] == []
    entry = {o["key"]: o for o in json.loads((tmp_path / "focus/billing_period=2026-11/manifest.json").read_text())[
        "objects"]}[key]
    assert (entry["rows"], entry["cost_nanos"], entry["restated"]) == (0, 0, True)
    assert export_destination(db_conn, ws, target, AS_OF + dt.timedelta(hours=3))["objects_written"] == 0


class RecordingSink(DirectorySink):
    """A directory that remembers the order of its puts."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.keys: list[str] = []

    def put(self, key: str, data: bytes, content_type: str) -> None:
        super().put(key, data, content_type)
        self.keys.append(key)


def test_a_new_destination_is_exported_a_month_at_a_time_with_one_read_per_month_and_dataset(
        db_conn: Conn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three months of history to a new place: each dataset read once per month (not per day), and each
    month's objects and manifests put before the next month is read."""
    scene = make_workspace(db_conn, "acme")
    ws = scene.workspace_id
    days = [dt.date(2026, 9, 2), dt.date(2026, 9, 29), dt.date(2026, 10, 1), dt.date(2026, 10, 17),
            dt.date(2026, 11, 5), dt.date(2026, 11, 30)]
    for day in days:
        add_request(db_conn, scene, dt.datetime(day.year, day.month, day.day, 9, tzinfo=dt.UTC),
                    synced_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
        audit(db_conn, ws, "worker:test", "report.rendered", "report_request:1", {},
              at=dt.datetime(day.year, day.month, day.day, 8, tzinfo=dt.UTC))
    refresh(db_conn, ws, AS_OF)
    reads: dict[str, list[dt.datetime]] = {"requests": [], "audit": []}
    for name, table in (("requests", "requests_table"), ("audit", "audit_table")):
        read = getattr(store_exports, table)

        def counted(conn: Conn, workspace_id: int, start: dt.datetime, *args: Any, _read: Any = read,
                    _name: str = name, **kwargs: Any) -> Any:
            reads[_name].append(start)
            return _read(conn, workspace_id, start, *args, **kwargs)

        monkeypatch.setattr(store_exports, table, counted)
    sink = RecordingSink(tmp_path)
    outcome = export_destination(db_conn, ws, ExportTarget(None, sink, "parquet", ("focus", "requests", "audit")),
                                 AS_OF)
    assert outcome["objects_written"] == 3 * len(days) and outcome["manifests_written"] == 3 * 3  # Sep to Nov
    assert [r.month for r in reads["requests"]] == [r.month for r in reads["audit"]] == [9, 10, 11]
    months = [int(key.split("billing_period=2026-")[1][:2]) for key in sink.keys]
    assert months == sorted(months), "a month's objects and manifests are all put before the next month's"
    assert sum(key.endswith("manifest.json") for key in sink.keys) == 9
    rows = sum(pq.read_table(p).num_rows for p in tmp_path.glob("requests/billing_period=*/*.parquet"))
    assert rows == len(days)


def test_a_months_requests_are_read_and_put_in_groups_the_rollups_counts_bound(
        db_conn: Conn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Raw requests are the large dataset: a month of them is read, encoded and put a group of days at a time
    (here at most 2 requests a group); the objects are the same."""
    from workers.jobs import exports as export_jobs

    scene = make_workspace(db_conn, "acme")
    ws = scene.workspace_id
    days = [dt.date(2026, 11, 2), dt.date(2026, 11, 3), dt.date(2026, 11, 9), dt.date(2026, 11, 20)]
    for day, count in zip(days, (1, 1, 2, 1), strict=True):
        for hour in range(count):
            add_request(db_conn, scene, dt.datetime(day.year, day.month, day.day, 9 + hour, tzinfo=dt.UTC),
                        synced_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    refresh(db_conn, ws, AS_OF)
    monkeypatch.setattr(export_jobs, "GROUP_REQUESTS", 2)
    starts: list[dt.datetime] = []
    read = store_exports.requests_table

    def counted(conn: Conn, workspace_id: int, start: dt.datetime, *args: Any, **kwargs: Any) -> Any:
        starts.append(start)
        return read(conn, workspace_id, start, *args, **kwargs)

    monkeypatch.setattr(store_exports, "requests_table", counted)
    sink = RecordingSink(tmp_path)
    # two hours after the refresh, as the nightly export runs after it: the rollup's counts still size the groups
    export_destination(db_conn, ws, ExportTarget(None, sink, "parquet", ("requests",)), AS_OF + dt.timedelta(hours=2))
    assert [s.day for s in starts] == [2, 9, 20]  # {2, 3}: 2 requests; {9}: 2; {20}: 1
    puts = [key for key in sink.keys if not key.endswith("manifest.json")]
    assert len(puts) == len(days)
    assert sum(pq.read_table(p).num_rows for p in tmp_path.glob("requests/billing_period=*/*.parquet")) == 5


def test_the_causes_of_every_month_read_at_once_are_each_months_findings_by_cause(db_conn: Conn) -> None:
    scene = seed_month(db_conn)
    ws = scene.workspace_id
    refresh(db_conn, ws, AS_OF)
    for provider, bill in (("anthropic", "Total: $1.23"), ("openai", "Total: $0.05")):
        insert_statement(db_conn, ws, provider, NOV, bill, "finance")
        reconcile.reconcile(db_conn, ws, provider, NOV, AS_OF)
    together = store_exports.causes_by_month(db_conn, ws, [NOV])
    for provider in ("anthropic", "openai"):
        alone = [(c, n, d) for c, n, d, _ in findings_by_cause(db_conn, ws, provider, NOV)]
        assert alone and together[(provider, NOV)] == alone


class ClosingSink(DirectorySink):
    """A directory sink counting its closes; `refuse` makes every put fail."""

    def __init__(self, root: Path, refuse: bool = False) -> None:
        super().__init__(root)
        self.closes, self.refuse = 0, refuse

    def put(self, key: str, data: bytes, content_type: str) -> None:
        if self.refuse:
            raise OSError("the store refused the object")
        super().put(key, data, content_type)

    def close(self) -> None:
        self.closes += 1


def test_a_sink_the_export_opens_is_closed_after_its_run_and_a_given_one_is_left_to_its_giver(
        db_conn: Conn, tmp_path: Path) -> None:
    scene = seed_month(db_conn)
    ws = scene.workspace_id
    refresh(db_conn, ws, AS_OF)
    opened, failing, given = ClosingSink(tmp_path / "a"), ClosingSink(tmp_path / "b", refuse=True), \
        ClosingSink(tmp_path / "c")
    with workspace_scope(db_conn, ws):
        assert export_destination(db_conn, ws, lambda: ExportTarget(None, opened), AS_OF)["objects_written"] > 0
        with pytest.raises(OSError, match="refused"):
            export_destination(db_conn, ws, lambda: ExportTarget(None, failing), AS_OF)
        export_destination(db_conn, ws, ExportTarget(None, given), AS_OF)
    assert (opened.closes, failing.closes, given.closes) == (1, 1, 0)
