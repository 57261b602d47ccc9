"""`COPY … TO STDOUT` read in bulk, and its text format parsed by pyarrow: the plumbing of store/frames.py.

Receiving. Postgres sends a COPY one row per message, and psycopg's `for block in copy` hands them out one
at a time through several Python frames (about 0.6 µs a row: 2 s of this process's CPU for 3M rows, more
than pyarrow's parsing of them). `copy_pieces` starts the COPY with psycopg (parameters, the connection's
transaction and session settings as they are) and drains the rows itself with libpq's non-blocking
PQgetCopyData through `Connection.pgconn`, psycopg's public handle for what it does not wrap: one call a
row, into a buffer handed out in pieces of whole rows, then the COPY's result (raised as psycopg raises an
error). Leaving early (an exception, or the consumer closing the generator) leaves psycopg's block with
that exception, which cancels the COPY and drains what the server had sent.

Parsing. The text format (the default of COPY) costs the server less than CSV and has no quoting: a row
is one line, fields are separated by tabs, NULL is `\\N`, and a tab, newline, carriage return, backslash
(and backspace, form feed, vertical tab) inside a value is written as a backslash escape. So pyarrow can
parse it with quoting and escaping off, and only text values holding a backslash need unescaping after:
for a dictionary column its few distinct values, for a plain text column the values themselves (a rare
path: prompt hashes are hex).

Memory. The parsed columns come from the C allocator (Arrow's system pool), not Arrow's default (mimalloc):
a stage's read is parsed, converted to pandas and dropped, over and over in one worker process, and mimalloc
handed the parsed columns' memory back to the kernel between reads, so every read touched fresh pages again
(on the benchmark machine, a VM, about 1 s of system CPU for 3M rows); the C allocator keeps it for the next
read and for the pandas conversion. Peak and resident memory stay the same (bench_reader, docs/BENCHMARKS.md).
"""

from __future__ import annotations

import contextlib
import queue
import re
import select
import threading
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from typing import TypeVar

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from psycopg import errors, pq, sql

from core.db import Conn

Params = Sequence[object] | Mapping[str, object]  # a statement's parameters, by position or by name
# rows of COPY output: the buffer they were received into (a bytearray, never copied again) or bytes
Rows = bytes | bytearray
T = TypeVar("T")

COPY_TEXT = "copy ({}) to stdout"
WHOLE = 1 << 62  # a piece size no COPY reaches: the whole output as one piece

# only what COPY writes for NULL: pyarrow's defaults would also read '', 'NA', 'NULL', 'nan', … as nulls
# (as the CSV reader before 2026-12 did: a model or project text of 'NA' came out as null)
NULLS = ["\\N"]
_PARSE = pa_csv.ParseOptions(delimiter="\t", quote_char=False, escape_char=False, newlines_in_values=False)
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
# where parsed columns live: the C allocator, which keeps freed memory for the next read (module docstring)
PARSE_POOL = pa.system_memory_pool()


class _Stopped(Exception):
    """Raised inside the COPY's block when the consumer asked to stop: psycopg then cancels the COPY."""


def copy_text(query: sql.Composable) -> sql.Composed:
    """The COPY, in the text format, of a `select`."""
    return sql.SQL(COPY_TEXT).format(query)


def copy_pieces(conn: Conn, copy: sql.Composed, params: Params, piece_bytes: int = WHOLE,
                stop: threading.Event | None = None) -> Generator[bytearray, None, None]:
    """The output of `copy` (a `COPY … TO STDOUT` statement) in pieces of at least `piece_bytes` (the last
    one shorter), each ending with a row; nothing when it has no rows. Stops (cancelling the COPY) once
    `stop` is set. Each piece is the buffer its rows were received into, handed over (not copied)."""
    pgconn = conn.pgconn
    with conn.cursor() as cursor, cursor.copy(copy, params):
        get_row, socket = pgconn.get_copy_data, pgconn.socket
        pending = bytearray()
        poller = None
        while True:
            size, row = get_row(1)  # 1: never block; one row per call while libpq has any buffered
            while size > 0:  # the rows libpq holds, with nothing else a row (0.1 s less for 3M rows)
                pending += row
                size, row = get_row(1)
            if len(pending) >= piece_bytes:
                if stop is not None and stop.is_set():
                    raise _Stopped
                yield pending
                pending = bytearray()
            if size == 0:  # nothing buffered: wait for the socket (the GIL released), then read it
                poller = poller or _poller(socket)
                poller.poll()
                pgconn.consume_input()
            elif size == -1:  # the rows are over (or the query failed): the COPY's result says which
                _finish(conn, poller or _poller(socket))
                break
            else:
                raise psycopg.OperationalError(f"receiving copy data failed: {_message(conn)}")
    if pending:
        yield pending


def _poller(socket: int) -> select.poll:
    poller = select.poll()
    poller.register(socket, select.POLLIN)
    return poller


def _finish(conn: Conn, poller: select.poll) -> None:
    """Read the results that end a COPY: its COMMAND_OK, or the error that cut it short (raised)."""
    pgconn = conn.pgconn
    while pgconn.is_busy():
        poller.poll()
        pgconn.consume_input()
    error = None
    while (result := pgconn.get_result()) is not None:
        if result.status != pq.ExecStatus.COMMAND_OK and error is None:
            error = errors.error_from_result(result, encoding=conn.info.encoding)
    if error is not None:
        raise error


def _message(conn: Conn) -> str:
    return conn.pgconn.error_message.decode(conn.info.encoding, "replace").strip()


def copy_bytes(conn: Conn, copy: sql.Composed, params: Params) -> Rows:
    """The whole output of `copy` (a `COPY … TO STDOUT` statement)."""
    pieces = list(copy_pieces(conn, copy, params))
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)  # one piece: as received, not copied


def copy_pieces_until(conn: Conn, copy: sql.Composed, params: Params, piece_bytes: int,
                      stop: threading.Event) -> Iterator[bytearray]:
    """copy_pieces, ending quietly (the COPY cancelled) once `stop` is set."""
    with contextlib.suppress(_Stopped):
        yield from copy_pieces(conn, copy, params, piece_bytes, stop)


def parse_text(data: Rows, schema: pa.Schema, use_threads: bool = True) -> pa.Table:
    """Rows of COPY's text format as a table of `schema` (its column order is the COPY's). `use_threads`
    False: parse on this thread alone (when a reader thread already keeps the other core busy, pyarrow's
    pool only adds its overhead: 1.4 s of CPU for 3M rows alone against 2.0 s with the pool)."""
    if not data:
        return schema.empty_table()
    table = pa_csv.read_csv(
        pa.BufferReader(data), read_options=pa_csv.ReadOptions(column_names=schema.names, use_threads=use_threads),
        parse_options=_PARSE,
        convert_options=pa_csv.ConvertOptions(
            column_types={field.name: field.type for field in schema}, null_values=NULLS,
            strings_can_be_null=True, true_values=["t"], false_values=["f"]),
        memory_pool=PARSE_POOL)
    if data.find(b"\\") < 0:  # no NULL, no escape: nothing to undo (a memchr: 1 ms for 10 MB)
        return table
    for i, field in enumerate(schema):
        if pa.types.is_string(field.type) or (pa.types.is_dictionary(field.type)
                                               and pa.types.is_string(field.type.value_type)):
            column = table.column(i)
            unescaped = _unescaped(column)
            if unescaped is not column:
                table = table.set_column(i, field, unescaped)
    return table


def _unescaped(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """The text values of `column` with COPY's backslash escapes undone; `column` itself when it has none."""
    chunks = []
    changed = False
    for chunk in column.chunks:
        if isinstance(chunk, pa.DictionaryArray):
            values = chunk.dictionary
            if pc.any(pc.match_substring(values, "\\")).as_py():
                # escaping is one-to-one, so distinct values stay distinct: still a dictionary
                chunk = pa.DictionaryArray.from_arrays(chunk.indices, _unescape_values(values))
                changed = True
        elif pc.any(pc.match_substring(chunk, "\\")).as_py():
            chunk = _unescape_values(chunk)
            changed = True
        chunks.append(chunk)
    return pa.chunked_array(chunks, column.type) if changed else column


def _unescape_values(values: pa.Array) -> pa.Array:
    return pa.array([None if v is None else _ESCAPED.sub(_unescape_one, v) for v in values.to_pylist()],
                    pa.string())


def _unescape_one(match: re.Match[str]) -> str:
    char = match.group(1)
    return _ESCAPES.get(char, char)


def read_ahead(produce: Callable[[threading.Event], Iterator[T]]) -> Iterator[T]:
    """What `produce` yields, produced in a thread one item ahead of the caller (Postgres is read while
    pyarrow parses the item before); `produce` stops at its next step once the event is set."""
    ahead: queue.Queue[T | BaseException | None] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def run() -> None:
        try:
            for item in produce(stop):
                ahead.put(item)
            ahead.put(None)
        except BaseException as error:  # handed to the consumer, which raises it
            ahead.put(error)

    reader = threading.Thread(target=run, name="copy-reader", daemon=True)
    reader.start()
    try:
        while True:
            item = ahead.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while reader.is_alive():  # unblock a producer waiting to put, then let it end
            with contextlib.suppress(queue.Empty):
                ahead.get(timeout=0.05)
        reader.join()
