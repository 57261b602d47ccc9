"""The clustering stage on a real Postgres: seeded plants found, control traffic clean, reruns
identical, incremental refresh equal to a full one, workspaces kept apart."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from clustering import cluster_requests
from clustering.keys import parts_of_days
from core.errors import UserError
from store import clustering_days as days_store
from store import rollup as rollup_store
from store.frames import PROMPT_KEY_SQL
from store.incremental import plan_day_batches
from synthetic import SeedOptions, seed_workspace
from synthetic.report import SeedReport
from tests.factories import Conn, add_request, make_workspace
from workers.jobs import clustering as clustering_jobs
from workers.jobs import refresh_workspace
from workers.settings import clustering_settings

TODAY = datetime.now(UTC).date()
END = TODAY - timedelta(days=4)  # every seeded row is synced two days after its day at the latest
AS_OF = datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC) + timedelta(hours=2)

CLUSTER_SQL = """select prompt_hash, requests, devices, projects, first_at, last_at, cost_nanos, duplicate_requests,
                        avoidable_nanos, kinds, project_id, model, provider, models, median_prompt_tokens,
                        median_output_tokens, median_gap_seconds, cacheable_requests, cacheable_prompt_tokens,
                        cacheable_requests_1h, cacheable_prompt_tokens_1h, loop_incidents, window_end
                 from analysis.prompt_clusters where workspace_id = %s order by prompt_hash"""
INCIDENT_SQL = """select prompt_hash, device_id, project_id, started_at, ended_at, requests, cost_nanos,
                         peak_per_minute, model, window_end
                  from analysis.loop_incidents where workspace_id = %s order by prompt_hash, device_id, started_at"""
SHAPE_SQL = """select project_id, shape, model, provider, label, requests, cost_nanos, request_share, cost_share, hours
               from analysis.request_shapes where workspace_id = %s order by project_id nulls first, shape"""


def seed(conn: Conn, slug: str = "acme", days: int = 12, **options: Any) -> SeedReport:
    return seed_workspace(conn, SeedOptions(slug=slug, days=days, requests_per_day=1500, seed=3, end_date=END,
                                            **options))


def rows(conn: Conn, query: str, workspace_id: int) -> list[tuple[Any, ...]]:
    return conn.execute(query, (workspace_id,)).fetchall()


def planted(report: SeedReport, pattern: str) -> dict[str, Any]:
    return next(p for p in report.planted if p["pattern"] == pattern)


def test_planted_repeats_and_loop_are_found_with_their_counts(db_conn: Conn) -> None:
    report = seed(db_conn)
    refresh_workspace(db_conn, report.workspace_id, AS_OF)
    clusters = {row[0]: row for row in rows(db_conn, CLUSTER_SQL, report.workspace_id)}
    repeated = planted(report, "repeated_prompts")
    for prompt_hash, count in zip(repeated["where"]["prompt_hashes"], repeated["detail"]["requests_per_hash"],
                                  strict=True):
        assert clusters[prompt_hash][1] == count
        assert "duplicate" in clusters[prompt_hash][9]
    loop = planted(report, "runaway_loop")
    incidents = rows(db_conn, INCIDENT_SQL, report.workspace_id)
    assert len(incidents) == 1
    incident = incidents[0]
    assert incident[0] == loop["where"]["prompt_hash"]
    assert incident[5] == loop["rows"]
    assert incident[6] == loop["expected_nanos"]
    assert incident[7] == loop["detail"]["peak_per_minute"]
    assert incident[3].isoformat(timespec="seconds").startswith(loop["detail"]["started_at"][:16])
    assert "loop" in clusters[loop["where"]["prompt_hash"]][9]


def test_control_traffic_yields_no_incident_and_no_large_cluster(db_conn: Conn) -> None:
    report = seed(db_conn, plants=frozenset())
    refresh_workspace(db_conn, report.workspace_id, AS_OF)
    assert rows(db_conn, INCIDENT_SQL, report.workspace_id) == []
    clusters = rows(db_conn, CLUSTER_SQL, report.workspace_id)
    # the natural repeats (a shared template now and then) stay small and never loop
    assert all(c[1] <= 6 and "loop" not in c[9] for c in clusters)


def test_a_rerun_for_the_same_window_writes_identical_rows(db_conn: Conn) -> None:
    report = seed(db_conn, days=6)
    ws = report.workspace_id
    refresh_workspace(db_conn, ws, AS_OF)
    first = [rows(db_conn, q, ws) for q in (CLUSTER_SQL, INCIDENT_SQL, SHAPE_SQL)]
    refresh_workspace(db_conn, ws, AS_OF, replay=True)
    assert [rows(db_conn, q, ws) for q in (CLUSTER_SQL, INCIDENT_SQL, SHAPE_SQL)] == first
    assert first[0] and first[2]
    stats = db_conn.execute("""select stats from analysis.runs where workspace_id = %s and job = 'clustering'
                               order by id desc limit 1""", (ws,)).fetchone()
    assert stats is not None and stats[0]["days_rebuilt"] == 0  # nothing new: the stored days serve again


@pytest.mark.parametrize("index_share", ["0", "1"])
def test_fetching_by_scan_or_by_index_gives_the_same_rows(db_conn: Conn, index_share: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    report = seed(db_conn, days=6)
    ws = report.workspace_id
    refresh_workspace(db_conn, ws, AS_OF)
    default = [rows(db_conn, q, ws) for q in (CLUSTER_SQL, INCIDENT_SQL)]
    monkeypatch.setenv("HALTON_CLUSTER_INDEX_SHARE", index_share)
    monkeypatch.setenv("HALTON_CLUSTER_FETCH_BATCH", "7")  # many batches
    monkeypatch.setenv("HALTON_CLUSTER_SCAN_ROWS", "100")  # many scans
    clustering_settings.cache_clear()
    try:
        refresh_workspace(db_conn, ws, AS_OF, replay=True, stage="clustering")
    finally:
        clustering_settings.cache_clear()
    assert [rows(db_conn, q, ws) for q in (CLUSTER_SQL, INCIDENT_SQL)] == default


def clustered_in(monkeypatch: pytest.MonkeyPatch, conn: Conn, ws: int, **settings: str) -> tuple[list[Any], int]:
    """(the clusters and incidents written, how many groups of rows were clustered) of a replay with
    these HALTON_CLUSTER_* settings."""
    groups = []

    def counted(frame: Any, rules: Any) -> Any:
        groups.append(len(frame))
        return cluster_requests(frame, rules)

    with monkeypatch.context() as patch:
        patch.setattr(clustering_jobs, "cluster_requests", counted)
        for name, value in settings.items():
            patch.setenv(f"HALTON_CLUSTER_{name.upper()}", value)
        clustering_settings.cache_clear()
        try:
            refresh_workspace(conn, ws, AS_OF, replay=True, stage="clustering")
        finally:
            clustering_settings.cache_clear()
    return [rows(conn, q, ws) for q in (CLUSTER_SQL, INCIDENT_SQL)], len(groups)


@pytest.mark.parametrize("index_share", ["0", "1"])
def test_clusters_in_small_chunks_of_whole_hashes_equal_those_of_one_piece(db_conn: Conn, index_share: str,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    report = seed(db_conn, days=6)
    ws = report.workspace_id
    refresh_workspace(db_conn, ws, AS_OF)
    whole, one = clustered_in(monkeypatch, db_conn, ws, index_share=index_share, chunk_rows="1000000000",
                              scan_rows="1000000000", fetch_batch="1000000000")
    # 60 rows a chunk: the planted loop's hash (hundreds of rows) is a chunk alone, the rest many chunks
    chunked, groups = clustered_in(monkeypatch, db_conn, ws, index_share=index_share, chunk_rows="60")
    assert one == 1 and groups > 5
    assert chunked == whole
    assert whole[0] and whole[1]  # clusters and the loop incident


def test_the_next_nightly_rebuilds_only_new_days_and_equals_a_full_rebuild(db_conn: Conn) -> None:
    report = seed(db_conn, days=8)
    ws = report.workspace_id
    earlier = AS_OF - timedelta(days=3)
    refresh_workspace(db_conn, ws, earlier)
    refresh_workspace(db_conn, ws, AS_OF)
    stats = db_conn.execute("""select stats from analysis.runs where workspace_id = %s and job = 'clustering'
                               order by id desc limit 1""", (ws,)).fetchone()
    assert stats is not None and stats[0]["full_rebuild"] is False
    assert stats[0]["days_rebuilt"] <= 5  # the new days and the day before, which got late rows
    incremental = [rows(db_conn, q, ws) for q in (CLUSTER_SQL, INCIDENT_SQL, SHAPE_SQL)]
    db_conn.execute("delete from analysis.clustering_state where workspace_id = %s", (ws,))
    refresh_workspace(db_conn, ws, AS_OF, stage="clustering")
    assert [rows(db_conn, q, ws) for q in (CLUSTER_SQL, INCIDENT_SQL, SHAPE_SQL)] == incremental


def test_a_cluster_never_spans_two_workspaces_and_null_hashes_are_skipped(db_conn: Conn) -> None:
    one, two = make_workspace(db_conn, "one"), make_workspace(db_conn, "two")
    start = AS_OF - timedelta(days=2)
    for scene in (one, two):
        for i in range(3):
            request_id = add_request(db_conn, scene, start + timedelta(minutes=i))
            db_conn.execute("update meter.requests set prompt_hash = %s where id = %s", ("c" * 64, request_id))
    for i in range(5):  # unhashed requests never make a cluster together
        add_request(db_conn, one, start + timedelta(hours=1, seconds=i))
    for scene in (one, two):
        refresh_workspace(db_conn, scene.workspace_id, AS_OF)
    for scene in (one, two):
        clusters = rows(db_conn, CLUSTER_SQL, scene.workspace_id)
        assert [(c[0], c[1]) for c in clusters] == [("c" * 64, 3)]
    stats = db_conn.execute("""select stats from analysis.runs where workspace_id = %s and job = 'clustering'
                               order by id desc limit 1""", (one.workspace_id,)).fetchone()
    assert stats is not None and stats[0]["null_hash_requests_in_days"] == 5


def test_each_days_keys_are_the_sql_prompt_key_of_its_synced_requests(db_conn: Conn) -> None:
    scene = make_workspace(db_conn, "keys")
    day = (AS_OF - timedelta(days=3)).date()
    midnight = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    hashes = ["0" * 64, "f" * 16 + "0" * 48, "8000000000000001" + "e" * 48, "8000000000000001" + "e" * 48]
    for i, prompt_hash in enumerate([*hashes, None, None]):
        request_id = add_request(db_conn, scene, midnight + timedelta(hours=i))
        db_conn.execute("update meter.requests set prompt_hash = %s where id = %s", (prompt_hash, request_id))
    add_request(db_conn, scene, midnight + timedelta(hours=23), synced_at=AS_OF + timedelta(hours=1))  # too late
    add_request(db_conn, scene, midnight - timedelta(seconds=1))  # the day before
    read = [(day, sorted(batch.keys[batch.day == index].tolist()), batch.unhashed[index])
            for batch in days_store.day_prompt_key_batches(db_conn, scene.workspace_id, [day], AS_OF, {})
            for index, day in enumerate(batch.days)]
    expected = db_conn.execute(f"""select {PROMPT_KEY_SQL} from meter.requests
                                   where workspace_id = %s and prompt_hash is not null""",
                               (scene.workspace_id,)).fetchall()
    assert read == [(day, sorted(k for k, in expected), 2)]


def test_days_are_read_in_batches_the_rollups_counts_bound_each_day_once_with_its_own_keys(db_conn: Conn) -> None:
    scene = make_workspace(db_conn, "batches")
    first = (AS_OF - timedelta(days=8)).date()
    midnight = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    for offset, count in ((0, 3), (2, 2), (3, 1), (5, 4)):  # day 1 and day 4 have no requests
        for i in range(count):
            add_request(db_conn, scene, midnight + timedelta(days=offset, hours=i))
    days = [first + timedelta(days=i) for i in (0, 1, 2, 3, 5)]  # day 4 is not asked for
    assert rollup_store.day_requests(db_conn, scene.workspace_id, days, AS_OF) == {}  # no rollup yet: each alone
    refresh_workspace(db_conn, scene.workspace_id, AS_OF, stage="rollup")
    counted = rollup_store.day_requests(db_conn, scene.workspace_id, days, AS_OF)
    assert counted == {days[0]: 3, days[1]: 0, days[2]: 2, days[3]: 1, days[4]: 4}
    assert rollup_store.day_requests(db_conn, scene.workspace_id, days, AS_OF + timedelta(hours=1)) == {}  # stale
    batches = list(days_store.day_prompt_key_batches(db_conn, scene.workspace_id, days, AS_OF, counted))
    assert [batch.days for batch in batches] == [days[0:4], days[4:5]]  # day 4 breaks the run
    read = {day: int((batch.day == index).sum()) + batch.unhashed[index]
            for batch in batches for index, day in enumerate(batch.days)}
    assert read == counted
    assert [batch.requests for batch in batches] == [sum(counted[day] for day in batch.days) for batch in batches]


def test_a_batch_of_days_never_holds_more_requests_than_the_limit_whatever_the_first_days_hold() -> None:
    days = [date(2026, 11, 1) + timedelta(days=i) for i in range(6)]
    quiet_then_busy = dict(zip(days, [0, 0, 10, 10, 10, 3], strict=True))
    assert plan_day_batches(days, quiet_then_busy, 20) == [days[0:4], days[4:6]]
    assert plan_day_batches(days, {**quiet_then_busy, days[2]: 25}, 20) == [days[0:2], days[2:3], days[3:5],
                                                                                days[5:6]]
    assert plan_day_batches(days, {}, 20) == [[day] for day in days]  # no counts: a day at a time
    assert plan_day_batches(list(reversed(days)), dict.fromkeys(days, 1), 20) == [days]


@pytest.mark.parametrize("prompt_hash", ["not-a-hex-digest-at-all", "abc123", "ABCDEF0123456789" * 4])
def test_a_prompt_hash_that_is_not_a_hex_digest_fails_the_stage_saying_so(db_conn: Conn, prompt_hash: str) -> None:
    scene = make_workspace(db_conn, "bad")
    request_id = add_request(db_conn, scene, AS_OF - timedelta(days=2))
    db_conn.execute("update meter.requests set prompt_hash = %s where id = %s", (prompt_hash, request_id))
    with pytest.raises(UserError, match="not a hex digest"):
        refresh_workspace(db_conn, scene.workspace_id, AS_OF, stage="clustering")
    run = db_conn.execute("""select status, error from analysis.runs where workspace_id = %s and job = 'clustering'
                             order by id desc limit 1""", (scene.workspace_id,)).fetchone()
    assert run is not None and run[0] == "failed" and "not a hex digest" in run[1]


def test_an_older_as_of_leaves_the_results_alone_unless_replayed(db_conn: Conn) -> None:
    report = seed(db_conn, days=5)
    ws = report.workspace_id
    refresh_workspace(db_conn, ws, AS_OF)
    before = rows(db_conn, CLUSTER_SQL, ws)
    refresh_workspace(db_conn, ws, AS_OF - timedelta(days=1))
    assert rows(db_conn, CLUSTER_SQL, ws) == before



def test_the_clusters_command_prints_the_loop_and_fits_80_columns(db_conn: Conn, fleet_env: dict[str, str]) -> None:
    report = seed(db_conn, days=5)
    refresh_workspace(db_conn, report.workspace_id, AS_OF)
    done = subprocess.run([sys.executable, "-m", "workers.cli", "clusters", "--workspace", "acme"], env=fleet_env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    loop = planted(report, "runaway_loop")
    assert any(loop["where"]["prompt_hash"][:10] in line and f"{loop['rows']:,}" in line for line in lines)
    missing = subprocess.run([sys.executable, "-m", "workers.cli", "clusters", "--workspace", "nope"], env=fleet_env,
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and missing.stderr.startswith("error: no workspace with slug 'nope'")


def test_key_parts_are_read_in_one_query_for_a_small_window_and_a_part_at_a_time_for_a_large_one() -> None:
    assert clustering_jobs.part_groups(1_000) == [list(range(16))]
    assert clustering_jobs.part_groups(clustering_jobs.ONE_READ_KEYS + 1) == [[part] for part in range(16)]


def test_only_parts_with_keys_are_stored_and_part_0_carries_the_unhashed_count(db_conn: Conn) -> None:
    scene = make_workspace(db_conn, "parts")
    midnight = datetime.combine((AS_OF - timedelta(days=2)).date(), datetime.min.time(), tzinfo=UTC)
    for i, prompt_hash in enumerate(["3" + "0" * 63, "3" + "1" * 63, "a" * 64, None, None]):
        request_id = add_request(db_conn, scene, midnight + timedelta(hours=i))
        db_conn.execute("update meter.requests set prompt_hash = %s where id = %s", (prompt_hash, request_id))
    refresh_workspace(db_conn, scene.workspace_id, AS_OF, stage="clustering")
    rows = db_conn.execute("""select part, requests, unhashed_requests from analysis.prompt_key_days
                              where workspace_id = %s order by part""", (scene.workspace_id,)).fetchall()
    assert rows == [(0, 0, 2), (3, 2, 0), (10, 1, 0)]
    first, end = clustering_jobs.aggregate_days(AS_OF)
    assert days_store.day_totals(db_conn, scene.workspace_id, first, end) == (3, 2)


def test_stored_key_runs_are_read_back_by_part_then_day_as_written(db_conn: Conn) -> None:
    """write_key_days stores each (day, part) run's keys and counts as little-endian arrays; read_key_parts
    gives the asked parts' back end to end, by part then day."""
    scene = make_workspace(db_conn, "roundtrip")
    days = [date(2026, 11, 10), date(2026, 11, 11)]
    key = {h: int.from_bytes(bytes.fromhex(h[:16]), "big", signed=True)
           for h in ("f" * 64, "0123456789abcdef" + "0" * 48, "8" + "1" * 63, "f" + "0" * 63)}
    f, zero, eight, f_low = key.values()
    runs = parts_of_days(np.array([0, 0, 0, 0, 1, 1, 1]), np.array([f, f, f, zero, eight, f_low, f], dtype=np.int64))
    days_store.write_key_days(db_conn, scene.workspace_id, days, runs, [0, 4])
    keys, counts = days_store.read_key_parts(db_conn, scene.workspace_id, days[0], days[-1] + timedelta(days=1),
                                             [15, 8, 0])
    assert keys.dtype == np.int64 and counts.dtype == np.int32
    assert list(zip(keys.tolist(), counts.tolist(), strict=True)) == [(zero, 1), (eight, 1), (f, 3), (f_low, 1),
                                                                      (f, 1)]
    assert days_store.read_key_parts(db_conn, scene.workspace_id, days[0], days[-1], [8])[0].tolist() == []


def test_the_shape_cells_insert_is_planned_for_its_own_days_however_often_a_connection_runs_it(
        db_conn: Conn) -> None:
    """As the rollup's insert (tests/store/test_rollup.py): psycopg prepares a statement a connection runs
    five times and Postgres may then plan it once for any workspace and days; the insert of the request
    shapes' cells is never prepared, so each run is planned for its own days (bench/bench_plans.py)."""
    scene = make_workspace(db_conn)
    day = datetime.combine(END, datetime.min.time(), tzinfo=UTC)
    for hour in (1, 9, 17):
        add_request(db_conn, scene, day + timedelta(hours=hour), synced_at=day + timedelta(days=1))
    days = [END - timedelta(days=1), END]
    for turn in range(8):
        with db_conn.transaction():
            days_store.forget_days(db_conn, scene.workspace_id, days[0], days[-1] + timedelta(days=1), days)
            assert days_store.rebuild_shape_days(db_conn, scene.workspace_id, "UTC", days,
                                                 AS_OF + turn * timedelta(hours=1))
    prepared = [str(row[0]) for row in db_conn.execute("select statement from pg_prepared_statements")]
    assert any("delete from analysis.request_shape_days" in s for s in prepared), "psycopg prepared nothing: not tested"
    assert not [statement for statement in prepared if "insert into analysis.request_shape_days" in statement]
