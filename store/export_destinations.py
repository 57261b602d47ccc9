"""Export destinations (issue 19): the buckets a workspace's datasets go to, `meter.export_destinations`.

Every query names the workspace (and row-level security keeps the fleet's role to the workspace its
connection is scoped to). A revoked destination is never returned. The sealed credentials are read only by
`destination_credentials`, at the moment a sink is opened (workers/runtime/export_sinks.py), so the
dataclass that jobs pass around never holds them, not even encrypted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from core.db import Conn
from core.errors import present

Kind = Literal["s3", "gcs"]
Format = Literal["parquet", "csv"]

_COLUMNS = "id, workspace_id, kind, bucket, prefix, region, endpoint_url, format, datasets"


@dataclass(frozen=True)
class ExportDestination:
    """A live destination as the dashboard stored it (the prefix unchecked: the sink checks it)."""

    id: int
    workspace_id: int
    kind: Kind
    bucket: str
    prefix: str
    region: str | None
    endpoint_url: str | None  # an S3-compatible store or an emulator; None: the provider's own
    format: Format
    datasets: tuple[str, ...]

    @property
    def url(self) -> str:
        """s3://bucket/prefix or gs://bucket/prefix, for messages (never a credential)."""
        scheme = "s3" if self.kind == "s3" else "gs"
        return f"{scheme}://{self.bucket}/{self.prefix}".rstrip("/")


def _destination(row: tuple[Any, ...]) -> ExportDestination:
    id_, workspace_id, kind, bucket, prefix, region, endpoint_url, format_, datasets = row
    return ExportDestination(int(id_), int(workspace_id), kind, str(bucket), str(prefix or ""),
                             None if region is None else str(region),
                             None if endpoint_url is None else str(endpoint_url), format_,
                             tuple(str(d) for d in datasets))


def live_destinations(conn: Conn, workspace_id: int) -> list[ExportDestination]:
    """The workspace's destinations that are not revoked, oldest first."""
    rows = conn.execute(
        f"""select {_COLUMNS} from meter.export_destinations
             where workspace_id = %s and revoked_at is null order by created_at, id""",
        (workspace_id,),
    ).fetchall()
    return [_destination(row) for row in rows]


def destination_of_bucket(conn: Conn, workspace_id: int, kind: str, bucket: str,
                          prefix: str | None = None) -> ExportDestination | None:
    """The workspace's live destination for that bucket (the one whose prefix is `prefix`, trailing '/' aside,
    if any; else the newest), or None.

    The command line's `--to s3://bucket/prefix` writes with this destination's credentials and endpoint
    (the prefix is the URL's): there are no credentials from anywhere else."""
    row = conn.execute(
        f"""select {_COLUMNS} from meter.export_destinations
             where workspace_id = %s and kind = %s and bucket = %s and revoked_at is null
             order by rtrim(prefix, '/') is not distinct from %s::text desc, created_at desc, id desc limit 1""",
        (workspace_id, kind, bucket, prefix),
    ).fetchone()
    return None if row is None else _destination(row)


def destination_credentials(conn: Conn, workspace_id: int, destination_id: int) -> bytes | None:
    """The sealed credentials of a live destination of the workspace; None once it is revoked (or gone)."""
    row = conn.execute(
        """select credentials_ciphertext from meter.export_destinations
            where workspace_id = %s and id = %s and revoked_at is null""",
        (workspace_id, destination_id),
    ).fetchone()
    return None if row is None else bytes(row[0])


def add_destination(conn: Conn, workspace_id: int, kind: str, bucket: str, *, prefix: str = "",
                    region: str | None = None, endpoint_url: str | None = None, format: str = "parquet",
                    datasets: tuple[str, ...] = ("focus",)) -> int:
    """A destination as the dashboard writes it, credentials left empty for the caller to seal for the new
    row (tests and the demo; the fleet's own role cannot write `meter`)."""
    row = conn.execute(
        """insert into meter.export_destinations (workspace_id, kind, bucket, prefix, region, endpoint_url,
               credentials_ciphertext, format, datasets)
           values (%s, %s, %s, %s, %s, %s, '', %s, %s) returning id""",
        (workspace_id, kind, bucket, prefix, region, endpoint_url, format, list(datasets)),
    ).fetchone()
    return int(present(row, "the new destination's id")[0])


def store_credentials(conn: Conn, workspace_id: int, destination_id: int, ciphertext: bytes) -> None:
    """The dashboard's second step: the credentials sealed for the row (tests and the demo)."""
    conn.execute("""update meter.export_destinations set credentials_ciphertext = %s
                     where workspace_id = %s and id = %s""", (ciphertext, workspace_id, destination_id))
