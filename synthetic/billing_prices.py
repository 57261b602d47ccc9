"""What a provider bills for each request, priced from rates.json on its own terms: a Decimal reference,
row by row, written apart from pricing/ so that the Gemini export plant does not bill through the
function its findings are checked against (reconciliation.findings.reprice → pricing.price_requests).
A bug there then shows as findings that no longer match the plant.

The rules, as pricing/ states them (its entries and cost modules):
- the versions are RFC 7396 merge patches, oldest first; a request is priced by the last version
  effective (UTC midnight) at or before it started, or by the first one before that;
- a model listed only in a later version is priced at its first listed rates; one removed is unpriced;
  an id the table does not list is looked up in its aliases;
- the whole request is billed at the long-context rates once its prompt (input, cache read and cache
  write tokens) is above the threshold;
- a kind of token without a price in the tier is billed at the tier's input price;
- cost = tokens x USD per million tokens, summed, rounded half-up to the nano-dollar once;
- a request the provider answered with an error, or one the table cannot price, is not billed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from pricing.table import DEFAULT_RATES_PATH

NANOS_PER_USD_PER_MTOK = 1000  # tokens x USD per 1e6 tokens x 1e9 nanos per USD
KINDS = (("input", "input_tokens"), ("cache_read", "cache_read_tokens"), ("cache_write", "cache_write_tokens"),
         ("output", "output_tokens"))


@dataclass(frozen=True)
class ReferencePrices:
    versions: tuple[tuple[dt.date, dict[str, Any]], ...]  # (effective, every model as of then), oldest first
    aliases: dict[str, str]
    found: dict[tuple[str, int], dict[str, Any] | None] = field(default_factory=dict, compare=False)  # memo

    @classmethod
    def load(cls, path: Path | None = None) -> ReferencePrices:
        document = json.loads((path or DEFAULT_RATES_PATH).read_text(encoding="utf-8"))
        folded: list[tuple[dt.date, dict[str, Any]]] = []
        models: dict[str, Any] = {}
        for version in document["versions"]:
            models = _merge_patch(models, version["models"])
            folded.append((dt.date.fromisoformat(version["effective"]), models))
        return cls(tuple(folded), dict(document.get("aliases", {})))

    def cost_nanos(self, row: Mapping[Any, Any]) -> int | None:
        """What the provider bills for one request (a mapping of meter.requests' columns), or None when
        the table cannot price it."""
        if int(row["status_code"]) != 200:
            return 0
        model = self._entry(str(row["model"]), _utc(row["started_at"]))
        tier = str(row["service_tier"])
        if model is None or tier not in model["rates"]:
            return None
        rates = model["rates"][tier]
        prompt = sum(int(row[column]) for kind, column in KINDS if kind != "output")
        long_context = model.get("long_context")
        if long_context and prompt > int(long_context["threshold"]):
            if tier not in long_context["rates"]:
                return None
            rates = long_context["rates"][tier]
        usd_per_mtok = sum((Decimal(int(row[column])) * Decimal(rates.get(kind, rates["input"]))
                            for kind, column in KINDS), Decimal(0))
        return int((usd_per_mtok * NANOS_PER_USD_PER_MTOK).to_integral_value(ROUND_HALF_UP))

    def _entry(self, model: str, started: dt.datetime) -> dict[str, Any] | None:
        in_force = 0
        for index, (effective, _models) in enumerate(self.versions):
            if dt.datetime.combine(effective, dt.time(), tzinfo=dt.UTC) <= started:
                in_force = index
        return self._listed(model, in_force)

    def _listed(self, model: str, in_force: int) -> dict[str, Any] | None:
        key = (model, in_force)
        if key not in self.found:
            self.found[key] = self._find(model, in_force)
        return self.found[key]

    def _find(self, model: str, in_force: int) -> dict[str, Any] | None:
        name = model if any(model in models for _, models in self.versions) else self.aliases.get(model)
        if name is None:
            return None
        if name in self.versions[in_force][1]:
            return dict(self.versions[in_force][1][name])
        first = next(index for index, (_, models) in enumerate(self.versions) if name in models)
        if first > in_force:  # listed later than the request: its first listed rates
            return dict(self.versions[first][1][name])
        return None  # removed from the table before the request


def _utc(moment: Any) -> dt.datetime:
    value = moment.to_pydatetime() if hasattr(moment, "to_pydatetime") else moment
    if not isinstance(value, dt.datetime):
        raise TypeError(f"started_at {moment!r} is not a time")
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: null removes a key, an object merges into the object, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge_patch(out.get(key), value)
    return out
