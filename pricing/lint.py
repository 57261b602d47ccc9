"""``rates check``: everything that can be wrong with rates.json, one problem per line.

The loader refuses a bad file at the first error; the linter keeps going and reports all of
them, each in the version where the offending entry was written. Warnings (models priced alike
everywhere but not aliases) are printed too but leave the file usable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pricing.compiled import SERVICE_TIERS
from pricing.cost import TIER_SYNONYMS
from pricing.entries import (
    UNPRICED_VERSION,
    RatesError,
    iter_rate_strings,
    merge_patch,
    parse_model,
    tier_gaps,
    usd_per_mtok_to_pico,
)
from pricing.providers import ProviderFactsError, parse_facts
from pricing.table import RateTable

DOCUMENT_FIELDS = frozenset({"format", "about", "providers", "aliases", "same_price", "versions"})


@dataclass(frozen=True)
class Problem:
    where: str
    message: str
    warning: bool = False  # reported, but the file is still usable (`rates check` exits 0)

    def __str__(self) -> str:
        return f"{'warning: ' if self.warning else ''}{self.where}: {self.message}"


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if not p.warning]


def _check_versions(versions: list[Any]) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    previous: date | None = None
    for i, raw in enumerate(versions):
        where = f"versions[{i}]"
        if not isinstance(raw, dict):
            problems.append(Problem(where, "expected an object"))
            continue
        vid = raw.get("id")
        if not isinstance(vid, str) or not vid or vid == UNPRICED_VERSION:
            problems.append(Problem(where, f"bad version id {vid!r}"))
        elif vid in seen:
            problems.append(Problem(where, f"duplicate version id {vid!r}"))
        else:
            seen.add(vid)
            where = f"version {vid}"
        try:
            effective = date.fromisoformat(raw.get("effective", ""))
        except (TypeError, ValueError):
            problems.append(Problem(where, f"effective {raw.get('effective')!r} is not a YYYY-MM-DD date"))
            continue
        if previous is not None and effective <= previous:
            problems.append(Problem(where, f"effective {effective} is not after the previous version ({previous})"))
        previous = effective
        if not raw.get("source") and not raw.get("note"):
            problems.append(Problem(where, "no source or note: say where these prices come from"))
        if not isinstance(raw.get("models", {}), dict):
            problems.append(Problem(where, "'models' must be an object"))
    return problems


def _cheaper(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Is model entry a cheaper than b at standard input and output list prices?"""
    try:
        sa, sb = a["rates"]["standard"], b["rates"]["standard"]
        ai, ao, bi, bo = (Decimal(x) for x in (sa["input"], sa["output"], sb["input"], sb["output"]))
    except (KeyError, TypeError, ArithmeticError):
        return True  # a broken entry is reported on its own
    return ai <= bi and ao <= bo and (ai, ao) != (bi, bo)


def check_document(document: Any) -> list[Problem]:
    """All problems of a rates document (empty list: the file is good)."""
    if not isinstance(document, dict):
        return [Problem("rates.json", "expected a JSON object")]
    unknown = sorted(set(document) - DOCUMENT_FIELDS)
    problems = [Problem("rates.json", f"unknown top-level field {k!r}") for k in unknown]
    versions = document.get("versions")
    if not isinstance(versions, list) or not versions:
        return [*problems, Problem("rates.json", "'versions' must be a non-empty list")]
    problems += _check_versions(versions)

    folded: list[tuple[str, dict[str, Any]]] = []
    models: dict[str, Any] = {}
    broken_links: set[tuple[str, str, str]] = set()
    for i, raw in enumerate(versions):
        if not isinstance(raw, dict) or not isinstance(raw.get("models", {}), dict):
            continue
        vid = str(raw.get("id") or f"versions[{i}]")
        patch: dict[str, Any] = raw.get("models", {})
        models = merge_patch(models, patch)
        folded.append((vid, models))
        for model in sorted(m for m, p in patch.items() if p is not None):
            entry = models[model]
            where = f"version {vid}: {model}"
            rate_problems = []
            for path, value in iter_rate_strings(entry if isinstance(entry, dict) else {}):
                try:
                    usd_per_mtok_to_pico(value, path)
                except RatesError as exc:
                    rate_problems.append(Problem(where, str(exc)))
            problems += rate_problems
            gaps = tier_gaps(entry) if isinstance(entry, dict) else []
            problems += [Problem(where, gap) for gap in gaps]
            if not rate_problems and not gaps:
                try:
                    parse_model(model, entry, vid)
                except RatesError as exc:
                    problems.append(Problem(where, str(exc).removeprefix(f"version {vid}: model {model}: ")))
        for model, entry in models.items():
            if not isinstance(entry, dict):
                continue
            for link in ("successor", "cheaper_sibling"):
                target = entry.get(link)
                if target is None:
                    continue
                key = (model, link, str(target))
                if target == model:
                    problem = f"{link} is the model itself"
                elif target not in models:
                    problem = f"{link} {target!r} is not a model of this version"
                elif link == "cheaper_sibling" and not _cheaper(models[target], entry):
                    problem = f"cheaper_sibling {target!r} is not cheaper at standard rates"
                else:
                    broken_links.discard(key)
                    continue
                if key not in broken_links:  # report once, where it first breaks
                    broken_links.add(key)
                    problems.append(Problem(f"version {vid}: {model}", problem))

    known = {m for _, ms in folded for m in ms}
    aliases = document.get("aliases", {})
    if not isinstance(aliases, dict):
        problems.append(Problem("aliases", "expected an object"))
        aliases = {}
    same_price = document.get("same_price", [])
    if not isinstance(same_price, list):
        problems.append(Problem("same_price", "expected a list of {models, reason}"))
        same_price = []
    for i, group in enumerate(same_price):
        where = f"same_price[{i}]"
        if not isinstance(group, dict) or set(group) != {"models", "reason"}:
            problems.append(Problem(where, "expected an object with exactly 'models' and 'reason'"))
            continue
        members = group["models"]
        if not isinstance(members, list) or len(members) < 2 or not all(isinstance(m, str) for m in members):
            problems.append(Problem(where, "'models' must list at least two model ids"))
        else:
            problems += [Problem(where, f"{m!r} is not a model in any version") for m in members if m not in known]
        if not isinstance(group["reason"], str) or not group["reason"].strip():
            problems.append(Problem(where, "'reason' must say why these are distinct models"))
    for alias, target in sorted(aliases.items()):
        if not isinstance(target, str):
            problems.append(Problem(f"alias {alias}", f"target {target!r} is not a string"))
        elif alias in known:
            problems.append(Problem(f"alias {alias}", "is also a model id"))
        elif target in aliases:
            problems.append(Problem(f"alias {alias}", f"points to another alias {target!r}"))
        elif target not in known:
            problems.append(Problem(f"alias {alias}", f"target {target!r} is not a model in any version"))
    problems += _check_providers(document.get("providers"), folded)
    if not problems:
        problems += _same_price_warnings(document, folded)
    if not errors(problems):
        try:  # anything the loader refuses and the checks above missed
            RateTable(document)
        except RatesError as exc:
            problems.append(Problem("rates.json", str(exc)))
    return problems


def _check_providers(raw: Any, folded: list[tuple[str, dict[str, Any]]]) -> list[Problem]:
    """Every provider's facts well formed, and facts for every provider a version prices (the checks and
    the clustering read them: a provider without facts has no cache to turn on and no cache lifetime)."""
    if raw is not None and not isinstance(raw, dict):
        return [Problem("providers", "expected an object mapping a provider to its facts")]
    problems = []
    for provider, entry in (raw or {}).items():
        try:
            parse_facts(provider, entry)
        except ProviderFactsError as exc:
            where, _, message = str(exc).partition(": ")
            problems.append(Problem(where, message))
    priced = {str(e.get("provider")) for _, models in folded for e in models.values() if isinstance(e, dict)}
    for provider in sorted(priced - set(raw or {})):
        problems.append(Problem(f"providers.{provider}", "no facts for a provider the table prices: say how it "
                                "caches prompts (prompt_cache, cache_lifetime_seconds, …)"))
    return problems


def _price_signature(entry: Mapping[str, Any]) -> str:
    return json.dumps({"provider": entry.get("provider"), "rates": entry.get("rates"),
                       "long_context": entry.get("long_context")}, sort_keys=True)


def _same_price_warnings(document: Mapping[str, Any], folded: list[tuple[str, dict[str, Any]]]) -> list[Problem]:
    """Models of one provider priced identically in every version that lists them, not aliases.

    Two ids priced alike wherever both are listed are most likely one model under two names. As
    two models they are priced apart wherever one is listed and the other not: a model listed
    later is billed at its first listed rates before that (gpt-5.6 was first listed by the
    2026-11-26 import, so before the 2026-08-21 cut it was billed at the cut price while
    gpt-5.6-sol had its launch price). Make one an alias of the other, or record the group
    under ``same_price`` in rates.json with the reason they are distinct models.
    """
    signatures: dict[str, dict[int, str]] = {}
    for v, (_, models) in enumerate(folded):
        for model, entry in models.items():
            if isinstance(entry, dict):
                signatures.setdefault(model, {})[v] = _price_signature(entry)
    buckets: dict[tuple[int, str], list[str]] = {}
    for model, by_version in signatures.items():
        for v, sig in by_version.items():
            buckets.setdefault((v, sig), []).append(model)
    parent = {m: m for m in signatures}

    def root(m: str) -> str:
        while parent[m] != m:
            parent[m] = parent[parent[m]]
            m = parent[m]
        return m

    apart: dict[frozenset[str], None] = {}  # pairs whose listings differ: priced apart somewhere
    checked: set[tuple[str, str]] = set()
    for members in buckets.values():
        for i, a in enumerate(sorted(members)):
            for b in sorted(members)[i + 1:]:
                if (a, b) in checked:
                    continue
                checked.add((a, b))
                sa, sb = signatures[a], signatures[b]
                if all(sa[v] == sb[v] for v in sa.keys() & sb.keys()):
                    parent[root(a)] = root(b)
                    if sa.keys() != sb.keys():
                        apart[frozenset((a, b))] = None
    groups: dict[str, list[str]] = {}
    for model in signatures:
        groups.setdefault(root(model), []).append(model)
    reviewed = [frozenset(g.get("models") or ()) for g in document.get("same_price") or ()
                if isinstance(g, dict) and g.get("reason")]
    version_ids = [vid for vid, _ in folded]
    warnings = []
    for members in sorted(sorted(g) for g in groups.values() if len(g) > 1):
        if any(set(members) <= r for r in reviewed):
            continue
        message = ("priced identically in every version that lists them, but not aliases: make one an alias "
                   "of the other, or list them under 'same_price' with the reason they are distinct models")
        noted: set[str] = set()
        for a, b in sorted(sorted(p) for p in apart if p <= set(members)):
            late, early = (a, b) if min(signatures[a]) > min(signatures[b]) else (b, a)
            first = min(signatures[late])
            if late in noted or not any(v < first and sig != signatures[late][first]
                                        for v, sig in signatures[early].items()):
                continue
            noted.add(late)
            message += (f"; before {version_ids[first]} {late} is billed at its first listed rates, "
                        f"{early} at its own older ones")
        warnings.append(Problem(", ".join(members), message, warning=True))
    return warnings


def check_file(path: Path) -> list[Problem]:
    try:
        with path.open(encoding="utf-8") as fh:
            document = json.load(fh)
    except OSError as exc:
        return [Problem(str(path), f"cannot read: {exc.strerror or exc}")]
    except json.JSONDecodeError as exc:
        return [Problem(str(path), f"not valid JSON: {exc}")]
    return check_document(document)


@dataclass(frozen=True)
class TrafficGap:
    provider: str
    model: str
    reason: str
    service_tier: str | None = None  # set when the gap is the tier, not the model

    def __str__(self) -> str:
        tier = "" if self.service_tier is None else f" [{self.service_tier}]"
        return f"traffic: {self.provider} {self.model}{tier}: {self.reason}"


def missing_rates(table: RateTable, seen: Iterable[tuple[str, str] | tuple[str, str, str | None]]
                  ) -> list[TrafficGap]:
    """What traffic uses that the latest version cannot price, one gap per line.

    ``seen`` holds (provider, model) or (provider, model, service_tier) as meter.requests records
    them. A model gap is reported once per (provider, model); a tier gap once per tier the model
    does not offer (a standard-tier-only model sent in batch, or a tier the meter does not know).
    """
    gaps: list[TrafficGap] = []
    by_model: dict[tuple[str, str], set[str | None]] = {}
    for row in seen:
        provider, model = row[0], row[1]
        tier = row[2] if len(row) > 2 else None
        by_model.setdefault((provider, model), set()).add(tier)
    for (provider, model), tiers in sorted(by_model.items()):
        canonical = table.canonical(model)
        if canonical is None:
            gaps.append(TrafficGap(provider, model, "no rate in any version"))
            continue
        info = table.model_info(canonical)
        if info is None:
            gaps.append(TrafficGap(provider, model, f"{canonical} was removed from the latest version"))
            continue
        if info.provider != provider:
            gaps.append(TrafficGap(provider, model, f"{canonical} is priced under provider {info.provider}"))
            continue
        for tier in sorted(t for t in tiers if t is not None):
            name = TIER_SYNONYMS.get(tier.strip().lower(), tier.strip().lower())
            if name not in SERVICE_TIERS:
                gaps.append(TrafficGap(provider, model, f"unknown service tier {tier!r}", tier))
            elif name not in info.rates:
                offered = ", ".join(info.service_tiers)
                gaps.append(TrafficGap(provider, model, f"{canonical} does not offer the {name!r} tier in version "
                                       f"{info.version} (offers {offered})", tier))
    return gaps
