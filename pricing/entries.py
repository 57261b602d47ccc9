"""rates.json's entries: exact rates, merge patches, one model's entry validated, the versions folded.

rates.json holds a list of versions. The first one lists every model in full; each later one is a
JSON merge patch (RFC 7396) over the models of the version before it, so a reviewed import is a
small diff: a changed price is one changed line, a removed field or model is ``null``.

Rates are decimal strings of USD per million tokens. At load time each becomes an exact integer
number of pico-USD per token ($3/M -> 3_000_000); a rate that is not a whole number of pico-USD
is refused, so no money ever passes through a float.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pricing.compiled import SERVICE_TIERS, TOKEN_KINDS
from pricing.providers import PROVIDERS

#: The rates_version given to a row that could not be priced.
UNPRICED_VERSION = "unpriced"

#: Kinds that may be left out of a tier. A kind left out of the standard tier falls back to its
#: input rate (a model without a cache price bills its cached tokens like the prompt tokens they
#: stand for, never as free). Another tier, or a long-context tier, may leave out only a kind its
#: base tier also leaves out (see ``tier_gaps``): its own input rate is never a silent stand-in
#: for a cache price the base tier has (a Gemini batch input price is 5x its batch cache read, the
#: grok-4 long-context input price 4x its long-context cache read). Such prices are derived at
#: import and written into rates.json, or the file is refused.
OPTIONAL_KINDS = ("cache_read", "cache_write", "cache_write_1h")
#: The tier each service tier's kinds are checked against (below the long-context threshold).
BASE_TIER = "standard"
MODEL_FIELDS = frozenset({
    "provider", "family", "tier", "successor", "cheaper_sibling", "context_window", "max_output",
    "min_cacheable_tokens", "deprecation_date", "note", "rates", "long_context",
})
VERSION_FIELDS = frozenset({"id", "effective", "source", "note", "models"})

PICO_PER_USD_PER_MTOK = 10**6  # USD per 1e6 tokens -> pico-USD (1e-12) per token


class RatesError(ValueError):
    """rates.json is malformed or holds a rate that cannot be used exactly."""


def usd_per_mtok_to_pico(value: object, where: str = "rate") -> int:
    """Convert a decimal string of USD per million tokens to integer pico-USD per token."""
    if not isinstance(value, str):
        raise RatesError(f"{where}: rate must be a decimal string, got {value!r}")
    try:
        dec = Decimal(value)
    except InvalidOperation:
        raise RatesError(f"{where}: {value!r} is not a decimal number") from None
    if not dec.is_finite():
        raise RatesError(f"{where}: {value!r} is not finite")
    if dec < 0:
        raise RatesError(f"{where}: negative rate {value!r}")
    pico = dec * PICO_PER_USD_PER_MTOK
    if pico != pico.to_integral_value():
        raise RatesError(f"{where}: {value!r} USD/M is not a whole number of pico-USD per token")
    return int(pico)


def pico_to_usd_per_mtok(pico: int) -> str:
    """Inverse of usd_per_mtok_to_pico, as the shortest decimal string."""
    text = format(Decimal(pico) / PICO_PER_USD_PER_MTOK, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch: objects merge recursively, ``null`` deletes a member.

    Returns new containers along the patched paths and shares the untouched ones, so the
    folded versions must be treated as read-only.
    """
    if not isinstance(patch, dict):
        return patch
    result: dict[str, Any] = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


@dataclass(frozen=True)
class TierRates:
    """Rates of one service tier, in integer pico-USD per token."""

    input: int
    cache_read: int
    cache_write: int
    cache_write_1h: int
    output: int

    def as_tuple(self) -> tuple[int, int, int, int, int]:
        return (self.input, self.cache_read, self.cache_write, self.cache_write_1h, self.output)

    def usd_per_mtok(self, kind: str) -> Decimal:
        return Decimal(getattr(self, kind)) / PICO_PER_USD_PER_MTOK


@dataclass(frozen=True)
class ModelRates:
    """Everything the table knows about one model in one version."""

    model: str
    provider: str
    version: str  # id of the version these rates come from
    rates: Mapping[str, TierRates]  # service tier -> rates; a tier absent here is not offered
    long_context_threshold: int | None  # prompt tokens; above it the whole request uses long_context
    long_context: Mapping[str, TierRates]
    family: str | None = None
    tier: str | None = None  # the model's size class ('frontier'...'tiny'), not a service tier
    successor: str | None = None
    cheaper_sibling: str | None = None
    context_window: int | None = None
    max_output: int | None = None
    min_cacheable_tokens: int | None = None
    deprecation_date: date | None = None
    note: str | None = None

    @property
    def service_tiers(self) -> tuple[str, ...]:
        return tuple(t for t in SERVICE_TIERS if t in self.rates)


@dataclass(frozen=True)
class VersionInfo:
    id: str
    effective: date
    source: str | None
    note: str | None


def _parse_tier(raw: object, where: str) -> TierRates:
    if not isinstance(raw, dict):
        raise RatesError(f"{where}: expected an object of rates")
    unknown = set(raw) - set(TOKEN_KINDS)
    if unknown:
        raise RatesError(f"{where}: unknown rate kind(s) {sorted(unknown)}")
    for required in ("input", "output"):
        if required not in raw:
            raise RatesError(f"{where}: missing {required} rate")
    pico = {k: usd_per_mtok_to_pico(raw[k], f"{where}.{k}") for k in raw}
    for k in OPTIONAL_KINDS:
        pico.setdefault(k, pico["input"])
    return TierRates(**pico)


def tier_gaps(entry: Mapping[str, Any]) -> list[str]:
    """Every kind of price a tier leaves out although its base tier lists it (empty: none).

    The base of the batch, flex and priority tiers is the standard tier; the base of a
    long-context tier is the same service tier below the threshold. Works on a raw (folded)
    model entry, so the linter can report every gap and the loader refuse the first.
    """
    gaps: list[str] = []
    rates = entry.get("rates")
    if not isinstance(rates, dict):
        return gaps

    def kinds(raw: object) -> set[str]:
        return {k for k in raw if k in TOKEN_KINDS} if isinstance(raw, dict) else set()

    base = kinds(rates.get(BASE_TIER))
    for tier in SERVICE_TIERS:
        if tier != BASE_TIER and tier in rates:
            missing = [k for k in TOKEN_KINDS if k in base - kinds(rates[tier])]
            if missing:
                gaps.append(f"rates.{tier} leaves out {', '.join(missing)} that rates.{BASE_TIER} lists: "
                            "write the tier's own price (derived at import), never its input price")
    lc = entry.get("long_context")
    lc_rates = lc.get("rates") if isinstance(lc, dict) else None
    if isinstance(lc_rates, dict):
        for tier in SERVICE_TIERS:
            if tier in lc_rates and tier in rates:
                missing = [k for k in TOKEN_KINDS if k in kinds(rates[tier]) - kinds(lc_rates[tier])]
                if missing:
                    gaps.append(f"long_context.rates.{tier} leaves out {', '.join(missing)} that rates.{tier} "
                                "lists: write the long-context price (derived at import), never its input price")
    return gaps


def _opt_int(entry: Mapping[str, Any], key: str, where: str) -> int | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RatesError(f"{where}.{key}: expected a non-negative integer, got {value!r}")
    return value


def _opt_str(entry: Mapping[str, Any], key: str, where: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RatesError(f"{where}.{key}: expected a string, got {value!r}")
    return value


def parse_model(model: str, entry: object, version: str) -> ModelRates:
    """Validate one folded model entry and convert its rates to pico-USD per token."""
    where = f"version {version}: model {model}"
    if not isinstance(entry, dict):
        raise RatesError(f"{where}: expected an object")
    unknown = set(entry) - MODEL_FIELDS
    if unknown:
        raise RatesError(f"{where}: unknown field(s) {sorted(unknown)}")
    provider = entry.get("provider")
    if provider not in PROVIDERS:
        raise RatesError(f"{where}: provider must be one of {PROVIDERS}, got {provider!r}")
    rates_raw = entry.get("rates")
    if not isinstance(rates_raw, dict) or "standard" not in rates_raw:
        raise RatesError(f"{where}: rates.standard is required")
    bad = set(rates_raw) - set(SERVICE_TIERS)
    if bad:
        raise RatesError(f"{where}: unknown service tier(s) {sorted(bad)}")
    rates = {t: _parse_tier(rates_raw[t], f"{where}.rates.{t}") for t in SERVICE_TIERS if t in rates_raw}

    threshold: int | None = None
    long_context: dict[str, TierRates] = {}
    lc = entry.get("long_context")
    if lc is not None:
        if not isinstance(lc, dict) or set(lc) - {"threshold", "rates"}:
            raise RatesError(f"{where}.long_context: expected {{threshold, rates}}")
        threshold = _opt_int(lc, "threshold", f"{where}.long_context")
        if not threshold:
            raise RatesError(f"{where}.long_context.threshold: a positive integer is required")
        lc_rates = lc.get("rates")
        if not isinstance(lc_rates, dict) or not lc_rates:
            raise RatesError(f"{where}.long_context.rates: at least one tier is required")
        for t, raw in lc_rates.items():
            if t not in rates:
                raise RatesError(f"{where}.long_context.rates.{t}: tier not offered below the threshold")
            long_context[t] = _parse_tier(raw, f"{where}.long_context.rates.{t}")
    gaps = tier_gaps(entry)
    if gaps:
        raise RatesError(f"{where}: {gaps[0]}")

    deprecation: date | None = None
    dep = _opt_str(entry, "deprecation_date", where)
    if dep is not None:
        try:
            deprecation = date.fromisoformat(dep)
        except ValueError:
            raise RatesError(f"{where}.deprecation_date: {dep!r} is not YYYY-MM-DD") from None

    return ModelRates(
        model=model,
        provider=provider,
        version=version,
        rates=rates,
        long_context_threshold=threshold,
        long_context=long_context,
        family=_opt_str(entry, "family", where),
        tier=_opt_str(entry, "tier", where),
        successor=_opt_str(entry, "successor", where),
        cheaper_sibling=_opt_str(entry, "cheaper_sibling", where),
        context_window=_opt_int(entry, "context_window", where),
        max_output=_opt_int(entry, "max_output", where),
        min_cacheable_tokens=_opt_int(entry, "min_cacheable_tokens", where),
        deprecation_date=deprecation,
        note=_opt_str(entry, "note", where),
    )


def fold_versions(document: Mapping[str, Any]) -> list[tuple[VersionInfo, dict[str, Any]]]:
    """Each version's header and its full (folded) models map, oldest first."""
    versions = document.get("versions")
    if not isinstance(versions, list) or not versions:
        raise RatesError("rates.json: 'versions' must be a non-empty list")
    folded: list[tuple[VersionInfo, dict[str, Any]]] = []
    models: dict[str, Any] = {}
    seen: set[str] = set()
    for i, raw in enumerate(versions):
        if not isinstance(raw, dict):
            raise RatesError(f"versions[{i}]: expected an object")
        unknown = set(raw) - VERSION_FIELDS
        if unknown:
            raise RatesError(f"versions[{i}]: unknown field(s) {sorted(unknown)}")
        vid, eff = raw.get("id"), raw.get("effective")
        if not isinstance(vid, str) or not vid or vid == UNPRICED_VERSION:
            raise RatesError(f"versions[{i}]: 'id' must be a non-empty string other than {UNPRICED_VERSION!r}")
        if vid in seen:
            raise RatesError(f"versions[{i}]: duplicate version id {vid!r}")
        seen.add(vid)
        try:
            effective = date.fromisoformat(eff) if isinstance(eff, str) else None
        except ValueError:
            effective = None
        if effective is None:
            raise RatesError(f"version {vid}: 'effective' must be a YYYY-MM-DD date, got {eff!r}")
        if folded and effective <= folded[-1][0].effective:
            raise RatesError(f"version {vid}: effective {effective} is not after {folded[-1][0].effective}")
        patch = raw.get("models", {})
        if not isinstance(patch, dict):
            raise RatesError(f"version {vid}: 'models' must be an object")
        models = merge_patch(models, patch)
        info = VersionInfo(vid, effective, _opt_str(raw, "source", vid), _opt_str(raw, "note", vid))
        folded.append((info, models))
    return folded


def iter_rate_strings(entry: Mapping[str, Any]) -> Iterable[tuple[str, object]]:
    """Every (path, raw rate) of one model entry, for linting."""
    for tier, kinds in (entry.get("rates") or {}).items():
        if isinstance(kinds, dict):
            for kind, raw in kinds.items():
                yield f"rates.{tier}.{kind}", raw
    lc = entry.get("long_context") or {}
    if isinstance(lc, dict):
        for tier, kinds in (lc.get("rates") or {}).items():
            if isinstance(kinds, dict):
                for kind, raw in kinds.items():
                    yield f"long_context.rates.{tier}.{kind}", raw
