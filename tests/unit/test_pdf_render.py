"""The renderer on hand-made data: every section present, stable bytes, hostile input fetched nothing."""

from __future__ import annotations

import io
import urllib.request
from dataclasses import replace
from datetime import date

from PIL import Image
from pypdf import PdfReader

from core.money import money
from pdf import render
from pdf.model import Signature
from pdf.periods import Period
from tests.unit.pdf_samples import executive_data, project_data
from tests.unit.pdf_text import listening_server, pdf_text

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
                    "Spend by model", "Open recommendations", "Methodology", "Hourly rate"):
        assert heading in text
    assert money(data.cost_nanos) in text
    for model in data.models:
        assert model.model in text and money(model.cost_nanos) in text
    for device in data.devices:
        assert device.device_name in text and money(device.cost_nanos) in text
    assert "rates version 2026-10-01" in text and "/docs/concepts/pricing" in text
    assert money(12_340_000_000) in text  # the quoted saving of an open recommendation


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
    assert "amber" in text and "1.50 %" in text and "+1.5" not in text and "48.6 %" in text


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
