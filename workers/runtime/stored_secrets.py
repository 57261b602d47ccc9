"""Stored secrets (admin keys, alert channel URLs and signing secrets): sealed for their row, encrypted
with the fleet's keys, opened only here (issue 16 item 3; docs/SECURITY.md says who holds the keys).

- `open_stored_secret(conn, table, column, workspace_id, row_id, ciphertext)`: THE way to read one. It
  decrypts with any of HALTON_ENCRYPTION_KEYS (MultiFernet, newest first), then refuses a secret sealed
  for another place (core.sealed) before anything uses it, writing a `secret.misplaced` audit event that is
  committed on its own, whatever becomes of the caller's transaction (`_audit_refusal`).
- `seal_stored_secret(...)`: what the dashboard does when it stores one (the tests and the demo use it).
- `rotate_stored_secrets(conn)`: `halton-workers keys rotate`: every stored secret re-sealed under the
  newest key, one transaction per table.

Legacy ciphertexts (encrypted before the envelope: the plaintext is the bare secret) are accepted with a
warning, and `keys rotate` seals them for the row they are in. Refusing them would have broken every
connection on the day this shipped, with no way for the fleet to repair them (it cannot write `meter`);
the rotation, run by an operator as the owner, is the one moment their place is trusted, and it is
reported (`rebound`). Once it has run, HALTON_REQUIRE_SEALED_SECRETS=true refuses them like a misplaced
one (audit event `secret.unsealed`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from psycopg.pq import TransactionStatus

from core.db import Conn
from core.errors import ConfigError, UserError
from core.sealed import Binding, MalformedEnvelope, seal, unseal
from store.audit import audit
from store.stored_secrets import SECRET_COLUMNS, locked_secret_rows, replace_ciphertexts
from workers.jobs import worker_name
from workers.runtime.db import sibling
from workers.settings import Settings, command_settings

log = logging.getLogger(__name__)


class SecretUnreadable(UserError):
    """No key of this fleet opens the ciphertext, or it is not an envelope."""


class SecretMisplaced(UserError):
    """The ciphertext was sealed for another row (copied): refused, with an audit event."""


def fleet_keys(settings: Settings | None = None) -> MultiFernet:
    keys = (settings or command_settings()).fernet_keys()
    if not keys:
        raise ConfigError("HALTON_ENCRYPTION_KEYS is missing: set it (or HALTON_ENCRYPTION_KEY) to read stored "
                          "secrets")
    return MultiFernet([Fernet(key.encode()) for key in keys])


def seal_stored_secret(secret: str, table: str, column: str, workspace_id: int, row_id: int) -> bytes:
    """The ciphertext of `secret` for that row and column, under the newest key."""
    return fleet_keys().encrypt(seal(secret, _binding(table, column, workspace_id, row_id)))


def open_stored_secret(conn: Conn, table: str, column: str, workspace_id: int, row_id: int, ciphertext: bytes,
                       name: str = "the stored secret") -> str:
    """The secret stored in `table`.`column` of row `row_id` of workspace `workspace_id`, or a refusal.

    `name` says which secret in messages (e.g. "the admin key …f3a9"); never the secret. Call it before
    any outbound use. It may be called inside the caller's transaction (an alert delivery holds its claim's):
    the audit event of a refusal is committed on its own before the refusal is raised, so it outlives a
    rollback of the caller's work (`_audit_refusal`)."""
    here = _binding(table, column, workspace_id, row_id)
    settings = command_settings()
    try:
        secret, sealed_for = unseal(fleet_keys(settings).decrypt(bytes(ciphertext)))
    except (InvalidToken, MalformedEnvelope) as error:
        log.warning("%s (%s) cannot be opened: %s", name, here.describe(), type(error).__name__)
        raise SecretUnreadable(f"{name} cannot be decrypted by this fleet; {_remedy(table)}, or ask the operators "
                               "to check the fleet's encryption keys") from None
    if sealed_for is None and settings.require_sealed_secrets:
        log.error("%s (%s) is not sealed for its row and HALTON_REQUIRE_SEALED_SECRETS is set: refused", name,
                  here.describe())
        _audit_refusal(conn, workspace_id, "secret.unsealed", f"{table}:{row_id}",
                       {"column": column, "action": "refused before use"})
        raise SecretMisplaced(f"{name} was stored in an older form this fleet no longer accepts, so it was not "
                              f"used; {_remedy(table)}")
    if sealed_for is None:
        log.warning("%s (%s) is not sealed for its row (stored before sealing); `halton-workers keys rotate` "
                    "seals it", name, here.describe())
        return secret
    if sealed_for != here:
        # the other place goes to the operators' log only: the audit log is the workspace's to read
        log.error("%s (%s) was sealed for %s: refused", name, here.describe(), sealed_for.describe())
        _audit_refusal(conn, workspace_id, "secret.misplaced", f"{table}:{row_id}",
                       {"column": column, "sealed_for_this_workspace": sealed_for.workspace_id == workspace_id,
                        "action": "refused before use"})
        raise SecretMisplaced(f"{name} was not stored for this {_noun(table)}, so it was not used; "
                              f"{_remedy(table)}")
    return secret


def _audit_refusal(conn: Conn, workspace_id: int, event: str, resource: str, details: dict[str, Any]) -> None:
    """Commit the audit event of a refusal now, once, whatever the caller's transaction does next.

    On `conn` itself when it is autocommit and outside a transaction block (the statement commits at once);
    otherwise on a short connection of its own (workers.runtime.db.sibling: the same database, role and
    workspace scope, autocommit), so that the rollback of the work around the refusal (an alert delivery's
    claim, a job that then fails) cannot take the event with it. The event names the row and the column, never
    the secret, its ciphertext or the place it was sealed for."""
    if conn.autocommit and conn.info.transaction_status == TransactionStatus.IDLE:
        audit(conn, workspace_id, worker_name(), event, resource, details)
        return
    with sibling(conn) as own:
        audit(own, workspace_id, worker_name(), event, resource, details)


def _binding(table: str, column: str, workspace_id: int, row_id: int) -> Binding:
    if column not in SECRET_COLUMNS.get(table, ()):
        raise ValueError(f"{table}.{column} is not a stored secret (see store.stored_secrets.SECRET_COLUMNS)")
    return Binding(int(workspace_id), table, column, int(row_id))


def _remedy(table: str) -> str:
    return {"meter.provider_connections": "reconnect billing in the dashboard",
            "meter.alert_channels": "enter the channel again in the dashboard",
            "meter.export_destinations": "enter the bucket's credentials again in the dashboard"}.get(
        table, "store it again")


def _noun(table: str) -> str:
    return {"meter.provider_connections": "billing connection", "meter.alert_channels": "alert channel",
            "meter.export_destinations": "export destination"}.get(
        table, "row")


@dataclass
class Rotation:
    """What `keys rotate` did to one table (counts of ciphertexts, not rows)."""

    table: str
    resealed: int = 0  # now sealed under the newest key (rebound ones included)
    rebound: int = 0  # of those, legacy ones sealed for their row for the first time
    misplaced: list[int] = field(default_factory=list)  # row ids left as they were: sealed for another row
    unreadable: list[int] = field(default_factory=list)  # row ids no key opens: left as they were

    @property
    def complete(self) -> bool:
        return not self.misplaced and not self.unreadable


def rotate_stored_secrets(conn: Conn) -> list[Rotation]:
    """Re-seal every stored secret under the newest key, one transaction per table (the rows locked). A
    ciphertext no key opens, or sealed for another row, is left alone and counted: the old key must then
    not be dropped (the first) or the row needs its secret stored again (the second)."""
    keys = fleet_keys()
    done = []
    for table in SECRET_COLUMNS:
        rotation = Rotation(table)
        with conn.transaction():
            for row_id, workspace_id, values in locked_secret_rows(conn, table):
                resealed = {}
                for column, ciphertext in values.items():
                    if ciphertext is None:
                        continue
                    here = Binding(workspace_id, table, column, row_id)
                    try:
                        secret, sealed_for = unseal(keys.decrypt(ciphertext))
                    except (InvalidToken, MalformedEnvelope):
                        rotation.unreadable.append(row_id)
                        continue
                    if sealed_for is not None and sealed_for != here:
                        rotation.misplaced.append(row_id)
                        audit(conn, workspace_id, "halton-workers keys rotate", "secret.misplaced",
                              f"{table}:{row_id}", {"column": column, "action": "left as it was by keys rotate",
                                                    "sealed_for_this_workspace": sealed_for.workspace_id
                                                    == workspace_id})
                        continue
                    rotation.rebound += sealed_for is None
                    resealed[column] = keys.encrypt(seal(secret, here))
                if resealed:
                    replace_ciphertexts(conn, table, row_id, resealed)
                    rotation.resealed += len(resealed)
        log.info("keys rotate: %s: %s re-sealed (%s legacy bound), %s misplaced, %s unreadable", table,
                 rotation.resealed, rotation.rebound, len(rotation.misplaced), len(rotation.unreadable))
        done.append(rotation)
    return done
