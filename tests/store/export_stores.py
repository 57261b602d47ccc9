"""The real stores for the export tests: moto's S3 server and the Cloud Storage emulator, started once per test
session (workers/runtime/embedded_stores.py; the `stores` fixture of tests/store/conftest.py), and a destination
row as the dashboard stores it. Tests write under prefixes of their own: the buckets outlive a test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from adapters.destinations import DestinationPolicy
from adapters.object_stores import StoreOptions
from store.export_destinations import ExportDestination, add_destination, live_destinations, store_credentials
from tests.factories import Conn
from workers.runtime.embedded_stores import EmbeddedGcs, EmbeddedS3, service_account_json, start_gcs, start_s3
from workers.runtime.stored_secrets import seal_stored_secret

BUCKET = "halton-exports"
LOCAL = DestinationPolicy(allow_private=True)  # HALTON_ALLOW_PRIVATE_DESTINATIONS=true: the stores are local
QUICK = StoreOptions(connect_timeout=2.0, request_timeout=2.0, attempts=4, retry_seconds=8.0)
TABLE, COLUMN = "meter.export_destinations", "credentials_ciphertext"


@dataclass
class Stores:
    s3: EmbeddedS3
    gcs: EmbeddedGcs
    gcs_key: str  # a service-account key JSON (the emulator accepts any)

    def endpoint(self, kind: str) -> str:
        return self.s3.endpoint_url if kind == "s3" else self.gcs.endpoint_url

    def port(self, kind: str) -> int:
        return self.s3.port if kind == "s3" else self.gcs.port

    def credentials(self, kind: str) -> str:
        return self.s3.credentials_json() if kind == "s3" else self.gcs_key


def started_stores() -> Iterator[Stores]:
    """Both stores with the bucket BUCKET, stopped at the end (the session's `stores` fixture: conftest)."""
    s3 = start_s3()
    try:
        gcs = start_gcs()
    except Exception:
        s3.stop()
        raise
    try:
        s3.create_bucket(BUCKET)
        gcs.create_bucket(BUCKET)
        yield Stores(s3, gcs, service_account_json())
    finally:
        s3.stop()
        gcs.stop()


def add_sealed_destination(conn: Conn, workspace_id: int, kind: str, credentials: str, *, bucket: str = BUCKET,
                           prefix: str = "", endpoint_url: str | None = None, region: str | None = None,
                           datasets: tuple[str, ...] = ("focus",)) -> ExportDestination:
    """As the dashboard does: the row, then its credentials sealed for that row (HALTON_ENCRYPTION_KEY set)."""
    destination_id = add_destination(conn, workspace_id, kind, bucket, prefix=prefix, region=region,
                                     endpoint_url=endpoint_url, datasets=datasets)
    store_credentials(conn, workspace_id, destination_id,
                      seal_stored_secret(credentials, TABLE, COLUMN, workspace_id, destination_id))
    return next(d for d in live_destinations(conn, workspace_id) if d.id == destination_id)
