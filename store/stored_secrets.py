"""The columns of `meter` that hold a sealed secret, and the SQL `keys rotate` needs to re-seal them.

Reading a secret for use stays with the query that needs its row (store.reconciliation.active_connections,
the alert channels' query); this module is for walking every stored secret, whatever its row."""

from __future__ import annotations

from psycopg import sql

from core.db import Conn

# every (table, columns) whose values are Fernet tokens of core.sealed envelopes; a new one is added here,
# so that `keys rotate` re-seals it (and docs/SECURITY.md's table of secrets gets its row)
SECRET_COLUMNS: dict[str, tuple[str, ...]] = {
    "meter.provider_connections": ("admin_key_ciphertext",),
    "meter.alert_channels": ("url_ciphertext", "secret_ciphertext"),
    "meter.export_destinations": ("credentials_ciphertext",),
}


def _table(table: str) -> sql.Composable:
    if table not in SECRET_COLUMNS:
        raise ValueError(f"{table} holds no stored secret (see store.stored_secrets.SECRET_COLUMNS)")
    schema, name = table.split(".")
    return sql.Identifier(schema, name)


def locked_secret_rows(conn: Conn, table: str) -> list[tuple[int, int, dict[str, bytes | None]]]:
    """(row id, workspace id, {column: ciphertext or None}) of every row, revoked ones too (dropping an old
    key must leave nothing it alone opens), locked until the caller's transaction ends."""
    columns = SECRET_COLUMNS[table]
    query = sql.SQL("select id, workspace_id, {columns} from {table} order by id for update").format(
        columns=sql.SQL(", ").join(sql.Identifier(c) for c in columns), table=_table(table))
    return [(int(row[0]), int(row[1]), {c: None if v is None else bytes(v) for c, v in zip(columns, row[2:],
                                                                                           strict=True)})
            for row in conn.execute(query).fetchall()]


def replace_ciphertexts(conn: Conn, table: str, row_id: int, values: dict[str, bytes]) -> None:
    unknown = set(values) - set(SECRET_COLUMNS[table])
    if unknown:
        raise ValueError(f"{table} has no secret column {sorted(unknown)}")
    query = sql.SQL("update {table} set {assignments} where id = %s").format(
        table=_table(table),
        assignments=sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in values))
    conn.execute(query, (*values.values(), row_id))
