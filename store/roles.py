"""The Postgres roles of CONTRACT.md's "Who may touch what", created and granted idempotently.

- the fleet's role reads `meter` and writes `analysis`;
- the dashboard's role reads both and writes only the four dashboard-owned `meter` tables.

Roles belong to the whole server, not one database, so `migrate` creates them if they are missing and
(re)grants on this database every time: a table a later migration adds is covered by the next
`migrate`, and the default privileges below cover tables created by the migrating role meanwhile.
Passwords are the operator's business (ALTER ROLE … PASSWORD, or the platform's IAM); the roles are
created with LOGIN and no password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from psycopg import sql

from core.db import Conn
from core.errors import ConfigError

DASHBOARD_WRITES = ("billing_statements", "check_suppressions", "recommendation_decisions", "report_requests")
ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass(frozen=True)
class Roles:
    fleet: str = "halton_fleet"
    dashboard: str = "halton_dashboard"

    def __post_init__(self) -> None:
        for name in (self.fleet, self.dashboard):
            if not ROLE_NAME.fullmatch(name):
                raise ConfigError(f"role name '{name}' must be lowercase letters, digits and underscores")
        if self.fleet == self.dashboard:
            raise ConfigError("the fleet's and the dashboard's roles must be different roles")


def _create_if_missing(conn: Conn, role: str) -> None:
    if conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone():
        return
    try:
        conn.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
    except Exception as error:  # e.g. no CREATEROLE: the operator creates it once
        if conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone():
            return  # another migrate created it meanwhile
        raise ConfigError(f"cannot create the role {role} ({str(error).splitlines()[0]}); create it once "
                          f"with CREATE ROLE {role} LOGIN, then run migrate again") from None


def ensure_roles(conn: Conn, roles: Roles, include_meter: bool = True) -> None:
    """Create both roles if missing and grant exactly what each may do on this database.

    Without `include_meter` (production, where the sync service owns `meter`) only `analysis` is
    granted here; the owner of `meter` grants its part (the runbook lists the statements)."""
    fleet, dashboard = sql.Identifier(roles.fleet), sql.Identifier(roles.dashboard)
    for role in (roles.fleet, roles.dashboard):
        _create_if_missing(conn, role)
    analysis_grants = [
        "grant usage on schema analysis to {fleet}, {dashboard}",
        # the fleet writes analysis; the dashboard only reads it
        "grant select, insert, update, delete on all tables in schema analysis to {fleet}",
        "grant usage, select on all sequences in schema analysis to {fleet}",
        "grant select on all tables in schema analysis to {dashboard}",
        "alter default privileges in schema analysis grant select, insert, update, delete on tables to {fleet}",
        "alter default privileges in schema analysis grant usage, select on sequences to {fleet}",
        "alter default privileges in schema analysis grant select on tables to {dashboard}",
    ]
    meter_grants = [
        # both read meter; the dashboard writes its four tables (below), the fleet nothing
        "grant usage on schema meter to {fleet}, {dashboard}",
        "grant select on all tables in schema meter to {fleet}, {dashboard}",
        "alter default privileges in schema meter grant select on tables to {fleet}, {dashboard}",
    ]
    statements = analysis_grants + (meter_grants if include_meter else [])
    with conn.transaction():
        for statement in statements:
            conn.execute(sql.SQL(statement).format(fleet=fleet, dashboard=dashboard))
        # the migration ledger is the owner's alone
        conn.execute(sql.SQL("revoke insert, update, delete on analysis.schema_migrations from {}").format(fleet))
        if not include_meter:
            return
        for table in DASHBOARD_WRITES:
            conn.execute(sql.SQL("grant insert, update, delete on meter.{} to {}").format(
                sql.Identifier(table), dashboard))
        # identity columns of those tables draw from sequences the inserts need
        rows = conn.execute(
            """select s.relname from pg_depend d
                 join pg_class s on s.oid = d.objid and s.relkind = 'S'
                 join pg_class t on t.oid = d.refobjid
                 join pg_namespace n on n.oid = t.relnamespace
                where n.nspname = 'meter' and t.relname = any(%s)""",
            (list(DASHBOARD_WRITES),),
        ).fetchall()
        for (sequence,) in rows:
            conn.execute(sql.SQL("grant usage on sequence meter.{} to {}").format(sql.Identifier(sequence), dashboard))
