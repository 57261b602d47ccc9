"""The dated price table: rates.json loaded, folded, compiled; model ids resolved; provider facts.

How the file is written and what the loader refuses: pricing/entries.py (exact rates, merge-patched
versions, one model's entry) and pricing/providers.py (what each provider does that prices do not say).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

# Defined with the compiled layout, the entries and the providers, and re-exported here.
from pricing.compiled import INT64_MAX as INT64_MAX
from pricing.compiled import SERVICE_TIERS as SERVICE_TIERS
from pricing.compiled import TOKEN_KINDS as TOKEN_KINDS
from pricing.compiled import CompiledRates, utc_date
from pricing.entries import UNPRICED_VERSION as UNPRICED_VERSION
from pricing.entries import ModelRates, VersionInfo, fold_versions, parse_model
from pricing.entries import RatesError as RatesError
from pricing.providers import PROVIDERS as PROVIDERS
from pricing.providers import ProviderFacts, ProviderFactsError, parse_providers

DEFAULT_RATES_PATH = Path(__file__).with_name("rates.json")


class RateTable:
    """The folded, validated, compiled price table. Immutable once built."""

    def __init__(self, document: Mapping[str, Any], *, path: Path | None = None) -> None:
        self.path = path
        folded = fold_versions(document)
        self.versions: tuple[VersionInfo, ...] = tuple(info for info, _ in folded)
        self._effective = [v.effective for v in self.versions]
        self._by_version: list[dict[str, ModelRates]] = [
            {m: parse_model(m, entry, info.id) for m, entry in models.items()} for info, models in folded
        ]
        aliases = document.get("aliases", {})
        if not isinstance(aliases, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in aliases.items()
        ):
            raise RatesError("rates.json: 'aliases' must map strings to strings")
        self.aliases: Mapping[str, str] = dict(aliases)
        try:
            self._providers = parse_providers(document.get("providers"))
        except ProviderFactsError as exc:
            raise RatesError(str(exc)) from None
        self._canonical_cache: dict[str, str | None] = {}
        self._compiled = CompiledRates.build(self._effective, self._by_version)

    @property
    def compiled(self) -> CompiledRates:
        """The rates as arrays for the vectorised cost function (built once, read-only)."""
        return self._compiled

    @property
    def max_tokens_per_kind(self) -> int:
        """The largest token count per kind that prices without any risk of int64 overflow."""
        return self._compiled.max_tokens_per_kind

    # -- identity -----------------------------------------------------------------------------

    def canonical(self, model: str) -> str | None:
        """The canonical id for a model id as a provider or a client spelled it; None if unknown.

        Tries, in order: the id itself, an alias, then the same after dropping a routing prefix
        (``models/``, ``gemini/``, ``xai/``...) and after reducing a fine-tuned OpenAI id
        ``ft:BASE:org::job`` to ``ft:BASE``. Dated snapshot ids resolve only through explicit
        aliases: a snapshot may be priced differently from the undated name.
        """
        if model in self._canonical_cache:
            return self._canonical_cache[model]
        found = self._resolve(model) if isinstance(model, str) else None
        if len(self._canonical_cache) < 100_000:  # unbounded input (client ids): bound the memo
            self._canonical_cache[model] = found
        return found

    _PREFIXES = ("models/", "gemini/", "google/", "xai/", "x-ai/", "anthropic/", "openai/")

    def _resolve(self, model: str) -> str | None:
        candidate = model.strip()
        for _ in range(3):  # at most a couple of stacked prefixes, e.g. gemini/models/...
            for c in (candidate, candidate.lower()):
                if c in self._compiled.positions:
                    return c
                if c in self.aliases:
                    return self.aliases[c]
            if candidate.startswith("ft:") and candidate.count(":") > 1:
                candidate = ":".join(candidate.split(":")[:2])
                continue
            stripped = next((candidate[len(p):] for p in self._PREFIXES if candidate.lower().startswith(p)), None)
            if not stripped:
                return None
            candidate = stripped
        return None

    # -- providers ----------------------------------------------------------------------------

    def provider(self, name: str) -> ProviderFacts:
        """What the table says a provider does (pricing/providers.py); no facts: it knows nothing."""
        return self._providers.get(name) or ProviderFacts(name)

    def cache_lifetimes(self, *, extended: bool = False) -> dict[str, float]:
        """Seconds a cached prompt lives per provider with facts: the default or the extended lifetime."""
        return {name: float(f.extended_cache_lifetime_seconds if extended else f.cache_lifetime_seconds)
                for name, f in self._providers.items()}

    # -- versions -----------------------------------------------------------------------------

    @property
    def latest_version(self) -> str:
        return self.versions[-1].id

    def _version_index(self, at: date | datetime) -> int:
        # Before the first version the first one applies: it holds the earliest rates we know.
        return self._compiled.version_index(at)

    def version_at(self, at: date | datetime) -> str:
        """Id of the version in force at that UTC moment (naive datetimes are taken as UTC)."""
        return self.versions[self._version_index(at)].id

    def covers(self, at: date | datetime) -> bool:
        """Does the table hold rates for that UTC moment (not before its first version)?"""
        return utc_date(at) >= self.versions[0].effective

    def version_info(self, version_id: str) -> VersionInfo:
        """Effective date, source and note of a version (for reports that explain a price)."""
        for v in self.versions:
            if v.id == version_id:
                return v
        raise KeyError(version_id)

    # -- models -------------------------------------------------------------------------------

    def model_info(self, model: str, at: date | datetime | None = None) -> ModelRates | None:
        """Rates and metadata of a model at a date (default: the latest version)."""
        canonical = self.canonical(model)
        if canonical is None:
            return None
        compiled = self._compiled
        v = compiled.latest_version if at is None else compiled.version_index(at)
        u = compiled.used_version(v, compiled.model_position(canonical))
        return None if u < 0 else self._by_version[u][canonical]

    def successors(self, model: str, at: date | datetime | None = None) -> list[ModelRates]:
        """The chain of models that supersede a model at a date, oldest first: its `successor`, that one's
        successor, and so on (empty: nothing supersedes it). The chain stops at a successor the table does
        not list at that date or of another provider, and at a loop."""
        info = self.model_info(model, at)
        chain: list[ModelRates] = []
        seen = {info.model} if info else set()
        while info is not None and info.successor:
            successor = self.model_info(info.successor, at)
            if successor is None or successor.provider != info.provider or successor.model in seen:
                break
            chain.append(successor)
            seen.add(successor.model)
            info = successor
        return chain

    def current_model(self, model: str, at: date | datetime | None = None) -> ModelRates | None:
        """What the table recommends instead of a model at a date: the model itself when nothing supersedes
        it, else the last of its successors (see `successors`). None: the model is unknown."""
        chain = self.successors(model, at)
        return chain[-1] if chain else self.model_info(model, at)

    def models(self, provider: str | None = None, at: date | datetime | None = None) -> list[str]:
        """Canonical ids listed in the version in force at ``at`` (default latest), sorted."""
        v = len(self.versions) - 1 if at is None else self._version_index(at)
        return sorted(m for m, r in self._by_version[v].items() if provider is None or r.provider == provider)

    def models_in_version(self, version_id: str) -> Mapping[str, ModelRates]:
        """Every model of one version, as listed there (no fallback to later versions)."""
        for i, v in enumerate(self.versions):
            if v.id == version_id:
                return self._by_version[i]
        raise KeyError(version_id)

    def all_models(self) -> tuple[str, ...]:
        """Every canonical id listed in any version."""
        return self._compiled.model_ids

    @classmethod
    def from_file(cls, path: Path | str) -> RateTable:
        p = Path(path)
        with p.open(encoding="utf-8") as fh:
            try:
                document = json.load(fh)
            except json.JSONDecodeError as exc:
                raise RatesError(f"{p}: not valid JSON: {exc}") from None
        return cls(document, path=p)


@lru_cache(maxsize=1)
def _default_table() -> RateTable:
    return RateTable.from_file(DEFAULT_RATES_PATH)


def load_rates(path: Path | str | None = None) -> RateTable:
    """The price table: the packaged rates.json (cached) or the given file (read each call)."""
    if path is None:
        return _default_table()
    return RateTable.from_file(path)
