"""The compiled price table: small int64 arrays the vectorised cost function gathers from.

``CompiledRates`` owns the encoding: every priced situation is one integer *key*,

    key = ((version * stride + model) * N_TIER_POS + tier) * 2 + long_context

where ``model`` is a position in ``model_ids`` (the last position of each version, ``stride - 1``,
stands for an unknown model), ``tier`` a position in ``SERVICE_TIERS`` (``UNKNOWN_TIER`` for a
tier the table does not know) and ``long_context`` 1 when the prompt crosses the model's
threshold. A (version, model) pair is a *slot*; each slot has ``KEYS_PER_SLOT`` keys. Callers
build keys from the offsets below and read rates with the arrays indexed by key; nothing outside
this module needs to know the layout.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from pricing.entries import ModelRates

SERVICE_TIERS = ("standard", "batch", "flex", "priority")
#: Token kinds in the order of the rate columns. Reasoning tokens are part of output.
TOKEN_KINDS = ("input", "cache_read", "cache_write", "cache_write_1h", "output")
INT64_MAX = int(np.iinfo(np.int64).max)

# Per slot: five tier positions (the four service tiers and "unknown tier") times two
# long-context positions.
N_TIER_POS = len(SERVICE_TIERS) + 1
UNKNOWN_TIER = len(SERVICE_TIERS)
KEYS_PER_SLOT = N_TIER_POS * 2
#: What one step of each part adds to a key (the version's step depends on the table: see
#: ``CompiledRates.version_offset``).
MODEL_OFFSET = KEYS_PER_SLOT
TIER_OFFSET = 2

Int64Array = npt.NDArray[np.int64]


def utc_date(at: date | datetime) -> date:
    """The UTC calendar date of a moment (naive datetimes are taken as UTC)."""
    if isinstance(at, datetime):  # a datetime is also a date: test it first
        if at.tzinfo is not None:
            at = at.astimezone(UTC)
        return at.date()
    return at


class KeyParts(NamedTuple):
    version: int
    model: int  # position in model_ids; ``CompiledRates.unknown_model`` for an unknown model
    tier: int  # position in SERVICE_TIERS; UNKNOWN_TIER for an unknown tier
    long_context: bool


@dataclass(frozen=True, eq=False)
class CompiledRates:
    """The rates of every (version, model, tier, long-context) as arrays indexed by one key.

    Built once by ``RateTable`` (``RateTable.compiled``); read-only afterwards.
    """

    model_ids: tuple[str, ...]  # canonical ids, sorted; a model's position is its index here
    positions: Mapping[str, int]  # canonical id -> its position in model_ids
    effective: tuple[date, ...]  # per version, oldest first
    effective_ns: Int64Array  # the same as int64 nanoseconds since the epoch (UTC midnight)
    rate_columns: tuple[Int64Array, ...]  # per TOKEN_KINDS, pico-USD per token, indexed by key
    offered: npt.NDArray[np.bool_]  # by key: is this tier (and long-context tier) offered
    threshold_by_key: Int64Array  # by key: the slot's long-context threshold (INT64_MAX: none)
    slot_version: npt.NDArray[np.int16]  # by slot: the version whose rates price it; -1: none
    max_tokens_per_kind: int  # a larger token count could overflow int64 pico-USD

    # -- layout -----------------------------------------------------------------------------------

    @property
    def unknown_model(self) -> int:
        """The model position of an unknown model (one past the last canonical id)."""
        return len(self.model_ids)

    @property
    def stride(self) -> int:
        """Model positions per version (the canonical ids and the unknown model)."""
        return len(self.model_ids) + 1

    @property
    def version_offset(self) -> int:
        """What one version step adds to a key."""
        return self.stride * KEYS_PER_SLOT

    @property
    def latest_version(self) -> int:
        return len(self.effective) - 1

    def key(self, version: int, model: int, tier: int, long_context: bool = False) -> int:
        return version * self.version_offset + model * MODEL_OFFSET + tier * TIER_OFFSET + int(long_context)

    def decode(self, key: int) -> KeyParts:
        slot, rest = divmod(int(key), KEYS_PER_SLOT)
        tier, long_context = divmod(rest, 2)
        version, model = divmod(slot, self.stride)
        return KeyParts(version, model, tier, bool(long_context))

    # -- lookups ----------------------------------------------------------------------------------

    def model_position(self, canonical: str | None) -> int:
        """Position of a canonical id (``unknown_model`` for None); KeyError for an id not listed."""
        return self.unknown_model if canonical is None else self.positions[canonical]

    def version_index(self, at: date | datetime) -> int:
        """Index of the version in force at a UTC moment; before the first version, the first
        (it holds the earliest rates known)."""
        return max(bisect_right(self.effective, utc_date(at)) - 1, 0)

    def version_index_ns(self, ts: Any) -> Any:
        """``version_index`` of int64 nanosecond timestamps (a scalar or an array) at once."""
        found = np.searchsorted(self.effective_ns, ts, side="right") - 1
        return np.maximum(found, 0)

    def used_version(self, version: int, model: int) -> int:
        """The version whose rates price the model at ``version``; -1 when it has none."""
        return int(self.slot_version[version * self.stride + model])

    def used_versions(self, keys: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.int16]:
        """``used_version`` per key, vectorised."""
        used: npt.NDArray[np.int16] = self.slot_version[keys // KEYS_PER_SLOT]
        return used

    # -- building ---------------------------------------------------------------------------------

    @classmethod
    def build(cls, effective: Sequence[date], by_version: Sequence[Mapping[str, ModelRates]]) -> CompiledRates:
        """Compile folded, parsed versions (oldest first) into arrays."""
        model_ids = tuple(sorted({m for ms in by_version for m in ms}))
        used = _used_versions(model_ids, by_version)
        n_versions, stride = len(by_version), len(model_ids) + 1
        n_slots = n_versions * stride
        rates = np.zeros((n_slots * KEYS_PER_SLOT, len(TOKEN_KINDS)), dtype=np.int64)
        offered = np.zeros(n_slots * KEYS_PER_SLOT, dtype=bool)
        threshold = np.full(n_slots, INT64_MAX, dtype=np.int64)
        slot_version = np.full(n_slots, -1, dtype=np.int16)
        for v in range(n_versions):
            for m, model in enumerate(model_ids):
                u = used[v][m]
                if u is None:
                    continue
                info = by_version[u][model]
                slot = v * stride + m
                slot_version[slot] = u
                if info.long_context_threshold is not None:
                    threshold[slot] = info.long_context_threshold
                for t, tier in enumerate(SERVICE_TIERS):
                    key = slot * KEYS_PER_SLOT + t * TIER_OFFSET
                    if tier in info.rates:
                        rates[key] = info.rates[tier].as_tuple()
                        offered[key] = True
                    if tier in info.long_context:
                        rates[key + 1] = info.long_context[tier].as_tuple()
                        offered[key + 1] = True
        # Overflow headroom: a request costs at most sum(tokens_k * rate_k) over 5 kinds, plus 500
        # for rounding. Bounding every token count by this keeps that sum inside int64. With the
        # dearest rate in the table ($600/M = 6e8 pico/token) the bound is ~3.07e9 tokens, above
        # the int32 range of meter.requests' token columns, so real rows never come near it.
        max_rate = int(rates.max()) if rates.size else 0
        return cls(
            model_ids=model_ids,
            positions={m: i for i, m in enumerate(model_ids)},
            effective=tuple(effective),
            effective_ns=np.array([np.datetime64(d, "ns").astype(np.int64) for d in effective], dtype=np.int64),
            rate_columns=tuple(np.ascontiguousarray(rates[:, k]) for k in range(len(TOKEN_KINDS))),
            offered=offered,
            # The same threshold under every key of a slot (long-context bit 0 and 1), so the cost
            # function looks it up by a row's key without dividing the key back into a slot.
            threshold_by_key=np.repeat(threshold, KEYS_PER_SLOT),
            slot_version=slot_version,
            max_tokens_per_kind=(INT64_MAX - 500) // (len(TOKEN_KINDS) * max(max_rate, 1)),
        )


def _used_versions(model_ids: Sequence[str], by_version: Sequence[Mapping[str, ModelRates]]
                   ) -> list[list[int | None]]:
    """Per version and model position, the version whose rates price it (None: no rate).

    A model listed later than v (it was added to the table after traffic on it began) is priced
    at its first listed rates: a model cannot be used before it exists, and its first price is its
    launch price unless a version says otherwise. A model removed from the table before v has no rate.
    """
    first_listed = [next(v for v, ms in enumerate(by_version) if m in ms) for m in model_ids]
    return [[v if model in ms else (first if first > v else None)
             for model, first in zip(model_ids, first_listed, strict=True)]
            for v, ms in enumerate(by_version)]
