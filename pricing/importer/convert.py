"""A whole upstream table as canonical models and aliases, completed with reviewed metadata,
derived prices and inferred links."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pricing.compiled import SERVICE_TIERS
from pricing.entries import tier_gaps
from pricing.importer.lineage import ANTHROPIC_RENAMES, classify, infer_links, successor_fits, suffix_base
from pricing.importer.prices import OVERRIDES, derive_long_context, fill_provider_rules
from pricing.importer.upstream import convert_entry, excluded_reason, strip_prefix
from pricing.table import RateTable


@dataclass
class Conversion:
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # canonical -> full entry
    aliases: dict[str, str] = field(default_factory=dict)  # upstream id -> canonical
    skipped: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    derived: list[str] = field(default_factory=list)  # prices written out that upstream leaves out


def list_prices(entry: Mapping[str, Any]) -> Any:
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
        fill_provider_rules(stripped, entry)
        if raw["litellm_provider"] == "gemini" and "/" not in key and f"gemini/{key}" in upstream:
            prefixed = upstream[f"gemini/{key}"]
            if isinstance(prefixed, dict) and excluded_reason(f"gemini/{key}", prefixed) is None:
                other, _ = convert_entry(f"gemini/{key}", prefixed)
                fill_provider_rules(key, other)
                if list_prices(other) != list_prices(entry):
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
        for rx, repl in ANTHROPIC_RENAMES:
            name = rx.sub(repl, name)
        base = suffix_base(name)
        if base is None:
            return name
        if base in stripped_ids:
            other = next(e for s, e in entries.values() if s == base)
            return base if list_prices(other) == list_prices(entry) else name
        if entry["provider"] == "anthropic":
            return base  # the dated id is the model; its undated name becomes canonical
        return name

    chosen: dict[str, tuple[int, str, dict[str, Any]]] = {}
    same_model: dict[str, list[dict[str, Any]]] = {}  # entries priced like the chosen one
    for key, (stripped, entry) in entries.items():
        canonical = canonical_of(key, stripped, entry)
        rank = _rank(stripped, canonical)
        current = chosen.get(canonical)
        if current is not None and list_prices(current[2]) != list_prices(entry):
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
            if other is entry or list_prices(other) != list_prices(entry):
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
FIELD_ORDER = ("provider", "family", "tier", "successor", "cheaper_sibling", "context_window", "max_output",
          "min_cacheable_tokens", "deprecation_date", "note", "rates", "long_context")


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
            e.update(merge_over(e, OVERRIDES[m].patch))
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
    return {m: {k: e[k] for k in FIELD_ORDER if k in e} for m, e in models.items()}


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
            updated[m] = {k: merged[k] for k in FIELD_ORDER if k in merged}
    return updated


def merge_over(target: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(target)
    for k, v in patch.items():
        out[k] = merge_over(out.get(k) or {}, v) if isinstance(v, dict) else v
    return out
