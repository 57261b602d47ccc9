"""Deriving prices: the billing rules a provider states once for all its models, written out per
model, the long-context prices of cache tokens upstream leaves out, and reviewed overrides.

Every rule is applied at import so that pricing never derives a rate at run time; a tier still
missing a price its base tier has is reported, and the loader refuses it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pricing.compiled import SERVICE_TIERS
from pricing.entries import RatesError, usd_per_mtok_to_pico

# Gemini API models that Batch Mode serves (2.x and later, not experimental ids).
_GEMINI_BATCH = re.compile(r"^gemini-([2-9]|\d{2,})(\.\d+)?-(pro|flash)")


@dataclass(frozen=True)
class Override:
    """A reviewed correction applied on top of every import of a model, with its reason."""

    patch: Mapping[str, Any]
    reason: str


#: Reviewed corrections that survive every import (the comparison test lists them too).
OVERRIDES: dict[str, Override] = {
    "grok-4": Override(
        {"rates": {"standard": {"cache_read": "0.75"}},
         "long_context": {"threshold": 128000, "rates": {"standard": {"input": "6", "output": "30"}}}},
        "litellm's xai/grok-4 entry lacks two prices its own xai/grok-4-0709 and xai/grok-4-latest "
        "entries (the same model) carry: input and output above 128k prompt tokens at $6/$30. The "
        "cached-input price, $0.75/M, is from xAI's models page (https://docs.x.ai/docs/models). The "
        "cached-input price above 128k, $1.50/M, is derived by derive_long_context (0.75 x 6/3).",
    ),
}


def _pct(rate: str, factor: str) -> str:
    return format((Decimal(rate) * Decimal(factor)).normalize(), "f")


def fill_provider_rules(model: str, entry: dict[str, Any]) -> None:
    """Write out the billing rules a provider states once for all its models.

    - Anthropic: cache reads 0.1x, 5-minute writes 1.25x, 1-hour writes 2x the input rate; the
      Message Batches API bills every kind at 50% (https://platform.claude.com/docs/en/about-claude/pricing,
      "Prompt caching" and "Batch processing").
    - OpenAI: where a model offers the Batch API, cached input is billed at 50% too
      (https://developers.openai.com/api/docs/pricing, Batch column).
    - Gemini: Batch Mode bills input and output at 50% and context-cache reads at the standard
      cache price (https://ai.google.dev/gemini-api/docs/pricing, "Batch"). The batch tier is made
      for version-numbered ids (``_GEMINI_BATCH``); the cache-read rule applies to every Gemini
      batch tier, whichever id (``gemini-pro-latest`` too): without it the loader would bill batch
      cache reads at the batch input price, 5x the cache price.
    """
    provider = entry["provider"]
    rates: dict[str, dict[str, str]] = entry["rates"]
    sections = [rates]
    if "long_context" in entry:
        sections.append(entry["long_context"]["rates"])
    for section in sections:
        std = section.get("standard")
        if std is None:
            continue
        if provider == "anthropic":
            std.setdefault("cache_read", _pct(std["input"], "0.1"))
            std.setdefault("cache_write", _pct(std["input"], "1.25"))
            std.setdefault("cache_write_1h", _pct(std["input"], "2"))
            batch = section.setdefault("batch", {})
            for kind, value in std.items():
                batch.setdefault(kind, _pct(value, "0.5"))
        elif provider == "openai" and "batch" in section and "cache_read" in std:
            section["batch"].setdefault("cache_read", _pct(std["cache_read"], "0.5"))
        elif provider == "gemini":
            if _GEMINI_BATCH.match(model) and "-exp" not in model:
                section.setdefault("batch", {k: _pct(std[k], "0.5") for k in ("input", "output")})
            if "batch" in section and "cache_read" in std:
                section["batch"].setdefault("cache_read", std["cache_read"])
    for section in sections:
        ordered = {t: section.pop(t) for t in SERVICE_TIERS if t in section}
        section.clear()
        section.update(ordered)
        for tier in list(section):
            kinds = {k: section[tier][k] for k in ("input", "cache_read", "cache_write", "cache_write_1h",
                                                   "output") if k in section[tier]}
            exact: dict[str, str] = {}
            for kind, value in kinds.items():
                try:
                    usd_per_mtok_to_pico(value)
                    exact[kind] = value
                except RatesError:  # e.g. half of an odd pico rate: not a rate we can bill exactly
                    pass
            if "input" in exact and "output" in exact:
                section[tier] = exact
            else:
                del section[tier]


def derive_long_context(model: str, entry: dict[str, Any]) -> list[str]:
    """Write out the long-context prices of cache tokens that upstream leaves out; one note each.

    Every provider with a long-context tier scales the whole request by the same multiple: the
    long-context price of a cache token is its price below the threshold times the long-context
    input multiple. xAI states it for grok-4.20, grok-4.3 and grok-4.7 (litellm 1.110.2: cached
    $0.20 -> $0.40 above 200k with input $1.25 -> $2.50, batch $0.16 -> $0.32); Gemini 2.5 Pro
    ($0.125 -> $0.25 with $1.25 -> $2.50), OpenAI gpt-5.4 and Anthropic's former >200k tier
    alike. litellm's grok-4, grok-4-fast-* and grok-4-1-fast-* entries carry no long-context
    cache price, and without one the loader would fall back to the long-context input price
    (grok-4: $6/M instead of $1.50/M). One exception: litellm's Gemini ``cache_creation`` price is
    the context-cache storage price per million tokens per hour ($1.00 for Gemini 1.5 Flash),
    which Google does not tier by prompt size, so it is carried over unchanged. A price that would
    not be a whole number of pico-USD is not derived: the gap is left for ``tier_gaps`` to refuse.
    """
    notes: list[str] = []
    lc = entry.get("long_context")
    if not isinstance(lc, dict):
        return notes
    for tier, lc_kinds in lc["rates"].items():
        base = entry["rates"].get(tier)
        if base is None:
            continue
        base_in, lc_in = Decimal(base["input"]), Decimal(lc_kinds["input"])
        if base_in == 0 and lc_in != 0:
            continue
        multiple = Decimal(1) if base_in == 0 else lc_in / base_in
        for kind in ("cache_read", "cache_write", "cache_write_1h"):
            if kind not in base or kind in lc_kinds:
                continue
            storage = entry["provider"] == "gemini" and kind != "cache_read"
            value = format((Decimal(base[kind]) * (1 if storage else multiple)).normalize(), "f")
            try:
                usd_per_mtok_to_pico(value)
            except RatesError:
                continue
            lc_kinds[kind] = value
            notes.append(f"{model}: long_context.rates.{tier}.{kind} = {value} (derived: " + (
                "the Gemini cache storage price, not tiered by prompt size)" if storage else
                f"{base[kind]} x {lc_kinds['input']}/{base['input']}, the long-context input multiple)"))
        lc["rates"][tier] = {k: lc_kinds[k] for k in ("input", "cache_read", "cache_write", "cache_write_1h",
                                                       "output") if k in lc_kinds}
    return notes
