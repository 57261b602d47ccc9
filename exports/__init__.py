"""Exports (issue 19): LLM spend as a FOCUS cost-and-usage dataset, and the requests and audit datasets, as
Parquet or CSV objects in a destination (a bucket, a directory). Pure: no database, HTTP or Celery.

- `sink`: the object-store protocol a destination satisfies (put, get, describe) and a directory sink;
- `focus`: the FOCUS 1.2 rows of a day from the rollup's rows and the price table (exact allocation of the
  logged cost over token kinds), and a reconciled month's Adjustment rows;
- `formats`: deterministic Parquet and CSV bytes (CSV cells neutralised for spreadsheets);
- `conformance`: a check of written files against the FOCUS 1.2 column table;
- `manifest`: the per-billing-period manifest and the object keys.
"""
