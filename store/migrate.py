"""A versioned-SQL migration runner.

Why not Alembic or yoyo: the fleet has no ORM models to autogenerate from (Alembic's main gift), the
schema is plain SQL owned by a contract, and the runner needs exactly three things that are a few lines
with psycopg: one transaction per file, an advisory lock so two deploys cannot migrate at once, and a
checksum so an edited, already-applied file is refused instead of silently ignored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg

from core.errors import ConfigError

# Any constant will do; it only has to be the same for every process that migrates.
_MIGRATION_LOCK = 7_310_442_001


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    sql: str

    @property
    def creates_meter(self) -> bool:
        """The input schema's migrations: production's sync service owns `meter`, so they can be skipped."""
        return self.name.startswith("meter")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def bundled_migrations() -> list[Migration]:
    folder = resources.files("store") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version, _, name = entry.name.removesuffix(".sql").partition("_")
            found.append(Migration(version=version, name=name, sql=entry.read_text()))
    return sorted(found, key=lambda m: m.version)


def migrate(conn: psycopg.Connection[Any], migrations: list[Migration] | None = None,
            include_meter: bool = True) -> list[str]:
    """Apply what is missing, in order; return the versions applied (empty: nothing to do).

    `include_meter=False` is for production, where the sync service owns the `meter` schema."""
    migrations = bundled_migrations() if migrations is None else migrations
    migrations = [m for m in migrations if include_meter or not m.creates_meter]
    applied_now: list[str] = []
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute("create schema if not exists analysis")
        conn.execute(
            """create table if not exists analysis.schema_migrations (
                   version text primary key, name text not null, checksum text not null,
                   applied_at timestamptz not null default now())"""
        )
        done: dict[str, str] = {
            str(version): str(checksum)
            for version, checksum in conn.execute("select version, checksum from analysis.schema_migrations")
        }
        for migration in migrations:
            if migration.version in done:
                if done[migration.version] != migration.checksum:
                    raise ConfigError(
                        f"migration {migration.version}_{migration.name}.sql was edited after it was applied; "
                        "add a new migration instead"
                    )
                continue
            conn.execute(migration.sql.encode())
            conn.execute(
                "insert into analysis.schema_migrations (version, name, checksum) values (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
            applied_now.append(migration.version)
    return applied_now
