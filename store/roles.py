"""The Postgres roles of CONTRACT.md's "Who may touch what", created and granted idempotently.

- the fleet's role reads `meter` and writes `analysis`;
- the dashboard's role reads both and writes only the dashboard-owned `meter` tables (`DASHBOARD_WRITES`).

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
from core.errors import ConfigError, present

# the shared contract's four, issue 17's budgets and alert channels (0017), issue 19's exports (0024)
DASHBOARD_WRITES = ("billing_statements", "check_suppressions", "recommendation_decisions", "report_requests",
                    "budgets", "alert_channels", "export_destinations", "export_requests")
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


# The fleet's audit log is append-only for it: what it did stays recorded even if a worker is taken over.
AUDIT_LOG = "audit_events"


def analysis_grant_statements(roles: Roles) -> list[sql.Composed]:
    """What `migrate` grants on `analysis`, which the fleet owns in every deployment."""
    return _compose([
        "grant usage on schema analysis to {fleet}, {dashboard}",
        # the fleet writes analysis; the dashboard only reads it
        "grant select, insert, update, delete on all tables in schema analysis to {fleet}",
        "grant usage, select on all sequences in schema analysis to {fleet}",
        "grant select on all tables in schema analysis to {dashboard}",
        "alter default privileges in schema analysis grant select, insert, update, delete on tables to {fleet}",
        "alter default privileges in schema analysis grant usage, select on sequences to {fleet}",
        "alter default privileges in schema analysis grant select on tables to {dashboard}",
        # after the grants above, which give every analysis table back on each run: the migration
        # ledger is the owner's alone, and the audit log only grows
        "revoke insert, update, delete on analysis.schema_migrations from {fleet}",
        f"revoke update, delete, truncate on analysis.{AUDIT_LOG} from {{fleet}}",
    ], roles)


def meter_grant_statements(roles: Roles, dashboard_sequences: list[str]) -> list[sql.Composed]:
    """What the owner of `meter` grants: `migrate` itself where it created `meter`; in production (the
    sync service owns it) deploy/runbook.md lists these very statements, and a test keeps them equal.

    `dashboard_sequences`: the sequences behind the identity columns of the dashboard's tables,
    which its inserts draw from (and no other)."""
    statements = _compose([
        # both read meter; the dashboard writes its tables, the fleet nothing
        "grant usage on schema meter to {fleet}, {dashboard}",
        "grant select on all tables in schema meter to {fleet}, {dashboard}",
        "alter default privileges in schema meter grant select on tables to {fleet}, {dashboard}",
    ], roles)
    statements.append(sql.SQL("grant insert, update, delete on {} to {}").format(
        _qualified("meter", DASHBOARD_WRITES), sql.Identifier(roles.dashboard)))
    if dashboard_sequences:
        statements.append(sql.SQL("grant usage on sequence {} to {}").format(
            _qualified("meter", dashboard_sequences), sql.Identifier(roles.dashboard)))
    return statements


def dashboard_sequences(conn: Conn) -> list[str]:
    """The sequences owned by the dashboard's meter tables (their identity columns), by name."""
    rows = conn.execute(
        """select s.relname from pg_depend d
             join pg_class s on s.oid = d.objid and s.relkind = 'S'
             join pg_class t on t.oid = d.refobjid
             join pg_namespace n on n.oid = t.relnamespace
            where n.nspname = 'meter' and t.relname = any(%s)
            order by s.relname""",
        (list(DASHBOARD_WRITES),),
    ).fetchall()
    return [str(name) for (name,) in rows]


def ensure_roles(conn: Conn, roles: Roles, include_meter: bool = True) -> None:
    """Create both roles if missing and grant exactly what each may do on this database.

    Without `include_meter` (production, where the sync service owns `meter`) only `analysis` is
    granted here; the owner of `meter` grants its part (the runbook lists the statements). Row-level
    security's policies for the fleet's role are issued here too (store/row_security.py), as they name it."""
    for role in (roles.fleet, roles.dashboard):
        _create_if_missing(conn, role)
    from store.row_security import analysis_row_security_statements, analysis_tables, meter_row_security_statements

    with conn.transaction():
        statements = analysis_grant_statements(roles)
        statements += analysis_row_security_statements(roles, analysis_tables(conn))
        if include_meter:
            statements += meter_grant_statements(roles, dashboard_sequences(conn))
            statements += meter_row_security_statements(roles)
        for statement in statements:
            conn.execute(statement)


def _compose(templates: list[str], roles: Roles) -> list[sql.Composed]:
    fleet, dashboard = sql.Identifier(roles.fleet), sql.Identifier(roles.dashboard)
    return [sql.SQL(template).format(fleet=fleet, dashboard=dashboard) for template in templates]


def _qualified(schema: str, names: tuple[str, ...] | list[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(schema, name) for name in names)


@dataclass(frozen=True)
class WriteAccess:
    """One way the connected role can change `meter`: held by the login role itself or by a role it can
    become (SET ROLE), as `superuser`, `owner` of `target`, or the privileges `what` on `target`."""

    role: str
    what: str
    target: str


def meter_write_access(conn: Conn) -> tuple[str, list[WriteAccess]]:
    """The login role of `conn` and every way it can write `meter` (empty: it can only read it).

    Counts superusers, owners (of the schema or a relation, which may grant themselves anything) and
    INSERT, UPDATE (of any column), DELETE or TRUNCATE on a table, view or foreign table of `meter`,
    granted directly, to PUBLIC, through pg_write_all_data or to a role it is a member of."""
    login = conn.execute("select current_user").fetchone()
    rows = conn.execute(
        """with reachable as (   -- the login role and every role it can become
               select oid, rolname, rolsuper from pg_roles where pg_has_role(current_user, oid, 'MEMBER')
           ), relations as (
               select c.oid, c.relname, c.relowner from pg_class c
                 join pg_namespace n on n.oid = c.relnamespace
                where n.nspname = 'meter' and c.relkind in ('r', 'p', 'v', 'f')
           ), found (role, what, target, rank) as (
               select r.rolname, 'superuser', '', 0 from reachable r where r.rolsuper
               union all
               select r.rolname, 'owner', 'schema meter', 1
                 from pg_namespace n join reachable r on r.oid = n.nspowner where n.nspname = 'meter'
               union all
               select r.rolname, 'owner', 'meter.' || m.relname, 2
                 from relations m join reachable r on r.oid = m.relowner
               union all
               select r.rolname, array_to_string(array_remove(array[
                          case when has_any_column_privilege(r.oid, m.oid, 'INSERT') then 'INSERT' end,
                          case when has_any_column_privilege(r.oid, m.oid, 'UPDATE') then 'UPDATE' end,
                          case when has_table_privilege(r.oid, m.oid, 'DELETE') then 'DELETE' end,
                          case when has_table_privilege(r.oid, m.oid, 'TRUNCATE') then 'TRUNCATE' end], null), ', '),
                      'meter.' || m.relname, 3
                 from relations m cross join reachable r
                where has_any_column_privilege(r.oid, m.oid, 'INSERT, UPDATE')
                   or has_table_privilege(r.oid, m.oid, 'DELETE, TRUNCATE')
           )
           -- the plainest reason first: superuser, ownership, privileges; the login role's own before others'
           select role, what, target from found order by rank, role = current_user desc, target, role"""
    ).fetchall()
    login = present(login, "the login role's row")
    return str(login[0]), [WriteAccess(role=str(role), what=str(what), target=str(target))
                           for role, what, target in rows]
