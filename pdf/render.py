"""HTML (Jinja2, autoescaped) → PDF/A-3b (WeasyPrint), fetching nothing from outside the package.

Stable bytes: the metadata dates come from the period, chart ids are fixed, and no template prints the
wall clock, so the same data renders the same PDF and its sha256 identifies the document.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from pdf import DEFAULT_DOCS_BASE_URL, views
from pdf.model import MAX_LOGO_BYTES, Branding, ExecutiveData, ProjectReportData, Signature
from pdf.periods import Period

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(str(resources.files("pdf")))
STATIC_DIR = PACKAGE_DIR / "static"
PRICING_DOCS = "/concepts/pricing"  # under the docs' base URL: how requests are priced and figures made
MAX_LOGO_PIXELS = 4096 * 4096
PDF_VARIANT = "pdf/a-3b"


@dataclass(frozen=True)
class RenderedPdf:
    pdf: bytes
    pages: int
    refused_urls: tuple[str, ...] = ()  # what a template or an input tried to fetch and was refused

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()


class PackageOnlyFetcher(URLFetcher):  # type: ignore[misc]
    """WeasyPrint's fetcher, refusing every URL but data: and files of this package's static folder.

    Names, slugs, owners and logos are user-controlled; even escaped they must not make the renderer
    reach the network or read the file system. Refusals are recorded (and logged) rather than fatal:
    the report renders without the resource."""

    def __init__(self) -> None:
        super().__init__(timeout=1, allow_redirects=False)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if url.startswith("data:") or self._is_static(url):
            return super().fetch(url, headers)
        self.refused.append(url)
        log.warning("refused to fetch %.200s while rendering a report", url)
        raise ValueError(f"reports fetch nothing from outside the package: {url[:200]}")

    @staticmethod
    def _is_static(url: str) -> bool:
        if not url.startswith("file://"):
            return False
        path = Path(url.removeprefix("file://").split("?")[0]).resolve()
        return path.is_relative_to(STATIC_DIR.resolve()) and path.is_file()


def _environment() -> Environment:
    # autoescape on for every template, whatever its name: every string from the database is hostile
    env = Environment(loader=PackageLoader("pdf", "templates"), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["svg_uri"] = lambda svg: "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    return env


_ENV = _environment()


def logo_data_uri(logo: bytes | None, too_large: int | None = None) -> tuple[str | None, str | None]:
    """(a PNG data URI, None) for a valid PNG logo; (None, a note for the reader) otherwise: a logo over
    MAX_LOGO_BYTES (`too_large`: its stored size, when the query left it in the database) or one that is
    not a PNG.

    Pillow opens it with its PNG decoder only (`formats=["PNG"]`): no other decoder ever parses the stored
    bytes. Re-encoded, so what reaches WeasyPrint is a clean PNG made here, never the stored bytes."""
    size = too_large if too_large is not None else len(logo or b"")
    if size > MAX_LOGO_BYTES:
        return None, (f"The workspace logo is larger than the limit of {MAX_LOGO_BYTES // 1024:,} KiB "
                      f"({size:,} bytes), so this report is shown without it.")
    if not logo:
        return None, None
    from PIL import Image, UnidentifiedImageError  # heavy: Pillow, logos only

    try:
        with Image.open(io.BytesIO(logo), formats=["PNG"]) as probe:
            probe.verify()
        with Image.open(io.BytesIO(logo), formats=["PNG"]) as image:
            if image.width * image.height > MAX_LOGO_PIXELS:
                raise ValueError("too large")
            image.thumbnail((600, 240))
            out = io.BytesIO()
            image.convert("RGBA").save(out, format="PNG", optimize=False)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None, "The workspace logo is not a valid PNG image, so this report is shown without it."
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode(), None


def _metadata_moment(period: Period) -> str:
    """The documents' created/modified dates: the period's end, never the wall clock."""
    return datetime.combine(period.end, time(0), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def methodology_url(docs_base_url: str) -> str:
    return docs_base_url.rstrip("/") + PRICING_DOCS


def _common(branding: Branding, period: Period, rates_versions: list[str], docs_base_url: str) -> dict[str, object]:
    logo, logo_note = logo_data_uri(branding.logo_png, branding.logo_too_large)
    return {"workspace_name": branding.workspace_name, "workspace_slug": branding.workspace_slug,
            "logo": logo, "logo_note": logo_note, "period_label": period.label(),
            "period_first": period.start.isoformat(), "period_last": period.last_day.isoformat(),
            "metadata_date": _metadata_moment(period), "rates_versions": rates_versions,
            "methodology_url": methodology_url(docs_base_url)}


def project_html(data: ProjectReportData, docs_base_url: str = DEFAULT_DOCS_BASE_URL) -> str:
    context = _common(data.branding, data.period, data.rates_versions, docs_base_url)
    context.update(project_name=data.project_name, project_slug=data.project_slug, v=views.project_view(data))
    return _ENV.get_template("project.html").render(context)


def executive_html(data: ExecutiveData, signature: Signature, docs_base_url: str = DEFAULT_DOCS_BASE_URL) -> str:
    context = _common(data.branding, data.period, data.rates_versions, docs_base_url)
    context.update(v=views.executive_view(data), signature=signature,
                   signing_time=(signature.signing_time.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
                                 if signature.signing_time else None))
    return _ENV.get_template("executive.html").render(context)


@functools.cache
def stylesheet() -> CSS:
    """The reports' stylesheet, parsed once per worker process (about 6 ms a report otherwise): WeasyPrint
    reuses a CSS object across documents, and it fetches nothing (no url() or @import in it)."""
    return CSS(string=(PACKAGE_DIR / "templates" / "report.css").read_text(), url_fetcher=PackageOnlyFetcher())


@contextmanager
def _source_date(moment: datetime) -> Iterator[None]:
    """fontTools stamps each font subset it writes with the current time unless SOURCE_DATE_EPOCH (the
    reproducible-builds convention) is set; set it for the render so the embedded fonts are stable too.
    A worker process renders one report at a time, so the brief change of its environment is safe."""
    before = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(int(moment.timestamp()))
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = before


def html_to_pdf(html: str, period: Period, stylesheets: list[CSS] | None = None) -> RenderedPdf:
    fetcher = PackageOnlyFetcher()
    with _source_date(datetime.combine(period.end, time(0), UTC)):
        document = HTML(string=html, base_url=STATIC_DIR.as_uri() + "/", url_fetcher=fetcher).render(
            stylesheets=stylesheets if stylesheets is not None else [stylesheet()])
        pdf = document.write_pdf(pdf_variant=PDF_VARIANT)
    if not isinstance(pdf, bytes):  # write_pdf without a target returns the bytes
        raise TypeError(f"WeasyPrint returned {type(pdf).__name__}, not the PDF's bytes")
    return RenderedPdf(pdf=pdf, pages=len(document.pages), refused_urls=tuple(fetcher.refused))


def render_project(data: ProjectReportData, docs_base_url: str = DEFAULT_DOCS_BASE_URL) -> RenderedPdf:
    return html_to_pdf(project_html(data, docs_base_url), data.period)


def render_executive(data: ExecutiveData, signature: Signature,
                     docs_base_url: str = DEFAULT_DOCS_BASE_URL) -> RenderedPdf:
    return html_to_pdf(executive_html(data, signature, docs_base_url), data.period)

