"""Caps applied in the query (issue 16): a logo over MAX_LOGO_BYTES and a paste over MAX_PASTE_CHARS stay in
the database (only their size comes out), and the report and the reconciliation say why they were left out."""

from __future__ import annotations

import io
from datetime import date

from PIL import Image

from pdf.model import MAX_LOGO_BYTES
from reconciliation.sources import read_statement
from reconciliation.statement import MAX_PASTE_CHARS
from store.reconciliation import insert_statement, month_statements
from store.report_reads import branding
from tests.factories import Conn, make_workspace
from tests.store.report_scene import insert_request, make_report_scene
from tests.unit.pdf_text import pdf_text
from workers.jobs.reports import render_report
from workers.settings import SigningSettings

UNSIGNED = SigningSettings()
OCTOBER = date(2026, 10, 1)


def png_of_size(size: int) -> bytes:
    """A valid PNG padded to `size` bytes with a trailing ancillary chunk's worth of noise."""
    out = io.BytesIO()
    Image.new("RGB", (60, 20), "navy").save(out, format="PNG")
    data = out.getvalue()
    return data + b"\0" * (size - len(data))


def set_logo(conn: Conn, workspace_id: int, logo: bytes) -> None:
    conn.execute("update meter.workspaces set logo_png = %s where id = %s", (logo, workspace_id))


def test_a_logo_over_the_cap_is_not_read_only_its_size(db_conn: Conn) -> None:
    ws = make_workspace(db_conn).workspace_id
    set_logo(db_conn, ws, png_of_size(MAX_LOGO_BYTES + 1))
    found = branding(db_conn, ws)
    assert (found.logo_png, found.logo_too_large) == (None, MAX_LOGO_BYTES + 1)
    set_logo(db_conn, ws, png_of_size(MAX_LOGO_BYTES))
    found = branding(db_conn, ws)
    assert found.logo_png is not None and len(found.logo_png) == MAX_LOGO_BYTES and found.logo_too_large is None


def test_a_report_with_an_oversized_logo_renders_without_it_and_says_so(db_conn: Conn) -> None:
    scene = make_report_scene(db_conn)
    set_logo(db_conn, scene.workspace_id, png_of_size(3 * MAX_LOGO_BYTES))
    request = insert_request(db_conn, scene.workspace_id, "project", scene.project_id)
    outcome = render_report(db_conn, request, signing=UNSIGNED)
    row = db_conn.execute("select pdf from analysis.reports where request_id = %s", (request,)).fetchone()
    assert outcome["status"] == "succeeded" and row is not None
    text = " ".join(pdf_text(bytes(row[0])).split())
    assert f"logo is larger than the limit of 1,024 KiB ({3 * MAX_LOGO_BYTES:,} bytes)" in text


def test_a_paste_over_the_cap_is_not_read_only_its_length(db_conn: Conn) -> None:
    ws = make_workspace(db_conn).workspace_id
    # é is two bytes: 20,000 of them are 40,000 bytes and still within the cap of characters
    for text in ("$1.00 " + "x" * (MAX_PASTE_CHARS - 6), "$1.00 " + "é" * (MAX_PASTE_CHARS - 6),
                 "$1.00 " + "é" * (MAX_PASTE_CHARS - 5), "$1.00 " + "x" * 128_000):
        insert_statement(db_conn, ws, "openai", OCTOBER, text, "test")
    rows = month_statements(db_conn, ws, "openai", OCTOBER)
    # newest first
    assert [(row.raw_text is None, row.too_long) for row in rows] == [
        (True, 128_006), (True, MAX_PASTE_CHARS + 1), (False, None), (False, None)]
    assert read_statement(rows[0]) == (f"the paste is 128,006 characters long; paste the statement's total "
                                       f"(at most {MAX_PASTE_CHARS:,} characters)")
    assert rows[2].raw_text is not None and len(rows[2].raw_text) == MAX_PASTE_CHARS
