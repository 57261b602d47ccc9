"""The renderer on hand-made data: every section present, stable bytes, hostile input fetched nothing."""

from __future__ import annotations

import io
import re
import urllib.request
from dataclasses import replace
from datetime import UTC, date, datetime

from PIL import Image
from pypdf import PdfReader

from core.money import money, money_column
from pdf import render
from pdf.model import MAX_LOGO_BYTES, Counting, Signature
from pdf.periods import Period
from tests.unit.pdf_samples import executive_data, project_data
from tests.unit.pdf_text import listening_server, page_count, pdf_text

OCTOBER = Period(date(2026, 10, 1), date(2026, 11, 1))
UNSIGNED = Signature(signer=None, signing_time=None)


def png(colour: str = "navy") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 20), colour).save(out, format="PNG")
    return out.getvalue()


def test_project_report_has_every_section_and_the_exact_figures() -> None:
    data = project_data(OCTOBER, devices=8, models=6, hourly_rate_nanos=150_000_000_000)
    text = pdf_text(render.render_project(data).pdf)
    for heading in ("Headline", "Spend over time", "Request volume and spend", "Share by developer",
                    "Spend by model", "Open recommendations", "How these figures are made", "Hourly rate"):
        assert heading in text
    assert money(data.cost_nanos) in text
    # the rows as printed: rounded so that they add up to the total (tests/unit/test_pdf_sums.py)
    for model, shown in zip(data.models, money_column([m.cost_nanos for m in data.models]), strict=True):
        assert f"{model.model} {model.requests:,} 123,456 7,890 {shown}" in text
    for device, shown in zip(data.devices, money_column([d.cost_nanos for d in data.devices]), strict=True):
        assert f"{device.device_name} {device.owner} {device.requests:,} {shown}" in text
    assert "rates version 2026-10-01" in text and "/docs/concepts/pricing" in text
    assert f"{money(12_340_000_000)}/month" in text  # the quoted saving of an open recommendation


def test_same_data_renders_the_same_bytes_as_pdf_a() -> None:
    data = project_data(OCTOBER, devices=5, models=4, logo=png())
    first, second = render.render_project(data), render.render_project(data)
    assert first.sha256 == second.sha256
    reader = PdfReader(io.BytesIO(first.pdf))
    assert reader.metadata is not None  # created and modified at the period's end, never the wall clock
    assert str(reader.metadata["/CreationDate"]) == str(reader.metadata["/ModDate"]) == "D:20261101000000Z"
    xmp = reader.xmp_metadata
    assert xmp is not None and b'pdfaid:part="3" pdfaid:conformance="B"' in xmp.stream.get_data()  # PDF/A-3b


def test_an_empty_period_says_there_was_no_traffic() -> None:
    text = pdf_text(render.render_project(project_data(OCTOBER, empty=True, recommendations=0)).pdf)
    assert "No traffic" in text and "$0.00" in text
    summary = pdf_text(render.render_executive(executive_data(OCTOBER, empty=True), UNSIGNED).pdf)
    assert "No traffic" in summary


def test_a_two_year_report_renders_monthly_bars() -> None:
    long = Period(date(2024, 12, 1), date(2026, 12, 1))
    rendered = render.render_project(project_data(long, devices=40, models=12))
    assert "Per month, stacked by provider" in pdf_text(rendered.pdf)
    assert rendered.pages == len(PdfReader(io.BytesIO(rendered.pdf)).pages)


def test_executive_summary_sections_and_unsigned_footer() -> None:
    data = executive_data(OCTOBER)
    text = pdf_text(render.render_executive(data, UNSIGNED).pdf)
    for heading in ("Spend", "This month", "Last month", "Year to date", "Top projects", "Reconciliation",
                    "Realised savings", "not signed", "NOT SIGNED"):
        assert heading in text
    assert money(data.this_month.cost_nanos) in text and money(data.year_to_date.cost_nanos) in text
    # the ratio from the figures printed beside it, signed: -$12.00 of $812.00 (not the stored unsigned 0.015)
    assert "amber" in text and "-1.48 %" in text and "+1.4" not in text and "48.6 %" in text


def test_hostile_names_are_escaped_and_fetch_nothing() -> None:
    with listening_server() as (port, hits):
        url = f"http://127.0.0.1:{port}"
        urllib.request.urlopen(f"{url}/probe").close()  # the server does record what reaches it
        assert hits == ["/probe"]
        hits.clear()
        hostile = f'<img src="{url}/name"><link rel="stylesheet" href="{url}/css">'
        data = project_data(OCTOBER, name=hostile, slug="<script>x</script>", owner=f'<img src="{url}/owner">',
                            workspace_name=f"<style>@import url({url}/style);</style>Acme")
        html = render.project_html(data)
        assert "<img src=\"http" not in html and "&lt;img src=&#34;http" in html
        rendered = render.render_project(data)
        summary = render.render_executive(replace(executive_data(OCTOBER), branding=data.branding), UNSIGNED)
        assert hits == []
    assert rendered.refused_urls == () and summary.refused_urls == ()  # nothing even tried: escaped
    assert f'<img src="{url}/name">' in pdf_text(rendered.pdf)  # shown as text, as typed


def test_labels_with_dollar_signs_are_text_not_mathtext() -> None:
    data = project_data(OCTOBER, name="$\\frac{", owner="$x^2$ & <b>bold</b>", devices=2)
    text = pdf_text(render.render_project(data).pdf)
    assert "$x^2$ & <b>bold</b>" in text


def test_the_fetcher_refuses_urls_that_escaping_would_have_missed() -> None:
    with listening_server() as (port, hits):
        html = (f'<html><body><img src="http://127.0.0.1:{port}/raw"><img src="file:///etc/hostname">'
                f'<link rel="stylesheet" href="http://127.0.0.1:{port}/raw.css"></body></html>')
        rendered = render.html_to_pdf(html, OCTOBER)
        assert hits == []
    assert sorted(rendered.refused_urls) == sorted([f"http://127.0.0.1:{port}/raw", "file:///etc/hostname",
                                                   f"http://127.0.0.1:{port}/raw.css"])


def test_a_logo_that_is_not_an_image_is_left_out_and_the_report_says_so() -> None:
    with listening_server() as (port, hits):
        for logo in (b"not an image at all", f"http://127.0.0.1:{port}/logo.png".encode(),
                     f'<svg xmlns="http://www.w3.org/2000/svg"><image href="http://127.0.0.1:{port}/svg"/></svg>'
                     .encode()):
            rendered = render.render_project(project_data(OCTOBER, logo=logo))
            assert "logo is not a valid PNG image" in pdf_text(rendered.pdf)
        assert hits == []


def test_a_logo_in_another_image_format_than_png_is_left_out() -> None:
    """Pillow opens logos with its PNG decoder only: a JPEG, GIF, WEBP or BMP is never decoded."""
    for form in ("JPEG", "GIF", "WEBP", "BMP"):
        out = io.BytesIO()
        Image.new("RGB", (60, 20), "navy").save(out, format=form)
        assert render.logo_data_uri(out.getvalue()) == (
            None, "The workspace logo is not a valid PNG image, so this report is shown without it.")
    assert render.logo_data_uri(png())[0] is not None


def test_a_logo_over_the_byte_cap_is_left_out_and_the_report_says_so() -> None:
    limit = MAX_LOGO_BYTES
    note = f"The workspace logo is larger than the limit of 1,024 KiB ({limit + 1:,} bytes), so this report is shown"
    # a size the query reported while leaving the bytes in the database, or bytes handed over directly
    assert render.logo_data_uri(None, too_large=limit + 1) == (None, note + " without it.")
    assert render.logo_data_uri(png() + b"\0" * (limit + 1 - len(png()))) == (None, note + " without it.")
    rendered = render.render_project(replace(project_data(OCTOBER), branding=replace(
        project_data(OCTOBER).branding, logo_too_large=limit + 1)))
    assert "logo is larger than the limit of 1,024 KiB" in " ".join(pdf_text(rendered.pdf).split())


def test_a_valid_logo_is_embedded_without_a_note() -> None:
    rendered = render.render_project(project_data(OCTOBER, logo=png()))
    assert "logo is not a valid" not in pdf_text(rendered.pdf)
    reader = PdfReader(io.BytesIO(rendered.pdf))
    assert any(page.images for page in reader.pages)


def test_every_template_autoescapes() -> None:
    env = render._ENV
    for name in env.list_templates(extensions=["html"]):
        assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;", name
        assert env.get_template(name).environment.autoescape is True


def link_targets(pdf: bytes) -> list[set[str]]:
    """Per page, the URIs of its link annotations: what a click in a PDF reader opens."""
    reader = PdfReader(io.BytesIO(pdf))
    return [{str(annotation.get_object()["/A"]["/URI"]) for annotation in page.get("/Annots", [])
             if "/A" in annotation.get_object()} for page in reader.pages]


def test_the_methodology_note_speaks_to_a_reader_and_links_to_the_docs() -> None:
    docs = "https://docs.example.test/halton"
    project = render.render_project(project_data(OCTOBER), docs_base_url=docs).pdf
    summary = render.render_executive(executive_data(OCTOBER), UNSIGNED, docs_base_url=docs).pdf
    for pdf in (project, summary):
        note = pdf_text(pdf).split("How these figures are made.")[1]
        assert "analysis." not in note and "daily_spend" not in note and "nano" not in note.lower()
        assert f"{docs}/concepts/pricing" in note
        assert link_targets(pdf) == [{f"{docs}/concepts/pricing"}] * page_count(pdf)  # every page's footer links


def test_every_page_says_up_to_which_moment_requests_are_counted() -> None:
    counted = Counting(through=datetime(2026, 11, 1, 0, 4, 12, tzinfo=UTC), first_day=date(2026, 1, 1))
    for pdf in (render.render_project(replace(project_data(OCTOBER), counting=counted)).pdf,
                render.render_executive(replace(executive_data(OCTOBER), counting=counted), UNSIGNED).pdf):
        pages = [re.sub(r"\s+", " ", page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]
        assert len(pages) > 1 and all("Counts the requests received by 1 Nov 2026 00:04:12 UTC." in p for p in pages)
    nothing = render.render_project(project_data(OCTOBER, empty=True, recommendations=0)).pdf
    assert "No request of these days had been received when this report was made." in pdf_text(nothing)


def test_a_span_before_the_workspaces_first_day_has_no_data_rather_than_no_spend() -> None:
    counted = Counting(through=datetime(2026, 11, 1, tzinfo=UTC), first_day=date(2026, 9, 20))
    text = pdf_text(render.render_project(replace(project_data(OCTOBER), counting=counted)).pdf)
    assert "no data before 20 Sep 2026 to compare with (the previous period: September 2026)" in text
    assert "vs $" not in text
    summary = replace(executive_data(OCTOBER), counting=counted)
    text = pdf_text(render.render_executive(summary, UNSIGNED).pdf)
    assert "Change, this month against last month: no data before 20 Sep 2026." in text
    assert "Halton Meter has this workspace's requests from 20 Sep 2026 on." in text
    # from the first day on, the comparison is a change again
    counted = replace(counted, first_day=date(2026, 9, 1))
    text = pdf_text(render.render_executive(replace(summary, counting=counted), UNSIGNED).pdf)
    assert "Change, this month against last month: +11.1 %." in text and "no data" not in text


def test_a_period_running_into_today_says_where_its_figures_stop() -> None:
    counted = Counting(through=datetime(2026, 10, 31, 23, 59, tzinfo=UTC), first_day=date(2026, 1, 1),
                       asked_end=date(2026, 11, 3))
    text = pdf_text(render.render_project(replace(project_data(OCTOBER), counting=counted)).pdf)
    assert ("The period asked for runs to 2 Nov 2026; the figures stop at the end of 31 Oct 2026 (UTC), the last "
            "whole day so far.") in text
