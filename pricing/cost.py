"""The vectorised cost function: whole columns of requests to exact integer nano-USD.

Per row: pick the version in force (started_at, or one date for all rows), the model (as reported,
or one "what if" model for all rows) and the service tier; bill the whole request at the
long-context rates when its prompt crosses the model's threshold; then

    cost_nanos = round_half_up(sum(tokens_k * rate_k) / 1000)   with rate_k in pico-USD per token.

Rates are gathered per row from the small int64 arrays of ``RateTable.compiled`` (a
``CompiledRates``, which owns the key encoding), indexed by one integer key per row. Rows are
processed in chunks so the intermediate arrays stay in cache; there is no Python loop over rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from pricing.compiled import INT64_MAX, MODEL_OFFSET, SERVICE_TIERS, TIER_OFFSET, UNKNOWN_TIER
from pricing.entries import UNPRICED_VERSION
from pricing.table import RateTable

# 16k rows: the dozen int64 temporaries of a chunk (128 KiB each) stay in cache, which makes the
# chunked pass about twice as fast as the same numpy calls over whole 10M-row columns.
_CHUNK = 1 << 14

#: Spellings of the service tier accepted besides the four canonical ones. OpenAI reports its
#: standard tier as "default" in responses.
TIER_SYNONYMS = {"default": "standard"}

IntArray = npt.NDArray[np.integer[Any]]


def _tier_position(raw: object) -> int:
    if not isinstance(raw, str):
        return UNKNOWN_TIER
    name = raw.strip().lower()
    name = TIER_SYNONYMS.get(name, name)
    return SERVICE_TIERS.index(name) if name in SERVICE_TIERS else UNKNOWN_TIER


def _factorize(values: Any) -> tuple[IntArray, list[object]]:
    """Integer codes (-1 for missing) and the distinct values of a string column.

    A pandas Categorical (or a categorical Series) is used as is, codes and all, without hashing:
    callers that read with ``dtype='category'`` skip the most expensive step of pricing strings.
    """
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        values = values.array
    if isinstance(values, pd.Categorical):
        return np.asarray(values.codes), list(values.categories)
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1:
        raise ValueError("string columns must be one-dimensional")
    codes, uniques = pd.factorize(arr)
    return np.asarray(codes, dtype=np.intp), list(uniques)


def _token_column(name: str, values: Any, n: int | None, limit: int) -> IntArray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a one-dimensional array")
    if n is not None and len(arr) != n:
        raise ValueError(f"{name}: {len(arr)} rows, expected {n}")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name}: token counts must be integers, got dtype {arr.dtype}")
    if len(arr):
        if arr.dtype.kind == "i" and (lo := int(arr.min())) < 0:
            raise ValueError(f"{name}: negative token count {lo}")
        # A dtype whose largest value is within the bound (int32, as read from the meter) needs no scan.
        if int(np.iinfo(arr.dtype).max) > limit and (hi := int(arr.max())) > limit:
            raise OverflowError(f"{name}: {hi} tokens exceeds the int64-safe bound {limit}")
    # uint64 times int64 would promote to float64: make unsigned columns signed (bounded above).
    if arr.dtype.kind == "u":
        arr = arr.astype(np.int64)
    return arr


def _utc_ns(started_at: Any, n: int) -> npt.NDArray[np.int64]:
    """started_at as int64 nanoseconds since the epoch, UTC (NaT stays int64 min)."""
    arr = np.asarray(started_at)
    if arr.dtype.kind != "M":
        # tz-aware pandas data arrives as objects: let pandas normalise it to naive UTC.
        idx = pd.DatetimeIndex(pd.to_datetime(arr, utc=True)).tz_convert("UTC").tz_localize(None)
        arr = idx.to_numpy(dtype="datetime64[ns]")
    if len(arr) != n:
        raise ValueError(f"started_at: {len(arr)} rows, expected {n}")
    return arr.astype("datetime64[ns]", copy=False).view(np.int64)


@dataclass(frozen=True, eq=False)
class PricedBatch:
    """The priced rows. ``cost_nanos`` is 0 where ``priced`` is False: always check ``priced``.

    ``rates_version``, ``canonical_model`` and ``reasons()`` are built on first use: on ten
    million rows each is an array of Python objects, which costs more than the pricing itself.
    """

    cost_nanos: npt.NDArray[np.int64]
    priced: npt.NDArray[np.bool_]
    table: RateTable = field(repr=False)
    _keys: npt.NDArray[np.int32] = field(repr=False)
    _model_codes: npt.NDArray[np.integer[Any]] | None = field(repr=False)  # per row, into _model_raw
    _model_lut: npt.NDArray[np.int64] = field(repr=False)  # _model_raw index -> model position
    _model_raw: Sequence[object] = field(repr=False)
    _tier_codes: npt.NDArray[np.integer[Any]] | None = field(repr=False)
    _tier_raw: Sequence[object] = field(repr=False)
    _missing_time: npt.NDArray[np.bool_] | None = field(repr=False)

    def __len__(self) -> int:
        return len(self.cost_nanos)

    @property
    def total_nanos(self) -> int:
        """Sum over the rows as a Python int; exact even where an int64 sum could overflow."""
        peak = int(self.cost_nanos.max()) if len(self) else 0
        if peak * len(self) <= INT64_MAX:
            return int(self.cost_nanos.sum())
        return sum(int(c) for c in self.cost_nanos.tolist())

    @cached_property
    def version_index(self) -> npt.NDArray[np.int16]:
        """Index into ``table.versions`` of the version used per row; -1 where unpriced."""
        used = self.table.compiled.used_versions(self._keys)
        return np.where(self.priced, used, np.int16(-1)).astype(np.int16)

    @cached_property
    def rates_version(self) -> npt.NDArray[np.object_]:
        names = np.array([v.id for v in self.table.versions] + [UNPRICED_VERSION], dtype=object)
        return names[self.version_index]  # -1 picks the trailing UNPRICED_VERSION

    @cached_property
    def canonical_model(self) -> npt.NDArray[np.object_]:
        names = np.array([*self.table.compiled.model_ids, None], dtype=object)
        positions = np.full(len(self), self._model_lut[0]) if self._model_codes is None else (  # as_model
            self._model_lut[self._model_codes])
        result: npt.NDArray[np.object_] = names[positions]
        return result

    def reasons(self) -> npt.NDArray[np.object_]:
        """Why each row is unpriced (None where priced), one sentence per row."""
        out = np.full(len(self), None, dtype=object)
        rows = np.flatnonzero(~self.priced)
        if not len(rows):
            return out
        keys = self._keys[rows].astype(np.int64)
        raw_model = self._model_codes[rows] if self._model_codes is not None else np.zeros(len(rows), np.intp)
        raw_tier = self._tier_codes[rows] if self._tier_codes is not None else np.zeros(len(rows), np.intp)
        no_time = self._missing_time[rows] if self._missing_time is not None else np.zeros(len(rows), bool)
        # Group the unpriced rows by everything their reason depends on; one sentence per group.
        combo = np.stack([keys, raw_model.astype(np.int64), raw_tier.astype(np.int64), no_time.astype(np.int64)])
        uniq, inverse = np.unique(combo, axis=1, return_inverse=True)
        sentences = []
        for key, rm, rt, nt in uniq.T:
            v, m, tier_pos, long_ctx = self.table.compiled.decode(int(key))
            model = self._model_raw[rm] if 0 <= rm < len(self._model_raw) else None
            tier = self._tier_raw[rt] if 0 <= rt < len(self._tier_raw) else None
            sentences.append(self._reason(v, m, model, tier, tier_pos, long_ctx, bool(nt)))
        out[rows] = np.array(sentences, dtype=object)[inverse.ravel()]
        return out

    def _reason(self, v: int, m: int, model: object, tier: object, tier_pos: int,
                long_ctx: bool, no_time: bool) -> str:
        table, compiled = self.table, self.table.compiled
        version = table.versions[v].id
        if no_time:
            return "started_at is missing"
        if m == compiled.unknown_model:
            return f"unknown model {model!r}: no rate in any version"
        name = compiled.model_ids[m]
        used = compiled.used_version(v, m)
        if used < 0:
            return f"model {name!r} has no rate in version {version} (removed from the table)"
        if tier_pos == UNKNOWN_TIER:
            return f"unknown service tier {tier!r}"
        info = table.models_in_version(table.versions[used].id)[name]
        tier_name = SERVICE_TIERS[tier_pos]
        if tier_name not in info.rates:
            return f"model {name!r} does not offer the {tier_name!r} tier (rates version {table.versions[used].id})"
        if long_ctx:
            return (f"model {name!r} has no long-context rate for the {tier_name!r} tier "
                    f"(prompt above {info.long_context_threshold} tokens)")
        return "unpriced"  # pragma: no cover - every unpriced key matches a case above


@dataclass(frozen=True)
class PricedOne:
    model: str  # the canonical id, or the id as given when unknown
    rates_version: str
    cost_nanos: int | None  # None when unpriced
    priced: bool
    reason: str | None


DAY_NS = 86_400 * 10**9
NAT = int(np.iinfo(np.int64).min)  # numpy's NaT as int64


def _codes_lut(values: Any, n: int, name: str, position: Any, missing: int
               ) -> tuple[npt.NDArray[np.integer[Any]], npt.NDArray[np.int64], list[object]]:
    """Per-row codes of a string column and a lookup table code -> ``position(value)``.

    The table has one extra trailing entry, ``missing``, that code -1 (a missing value) picks
    through numpy's negative indexing.
    """
    codes, uniques = _factorize(values)
    if len(codes) != n:
        raise ValueError(f"{name}: {len(codes)} rows, expected {n}")
    lut = np.array([position(u) for u in uniques] + [missing], dtype=np.int64)
    return codes, lut, uniques


def price_requests(
    table: RateTable,
    *,
    model: Any,
    service_tier: Any,
    input_tokens: Any,
    cache_read_tokens: Any,
    cache_write_tokens: Any,
    output_tokens: Any,
    started_at: Any = None,
    at: date | datetime | None = None,
    as_model: str | None = None,
    cache_write_1h_tokens: Any = None,
    threshold_prompt_tokens: Any = None,
) -> PricedBatch:
    """Price columns of requests at the rates in force, in integer nano-USD.

    - ``model``/``service_tier``: arrays of strings as reported (aliases and prefixes allowed);
      ``service_tier`` may also be one string for all rows. Pass pandas Categoricals: the fleet's
      reader (store/frames.py) does. A plain str column is converted here with ``pd.factorize``,
      the fastest C path, but hashing 10M strings costs several times the pricing itself
      (``bench_pricing``), so converting here cannot make it fast; a reader converts once.
      ``model`` may be None when ``as_model`` is given.
    - token columns: non-negative integer arrays. ``input_tokens`` excludes cache reads and
      writes; ``output_tokens`` includes reasoning tokens (billed as output, never added again).
    - ``started_at`` (datetime64, UTC) picks the version per row; ``at`` prices every row at the
      rates of one date instead; neither: the latest version.
    - ``as_model``: price the same tokens on another model (its canonical id for every row).
    - ``threshold_prompt_tokens``: the prompt size compared with each row's long-context threshold,
      when a row is not one request but the token sums of several that all lie on the same side of
      every threshold (the catalog prices such sums); default: the row's own prompt.

    A row is unpriced (priced False, cost 0) when its model is unknown or was removed, its tier
    is not offered by the model, or its prompt crosses the long-context threshold and the tier
    has no long-context rate. ``PricedBatch.reasons()`` says which.
    """
    limit = table.max_tokens_per_kind
    inp = _token_column("input_tokens", input_tokens, None, limit)
    n = len(inp)
    cr = _token_column("cache_read_tokens", cache_read_tokens, n, limit)
    cw = _token_column("cache_write_tokens", cache_write_tokens, n, limit)
    out = _token_column("output_tokens", output_tokens, n, limit)
    cw1h = None if cache_write_1h_tokens is None else _token_column(
        "cache_write_1h_tokens", cache_write_1h_tokens, n, limit)
    tp = None if threshold_prompt_tokens is None else _token_column(
        "threshold_prompt_tokens", threshold_prompt_tokens, n, np.iinfo(np.int64).max)

    # A row's key is version_part + model_part + tier_part + long-context bit (CompiledRates owns
    # the encoding). Each part comes from a small lookup table built here, so a row costs a few
    # gathers and adds.
    compiled = table.compiled
    constant = 0  # the parts that are the same for every row
    model_codes: npt.NDArray[np.integer[Any]] | None = None
    model_lut: npt.NDArray[np.int64]
    if as_model is not None:
        model_raw: list[object] = [as_model]
        model_lut = np.array([compiled.model_position(table.canonical(as_model))], dtype=np.int64)
        constant += int(model_lut[0]) * MODEL_OFFSET
    else:
        if model is None:
            raise ValueError("model is required unless as_model is given")
        model_codes, model_lut, model_raw = _codes_lut(
            model, n, "model", lambda u: compiled.model_position(table.canonical(u) if isinstance(u, str) else None),
            compiled.unknown_model)
    model_part = model_lut * MODEL_OFFSET

    tier_codes: npt.NDArray[np.integer[Any]] | None = None
    tier_part: npt.NDArray[np.int64] | None = None
    if isinstance(service_tier, str):
        tier_raw: list[object] = [service_tier]
        constant += _tier_position(service_tier) * TIER_OFFSET
    else:
        tier_codes, tier_lut, tier_raw = _codes_lut(service_tier, n, "service_tier", _tier_position, UNKNOWN_TIER)
        tier_part = tier_lut * TIER_OFFSET

    # Version: one for all rows when possible; else a lookup by UTC day, since versions start at
    # midnight UTC (cheaper than comparing every row with every boundary, and as exact).
    missing_time: npt.NDArray[np.bool_] | None = None
    ts: npt.NDArray[np.int64] | None = None
    first_day = 0
    version_part: npt.NDArray[np.int64] | None = None
    stride_keys = compiled.version_offset
    if at is not None:
        constant += compiled.version_index(at) * stride_keys
    elif started_at is None:
        constant += compiled.latest_version * stride_keys
    else:
        ts = _utc_ns(started_at, n)
        lo_ts, hi_ts = (int(ts.min()), int(ts.max())) if n else (0, 0)
        if lo_ts == NAT:  # NaT is int64 min: only then look for the missing timestamps
            missing_time = ts == NAT
            valid = ts[~missing_time]
            lo_ts, hi_ts = (int(valid.min()), int(valid.max())) if len(valid) else (0, 0)
            ts = np.where(missing_time, lo_ts, ts)  # any in-range day; those rows are unpriced below
        v_lo, v_hi = int(compiled.version_index_ns(lo_ts)), int(compiled.version_index_ns(hi_ts))
        if v_lo == v_hi:
            constant += v_lo * stride_keys
        else:
            first_day = lo_ts // DAY_NS
            day_starts = (np.arange(first_day, hi_ts // DAY_NS + 1, dtype=np.int64)) * DAY_NS
            day_version = compiled.version_index_ns(day_starts)
            version_part = day_version.astype(np.int64) * stride_keys

    c_in, c_cr, c_cw, c_cw1h, c_out = compiled.rate_columns
    threshold, offered = compiled.threshold_by_key, compiled.offered
    cost = np.empty(n, dtype=np.int64)
    priced = np.empty(n, dtype=bool)
    keys = np.empty(n, dtype=np.int32)
    day_origin = first_day * DAY_NS
    for lo in range(0, n, _CHUNK):
        hi = min(n, lo + _CHUNK)
        key = model_part[model_codes[lo:hi]] if model_codes is not None else np.zeros(hi - lo, np.int64)
        if tier_part is not None and tier_codes is not None:
            key += tier_part[tier_codes[lo:hi]]
        if version_part is not None and ts is not None:
            day = ts[lo:hi] - day_origin
            day //= DAY_NS
            key += version_part[day]
        if constant:
            key += constant
        i_, r_, w_, o_ = inp[lo:hi], cr[lo:hi], cw[lo:hi], out[lo:hi]
        if tp is not None:
            prompt = tp[lo:hi]
        else:
            prompt = i_.astype(np.int64)
            prompt += r_
            prompt += w_
            if cw1h is not None:
                prompt += cw1h[lo:hi]
        key += prompt > threshold[key]  # the whole request moves to the long-context rates
        acc = c_in[key] * i_
        acc += c_cr[key] * r_
        acc += c_cw[key] * w_
        acc += c_out[key] * o_
        if cw1h is not None:
            acc += c_cw1h[key] * cw1h[lo:hi]
        acc += 500  # pico -> nano, rounding half up (costs are never negative)
        np.floor_divide(acc, 1000, out=cost[lo:hi])
        priced[lo:hi] = offered[key]
        keys[lo:hi] = key
    if missing_time is not None:
        cost[missing_time] = 0
        priced[missing_time] = False

    return PricedBatch(
        cost_nanos=cost,
        priced=priced,
        table=table,
        _keys=keys,
        _model_codes=model_codes,
        _model_lut=model_lut,
        _model_raw=model_raw,
        _tier_codes=tier_codes,
        _tier_raw=tier_raw,
        _missing_time=missing_time,
    )


def price_one(
    table: RateTable,
    model: str,
    *,
    input: int = 0,
    output: int = 0,
    cache_read: int = 0,
    cache_write: int = 0,
    cache_write_1h: int = 0,
    tier: str = "standard",
    at: date | datetime | None = None,
) -> PricedOne:
    """Price one request (same code path as price_requests)."""
    def col(x: int) -> npt.NDArray[np.int64]:
        return np.array([x], dtype=np.int64)

    batch = price_requests(
        table,
        model=np.array([model], dtype=object),
        service_tier=tier,
        input_tokens=col(input),
        cache_read_tokens=col(cache_read),
        cache_write_tokens=col(cache_write),
        output_tokens=col(output),
        cache_write_1h_tokens=col(cache_write_1h),
        at=at,
    )
    ok = bool(batch.priced[0])
    canonical = batch.canonical_model[0]
    return PricedOne(
        model=canonical if isinstance(canonical, str) else model,
        rates_version=str(batch.rates_version[0]),
        cost_nanos=int(batch.cost_nanos[0]) if ok else None,
        priced=ok,
        reason=None if ok else str(batch.reasons()[0]),
    )
