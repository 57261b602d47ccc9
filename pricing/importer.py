"""Propose a new dated version of rates.json from litellm's price table.

Input: ``model_prices_and_context_window.json`` as published by litellm (MIT License,
Copyright (c) 2023 Berri AI), or a subset of it. Output: a proposal, i.e. the models added,
changed and absent upstream relative to the latest version, as the merge patch that would be
appended to rates.json once reviewed.

What is imported (``excluded_reason``):
- providers ``anthropic``, ``openai``, ``gemini`` (the Gemini API, keys ``gemini/<id>``) and
  ``xai``; Vertex AI entries are skipped: Vertex is a different bill, not a provider of the meter;
- ``mode`` ``chat`` or ``responses``, with both an input and an output price per token;
- not realtime, audio, speech, transcription, search, image, live or music models
  (``EXCLUDED_NAME_PARTS``): they are billed per second, per query or per image as well.

Not imported: prices of service tiers the meter does not record (its ``service_tier`` is one of
standard, batch, flex, priority), e.g. OpenAI's ``_ultrafast``/``_decisions`` rates, and
OpenAI's 12-hour cache writes (``cache_write_tokens`` are 5-minute writes).

How prices become rates: each USD-per-token float is read through its shortest repr, so
``3.75e-06`` is exactly ``Decimal('0.00000375')``, times 1e6 gives the USD-per-million string
``"3.75"``. Provider billing rules the upstream table leaves implicit are written out explicitly
(``_fill_provider_rules``, ``derive_long_context``) so that pricing never derives a rate at run
time; a tier still missing a price its base tier has is reported, and the loader refuses it.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pricing.table import (
    SERVICE_TIERS,
    RatesError,
    RateTable,
    fold_versions,
    tier_gaps,
    usd_per_mtok_to_pico,
)

UPSTREAM_PROVIDERS = {"anthropic": "anthropic", "openai": "openai", "gemini": "gemini", "xai": "xai"}
UPSTREAM_MODES = {"chat", "responses"}
EXCLUDED_NAME_PARTS = (
    "realtime", "audio", "tts", "transcribe", "search", "image", "-live", "live-", "lyria",
    "embedding", "container",
)
PREFIXES = ("gemini/", "xai/")
# Gemini API models that Batch Mode serves (2.x and later, not experimental ids).
_GEMINI_BATCH = re.compile(r"^gemini-([2-9]|\d{2,})(\.\d+)?-(pro|flash)")

_KIND = {
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_read_input_token_cost": "cache_read",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
    "cache_creation_input_token_cost": "cache_write",
}
_TIER = {None: "standard", "batches": "batch", "flex": "flex", "priority": "priority"}
# e.g. cache_creation_input_token_cost_above_1hr_above_100k_tokens_batches
_FIELD_RE = re.compile(
    r"^(?P<kind>" + "|".join(sorted(_KIND, key=len, reverse=True)) + r")"
    r"(?:_above_(?P<threshold>\d+)k_tokens)?(?:_(?P<tier>batches|flex|priority))?$"
)

# Dated or moving suffixes: an id carrying one is an alias of the id without it when upstream
# prices both identically (a snapshot priced differently stays a model of its own).
_SUFFIX_RES = (
    re.compile(r"-\d{8}$"),            # claude-sonnet-4-5-20250929
    re.compile(r"-\d{4}-\d{2}-\d{2}$"),  # gpt-4.1-2025-04-14
    re.compile(r"-\d{4}$"),            # grok-4-0709, gpt-4-0613
    re.compile(r"-latest$"),           # grok-4-latest, claude-3-7-sonnet-latest
)

# Anthropic's dated ids are the real models: the undated base is the canonical id.
_ANTHROPIC_RENAMES = ((re.compile(r"^claude-4-(opus|sonnet)-"), r"claude-\1-4-"),)


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


def _usd_per_mtok(value: object) -> str | None:
    """A litellm USD-per-token number as a USD-per-million decimal string (None if not a number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return format((Decimal(repr(float(value))) * 1_000_000).normalize(), "f")


def _pct(rate: str, factor: str) -> str:
    return format((Decimal(rate) * Decimal(factor)).normalize(), "f")


def strip_prefix(key: str) -> str:
    for p in PREFIXES:
        if key.startswith(p):
            return key[len(p):]
    return key


def _suffix_base(model: str) -> str | None:
    for rx in _SUFFIX_RES:
        if rx.search(model):
            return rx.sub("", model)
    return None


def excluded_reason(key: str, entry: Mapping[str, Any]) -> str | None:
    """Why an upstream entry is not imported, or None if it is."""
    provider = entry.get("litellm_provider")
    if provider not in UPSTREAM_PROVIDERS:
        return f"provider {provider!r} is not billed by the meter"
    if entry.get("mode") not in UPSTREAM_MODES:
        return f"mode {entry.get('mode')!r} is not a chat model"
    name = strip_prefix(key).lower()
    part = next((p for p in EXCLUDED_NAME_PARTS if p in name), None)
    if part:
        return f"not a text chat model ({part.strip('-')})"
    if _usd_per_mtok(entry.get("input_cost_per_token")) is None or _usd_per_mtok(
        entry.get("output_cost_per_token")
    ) is None:
        return "no per-token input and output price"
    return None


def convert_entry(key: str, entry: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """One upstream entry as a rates.json model entry (rates and facts only) and its problems."""
    problems: list[str] = []
    tiers: dict[str, dict[str, str]] = {}
    lc_tiers: dict[str, dict[str, str]] = {}
    thresholds: set[int] = set()
    for name, raw in entry.items():
        m = _FIELD_RE.match(name)
        if not m:
            continue
        rate = _usd_per_mtok(raw)
        if rate is None:
            continue
        try:
            usd_per_mtok_to_pico(rate)
        except RatesError:
            problems.append(f"{key}: {name}={raw!r} is not a whole number of pico-USD per token; skipped")
            continue
        tier = _TIER[m.group("tier")]
        if m.group("threshold"):
            thresholds.add(int(m.group("threshold")) * 1000)
            lc_tiers.setdefault(tier, {})[_KIND[m.group("kind")]] = rate
        else:
            tiers.setdefault(tier, {})[_KIND[m.group("kind")]] = rate
    reasoning = _usd_per_mtok(entry.get("output_cost_per_reasoning_token"))
    if reasoning is not None and reasoning != tiers.get("standard", {}).get("output"):
        problems.append(f"{key}: reasoning tokens priced unlike output ({reasoning}); billed as output")
    out: dict[str, Any] = {"provider": UPSTREAM_PROVIDERS[entry["litellm_provider"]]}
    for fname, ours in (("max_input_tokens", "context_window"), ("max_output_tokens", "max_output"),
                        ("prompt_cache_min_tokens", "min_cacheable_tokens")):
        value = entry.get(fname)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            out[ours] = int(value)
    dep = entry.get("deprecation_date")
    if isinstance(dep, str):
        out["deprecation_date"] = dep
    for tier, kinds in list(tiers.items()):
        if "input" not in kinds or "output" not in kinds:
            problems.append(f"{key}: {tier} tier lacks an input or output price; tier dropped")
            del tiers[tier]
    out["rates"] = {t: tiers[t] for t in SERVICE_TIERS if t in tiers}
    if lc_tiers:
        if len(thresholds) > 1:
            problems.append(f"{key}: several long-context thresholds {sorted(thresholds)}; long context dropped")
        else:
            lc = {t: _complete_lc(lc_tiers[t]) for t in SERVICE_TIERS if t in lc_tiers and t in tiers}
            lc = {t: v for t, v in lc.items() if v is not None}
            if lc:
                out["long_context"] = {"threshold": thresholds.pop(), "rates": lc}
    return out, problems


def _complete_lc(kinds: dict[str, str]) -> dict[str, str] | None:
    return kinds if "input" in kinds and "output" in kinds else None


def _fill_provider_rules(model: str, entry: dict[str, Any]) -> None:
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


# -- model metadata (family, size class, successor, cheaper sibling) ---------------------------

TIER_RANK = {"tiny": 0, "small": 1, "medium": 2, "large": 3, "frontier": 4}
_CLAUDE_NEW = re.compile(r"^claude-(opus|sonnet|haiku|fable|mythos)-(\d+)(?:-(\d+))?$")
_CLAUDE_OLD = re.compile(r"^claude-(\d+)(?:-(\d+))?-(opus|sonnet|haiku)$")
_CLAUDE_CLASS = {"fable": "frontier", "mythos": "frontier", "opus": "large", "sonnet": "medium", "haiku": "small"}
_GPT = re.compile(r"^gpt-(\d+(?:\.\d+)?)(o)?(?:-(.*))?$")
_O_SERIES = re.compile(r"^o(\d+)(?:-(.*))?$")
_GEMINI = re.compile(r"^gemini-(\d+(?:\.\d+)?)-(pro|flash-lite|flash)(?:-(.*))?$")
_GROK = re.compile(r"^grok-(\d+)(?:[.-](\d{1,2}))?(?:-(.*))?$")  # grok-4, grok-4.20, grok-4-1-fast
_OPENAI_CLASS = {
    "pro": "frontier", "astra": "frontier", "cyber": "frontier", "rosalind": "frontier",
    "sol": "large", "terra": "medium", "mini": "small", "luna": "small", "nano": "tiny",
}


@dataclass(frozen=True)
class Lineage:
    lineage: str  # models whose versions are comparable ("claude", "gpt", "o", "gemini", "grok")
    family: str  # one product line across generations, e.g. "claude-sonnet", "gpt-mini"
    size: str | None  # size class within a generation
    version: Decimal | None  # generation, e.g. 4.6 for claude-sonnet-4-6, 4.2 for grok-4.20
    variant: bool  # a preview, dated, "latest" or specialised variant: never a successor target


def _dec(major: str, minor: str | None = None) -> Decimal:
    return Decimal(f"{major}.{minor}") if minor else Decimal(major)


def classify(model: str) -> Lineage | None:
    """Family, size class and generation from a canonical id (heuristic; reviewed in rates.json)."""
    variant_words = ("preview", "exp", "latest", "beta", "customtools", "chat", "search", "codex",
                     "deep-research", "multi-agent", "computer-use", "gv2", "robotics", "law")
    variant = any(w in model for w in variant_words) or _suffix_base(model) is not None
    if m := _CLAUDE_NEW.match(model):
        name = m.group(1)
        return Lineage("claude", f"claude-{name}", _CLAUDE_CLASS[name], _dec(m.group(2), m.group(3)), variant)
    if m := _CLAUDE_OLD.match(model):
        name = m.group(3)
        return Lineage("claude", f"claude-{name}", _CLAUDE_CLASS[name], _dec(m.group(1), m.group(2)), variant)
    if model.startswith("claude-"):
        name = model.split("-")[1]
        return Lineage("claude", f"claude-{name}", _CLAUDE_CLASS.get(name), None, True)
    if m := _GPT.match(model):
        version, omni, rest = Decimal(m.group(1)), m.group(2), m.group(3) or ""
        words = [w for w in rest.split("-") if w and not w.isdigit()]
        size = next((_OPENAI_CLASS[w] for w in words if w in _OPENAI_CLASS), "large")
        flavour = "-".join(w for w in words if w in _OPENAI_CLASS or w in ("codex", "chat"))
        family = "gpt" + (f"-{flavour}" if flavour else "")
        if "turbo" in words:
            family = "gpt-turbo"
        return Lineage("gpt", family, size, version, variant or bool(omni and words and words != ["mini"]))
    if m := _O_SERIES.match(model):
        rest = m.group(2) or ""
        words = [w for w in rest.split("-") if w and not w.isdigit()]
        size = next((_OPENAI_CLASS[w] for w in words if w in _OPENAI_CLASS), "large")
        flavour = "-".join(w for w in words if w in _OPENAI_CLASS or w in ("deep", "research"))
        return Lineage("o", "o" + (f"-{flavour}" if flavour else ""), size, Decimal(m.group(1)), variant)
    if m := _GEMINI.match(model):
        line = m.group(2)
        size = {"pro": "large", "flash": "medium", "flash-lite": "small"}[line]
        return Lineage("gemini", f"gemini-{line}", size, Decimal(m.group(1)), variant or bool(m.group(3)))
    if model.startswith("gemini-") or model.startswith("gemma-"):
        line = "pro" if "pro" in model else "flash-lite" if "flash-lite" in model else "flash"
        size = {"pro": "large", "flash": "medium", "flash-lite": "small"}[line]
        if model.startswith("gemma-") or "gemma" in model:
            return Lineage("gemma", "gemma", "small", None, True)
        return Lineage("gemini", f"gemini-{line}", size, None, True)
    if m := _GROK.match(model):
        words = [w for w in (m.group(3) or "").split("-") if w]
        small = any(w in ("fast", "mini") for w in words)
        flavour = "-".join(w for w in words if w in ("fast", "mini"))
        plain = ("fast", "mini", "reasoning", "non")  # xAI's reasoning switch is not a variant
        return Lineage("grok", "grok" + (f"-{flavour}" if flavour else ""), "small" if small else "large",
                       _dec(m.group(1), m.group(2)), variant or any(w not in plain for w in words))
    if model.startswith("grok-"):
        return Lineage("grok", "grok-" + model.split("-")[1], "small", None, True)
    return None


def _std_price(entry: Mapping[str, Any]) -> Decimal:
    std = entry["rates"]["standard"]
    return Decimal(std["input"]) + Decimal(std["output"])


def infer_links(models: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, str | None]]:
    """Successor and cheaper sibling per model, from the ids and prices alone.

    Successor: the next generation of the same family (variants excluded; a preview's successor
    may be the release of its own generation). Cheaper sibling: in
    the same lineage and at most the same generation, the newest model of the nearest smaller
    size class that is actually cheaper.
    """
    info = {m: classify(m) for m in models}
    links: dict[str, dict[str, str | None]] = {}
    for model, lin in info.items():
        successor = sibling = None
        if lin is not None and lin.version is not None:
            # A preview is succeeded by the release of its own generation.
            preview = "preview" in model or "-exp" in model
            newer = [(o.version, m) for m, o in info.items() if o is not None and not o.variant
                     and o.family == lin.family and o.lineage == lin.lineage and o.version is not None
                     and (o.version > lin.version or (preview and o.version == lin.version))]
            if newer:
                successor = min(newer)[1]
            if lin.size is not None:
                rank = TIER_RANK[lin.size]
                for lower in sorted((r for r in TIER_RANK.values() if r < rank), reverse=True):
                    cands = [(o.version, _std_price(models[m]), m) for m, o in info.items()
                             if o is not None and not o.variant and o.lineage == lin.lineage
                             and o.size is not None and TIER_RANK[o.size] == lower
                             and o.version is not None and o.version <= lin.version
                             and _std_price(models[m]) < _std_price(models[model])]
                    if cands:
                        sibling = max(cands)[2]
                        break
        links[model] = {"successor": successor, "cheaper_sibling": sibling}
    return links


# -- conversion of a whole upstream table -------------------------------------------------------

@dataclass
class Conversion:
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # canonical -> full entry
    aliases: dict[str, str] = field(default_factory=dict)  # upstream id -> canonical
    skipped: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    derived: list[str] = field(default_factory=list)  # prices written out that upstream leaves out


def _rates_only(entry: Mapping[str, Any]) -> Any:
    """The list prices that make two ids the same model: standard input and output, below and
    above the long-context threshold. Other rates are often missing on one of litellm's duplicate
    keys, which does not make them different models."""
    def in_out(rates: Mapping[str, Any] | None) -> tuple[Any, Any]:
        return (None, None) if rates is None else (rates.get("input"), rates.get("output"))

    lc = entry.get("long_context") or {}
    return (in_out(entry["rates"].get("standard")), lc.get("threshold"),
            in_out((lc.get("rates") or {}).get("standard")))


def _rank(stripped: str, canonical: str) -> int:
    """Which upstream key speaks for a canonical id when several map to it (lowest wins)."""
    if stripped == canonical:
        return 0
    return 1 if not stripped.endswith("-latest") else 2


def convert(upstream: Mapping[str, Any], table: RateTable | None = None,
            aliases: Mapping[str, str] | None = None) -> Conversion:
    """The selected upstream entries as canonical models and aliases.

    Ids the table (or the reviewed ``aliases``) already resolve keep their canonical id; new ids
    become aliases of an undated id priced the same, or models of their own.
    """
    conv = Conversion()
    reviewed = dict(aliases or {})
    entries: dict[str, tuple[str, dict[str, Any]]] = {}  # upstream key -> (stripped id, entry)
    for key, raw in upstream.items():
        if not isinstance(raw, dict):
            conv.skipped.append((key, "not an object"))
            continue
        why = excluded_reason(key, raw)
        if why:
            conv.skipped.append((key, why))
            continue
        entry, problems = convert_entry(key, raw)
        conv.problems.extend(problems)
        stripped = strip_prefix(key)
        _fill_provider_rules(stripped, entry)
        if raw["litellm_provider"] == "gemini" and "/" not in key and f"gemini/{key}" in upstream:
            prefixed = upstream[f"gemini/{key}"]
            if isinstance(prefixed, dict) and excluded_reason(f"gemini/{key}", prefixed) is None:
                other, _ = convert_entry(f"gemini/{key}", prefixed)
                _fill_provider_rules(key, other)
                if _rates_only(other) != _rates_only(entry):
                    conv.problems.append(f"{key}: priced unlike gemini/{key}; the gemini/ entry is used")
                continue
        entries[key] = (stripped, entry)

    stripped_ids = {s for s, _ in entries.values()}

    def canonical_of(key: str, stripped: str, entry: dict[str, Any]) -> str:
        if stripped in reviewed:
            return reviewed[stripped]
        if table is not None:
            known = table.canonical(stripped)
            if known is not None:
                return known
        name = stripped
        for rx, repl in _ANTHROPIC_RENAMES:
            name = rx.sub(repl, name)
        base = _suffix_base(name)
        if base is None:
            return name
        if base in stripped_ids:
            other = next(e for s, e in entries.values() if s == base)
            return base if _rates_only(other) == _rates_only(entry) else name
        if entry["provider"] == "anthropic":
            return base  # the dated id is the model; its undated name becomes canonical
        return name

    chosen: dict[str, tuple[int, str, dict[str, Any]]] = {}
    same_model: dict[str, list[dict[str, Any]]] = {}  # entries priced like the chosen one
    for key, (stripped, entry) in entries.items():
        canonical = canonical_of(key, stripped, entry)
        rank = _rank(stripped, canonical)
        current = chosen.get(canonical)
        if current is not None and _rates_only(current[2]) != _rates_only(entry):
            loser = key if rank >= current[0] else current[1]
            conv.problems.append(f"{loser}: priced unlike the other ids of {canonical}; not used for its rates")
        if current is None or rank < current[0]:
            chosen[canonical] = (rank, key, entry)
        same_model.setdefault(canonical, []).append(entry)
        if stripped != canonical:  # routing prefixes (gemini/, xai/) need no alias: canonical() drops them
            conv.aliases[stripped] = canonical

    for canonical, (_, key, entry) in sorted(chosen.items()):
        # litellm fills its duplicate keys unevenly (gpt-4-0613 has batch rates, gpt-4 not): take
        # a tier or rate the chosen key lacks from another key of the same model at the same prices.
        for other in same_model[canonical]:
            if other is entry or _rates_only(other) != _rates_only(entry):
                continue
            for tier, kinds in other["rates"].items():
                for kind, rate in kinds.items():
                    entry["rates"].setdefault(tier, {}).setdefault(kind, rate)
            for tier, kinds in ((other.get("long_context") or {}).get("rates") or {}).items():
                if "long_context" in entry and tier in entry["rates"]:
                    for kind, rate in kinds.items():
                        entry["long_context"]["rates"].setdefault(tier, {}).setdefault(kind, rate)
        entry["rates"] = {t: entry["rates"][t] for t in SERVICE_TIERS if t in entry["rates"]}
        upstream_successor = upstream[key].get("successor_model")
        if isinstance(upstream_successor, str):
            succ = strip_prefix(upstream_successor)
            entry["_upstream_successor"] = conv.aliases.get(succ, succ)
        conv.models[canonical] = entry
    return conv


_METADATA_KEPT = ("family", "tier", "successor", "cheaper_sibling", "note")
_ORDER = ("provider", "family", "tier", "successor", "cheaper_sibling", "context_window", "max_output",
          "min_cacheable_tokens", "deprecation_date", "note", "rates", "long_context")


def _family_and_rank(model: str, entry: Mapping[str, Any] | None) -> tuple[str | None, int | None]:
    """A model's family and size-class rank: the reviewed ones in its entry, else from its id."""
    lin = classify(model)
    family = (entry or {}).get("family") or (lin.family if lin else None)
    size = (entry or {}).get("tier") or (lin.size if lin else None)
    return family, TIER_RANK.get(size) if isinstance(size, str) else None


def successor_fits(model: str, entry: Mapping[str, Any], successor: str, other: Mapping[str, Any] | None) -> bool:
    """Is ``successor`` of the model's family and of its size class or a larger one?"""
    family, rank = _family_and_rank(model, entry)
    s_family, s_rank = _family_and_rank(successor, other)
    if family is None or family != s_family:
        return False
    return rank is None or s_rank is None or s_rank >= rank


def complete_entries(conv: Conversion, current: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Full entries: upstream facts and rates, reviewed metadata kept, heuristics for new models.

    A reviewed successor is kept; litellm's ``successor_model`` is taken only for a model that has
    none, and only when it is of the same family and size class or larger (litellm names
    gemini-3.8-flash as gemini-2.5-pro's successor, a smaller model of another line).
    """
    models = {m: copy.deepcopy(e) for m, e in conv.models.items()}
    upstream_successors: dict[str, str] = {}
    for m, e in models.items():
        upstream_successor = e.pop("_upstream_successor", None)
        if m in current:
            for k in _METADATA_KEPT:
                if k in current[m]:
                    e[k] = current[m][k]
        if isinstance(upstream_successor, str) and upstream_successor != m and "successor" not in e:
            upstream_successors[m] = upstream_successor
        lin = classify(m)
        if lin is not None:
            e.setdefault("family", lin.family)
            if lin.size is not None:
                e.setdefault("tier", lin.size)
        if m in OVERRIDES:
            e.update(_merge(e, OVERRIDES[m].patch))
        conv.derived.extend(derive_long_context(m, e))
        conv.problems.extend(f"{m}: {gap}; the loader refuses this entry until rates.json lists the price"
                             for gap in tier_gaps(e))
    universe = {**{m: e for m, e in current.items()}, **models}
    for m, succ in upstream_successors.items():
        if successor_fits(m, models[m], succ, universe.get(succ)):
            models[m]["successor"] = succ
        else:
            conv.problems.append(f"{m}: litellm's successor {succ!r} is not of its family and size class "
                                 "or larger; not used")
    links = infer_links(universe)
    for m, e in models.items():
        for k in ("successor", "cheaper_sibling"):
            if k not in e and links[m][k] is not None:
                e[k] = links[m][k]
            if e.get(k) is not None and e[k] not in universe:
                conv.problems.append(f"{m}: {k} {e[k]!r} is not in the table; dropped")
                del e[k]
    return {m: {k: e[k] for k in _ORDER if k in e} for m, e in models.items()}


def link_kept_models(current: Mapping[str, Any], new_models: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Models kept although absent upstream, with a successor or sibling they lack filled in
    (a model dropped by upstream may have gained a successor among the models just added)."""
    universe = {**current, **new_models}
    links = infer_links(universe)
    updated = {}
    for m, entry in current.items():
        if m in new_models:
            continue
        fills = {k: links[m][k] for k in ("successor", "cheaper_sibling") if k not in entry and links[m][k]}
        if fills:
            merged = {**entry, **fills}
            updated[m] = {k: merged[k] for k in _ORDER if k in merged}
    return updated


def _merge(target: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(target)
    for k, v in patch.items():
        out[k] = _merge(out.get(k) or {}, v) if isinstance(v, dict) else v
    return out


def diff_patch(old: Any, new: Any) -> Any:
    """The RFC 7396 merge patch turning old into new (None when they are equal)."""
    if isinstance(old, dict) and isinstance(new, dict):
        patch: dict[str, Any] = {}
        for k in old:
            if k not in new:
                patch[k] = None
        for k, v in new.items():
            if k not in old:
                patch[k] = v
            elif old[k] != v:
                sub = diff_patch(old[k], v)
                patch[k] = sub
        return patch or None
    return None if old == new else new


# -- the proposal ---------------------------------------------------------------------------------

@dataclass
class Proposal:
    version: dict[str, Any]  # the version object to append
    added: list[str]
    changed: dict[str, Any]  # model -> merge patch
    absent: list[str]  # in the table, not upstream (kept unless pruned)
    removed: list[str]
    aliases: dict[str, str]  # new aliases
    old_models: dict[str, Any]
    new_models: dict[str, Any]
    conversion: Conversion

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed or self.aliases)


def load_document(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"format": 1, "aliases": {}, "versions": []}
    with path.open(encoding="utf-8") as fh:
        doc: dict[str, Any] = json.load(fh)
    return doc


def propose(document: Mapping[str, Any], upstream: Mapping[str, Any], *, effective: date,
            source: str, note: str | None = None, prune: bool = False) -> Proposal:
    """The version an import of ``upstream`` would append to ``document``."""
    versions = document.get("versions") or []
    if versions:
        folded = fold_versions(document)
        last = folded[-1][0]
        if effective <= last.effective:
            raise RatesError(f"effective {effective} must be after the latest version ({last.effective})")
        current: dict[str, Any] = folded[-1][1]
        table: RateTable | None = RateTable(document)
    else:
        current, table = {}, None
    conv = convert(upstream, table, document.get("aliases"))
    new_models = complete_entries(conv, current)
    added = sorted(m for m in new_models if m not in current)
    changed: dict[str, Any] = {}
    for m in sorted(new_models):
        if m in current:
            patch = diff_patch(current[m], new_models[m])
            if patch is not None:
                changed[m] = patch
    absent = sorted(m for m in current if m not in new_models)
    removed = absent if prune else []
    if not prune:
        for m, entry in link_kept_models(current, new_models).items():
            changed[m] = diff_patch(current[m], entry)
        changed = dict(sorted(changed.items()))
    known_aliases = dict(document.get("aliases") or {})
    aliases = {a: c for a, c in sorted(conv.aliases.items())
               if known_aliases.get(a) != c and a not in current and a not in new_models}
    patch_models: dict[str, Any] = {m: new_models[m] for m in added}
    patch_models.update(changed)
    patch_models.update({m: None for m in removed})
    version: dict[str, Any] = {"id": effective.isoformat(), "effective": effective.isoformat(), "source": source}
    if note:
        version["note"] = note
    version["models"] = {m: patch_models[m] for m in sorted(patch_models)}
    return Proposal(version, added, changed, absent, removed, aliases, dict(current), new_models, conv)


def apply(document: Mapping[str, Any], proposal: Proposal) -> dict[str, Any]:
    """The document with the proposal appended (aliases merged, sorted)."""
    out = dict(document)
    out.setdefault("format", 1)
    aliases = {**(document.get("aliases") or {}), **proposal.aliases}
    out["aliases"] = dict(sorted(aliases.items()))
    out["versions"] = [*(document.get("versions") or []), proposal.version]
    return out


def _flat(prefix: str, value: Any) -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flat(f"{prefix}.{k}" if prefix else k, v)
    else:
        yield prefix, value


def summary_lines(p: Proposal) -> list[str]:
    """A reviewer's view of a proposal: one line per model, old -> new per changed price."""
    lines = [f"proposed version {p.version['id']} (effective {p.version['effective']}): "
             f"{len(p.added)} added, {len(p.changed)} changed, {len(p.removed)} removed, "
             f"{len(p.aliases)} new aliases"]
    for m in p.added:
        std = p.new_models[m]["rates"]["standard"]
        tiers = ",".join(p.new_models[m]["rates"])
        lc = p.new_models[m].get("long_context")
        lc_text = f" long-context>{lc['threshold']}" if lc else ""
        lines.append(f"  + {m} [{p.new_models[m]['provider']}] in {std['input']} out {std['output']}"
                     f" cache_read {std.get('cache_read', '-')} tiers {tiers}{lc_text}")
    for m, patch in p.changed.items():
        old = dict(_flat("", p.old_models[m]))
        for path, value in _flat("", patch):
            before = old.get(path, "-")
            if value is None:
                sub = [k for k in old if k == path or k.startswith(path + ".")]
                before = ", ".join(f"{k.removeprefix(path + '.')}={old[k]}" for k in sub) or before
                lines.append(f"  ~ {m} {path}: {before} -> (removed)")
            else:
                lines.append(f"  ~ {m} {path}: {before} -> {value}")
    for m in p.removed:
        lines.append(f"  - {m}")
    if p.absent and not p.removed:
        lines.append(f"  = {len(p.absent)} models absent upstream, kept (use --prune to remove): "
                     + ", ".join(p.absent))
    for a, c in p.aliases.items():
        lines.append(f"  @ {a} -> {c}")
    for note in p.conversion.derived:
        lines.append(f"  * {note}")
    for problem in p.conversion.problems:
        lines.append(f"  ! {problem}")
    lines.append(f"  ({len(p.conversion.skipped)} upstream entries skipped by the filter)")
    return lines


# -- writing rates.json ---------------------------------------------------------------------------

def _is_leaf(value: Any) -> bool:
    return isinstance(value, dict) and all(not isinstance(v, (dict, list)) for v in value.values())


def dumps(document: Any, indent: int = 0) -> str:
    """JSON with one line per leaf object (a tier's rates), so a price change is a one-line diff."""
    pad = "  " * indent
    if isinstance(document, dict) and document and not (_is_leaf(document) and indent >= 4):
        items = [f'{pad}  {json.dumps(k)}: {dumps(v, indent + 1).lstrip()}' for k, v in document.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(document, list) and document:
        items = [f"{pad}  {dumps(v, indent + 1).lstrip()}" for v in document]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return json.dumps(document, ensure_ascii=False, separators=(", ", ": "))


def write_document(path: Path, document: Mapping[str, Any]) -> None:
    RateTable(document)  # never write a file the loader would refuse
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(dumps(document) + "\n", encoding="utf-8")
    tmp.replace(path)


def load_upstream(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict):
        raise RatesError(f"{path}: expected a JSON object of model -> entry")
    data.pop("sample_spec", None)  # litellm's documentation entry
    return data
