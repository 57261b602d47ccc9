"""Propose a new dated version of rates.json from litellm's price table.

Input: ``model_prices_and_context_window.json`` as published by litellm (or a subset). Output: a
proposal, i.e. the models added, changed and absent upstream relative to the latest version, as
the merge patch that would be appended to rates.json once reviewed. One module per job:

- ``upstream``: reading litellm's JSON, which entries are imported, one entry as ours;
- ``prices``: deriving prices upstream leaves implicit (provider rules, long context, overrides);
- ``lineage``: normalising model ids, family and size class, successors and cheaper siblings;
- ``convert``: a whole upstream table as canonical models and aliases, completed;
- ``proposal``: diffing against the table, the version to append;
- ``output``: the reviewer's summary and writing rates.json one line per price.
"""

from pricing.importer.convert import Conversion, complete_entries, convert, link_kept_models
from pricing.importer.lineage import Lineage, classify, infer_links, successor_fits
from pricing.importer.output import dumps, summary_lines, write_document
from pricing.importer.prices import OVERRIDES, Override, derive_long_context, fill_provider_rules
from pricing.importer.proposal import Proposal, apply, diff_patch, load_document, propose
from pricing.importer.upstream import (
    EXCLUDED_NAME_PARTS,
    UPSTREAM_MODES,
    UPSTREAM_PROVIDERS,
    convert_entry,
    excluded_reason,
    load_upstream,
    strip_prefix,
)

__all__ = [
    "EXCLUDED_NAME_PARTS",
    "OVERRIDES",
    "UPSTREAM_MODES",
    "UPSTREAM_PROVIDERS",
    "Conversion",
    "Lineage",
    "Override",
    "Proposal",
    "apply",
    "classify",
    "complete_entries",
    "convert",
    "convert_entry",
    "derive_long_context",
    "diff_patch",
    "dumps",
    "excluded_reason",
    "fill_provider_rules",
    "infer_links",
    "link_kept_models",
    "load_document",
    "load_upstream",
    "propose",
    "strip_prefix",
    "successor_fits",
    "summary_lines",
    "write_document",
]
