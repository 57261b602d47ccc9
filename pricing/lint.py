"""``rates check``: everything that can be wrong with rates.json, one problem per line.

The loader refuses a bad file at the first error; the linter keeps going and reports all of
them, each in the version where the offending entry was written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pricing.table import (
    UNPRICED_VERSION,
    RatesError,
    RateTable,
    iter_rate_strings,
    merge_patch,
    parse_model,
    usd_per_mtok_to_pico,
)

DOCUMENT_FIELDS = frozenset({"format", "about", "aliases", "versions"})


@dataclass(frozen=True)
class Problem:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


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
            if not rate_problems:
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
    for alias, target in sorted(aliases.items()):
        if not isinstance(target, str):
            problems.append(Problem(f"alias {alias}", f"target {target!r} is not a string"))
        elif alias in known:
            problems.append(Problem(f"alias {alias}", "is also a model id"))
        elif target in aliases:
            problems.append(Problem(f"alias {alias}", f"points to another alias {target!r}"))
        elif target not in known:
            problems.append(Problem(f"alias {alias}", f"target {target!r} is not a model in any version"))
    if not problems:
        try:  # anything the loader refuses and the checks above missed
            RateTable(document)
        except RatesError as exc:
            problems.append(Problem("rates.json", str(exc)))
    return problems


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

    def __str__(self) -> str:
        return f"traffic: {self.provider} {self.model}: {self.reason}"


def missing_rates(table: RateTable, pairs: Iterable[tuple[str, str]]) -> list[TrafficGap]:
    """The (provider, model) pairs seen in traffic that the latest version cannot price."""
    gaps = []
    for provider, model in sorted(set(pairs)):
        canonical = table.canonical(model)
        if canonical is None:
            gaps.append(TrafficGap(provider, model, "no rate in any version"))
            continue
        info = table.model_info(canonical)
        if info is None:
            gaps.append(TrafficGap(provider, model, f"{canonical} was removed from the latest version"))
        elif info.provider != provider:
            gaps.append(TrafficGap(provider, model, f"{canonical} is priced under provider {info.provider}"))
    return gaps
