"""Connections as the two roles `migrate` creates, for the tests of what each may read and write; and the
exports' local stores, started once per run when a test asks for them."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.conftest import TEST_ROLES
from tests.factories import Conn
from tests.store.export_stores import Stores, started_stores
from workers.runtime.embedded import as_role


@pytest.fixture
def fleet(database_url: str, db_conn: Conn) -> Iterator[Conn]:
    """The fleet's role on the test's database (row-level security applies to it)."""
    with psycopg.connect(as_role(database_url, TEST_ROLES.fleet), autocommit=True) as conn:
        yield conn


@pytest.fixture
def dashboard(database_url: str, db_conn: Conn) -> Iterator[Conn]:
    with psycopg.connect(as_role(database_url, TEST_ROLES.dashboard), autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def stores() -> Iterator[Stores]:
    """An S3-protocol server and a Cloud Storage emulator with the bucket `halton-exports`, for the exports'
    tests (started on first use, once per run)."""
    yield from started_stores()
