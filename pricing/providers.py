"""What each provider does that its prices alone do not say: rates.json's ``providers`` section.

The checks and the clustering read these facts instead of naming providers in code:

    prompt_cache                     'explicit': caching is a switch the caller turns on (Anthropic's
                                     cache_control breakpoints), so a repeated prompt that never read the
                                     cache is an action a team can take; 'automatic': the provider caches
                                     on its own, there is nothing to turn on
    cache_lifetime_seconds           how long a cached prefix lives after its last use by default (the
                                     lower bound where the provider says "usually")
    extended_cache_lifetime_seconds  the longer lifetime a caller can ask for (Anthropic's 1-hour cache,
                                     OpenAI's 24-hour retention); absent: none, the default lifetime
    min_cacheable_tokens             the shortest prompt the provider caches, for a model whose entry
                                     does not say (required for an explicit cache)
    note                             where the facts come from

An explicit cache bills its writes at the table's ``cache_write`` rate for the default lifetime and at
``cache_write_1h`` for the extended one. The section is not dated: a change of behaviour is an edit
reviewed like an alias. A provider without facts is one the fleet knows nothing about: no cache to turn
on and no lifetime, so nothing counts as cacheable (the linter reports it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pricing.compiled import TOKEN_KINDS

PROVIDERS = ("anthropic", "openai", "gemini", "xai")
EXPLICIT, AUTOMATIC = "explicit", "automatic"
PROVIDER_FIELDS = frozenset({"prompt_cache", "cache_lifetime_seconds", "extended_cache_lifetime_seconds",
                             "min_cacheable_tokens", "note"})
#: The rate an explicit cache's writes are billed at, for the default and the extended lifetime.
DEFAULT_WRITE, EXTENDED_WRITE = TOKEN_KINDS[2], TOKEN_KINDS[3]


class ProviderFactsError(ValueError):
    """rates.json's providers section is malformed (the loader raises it as a RatesError)."""


@dataclass(frozen=True)
class CacheLifetime:
    """One lifetime a prompt cache offers: a label for people ('5m', '1h'), its length, and for an explicit
    cache the rate its writes are billed at."""

    label: str
    seconds: int
    write: str  # 'cache_write' or 'cache_write_1h'


@dataclass(frozen=True)
class ProviderFacts:
    provider: str
    prompt_cache: str | None = None  # EXPLICIT, AUTOMATIC; None: unknown (no facts in the table)
    cache_lifetime_seconds: int = 0
    extended_cache_lifetime_seconds: int = 0
    min_cacheable_tokens: int | None = None
    note: str | None = None

    @property
    def explicit_cache(self) -> bool:
        return self.prompt_cache == EXPLICIT

    @property
    def cache_lifetimes(self) -> tuple[CacheLifetime, ...]:
        """The default lifetime, then the extended one when it is longer."""
        lifetimes = [CacheLifetime(duration_label(self.cache_lifetime_seconds), self.cache_lifetime_seconds,
                                   DEFAULT_WRITE)]
        if self.extended_cache_lifetime_seconds > self.cache_lifetime_seconds:
            lifetimes.append(CacheLifetime(duration_label(self.extended_cache_lifetime_seconds),
                                           self.extended_cache_lifetime_seconds, EXTENDED_WRITE))
        return tuple(lifetimes)


def duration_label(seconds: int) -> str:
    """'5m', '1h', '24h', '90s': the largest unit that divides it."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_providers(raw: object) -> dict[str, ProviderFacts]:
    """Validate rates.json's ``providers`` section (absent: no facts)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ProviderFactsError("rates.json: 'providers' must map a provider to its facts")
    return {provider: parse_facts(provider, entry) for provider, entry in raw.items()}


def parse_facts(provider: str, entry: object) -> ProviderFacts:
    where = f"providers.{provider}"
    if provider not in PROVIDERS:
        raise ProviderFactsError(f"{where}: unknown provider (one of {PROVIDERS})")
    if not isinstance(entry, dict):
        raise ProviderFactsError(f"{where}: expected an object")
    unknown = set(entry) - PROVIDER_FIELDS
    if unknown:
        raise ProviderFactsError(f"{where}: unknown field(s) {sorted(unknown)}")
    mode = entry.get("prompt_cache")
    if mode not in (EXPLICIT, AUTOMATIC):
        raise ProviderFactsError(f"{where}.prompt_cache: '{EXPLICIT}' or '{AUTOMATIC}', got {mode!r}")
    lifetime = _positive(entry, "cache_lifetime_seconds", where, required=True) or 0
    extended = _positive(entry, "extended_cache_lifetime_seconds", where) or lifetime
    if extended < lifetime:
        raise ProviderFactsError(f"{where}.extended_cache_lifetime_seconds: shorter than the default lifetime")
    minimum = _positive(entry, "min_cacheable_tokens", where, required=mode == EXPLICIT)
    note = entry.get("note")
    if note is not None and not isinstance(note, str):
        raise ProviderFactsError(f"{where}.note: expected a string")
    return ProviderFacts(provider, mode, lifetime, extended, minimum, note)


def _positive(entry: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> int | None:
    value = entry.get(key)
    if value is None:
        if required:
            raise ProviderFactsError(f"{where}.{key}: required")
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ProviderFactsError(f"{where}.{key}: expected a positive integer, got {value!r}")
    return value
