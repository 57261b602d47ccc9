"""What a seed asks for, and the names of the patterns it can plant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pricing import PROVIDERS

PLANTS: tuple[str, ...] = (
    "overpowered_model",
    "repeated_prompts",
    "runaway_loop",
    "long_context",
    "nightly_batchable",
    "stale_rate",
    "billing_variance",
    "unattributed",
    # the optimisation catalog's own plants (synthetic/catalog_plants.py)
    "legacy_model",
    "cache_write_waste",
    "reasoning_overspend",
    "spend_spike",
    "cacheable_prompts",
)

# billed / logged - 1 per provider: green (< 0.5 %), amber (0.5-2 %), red (> 2 %), and exact.
DEFAULT_BILLING_VARIANCE: Mapping[str, Decimal] = {
    "anthropic": Decimal("0.003"),
    "openai": Decimal("0.012"),
    "gemini": Decimal("-0.04"),
    "xai": Decimal("0"),
}

DEFAULT_TIMEZONE = "America/New_York"


@dataclass(frozen=True)
class SeedOptions:
    slug: str
    days: int = 30
    requests_per_day: int = 2000
    seed: int = 1
    # The last seeded day is end_date - 1 (UTC). Default: today UTC, or for an append the day
    # after the workspace's last seeded day plus `days`.
    end_date: dt.date | None = None
    plants: frozenset[str] = field(default_factory=lambda: frozenset(PLANTS))
    append: bool = False
    billing_variance: Mapping[str, Decimal] | None = None
    timezone: str = DEFAULT_TIMEZONE

    def __post_init__(self) -> None:
        unknown = sorted(set(self.plants) - set(PLANTS))
        if unknown:
            raise ValueError(f"unknown plant(s) {', '.join(unknown)}; choose from {', '.join(PLANTS)}")
        if self.days < 1:
            raise ValueError(f"days must be at least 1, got {self.days}")
        if self.requests_per_day < 1:
            raise ValueError(f"requests_per_day must be at least 1, got {self.requests_per_day}")
        if not self.slug.strip():
            raise ValueError("the workspace slug must not be empty")
        if self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed}")
        strange = sorted(set(self.variance()) - set(PROVIDERS))
        if strange:
            raise ValueError(f"billing variance for unknown provider(s) {', '.join(strange)}; "
                             f"choose from {', '.join(PROVIDERS)}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {self.timezone!r}; use an IANA name like 'Europe/London'") from None

    def planted(self, name: str) -> bool:
        return name in self.plants

    def variance(self) -> Mapping[str, Decimal]:
        return DEFAULT_BILLING_VARIANCE if self.billing_variance is None else self.billing_variance
