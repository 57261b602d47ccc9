"""The nightly export to a real S3-protocol server and a Cloud Storage emulator (local processes), as the fleet's
role on a workspace-scoped connection: a seeded month reads back from the bucket with the rollup's day sums to
the nano and passes the conformance check, a rerun writes nothing, and a destination that fails (a bucket
that does not exist) is recorded with its reason while the workspace's other destination is exported."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pyarrow.parquet as pq
import pytest

from core.errors import UserError
from exports import conformance
from store.exports import workspaces_with_export_destinations
from store.tenancy import workspace_of_export_request, workspace_scope
from tests.factories import Conn, make_workspace
from tests.store.export_stores import BUCKET, Stores, add_sealed_destination
from tests.store.store_proxy import store_proxy
from tests.store.test_export_sinks import read_back
from tests.store.test_exports_job import AS_OF, D, day_sums, refresh, seed_month
from workers.jobs.export_targets import destination_openers, export_request, sink_for_url
from workers.jobs.exports import ExportsFailed, OnDemand, export_period, export_workspace


@pytest.fixture(autouse=True)
def fleet_settings(fleet_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The fleet's key, as a billing worker has it; the stores are local, so private addresses are allowed."""
    for name in ("DATABASE_URL", "REDIS_URL", "HALTON_ENCRYPTION_KEY"):
        monkeypatch.setenv(name, fleet_env[name])
    monkeypatch.setenv("HALTON_ALLOW_PRIVATE_DESTINATIONS", "true")


@pytest.mark.parametrize("kind", ["s3", "gcs"])
def test_a_seeded_month_exported_to_the_store_reads_back_to_the_nano(db_conn: Conn, fleet: Conn, stores: Stores,
                                                                     kind: str) -> None:
    ws = seed_month(db_conn).workspace_id
    refresh(db_conn, ws, AS_OF)
    prefix = f"finops/{kind}-{ws}"
    add_sealed_destination(db_conn, ws, kind, stores.credentials(kind), prefix=prefix,
                           endpoint_url=stores.endpoint(kind), region="us-east-1" if kind == "s3" else None)
    with workspace_scope(fleet, ws):
        outcome = export_workspace(fleet, ws, destination_openers(fleet, ws), AS_OF)
        assert outcome["objects_written"] == 30
        assert export_workspace(fleet, ws, destination_openers(fleet, ws), AS_OF)["objects_written"] == 0
    sums = day_sums(db_conn, ws)
    for day in sums:
        data = read_back(stores, kind, f"{prefix}/focus/billing_period=2026-11/{day:%Y-%m-%d}.parquet")
        assert data is not None and conformance.check(data, "parquet") == []
        billed = sum((Decimal(str(r["BilledCost"])) for r in pq.read_table(io.BytesIO(data)).to_pylist()), Decimal(0))
        assert billed * D == sums[day]
    manifest = read_back(stores, kind, f"{prefix}/focus/billing_period=2026-11/manifest.json")
    assert manifest is not None and json.loads(manifest)["totals"]["cost_nanos"] == sum(sums.values())


def test_a_failing_destination_is_recorded_and_the_others_are_exported(db_conn: Conn, fleet: Conn,
                                                                        stores: Stores) -> None:
    ws = seed_month(db_conn).workspace_id
    refresh(db_conn, ws, AS_OF)
    missing = add_sealed_destination(db_conn, ws, "s3", stores.credentials("s3"), bucket="no-such-bucket-here",
                                     endpoint_url=stores.s3.endpoint_url, region="us-east-1")
    good = add_sealed_destination(db_conn, ws, "gcs", stores.credentials("gcs"), prefix=f"ok-{ws}",
                                  endpoint_url=stores.gcs.endpoint_url)
    with workspace_scope(fleet, ws), pytest.raises(ExportsFailed) as failed:
        export_workspace(fleet, ws, destination_openers(fleet, ws), AS_OF)
    assert [f.destination_id for f in failed.value.failures] == [missing.id]
    assert "no-such-bucket-here" in failed.value.failures[0].message
    runs = db_conn.execute("""select status, error, stats->>'destination_id' from analysis.runs
                               where job = 'export' order by id""").fetchall()
    assert [(r[0], r[2]) for r in runs] == [("failed", None), ("succeeded", str(good.id))]
    assert "no-such-bucket-here" in runs[0][1] and "secret" not in runs[0][1].lower()
    assert read_back(stores, "gcs", f"ok-{ws}/focus/billing_period=2026-11/2026-11-01.parquet") is not None
    recorded = db_conn.execute("select distinct destination_id from analysis.exports").fetchall()
    assert recorded == [(good.id,)]


def test_an_export_request_goes_to_the_workspaces_destinations(db_conn: Conn, fleet: Conn, stores: Stores) -> None:
    ws = seed_month(db_conn).workspace_id
    other = make_workspace(db_conn, "beta").workspace_id
    destination = add_sealed_destination(db_conn, ws, "s3", stores.credentials("s3"), prefix=f"asked-{ws}",
                                         endpoint_url=stores.s3.endpoint_url, region="us-east-1")
    assert workspaces_with_export_destinations(fleet) == [ws] and other != ws  # the nightly fan-out's list
    row = db_conn.execute(
        """insert into meter.export_requests (workspace_id, dataset, period_start, period_end, requested_by)
           values (%s, 'requests', '2026-11-03', '2026-11-04', 'finance@acme') returning id""", (ws,)).fetchone()
    assert row is not None
    with workspace_scope(fleet, workspace_of_export_request(fleet, row[0])):
        outcome = export_request(fleet, row[0])
    assert outcome["objects_written"] == 2
    data = read_back(stores, "s3", f"asked-{ws}/requests/billing_period=2026-11/2026-11-04.parquet")
    assert data is not None and pq.read_table(io.BytesIO(data)).num_rows == 6
    run = db_conn.execute("select status, lock_scope from analysis.runs where job = 'export_request'").fetchone()
    assert run == ("succeeded", f"request:{row[0]} destination:{destination.id}")
    assert db_conn.execute("select count(*) from analysis.exports where request_id = %s and dataset = 'requests'",
                           (row[0],)).fetchone() == (2,)


def test_a_bucket_url_uses_the_workspaces_own_destination_and_its_prefix(db_conn: Conn, fleet: Conn,
                                                                         stores: Stores) -> None:
    ws = seed_month(db_conn).workspace_id
    refresh(db_conn, ws, AS_OF)
    add_sealed_destination(db_conn, ws, "gcs", stores.credentials("gcs"), prefix="nightly",
                           endpoint_url=stores.gcs.endpoint_url)
    with workspace_scope(fleet, ws):
        target = sink_for_url(fleet, ws, f"gs://{BUCKET}/by-hand-{ws}")
        job = OnDemand(ws, "focus", dt.date(2026, 11, 1), dt.date(2026, 11, 3), AS_OF,
                       destination_id=target.destination_id)
        assert export_period(fleet, job, target)["objects_written"] == 2
        with pytest.raises(UserError, match="no live s3 destination for bucket 'elsewhere'"):
            sink_for_url(fleet, ws, "s3://elsewhere/x")
    assert read_back(stores, "gcs", f"by-hand-{ws}/focus/billing_period=2026-11/2026-11-02.parquet") is not None


def test_a_bucket_url_off_the_destinations_prefix_is_not_counted_as_the_destinations(
        db_conn: Conn, fleet: Conn, stores: Stores) -> None:
    """`--to` another prefix of the destination's bucket (or one below its own) writes there with its
    credentials, but the nightly still writes every day to the destination's own prefix and its manifest lists
    only what is there; `--to` the destination's own prefix is the destination's (the nightly skips those)."""
    ws = seed_month(db_conn).workspace_id
    refresh(db_conn, ws, AS_OF)
    own = f"nightly-{ws}"
    destination = add_sealed_destination(db_conn, ws, "s3", stores.credentials("s3"), prefix=own,
                                         endpoint_url=stores.s3.endpoint_url, region="us-east-1")
    first_days = OnDemand(ws, "focus", dt.date(2026, 11, 1), dt.date(2026, 11, 3), AS_OF)
    with workspace_scope(fleet, ws):
        for url in (f"s3://{BUCKET}/elsewhere-{ws}", f"s3://{BUCKET}/{own}/below"):
            target = sink_for_url(fleet, ws, url)
            assert target.destination_id is None
            assert export_period(fleet, first_days, target)["objects_written"] == 2
        nightly = export_workspace(fleet, ws, destination_openers(fleet, ws), AS_OF)
    assert nightly["objects_written"] == 30
    assert read_back(stores, "s3", f"{own}/focus/billing_period=2026-11/2026-11-01.parquet") is not None
    manifest = read_back(stores, "s3", f"{own}/focus/billing_period=2026-11/manifest.json")
    assert manifest is not None and len(json.loads(manifest)["objects"]) == 30
    keys = [k for (k,) in db_conn.execute("select object_key from analysis.exports where destination_id is null")]
    assert f"s3://{BUCKET}/elsewhere-{ws}/focus/billing_period=2026-11/2026-11-01.parquet" in keys
    assert f"s3://{BUCKET}/{own}/below/focus/billing_period=2026-11/2026-11-01.parquet" in keys

    later = AS_OF + dt.timedelta(days=1)
    with workspace_scope(fleet, ws):
        target = sink_for_url(fleet, ws, f"s3://{BUCKET}/{own}/")
        assert target.destination_id == destination.id
        job = OnDemand(ws, "focus", dt.date(2026, 11, 1), dt.date(2026, 11, 3), later, destination_id=destination.id)
        assert export_period(fleet, job, target)["objects_written"] == 2
        assert export_workspace(fleet, ws, destination_openers(fleet, ws), later)["objects_written"] == 0


def test_credentials_copied_from_another_workspace_fail_the_nightly_before_any_request_and_are_audited(
        db_conn: Conn, fleet: Conn, stores: Stores) -> None:
    """Issue 16 item 3 on the nightly's path (the fleet's role, the destination opened inside its run): the
    copied ciphertext reaches no store, the run fails, and the refusal's audit event is there after the run,
    once, naming no secret."""
    acme, beta = make_workspace(db_conn, "acme").workspace_id, make_workspace(db_conn, "beta").workspace_id
    with store_proxy(stores.port("s3")) as (url, seen):
        theirs = add_sealed_destination(db_conn, beta, "s3", stores.credentials("s3"), endpoint_url=url)
        ours = add_sealed_destination(db_conn, acme, "s3", stores.credentials("s3"), endpoint_url=url)
        db_conn.execute("""update meter.export_destinations set credentials_ciphertext =
                               (select credentials_ciphertext from meter.export_destinations where id = %s)
                            where id = %s""", (theirs.id, ours.id))
        with workspace_scope(fleet, acme), pytest.raises(ExportsFailed) as failed:
            export_workspace(fleet, acme, destination_openers(fleet, acme), AS_OF)
        assert seen.count == 0, "no request reached the store"
    assert "was not stored for this export destination" in failed.value.failures[0].message
    run = db_conn.execute("select status, error from analysis.runs where job = 'export'").fetchone()
    assert run is not None and run[0] == "failed" and "was not stored for this export destination" in run[1]
    copied = db_conn.execute("select credentials_ciphertext from meter.export_destinations where id = %s",
                             (ours.id,)).fetchone()
    assert copied is not None
    events = db_conn.execute("""select workspace_id, event, resource, actor || ' ' || details::text
                                  from analysis.audit_events""").fetchall()
    assert [e[:3] for e in events] == [(acme, "secret.misplaced", f"meter.export_destinations:{ours.id}")]
    secrets = [value for value in json.loads(stores.credentials("s3")).values() if len(value) > 8]
    assert secrets and not any(s in events[0][3] for s in (*secrets, "beta", bytes(copied[0]).decode()))
