"""The pure half of a seed: generate, price and summarise the rows of some days (no database)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pricing import RateTable
from synthetic import catalog_plants
from synthetic.columns import Columns
from synthetic.costs import price_rows
from synthetic.generator import Plan, generate_days
from synthetic.models import resolve_models
from synthetic.options import SeedOptions
from synthetic.patterns import summarise


@dataclass(frozen=True)
class GeneratedRows:
    plan: Plan
    rows: Columns  # priced: with cost_nanos and rates_version
    planted: list[dict[str, Any]]  # what the patterns planted in these rows (billing comes later)

    def __len__(self) -> int:
        return len(self.rows["model"])


def generate_rows(
    options: SeedOptions, days: Sequence[dt.date], first_day: dt.date, timezone: str, table: RateTable
) -> GeneratedRows:
    """The rows of `days` for a workspace whose first seeded day is `first_day`."""
    models = resolve_models(table, at=first_day)
    plan = Plan(options.seed, timezone, options.plants, first_day, options.requests_per_day, models)
    rows = generate_days(plan, days)
    stale = models.price_change if plan.planted("stale_rate") else None
    priced = price_rows(table, models.facts, rows, stale)
    planted = summarise(plan, options.slug, rows, priced, (days[0], days[-1]))
    planted += catalog_plants.summarise(plan, options.slug, rows, table, days[-1] + dt.timedelta(days=1))
    for entry in planted:  # the catalog quotes the premium on prompts just over the line, not their cost
        if entry["pattern"] == "long_context":
            entry["detail"]["cost_nanos"] = entry["expected_nanos"]
            entry["expected_nanos"] = catalog_plants.long_context_trim_saving(plan, rows, table)
    return GeneratedRows(plan, rows, planted)
