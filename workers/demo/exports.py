"""The demo's export: an embedded S3-protocol server (moto, a local process), a bucket, a destination as the
dashboard stores it (credentials sealed for its row), then the nightly export as the fleet's role, and what it
wrote printed in 80 columns: each object with its rows, BilledCost and sha256, and a rerun that writes nothing."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from core.db import Conn
from core.money import money
from store.export_destinations import add_destination, store_credentials
from store.exports import destination_objects
from store.tenancy import workspace_scope
from store.workspaces import Workspace
from workers.jobs.export_targets import destination_openers
from workers.jobs.exports import export_workspace
from workers.runtime.db import connect
from workers.runtime.stored_secrets import seal_stored_secret

BUCKET, PREFIX = "acme-finops", "llm-spend"


def export_to_embedded_s3(owner: Conn, fleet_url: str, workspace: Workspace, console: Console) -> None:
    from workers.runtime.embedded_stores import start_s3  # demo only: the local extra

    s3 = start_s3()
    # as a billing worker has them: its database (the settings that hold the key need one) and, the store
    # listening on 127.0.0.1, private destinations allowed
    saved = {name: os.environ.get(name) for name in ("HALTON_ALLOW_PRIVATE_DESTINATIONS", "DATABASE_URL")}
    os.environ["HALTON_ALLOW_PRIVATE_DESTINATIONS"] = "true"
    os.environ.setdefault("DATABASE_URL", fleet_url)
    try:
        s3.create_bucket(BUCKET)
        destination_id = add_destination(owner, workspace.id, "s3", BUCKET, prefix=PREFIX, region=s3.region,
                                         endpoint_url=s3.endpoint_url, datasets=("focus",))
        store_credentials(owner, workspace.id, destination_id,
                          seal_stored_secret(s3.credentials_json(), "meter.export_destinations",
                                             "credentials_ciphertext", workspace.id, destination_id))
        as_of = datetime.now(UTC).replace(microsecond=0)
        with connect(fleet_url) as conn, workspace_scope(conn, workspace.id):
            export_workspace(conn, workspace.id, destination_openers(conn, workspace.id), as_of)
            again = export_workspace(conn, workspace.id, destination_openers(conn, workspace.id), as_of)
        rows = destination_objects(owner, workspace.id, destination_id)
        listed = {str(key) for key in (s3.client().list_objects_v2(Bucket=BUCKET).get("Contents") or [])
                  for key in [key["Key"]]}
        table = Table(title=f"FOCUS 1.2 export to s3://{BUCKET}/{PREFIX} (embedded S3)", title_justify="left")
        for name, justify in (("billing period", "left"), ("day objects", "right"), ("rows", "right"),
                              ("usage", "right"), ("adjustment", "right")):
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        periods: dict[str, list[int]] = {}
        for key, count, cost, _ in rows:
            folder, name = str(key).rsplit("/", 1)
            figures = periods.setdefault(folder.split("billing_period=")[-1], [0, 0, 0, 0])
            if name.startswith("adjustments."):
                figures[3] += int(cost or 0)
            elif not name.startswith("manifest"):
                figures[0] += 1
                figures[1] += int(count)
                figures[2] += int(cost or 0)
        for period, (objects, count, usage, adjustment) in sorted(periods.items()):
            table.add_row(period, str(objects), f"{count:,}", money(usage), money(adjustment) if adjustment else "")
        console.print(table)
        sample = next((str(r[0]) for r in rows if str(r[0]).endswith(".parquet")), "")
        console.print(f"objects like {PREFIX}/{sample} (one per UTC day), adjustments.parquet for a reconciled "
                      "month, manifest.json per month (rows, cost, sha256, what was restated).")
        total = sum(int(r[2]) for r in rows if r[2] is not None)
        in_bucket = sum(1 for key in listed if key.startswith(f"{PREFIX}/"))
        console.print(f"{len(rows)} objects recorded, {in_bucket} in the bucket; BilledCost {money(total)} in all "
                      f"(the rollup's to the nano); a second run wrote {again['objects_written']}.", soft_wrap=False)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        s3.stop()
