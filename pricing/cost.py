"""The vectorised cost function: whole columns of requests to exact integer nano-USD.

Per row: pick the version in force (started_at, or one date for all rows), the model (as reported,
or one "what if" model for all rows) and the service tier; bill the whole request at the
long-context rates when its prompt crosses the model's threshold; then

    cost_nanos = round_half_up(sum(tokens_k * rate_k) / 1000)   with rate_k in pico-USD per token.

Rates are gathered per row from small int64 tables compiled by RateTable, indexed by one integer
key per row (slot of (version, model), tier, long-context flag). Rows are processed in chunks so
the intermediate arrays stay in cache; there is no Python loop over rows.
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

from pricing.table import (
    INT64_MAX,
    KEYS_PER_SLOT,
    SERVICE_TIERS,
    UNKNOWN_TIER,
    UNPRICED_VERSION,
    RateTable,
)

# 64k rows: ~10 int64 temporaries of 512 KiB each stay within L2/L3, which is what makes the
# chunked pass about twice as fast as whole-column numpy on 10M rows.
_CHUNK = 1 << 16

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


def _factorize(values: Any) -> tuple[npt.NDArray[np.intp], list[object]]:
    """Integer codes (-1 for missing) and the distinct values of a string column.

    A pandas Categorical (or a categorical Series) is used as is, without hashing: callers that
    read with ``dtype='category'`` skip the most expensive step of pricing string columns.
    """
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        values = values.array
    if isinstance(values, pd.Categorical):
        return np.asarray(values.codes, dtype=np.intp), list(values.categories)
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
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0:
            raise ValueError(f"{name}: negative token count {lo}")
        if hi > limit:
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
    return arr.astype("datetime64[ns]").view(np.int64)


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
    _model_pos: npt.NDArray[np.int32] = field(repr=False)  # canonical model position per row
    _model_codes: npt.NDArray[np.intp] | None = field(repr=False)  # per row, into _model_raw
    _model_raw: Sequence[object] = field(repr=False)
    _tier_codes: npt.NDArray[np.intp] | None = field(repr=False)
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
        slot = self._keys // KEYS_PER_SLOT
        used = self.table._slot_version[slot]
        return np.where(self.priced, used, np.int16(-1)).astype(np.int16)

    @cached_property
    def rates_version(self) -> npt.NDArray[np.object_]:
        names = np.array([v.id for v in self.table.versions] + [UNPRICED_VERSION], dtype=object)
        return names[self.version_index]  # -1 picks the trailing UNPRICED_VERSION

    @cached_property
    def canonical_model(self) -> npt.NDArray[np.object_]:
        names = np.array([*self.table._model_ids, None], dtype=object)
        return names[self._model_pos]

    def reasons(self) -> npt.NDArray[np.object_]:
        """Why each row is unpriced (None where priced), one sentence per row."""
        out = np.full(len(self), None, dtype=object)
        rows = np.flatnonzero(~self.priced)
        if not len(rows):
            return out
        n_models = len(self.table._model_ids)
        keys = self._keys[rows].astype(np.int64)
        raw_model = self._model_codes[rows] if self._model_codes is not None else np.zeros(len(rows), np.intp)
        raw_tier = self._tier_codes[rows] if self._tier_codes is not None else np.zeros(len(rows), np.intp)
        no_time = self._missing_time[rows] if self._missing_time is not None else np.zeros(len(rows), bool)
        # Group the unpriced rows by everything their reason depends on; one sentence per group.
        combo = np.stack([keys, raw_model.astype(np.int64), raw_tier.astype(np.int64), no_time.astype(np.int64)])
        uniq, inverse = np.unique(combo, axis=1, return_inverse=True)
        sentences = []
        for key, rm, rt, nt in uniq.T:
            slot, rest = divmod(int(key), KEYS_PER_SLOT)
            tier_pos, long_ctx = divmod(rest, 2)
            v, m = divmod(slot, self.table._stride)
            model = self._model_raw[rm] if 0 <= rm < len(self._model_raw) else None
            tier = self._tier_raw[rt] if 0 <= rt < len(self._tier_raw) else None
            sentences.append(self._reason(int(v), int(m), n_models, model, tier, tier_pos, bool(long_ctx), bool(nt)))
        out[rows] = np.array(sentences, dtype=object)[inverse.ravel()]
        return out

    def _reason(self, v: int, m: int, n_models: int, model: object, tier: object, tier_pos: int,
                long_ctx: bool, no_time: bool) -> str:
        table = self.table
        version = table.versions[v].id
        if no_time:
            return "started_at is missing"
        if m == n_models:
            return f"unknown model {model!r}: no rate in any version"
        name = table._model_ids[m]
        used = table._slot_version[v * table._stride + m]
        if used < 0:
            return f"model {name!r} has no rate in version {version} (removed from the table)"
        if tier_pos == UNKNOWN_TIER:
            return f"unknown service tier {tier!r}"
        info = table._by_version[used][name]
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


def _version_positions(table: RateTable, ts: npt.NDArray[np.int64], valid: npt.NDArray[np.bool_] | None
                       ) -> tuple[int, int]:
    """The first and last version index the (valid) timestamps fall in."""
    sample = ts if valid is None else ts[valid]
    if not len(sample):
        return 0, 0
    lo, hi = int(sample.min()), int(sample.max())
    eff = table._effective_ns
    first = max(int(np.searchsorted(eff, lo, side="right")) - 1, 0)
    last = max(int(np.searchsorted(eff, hi, side="right")) - 1, 0)
    return first, last


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
) -> PricedBatch:
    """Price columns of requests at the rates in force, in integer nano-USD.

    - ``model``/``service_tier``: arrays of strings as reported (aliases and prefixes allowed;
      a pandas Categorical is fastest); ``service_tier`` may also be one string for all rows.
      ``model`` may be None when ``as_model`` is given.
    - token columns: non-negative integer arrays. ``input_tokens`` excludes cache reads and
      writes; ``output_tokens`` includes reasoning tokens (billed as output, never added again).
    - ``started_at`` (datetime64, UTC) picks the version per row; ``at`` prices every row at the
      rates of one date instead; neither: the latest version.
    - ``as_model``: price the same tokens on another model (its canonical id for every row).

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

    n_models = len(table._model_ids)
    # Model position per row (n_models = unknown).
    model_codes: npt.NDArray[np.intp] | None = None
    model_raw: list[object]
    if as_model is not None:
        model_raw = [as_model]
        model_pos = np.full(n, table._model_position(table.canonical(as_model)), dtype=np.int32)
    else:
        if model is None:
            raise ValueError("model is required unless as_model is given")
        model_codes, model_raw = _factorize(model)
        if len(model_codes) != n:
            raise ValueError(f"model: {len(model_codes)} rows, expected {n}")
        lut = np.array([table._model_position(table.canonical(u) if isinstance(u, str) else None)
                        for u in model_raw] + [n_models], dtype=np.int32)
        model_pos = lut[model_codes]  # code -1 (missing) takes the trailing "unknown"

    # Tier position per row, or one for all rows.
    tier_codes: npt.NDArray[np.intp] | None = None
    tier_pos: npt.NDArray[np.int64] | int
    if isinstance(service_tier, str):
        tier_raw: list[object] = [service_tier]
        tier_pos = _tier_position(service_tier)
        tier_codes = None
    else:
        tier_codes, tier_raw = _factorize(service_tier)
        if len(tier_codes) != n:
            raise ValueError(f"service_tier: {len(tier_codes)} rows, expected {n}")
        tlut = np.array([_tier_position(u) for u in tier_raw] + [UNKNOWN_TIER], dtype=np.int64)
        tier_pos = tlut[tier_codes]

    # Version per row: one index for all rows when possible, else per-row comparisons against the
    # few effective dates the timestamps span (cheaper than a binary search per row).
    missing_time: npt.NDArray[np.bool_] | None = None
    ts: npt.NDArray[np.int64] | None = None
    pricing_pos = model_pos
    v_first = v_last = len(table.versions) - 1
    if at is not None:
        v_first = v_last = table._version_index(at)
    elif started_at is not None:
        ts = _utc_ns(started_at, n)
        nat = ts == np.iinfo(np.int64).min
        if nat.any():
            missing_time = nat
            # Price those rows as "unknown" (cost 0, unpriced) but keep their canonical model.
            pricing_pos = np.where(nat, np.int32(n_models), model_pos).astype(np.int32)
        v_first, v_last = _version_positions(table, ts, None if missing_time is None else ~missing_time)
    boundaries = table._effective_ns[v_first + 1: v_last + 1]

    stride = table._stride
    c_in, c_cr, c_cw, c_cw1h, c_out = table._rate_columns
    threshold, offered = table._threshold, table._offered
    cost = np.empty(n, dtype=np.int64)
    priced = np.empty(n, dtype=bool)
    keys = np.empty(n, dtype=np.int32)
    for lo in range(0, n, _CHUNK):
        hi = min(n, lo + _CHUNK)
        if len(boundaries) and ts is not None:
            chunk_ts = ts[lo:hi]
            version = np.full(hi - lo, v_first, dtype=np.int64)
            for b in boundaries:
                version += chunk_ts >= b
            slot = version * stride + pricing_pos[lo:hi]
        else:
            slot = pricing_pos[lo:hi] + np.int64(v_first * stride)
        i_, r_, w_, o_ = inp[lo:hi], cr[lo:hi], cw[lo:hi], out[lo:hi]
        prompt = i_.astype(np.int64)
        prompt += r_
        prompt += w_
        if cw1h is not None:
            prompt += cw1h[lo:hi]
        t_ = tier_pos[lo:hi] if isinstance(tier_pos, np.ndarray) else tier_pos
        key = slot * KEYS_PER_SLOT + np.multiply(t_, 2)
        key += prompt > threshold[slot]  # the whole request moves to the long-context rates
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

    return PricedBatch(
        cost_nanos=cost,
        priced=priced,
        table=table,
        _keys=keys,
        _model_pos=model_pos,
        _model_codes=model_codes,
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
