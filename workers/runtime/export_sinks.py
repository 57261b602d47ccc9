"""Opening an export destination as an object sink (issue 19): the checks, then the sealed credentials, then
the client. `open_destination_sink` is the only way the exports reach a bucket.

In order, before any request is sent:
1. the destination is checked (adapters/bucket_rules.py, adapters/destinations.py): the bucket name, the
   prefix, the region, the endpoint (https, no internal address after resolution unless
   HALTON_ALLOW_PRIVATE_DESTINATIONS=true);
2. its credentials are read (a revoked destination has none) and opened with `open_stored_secret`: a
   ciphertext sealed for another row, column or workspace is refused with a `secret.misplaced` audit event;
3. they are parsed into S3Credentials or a GcsServiceAccount, which never print, pickle or log themselves;
4. the client is built with them and nothing else (adapters/object_stores.py: never the worker's own cloud
   credentials, never a metadata service), and an S3 endpoint's connections go to the addresses checked in
   step 1, never to a second lookup (adapters/pinned_tunnel.py).
The audit event of a refusal is committed on its own by open_stored_secret, so it outlives the run it fails.
"""

from __future__ import annotations

from adapters.destinations import DestinationPolicy, Resolve
from adapters.object_stores import BucketSink, StoreOptions, check_target, open_bucket, parse_credentials
from adapters.store_errors import StoreRefused
from core.db import Conn
from store.export_destinations import ExportDestination, destination_credentials
from workers.runtime.stored_secrets import open_stored_secret
from workers.settings.destinations import DestinationSettings

TABLE, COLUMN = "meter.export_destinations", "credentials_ciphertext"


def destination_policy() -> DestinationPolicy:
    """HALTON_ALLOW_PRIVATE_DESTINATIONS, read when a sink opens (like an alert delivery)."""
    return DestinationPolicy(allow_private=DestinationSettings().allow_private_destinations)


def open_destination_sink(conn: Conn, destination: ExportDestination, prefix: str | None = None, *,
                          policy: DestinationPolicy | None = None, options: StoreOptions | None = None,
                          resolve: Resolve | None = None) -> BucketSink:
    """A sink over `destination`'s bucket, under its prefix (or `prefix`: the command line's --to URL's).

    `policy` defaults to the settings'; `options` (timeouts, retries) and `resolve` (DNS) are for tests."""
    target = check_target(destination.kind, destination.bucket, destination.prefix if prefix is None else prefix,
                          destination.region, destination.endpoint_url, policy or destination_policy(),
                          resolve=resolve)
    where = target.url
    ciphertext = destination_credentials(conn, destination.workspace_id, destination.id)
    if ciphertext is None:
        raise StoreRefused(f"the export destination {where} was revoked or removed; nothing was written")
    plaintext = open_stored_secret(conn, TABLE, COLUMN, destination.workspace_id, destination.id, ciphertext,
                                   name=f"the credentials of the export destination {where}")
    credentials = parse_credentials(destination.kind, plaintext, where)
    del plaintext
    return open_bucket(target, credentials, options)
