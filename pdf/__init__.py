"""PDF reports, pure (no SQL, no Celery): report data classes (model), periods, the palette, SVG charts,
the autoescaped templates and the WeasyPrint renderer (render), PAdES signing (signing).

store/report_reads.py builds the data; workers/jobs/reports.py renders, signs and stores it."""

# Where the reports' methodology link points unless HALTON_DOCS_BASE_URL says otherwise (workers.settings)
DEFAULT_DOCS_BASE_URL = "https://haltonmeter.com/docs"
