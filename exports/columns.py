"""The FOCUS dataset's Arrow schema (FOCUS 1.2's mandatory columns, the conditional ones that apply to LLM APIs,
1.3's ServiceProviderName and HostProviderName, then the `x_` columns) and the exact builders of its decimal and
timestamp columns."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

#: every amount and quantity: exact decimals, 12 places (rates are whole pico-USD per token)
SCALE = 12
AMOUNT = pa.decimal128(38, SCALE)
TIMESTAMP = pa.timestamp("s", tz="UTC")

_FOCUS_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("BilledCost", AMOUNT), ("BillingAccountId", pa.string()), ("BillingAccountName", pa.string()),
    ("BillingCurrency", pa.string()), ("BillingPeriodEnd", TIMESTAMP), ("BillingPeriodStart", TIMESTAMP),
    ("ChargeCategory", pa.string()), ("ChargeClass", pa.string()), ("ChargeDescription", pa.string()),
    ("ChargeFrequency", pa.string()), ("ChargePeriodEnd", TIMESTAMP), ("ChargePeriodStart", TIMESTAMP),
    ("ConsumedQuantity", AMOUNT), ("ConsumedUnit", pa.string()), ("ContractedCost", AMOUNT),
    ("EffectiveCost", AMOUNT), ("HostProviderName", pa.string()), ("InvoiceIssuerName", pa.string()),
    ("ListCost", AMOUNT), ("ListUnitPrice", AMOUNT), ("PricingCategory", pa.string()),
    ("PricingQuantity", AMOUNT), ("PricingUnit", pa.string()), ("ProviderName", pa.string()),
    ("PublisherName", pa.string()), ("ServiceCategory", pa.string()), ("ServiceName", pa.string()),
    ("ServiceProviderName", pa.string()), ("ServiceSubcategory", pa.string()), ("SkuId", pa.string()),
    ("SkuMeter", pa.string()), ("SkuPriceDetails", pa.string()), ("SkuPriceId", pa.string()),
    ("SubAccountId", pa.string()), ("SubAccountName", pa.string()), ("Tags", pa.string()),
]
_CUSTOM_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("x_CostSource", pa.string()), ("x_DeviceId", pa.int64()), ("x_ModelId", pa.string()),
    ("x_RequestCount", pa.int64()), ("x_ServiceTier", pa.string()),
]
# Parquet field metadata: which columns hold JSON (Key-Value Format)
_JSON = {"SkuPriceDetails", "Tags"}

FOCUS_SCHEMA = pa.schema(
    [pa.field(name, kind, metadata={"focus": "json"} if name in _JSON else None)
     for name, kind in _FOCUS_COLUMNS + _CUSTOM_COLUMNS],
    metadata={"FocusVersion": "1.2", "DataGenerator": "Halton Meter analysis fleet"},
)


def amount_array(unscaled: npt.NDArray[Any], scale: int) -> pa.Array:
    """Exact decimals (AMOUNT) from integers meaning value / 10**scale: built from their 128-bit two's complement
    without a float or a Python Decimal on the common path (every value within int64)."""
    values = np.asarray(unscaled)
    kind = pa.decimal128(38, scale)
    if values.dtype == object:
        if len(values) and (max(values.max(), -values.min()) >= 2**63):
            exact = [Decimal(int(v)).scaleb(-scale) for v in values]
            return pa.array(exact, kind).cast(AMOUNT)
        values = values.astype(np.int64)
    if scale < SCALE and len(values):  # rescaled here when it fits: the same decimals as the cast below
        factor = 10 ** (SCALE - scale)
        if max(int(values.max()), -int(values.min())) < 2**63 // factor:
            values, scale, kind = values.astype(np.int64) * factor, SCALE, AMOUNT
    words = np.empty((len(values), 2), dtype=np.int64)
    words[:, 0] = values
    words[:, 1] = values >> 63  # the sign, extended
    array = pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(words)])
    return array if scale == SCALE else array.cast(AMOUNT)


def with_nulls(array: pa.Array, valid: npt.NDArray[np.bool_]) -> pa.Array:
    """A fixed-width column without nulls (an amount_array) made null where not `valid`: a validity bitmap put
    on its values (no copy of them, no if_else)."""
    if valid.all():
        return array
    if array.offset or array.null_count:  # not an array of its own buffers: the general way
        return pc.if_else(pa.array(valid), array, pa.nulls(len(array), array.type))
    bitmap = np.packbits(np.asarray(valid, dtype=bool), bitorder="little")
    return pa.Array.from_buffers(array.type, len(array), [pa.py_buffer(bitmap), array.buffers()[1]])


def seconds_array(seconds: npt.NDArray[np.int64]) -> pa.Array:
    """TIMESTAMP values from whole seconds since the epoch (int64), without a datetime64 round trip."""
    return pa.array(np.asarray(seconds, dtype=np.int64), TIMESTAMP)


def months_end(month_starts: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The first second of the next month, for month starts as datetime64[s]."""
    months = np.asarray(month_starts).astype("datetime64[M]")
    return (months + np.timedelta64(1, "M")).astype("datetime64[s]")


def codes_of(column: pa.Array | pa.ChunkedArray) -> tuple[npt.NDArray[np.int64], list[str]]:
    """Integer codes of a string column (no nulls) and its distinct values."""
    encoded = pc.dictionary_encode(column)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary.to_pylist()


def groups_of(*codes: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The group of each row by the combination of its codes, and the first row of each group."""
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for column in codes:  # a mixed-radix number of the codes (each shifted to start at 0)
        low = int(column.min()) if len(column) else 0
        key = key * (int(column.max()) - low + 1 if len(column) else 1) + (column - low)
    _, first, group = np.unique(key, return_index=True, return_inverse=True)
    return group.reshape(-1).astype(np.int64), first.astype(np.int64)


def repeated(value: str, n: int) -> pa.Array:
    """A string column of one value, built from its buffers (no Python list of n strings)."""
    data = value.encode()
    offsets = np.arange(n + 1, dtype=np.int32) * len(data)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data * n)])
