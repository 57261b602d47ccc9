"""Admin keys of meter.provider_connections: sealed for their row and encrypted with the fleet's keys
(workers/runtime/stored_secrets.py), opened only here, in the worker that pulls, into an AdminKey that never
prints itself. Tasks carry the workspace id, never a key; messages name the key by its hint."""

from __future__ import annotations

from adapters.billing import AdminKey, shown_hint
from core.db import Conn
from workers.runtime.stored_secrets import open_stored_secret, seal_stored_secret

TABLE, COLUMN = "meter.provider_connections", "admin_key_ciphertext"


def open_admin_key(conn: Conn, workspace_id: int, connection_id: int, ciphertext: bytes, hint: str) -> AdminKey:
    """The connection's key, refused (with an audit event) if it was sealed for another connection."""
    return AdminKey(open_stored_secret(conn, TABLE, COLUMN, workspace_id, connection_id, ciphertext,
                                       name=f"the admin key {shown_hint(hint)}"))


def seal_admin_key(plaintext: str, workspace_id: int, connection_id: int) -> bytes:
    """What the dashboard does when someone connects billing (used by tests and the demo)."""
    return seal_stored_secret(plaintext, TABLE, COLUMN, workspace_id, connection_id)
