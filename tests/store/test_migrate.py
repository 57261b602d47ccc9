"""The migration runner: ordered, idempotent, refuses edited files, can leave `meter` to its owner."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from core.errors import ConfigError
from store.migrate import Migration, bundled_migrations, migrate
from workers.embedded import drop_database, recreate_database, with_database


@pytest.fixture
def empty_db(database_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    admin = with_database(database_url, "postgres")
    recreate_database(admin, "halton_migrate_test")
    with psycopg.connect(with_database(database_url, "halton_migrate_test"), autocommit=True) as conn:
        yield conn
    drop_database(admin, "halton_migrate_test")


def schemas(conn: psycopg.Connection[tuple[object, ...]]) -> set[str]:
    return {str(row[0]) for row in conn.execute("select nspname from pg_namespace").fetchall()}


def test_skip_meter_creates_only_the_analysis_schema(empty_db: psycopg.Connection[tuple[object, ...]]) -> None:
    applied = migrate(empty_db, include_meter=False)
    assert "meter" not in schemas(empty_db) and "analysis" in schemas(empty_db)
    assert applied == [m.version for m in bundled_migrations() if not m.creates_meter]


def test_an_edited_applied_migration_is_refused(empty_db: psycopg.Connection[tuple[object, ...]]) -> None:
    migrate(empty_db)
    edited = [Migration(m.version, m.name, m.sql + "\n-- edited") for m in bundled_migrations()]
    with pytest.raises(ConfigError, match="was edited after it was applied"):
        migrate(empty_db, edited)


def test_a_new_migration_is_applied_once(empty_db: psycopg.Connection[tuple[object, ...]]) -> None:
    migrate(empty_db)
    extra = [*bundled_migrations(), Migration("9999", "probe", "create table analysis.probe (x int)")]
    assert migrate(empty_db, extra) == ["9999"]
    assert migrate(empty_db, extra) == []
