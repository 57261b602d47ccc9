"""A conformance check of a FOCUS file (Parquet or CSV) against the FOCUS 1.2 column table
(exports/focus_reference.py, from the reference's copy of the spec's column files and attributes).

It checks what the column table and the attributes make checkable without knowing the provider:
- presence: every Mandatory column of 1.2, and 1.3's ServiceProviderName and HostProviderName (which this
  export promises);
- naming: FOCUS columns are the spec's names; any other column starts with `x_` and is PascalCase after it,
  and custom columns come after every FOCUS column;
- types: Decimal columns are exact decimals (Parquet decimal; in CSV a plain number, no thousands separator,
  no `+`, no positive exponent), Date/Time columns are UTC (Parquet timestamp in UTC; in CSV
  `YYYY-MM-DDTHH:mm:ssZ`), JSON columns hold an object of scalar values, strings are strings;
- nulls: a column whose flag forbids nulls has none; no empty or all-space string stands for a null;
- allowed values (ChargeCategory, ChargeClass, ChargeFrequency, PricingCategory, ServiceCategory, the
  subcategory and its one parent, statuses), ISO 4217 currency codes, Unit Format for the unit columns;
- row rules: ConsumedQuantity only on Usage rows and with its unit; PricingUnit null exactly when
  PricingQuantity is; SubAccountName and SkuMeter null when their id is; Usage rows that are not corrections
  have a PricingQuantity and a SkuId; unit prices not negative; ListCost = ListUnitPrice × PricingQuantity
  (and the contracted pair) exactly on non-correction rows; periods start before they end; SkuPriceDetails
  keys are FOCUS-defined or `x_`.

`check(data, fmt)` returns the problems found, each naming the column (and a row), empty when the file
conforms.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from exports.focus_reference import (
    ALLOWED,
    COLUMNS,
    COLUMNS_1_3,
    DATETIME,
    DECIMAL,
    JSON,
    MANDATORY,
    SKU_PRICE_DETAIL_KEYS,
    STRING,
    SUBCATEGORY_PARENT,
)

KNOWN = {**COLUMNS, **COLUMNS_1_3}
REQUIRED = (*MANDATORY, *COLUMNS_1_3)
NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE]-?\d+)?$")
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
CUSTOM = re.compile(r"^x_[A-Z][A-Za-z0-9]*$")
_COUNT = r"[A-Z][A-Za-z]*"
UNIT = re.compile(rf"^(\d+ )?{_COUNT}(-{_COUNT})?(/(\d+ )?{_COUNT})?$")
UNIT_COLUMNS = ("PricingUnit", "ConsumedUnit", "CommitmentDiscountUnit")
MAX_PROBLEMS = 50


def check(data: bytes, fmt: str) -> list[str]:
    """The problems of a FOCUS file in `fmt` ('parquet' or 'csv')."""
    if fmt == "parquet":
        table = pq.read_table(io.BytesIO(data))
        return check_table(table, typed=True)
    if fmt == "csv":
        header = next(csv.reader(io.StringIO(data.decode("utf-8").split("\n", 1)[0])), [])
        options = pacsv.ConvertOptions(column_types={name: pa.string() for name in header}, null_values=[""],
                                       strings_can_be_null=True, quoted_strings_can_be_null=False)
        return check_table(pacsv.read_csv(io.BytesIO(data), convert_options=options), typed=False)
    raise ValueError(f"unknown format {fmt!r}")


def check_table(table: pa.Table, typed: bool) -> list[str]:
    problems: list[str] = []
    names = table.column_names
    problems += [f"{name}: a mandatory column is missing" for name in REQUIRED if name not in names]
    problems += _naming(names)
    rows = table.to_pylist()
    for name in names:
        if name in KNOWN:
            problems += _column(name, table.schema.field(name).type, [row[name] for row in rows], typed)
    problems += _rows(rows, names, typed)
    return problems[:MAX_PROBLEMS] + ([f"... and {len(problems) - MAX_PROBLEMS} more"]
                                      if len(problems) > MAX_PROBLEMS else [])


def _naming(names: list[str]) -> list[str]:
    problems = []
    seen_custom = False
    for name in names:
        if name in KNOWN:
            if seen_custom:
                problems.append(f"{name}: a FOCUS column after a custom column (custom columns come last)")
        elif name.startswith("x_"):
            seen_custom = True
            if not CUSTOM.match(name) or len(name) > 52:
                problems.append(f"{name}: a custom column must be x_ and a PascalCase name of letters and digits")
        else:
            problems.append(f"{name}: neither a FOCUS column nor prefixed x_")
    if len(set(names)) != len(names):
        problems.append("a column name appears twice")
    return problems


def _column(name: str, kind: pa.DataType, values: list[Any], typed: bool) -> list[str]:
    _, data_type, nullable = KNOWN[name]
    problems: list[str] = []
    if typed:
        if data_type == DECIMAL and not pa.types.is_decimal(kind):
            problems.append(f"{name}: Decimal column stored as {kind}, not an exact decimal")
        elif data_type == DATETIME and not (pa.types.is_timestamp(kind) and kind.tz in ("UTC", "+00:00", "Z")):
            problems.append(f"{name}: Date/Time column stored as {kind}, not a UTC timestamp")
        elif data_type in (JSON, STRING) and not (pa.types.is_string(kind) or pa.types.is_large_string(kind)
                                                  or pa.types.is_null(kind)):
            problems.append(f"{name}: {data_type} column stored as {kind}")
        if problems:
            return problems
    for i, value in enumerate(values):
        where = f"{name} row {i + 1}"
        if value is None:
            if not nullable:
                problems.append(f"{where}: null in a column that allows none")
            continue
        if isinstance(value, str) and not value.strip():
            problems.append(f"{where}: an empty string where a null belongs")
            continue
        if not typed and data_type == DECIMAL and not NUMBER.match(value):
            problems.append(f"{where}: {value!r} is not a plain decimal number")
        if not typed and data_type == DATETIME and not DATE_TIME.match(value):
            problems.append(f"{where}: {value!r} is not YYYY-MM-DDTHH:mm:ssZ")
        if data_type == JSON:
            problems += _key_values(where, value, sku=name == "SkuPriceDetails")
        if name in ALLOWED and value not in ALLOWED[name]:
            problems.append(f"{where}: {value!r} is not an allowed value")
        if name == "ServiceSubcategory" and value not in SUBCATEGORY_PARENT:
            problems.append(f"{where}: {value!r} is not an allowed subcategory")
        if name in ("BillingCurrency", "PricingCurrency") and not CURRENCY.match(value):
            problems.append(f"{where}: {value!r} is not an ISO 4217 code")
        if name in UNIT_COLUMNS and not UNIT.match(value):
            problems.append(f"{where}: {value!r} does not follow the Unit Format")
        if len(problems) > MAX_PROBLEMS:
            break
    return problems


def _key_values(where: str, value: str, sku: bool) -> list[str]:
    try:
        pairs = json.loads(value, object_pairs_hook=lambda items: items)
    except ValueError:
        return [f"{where}: not JSON"]
    if not isinstance(pairs, list):
        return [f"{where}: not a JSON object"]
    keys = [key for key, _ in pairs]
    problems = []
    if len(set(keys)) != len(keys):
        problems.append(f"{where}: a key appears twice")
    if any(isinstance(v, (list, dict)) for _, v in pairs):
        problems.append(f"{where}: values must be scalars")
    if sku:
        problems += [f"{where}: key {key!r} is not FOCUS-defined and not prefixed x_" for key in keys
                     if key not in SKU_PRICE_DETAIL_KEYS and not CUSTOM.match(key)]
    return problems


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None


def _rows(rows: list[dict[str, Any]], names: list[str], typed: bool) -> list[str]:
    problems: list[str] = []
    has = set(names).__contains__
    for i, row in enumerate(rows):
        get = row.get
        where = f"row {i + 1}"
        category, correction = get("ChargeCategory"), get("ChargeClass") == "Correction"
        if has("ConsumedQuantity"):
            if category != "Usage" and get("ConsumedQuantity") is not None:
                problems.append(f"ConsumedQuantity {where}: set on a {category} row (Usage rows only)")
            if category == "Usage" and not correction and get("ConsumedQuantity") is None and \
                    get("CommitmentDiscountStatus") != "Unused":
                problems.append(f"ConsumedQuantity {where}: null on a Usage row")
        problems += _null_together(row, where, [("ConsumedQuantity", "ConsumedUnit"),
                                                ("PricingQuantity", "PricingUnit")], has)
        problems += _null_with_id(row, where, [("SubAccountId", "SubAccountName"), ("SkuId", "SkuMeter"),
                                               ("ResourceId", "ResourceType"), ("RegionId", "RegionName")], has)
        if category in ("Usage", "Purchase") and not correction:
            for column in ("PricingQuantity", "SkuId", "SkuPriceId", "ListUnitPrice"):
                if has(column) and get(column) is None and not (column == "ListUnitPrice" and get("SkuId") is None):
                    problems.append(f"{column} {where}: null on a {category} row that is not a correction")
        if category == "Tax":
            for column in ("PricingQuantity", "PricingUnit", "SkuId", "SkuPriceId", "ListUnitPrice"):
                if get(column) is not None:
                    problems.append(f"{column} {where}: set on a Tax row")
        for price, cost in (("ListUnitPrice", "ListCost"), ("ContractedUnitPrice", "ContractedCost")):
            unit, quantity, total = _decimal(get(price)), _decimal(get("PricingQuantity")), _decimal(get(cost))
            if unit is not None and unit < 0:
                problems.append(f"{price} {where}: negative")
            if unit is not None and quantity is not None and total is not None and not correction \
                    and unit * quantity != total:
                problems.append(f"{cost} {where}: {total} is not {price} × PricingQuantity = {unit * quantity}")
        for start, end in (("ChargePeriodStart", "ChargePeriodEnd"), ("BillingPeriodStart", "BillingPeriodEnd")):
            first, last = get(start), get(end)
            if first is not None and last is not None and not first < last:
                problems.append(f"{start} {where}: not before {end}")
        subcategory = get("ServiceSubcategory")
        if subcategory in SUBCATEGORY_PARENT and get("ServiceCategory") != SUBCATEGORY_PARENT[subcategory]:
            problems.append(f"ServiceSubcategory {where}: {subcategory!r} belongs to "
                            f"{SUBCATEGORY_PARENT[subcategory]!r}, not {get('ServiceCategory')!r}")
        if len(problems) > MAX_PROBLEMS:
            break
    return problems


def _null_together(row: dict[str, Any], where: str, pairs: Iterable[tuple[str, str]], has: Any) -> list[str]:
    return [f"{b} {where}: null exactly when {a} is null" for a, b in pairs
            if has(a) and has(b) and (row.get(a) is None) != (row.get(b) is None)]


def _null_with_id(row: dict[str, Any], where: str, pairs: Iterable[tuple[str, str]], has: Any) -> list[str]:
    return [f"{b} {where}: set while {a} is null" for a, b in pairs
            if has(a) and has(b) and row.get(a) is None and row.get(b) is not None]
