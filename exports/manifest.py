"""Object keys and the manifest of a billing period.

Layout under a destination's prefix (keys are relative to it):

    focus/billing_period=2026-11/2026-11-03.parquet     one object per UTC day, replaced when the day is restated
    focus/billing_period=2026-11/adjustments.parquet    the month's Adjustment rows, once it is reconciled
    focus/billing_period=2026-11/manifest.json          every object of the period: rows, cost, sha256, versions
    requests/billing_period=2026-11/2026-11-03.csv      the requests and audit datasets, the same way

The manifest lists each object's latest version (rows, BilledCost sum, bytes, sha256, when written) and every
earlier version, so a consumer can tell what was restated and when, and carries the FOCUS metadata (FocusVersion,
DataGenerator, SchemaId, CreationDate, ColumnDefinition)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa

from core.money import to_decimal_dollars

DATASETS = ("focus", "requests", "audit")
EXTENSIONS = {"parquet": "parquet", "csv": "csv"}
ADJUSTMENTS = "adjustments"
MANIFEST = "manifest.json"
GENERATOR = "Halton Meter analysis fleet"


def period_of(day: date) -> date:
    return day.replace(day=1)


def period_folder(dataset: str, period: date) -> str:
    return f"{dataset}/billing_period={period:%Y-%m}"


def day_key(dataset: str, day: date, fmt: str) -> str:
    return f"{period_folder(dataset, period_of(day))}/{day:%Y-%m-%d}.{EXTENSIONS[fmt]}"


def adjustments_key(period: date, fmt: str) -> str:
    return f"{period_folder('focus', period)}/{ADJUSTMENTS}.{EXTENSIONS[fmt]}"


def manifest_key(dataset: str, period: date) -> str:
    return f"{period_folder(dataset, period)}/{MANIFEST}"


@dataclass(frozen=True)
class Version:
    """One object written (a row of analysis.exports)."""

    key: str
    day: date | None
    rows: int
    bytes: int
    cost_nanos: int | None
    sha256: str
    exported_at: datetime


def schema_id(schema: pa.Schema) -> str:
    """A GUID derived from the column names and types: the same columns, the same id (FOCUS metadata asks for
    a new schema id when the columns change)."""
    text = ";".join(f"{f.name}:{f.type}" for f in schema)
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://haltonmeter.com/focus-schema/{text}"))


def _data_type(kind: pa.DataType, name: str) -> str:
    if pa.types.is_decimal(kind):
        return "Decimal"
    if pa.types.is_timestamp(kind):
        return "Date/Time"
    if name in ("Tags", "SkuPriceDetails"):
        return "JSON"
    if pa.types.is_integer(kind):
        return "Decimal"
    return "String"


NANO_DOLLAR = Decimal("0.000000001")


def _dollars(nanos: int) -> str:
    """Exact dollars, fixed-point with nine places ("12.500000000"): a nano is the unit."""
    return format(to_decimal_dollars(nanos).quantize(NANO_DOLLAR), "f")


def build_manifest(dataset: str, period: date, fmt: str, versions: Sequence[Version], schema: pa.Schema,
                   created: datetime) -> bytes:
    """The manifest's JSON bytes: per key its latest version and the ones it replaced (oldest first). A `cost`
    is the exact `cost_nanos` in dollars (a plain decimal string of nine places): a consumer checks an
    object's BilledCost sum against it to the nano, and the objects' costs add up to the total's."""
    by_key: dict[str, list[Version]] = {}
    for version in sorted(versions, key=lambda v: (v.key, v.exported_at)):
        by_key.setdefault(version.key, []).append(version)
    objects = []
    for key, history in sorted(by_key.items()):
        latest = history[-1]
        objects.append({
            "key": key, "day": None if latest.day is None else latest.day.isoformat(), "rows": latest.rows,
            "bytes": latest.bytes, "sha256": latest.sha256, "exported_at": _moment(latest.exported_at),
            "cost": None if latest.cost_nanos is None else _dollars(latest.cost_nanos),
            "cost_nanos": latest.cost_nanos,
            "restated": len(history) > 1,
            "replaced": [{"sha256": v.sha256, "rows": v.rows, "cost_nanos": v.cost_nanos,
                          "exported_at": _moment(v.exported_at)} for v in history[:-1]],
        })
    costs = [o["cost_nanos"] for o in objects if isinstance(o["cost_nanos"], int)]
    document = {
        "dataset": dataset, "billing_period": f"{period:%Y-%m}", "format": fmt,
        "objects": objects,
        "totals": {"objects": len(objects), "rows": sum(int(str(o["rows"])) for o in objects),
                   **({"cost": _dollars(sum(costs)), "cost_nanos": sum(costs)} if dataset == "focus" else {})},
        "metadata": {
            "DataGenerator": GENERATOR, "SchemaId": schema_id(schema), "CreationDate": _moment(created),
            **({"FocusVersion": "1.2"} if dataset == "focus" else {}),
            "ColumnDefinition": [{"ColumnName": f.name, "DataType": _data_type(f.type, f.name),
                                  **({"ProviderTagPrefixes": []} if f.name == "Tags" else {})} for f in schema],
        },
    }
    return json.dumps(document, indent=2, sort_keys=False).encode() + b"\n"


def _moment(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
