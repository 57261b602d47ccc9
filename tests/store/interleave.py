"""Another session's work committed between two statements of a connection: the moment a reader that takes
several reads is exposed to, made to happen on cue."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from tests.factories import Conn


@contextmanager
def before_statement(conn: Conn, marker: str, action: Callable[[], object]) -> Iterator[list[str]]:
    """Run `action` (which commits on a connection of its own) just before `conn` sends the first statement
    whose text contains `marker`; yields the statements `conn` sent, for the test to check the cue was met."""
    sent: list[str] = []

    class Cued(psycopg.Cursor[Any]):
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            text = query if isinstance(query, str) else str(query)
            if marker in text and not any(marker in s for s in sent):
                action()
            sent.append(text)
            return super().execute(query, params, **kwargs)

    previous = conn.cursor_factory
    conn.cursor_factory = Cued
    try:
        yield sent
    finally:
        conn.cursor_factory = previous
