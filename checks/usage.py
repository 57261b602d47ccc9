"""The catalog's aggregate view of a window: per-day sums, plus the few requests sums cannot serve.

Most checks need sums, counts and a few rank statistics per (project, model), not requests. So the
catalog reads the window as `Usage`:

- `columns` (`groups` as a frame): one row per UTC day, project, provider, model, service tier, status,
  local day and local night with token sums, counts and bounds, as numpy arrays (store/ keeps these days in
  analysis.catalog_daily, built incrementally; `from_requests` builds the same from a per-request frame, for
  the pure tests);
- `odd`: every request whose prompt is above `line` (the lowest long-context threshold of the price
  table) or that succeeded without output. Those are priced one by one: a sum of requests can be priced
  as one row only when every request of it lies on the same side of every long-context threshold.
- `devices`: which devices sent successful traffic per (project, model, tier), for the rationale.

Pricing sums is exact because a request's cost is linear in its tokens once model, tier, rate version
(versions start at UTC midnights: the day) and long-context side (the `odd` split) are fixed; only the
rounding to whole nanos differs: a sum is rounded once where the requests were rounded one by one (half
up), at most half a nano per request apart (none at all for rates in whole nanos per token).

Rank statistics come from counts at fixed edges (`PROMPT_EDGES`, …): a percentile (numpy's "higher")
is at most an edge E exactly when at least rank + 1 values are <= E, so every rule that compares a
percentile with an edge decides exactly; the figure quoted is that bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, cast
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd

from checks.grouping import Grouping as Grouping  # re-exported: the checks take it from here (kit)
from pricing import RateTable

NO_PROJECT = -1  # store.frames.NO_PROJECT: the checks read its frames (a test holds them equal)
Columns = dict[str, npt.NDArray[Any]]  # a frame's columns as numpy arrays, cheaper than a frame to build
SUM_ID = -1  # the id column of a priceable row that stands for a sum of requests
GROUP_KEYS: tuple[str, ...] = ("day", "project_id", "provider", "model", "service_tier", "status_code", "local_day",
                               "night")
PROMPT_EDGES = (2_000, 8_000, 16_000)
OUTPUT_EDGES = (256, 512, 1_024)
VISIBLE_EDGES = (400,)
#: columns of `Usage.columns` besides the keys
SUM_COLUMNS: tuple[str, ...] = (
    "requests", "input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
    "capped_output_tokens", "reasoning_requests", "writing_requests",
    *(f"prompt_le_{e}" for e in PROMPT_EDGES), *(f"output_le_{e}" for e in OUTPUT_EDGES),
    *(f"visible_le_{e}" for e in VISIBLE_EDGES),
)
BOUND_COLUMNS: tuple[str, ...] = ("max_prompt", "first_at")
TOKENS = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens")
NIGHT_HOURS = 6  # local 00:00-06:00
DEVICE_COLUMNS = ["project_id", "model", "service_tier", "device_id"]
#: Usage.odd_columns: the odd requests' columns the checks read, with their time keys
ODD_COLUMNS = ("id", "started_at", "project_id", "provider", "model", "service_tier", "status_code", *TOKENS,
               "reasoning_tokens", "cost_nanos", "day", "local_day", "night")


@dataclass(frozen=True)
class Usage:
    # GROUP_KEYS + SUM_COLUMNS + BOUND_COLUMNS as numpy arrays, one row per group in the order of the keys: the keys
    # typed as priced (_KEY_TYPES; the days datetime.date objects, the texts str objects), the sums and max_prompt
    # int64, first_at the UTC instants as datetime64[us] (group_columns makes them of a frame). Arrays, not a frame:
    # each column taken from a frame costs 10-20 µs however few the rows, and the checks read most several times
    columns: Columns
    # the requests above `line` or successful without output as numpy arrays (ODD_COLUMNS: odd_columns makes them
    # of the frame `odd`), what the checks read of them; the frame is built only when one asks for it
    odd_columns: Columns
    devices: pd.DataFrame  # DEVICE_COLUMNS
    line: int
    odd_frame: Callable[[], pd.DataFrame] = field(repr=False, compare=False)  # builds `odd`

    @cached_property
    def odd(self) -> pd.DataFrame:
        """The odd requests: per-request rows (checks.base.REQUEST_COLUMNS) with their time keys (odd_with_keys)."""
        return self.odd_frame()

    @cached_property
    def groups(self) -> pd.DataFrame:
        """The columns as a frame (first_at tz-aware), built when asked: no check reads it."""
        return pd.DataFrame({**self.columns, "first_at": pd.to_datetime(self.columns["first_at"], utc=True)})

    @property
    def group_rows(self) -> int:
        return len(self.columns["requests"])

    @cached_property
    def priceable_rows(self) -> pd.DataFrame:
        """Every group's sums less its odd requests, then the odd requests (see `priceable`)."""
        return pd.DataFrame(self.priceable_columns)

    @cached_property
    def priceable_columns(self) -> dict[str, Any]:
        """priceable_rows' columns (numpy arrays; model and service_tier Categoricals): what `priceable` selects
        its rows by (a mask of a frame's columns costs a tenth of a millisecond each however few the rows)."""
        return _priceable_columns(self)

    @cached_property
    def successful_arrays(self) -> tuple[Grouping, Columns]:
        """The successful requests' sums (SUM_COLUMNS) and largest prompt per (project_id, model), in key
        order, as arrays: what most checks start from, grouped once for all of them (a groupby costs about a
        millisecond however few the rows)."""
        columns = self.columns
        ok = columns["status_code"] == 200
        by = Grouping.of(columns, ["project_id", "model"], rows=ok)
        sums = by.sum(_int_columns(columns, SUM_COLUMNS)[ok])  # every column at once
        return by, {**{name: sums[:, i] for i, name in enumerate(SUM_COLUMNS)},
                    "max_prompt": by.max(columns["max_prompt"][ok])}

    @cached_property
    def successful_lists(self) -> tuple[list[tuple[int, str]], dict[str, list[int]]]:
        """`successful_arrays` as plain lists, made once: the (project_id, model) keys and each column's values
        as Python ints (what by_project_model would yield of a frame of them; neither a frame nor its index is built:
        selecting columns of a frame per check cost a millisecond each)."""
        by, columns = self.successful_arrays
        keys = [(int(project_id), str(model)) for project_id, model in by.key_tuples()]
        return keys, {name: values.tolist() for name, values in columns.items()}

    @property
    def requests(self) -> int:
        return int(self.columns["requests"].sum())


def group_columns(groups: pd.DataFrame) -> Columns:
    """Usage.columns of a frame of GROUP_KEYS + SUM_COLUMNS + BOUND_COLUMNS (from_requests' groups)."""
    columns: Columns = {}
    for name, column in groups.items():
        key = str(name)
        if key == "first_at":
            columns[key] = pd.to_datetime(column, utc=True).to_numpy(dtype="datetime64[us]")
        elif key in _KEY_TYPES:
            columns[key] = np.asarray(column, _KEY_TYPES[key])
        elif key in GROUP_KEYS:
            columns[key] = column.to_numpy()
        else:
            columns[key] = np.asarray(column, np.int64)
    return columns


# -- what the scan needs to know of the price table -----------------------------------------------


def long_line(rates: RateTable) -> int:
    """The lowest long-context threshold of any model, tier and version the cost function knows: a request
    at or below it is billed at base rates whatever it is priced on."""
    return int(np.min(rates.compiled.threshold_by_key))


def day_keys(started_at: pd.Series, timezone: str) -> dict[str, Any]:
    """The time keys of `Usage.columns` for per-request rows: UTC day, local day (datetime.date objects), local
    night. One time zone conversion, the rest in numpy (each `.dt` accessor costs about 0.1 ms however few the
    rows)."""
    utc = started_at.to_numpy(dtype="datetime64[us]")  # the instants as UTC wall times
    local = started_at.dt.tz_convert(timezone).dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    local_day = local.astype("datetime64[D]")
    return {"day": utc.astype("datetime64[D]").astype(object), "local_day": local_day.astype(object),
            "night": (local - local_day) < np.timedelta64(NIGHT_HOURS, "h")}


# Up to this many rows, day_keys_of converts the instants one by one (3 µs each) rather than through pandas (a
# quarter of a millisecond however few the rows: the two cost the same at about 80)
FEW_ROWS = 64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def day_keys_of(utc: npt.NDArray[np.datetime64], timezone: str) -> dict[str, Any]:
    """day_keys of instants given as UTC wall times (datetime64[us]): for a few rows the local times by the zone's
    own rules one by one (zoneinfo, the zones pandas converts with), else by day_keys."""
    if len(utc) > FEW_ROWS:
        return day_keys(pd.Series(utc).dt.tz_localize("UTC"), timezone)
    zone = ZoneInfo(timezone)
    local = np.array([(_EPOCH + timedelta(microseconds=us)).astimezone(zone).replace(tzinfo=None)
                      for us in utc.astype("datetime64[us]").astype(np.int64).tolist()], dtype="datetime64[us]")
    local_day = local.astype("datetime64[D]")
    return {"day": utc.astype("datetime64[D]").astype(object), "local_day": local_day.astype(object),
            "night": (local - local_day) < np.timedelta64(NIGHT_HOURS, "h")}


def is_odd(frame: pd.DataFrame, line: int) -> npt.NDArray[np.bool_]:
    prompt = prompt_of(frame)
    return np.asarray((prompt > line) | ((frame["status_code"] == 200) & (frame["output_tokens"] == 0)))


def prompt_of(frame: pd.DataFrame | Columns) -> npt.NDArray[np.int64]:
    return np.asarray(frame["input_tokens"] + frame["cache_read_tokens"] + frame["cache_write_tokens"], np.int64)


def capped_output(frame: pd.DataFrame | Columns) -> npt.NDArray[np.int64]:
    """Output with reasoning capped at the visible answer: visible + min(reasoning, visible)."""
    out = np.asarray(frame["output_tokens"], np.int64)
    reasoning = np.asarray(frame["reasoning_tokens"], np.int64)
    visible = out - reasoning
    capped: npt.NDArray[np.int64] = visible + np.minimum(reasoning, visible)
    return capped


# -- the adapter: a per-request frame to Usage (the pure tests; store/ does the same in SQL) -------


def from_requests(frame: pd.DataFrame, *, rates: RateTable, timezone: str = "UTC") -> Usage:
    line = long_line(rates)
    if not len(frame):
        groups = pd.DataFrame(columns=[*GROUP_KEYS, *SUM_COLUMNS, *BOUND_COLUMNS])
        return _of_frames(group_columns(groups), odd_with_keys(frame.iloc[:0], timezone),
                          pd.DataFrame(columns=DEVICE_COLUMNS), line)
    prompt, out = prompt_of(frame), np.asarray(frame["output_tokens"], np.int64)
    visible = out - np.asarray(frame["reasoning_tokens"], np.int64)
    data = frame.assign(
        model=frame["model"].astype(str), provider=frame["provider"].astype(str),
        service_tier=frame["service_tier"].astype(str), **day_keys(frame["started_at"], timezone),
        requests=1, capped_output_tokens=capped_output(frame),
        reasoning_requests=(frame["reasoning_tokens"] > 0).astype(np.int64),
        writing_requests=(frame["cache_write_tokens"] > 0).astype(np.int64),
        **{f"prompt_le_{e}": (prompt <= e).astype(np.int64) for e in PROMPT_EDGES},
        **{f"output_le_{e}": (out <= e).astype(np.int64) for e in OUTPUT_EDGES},
        **{f"visible_le_{e}": (visible <= e).astype(np.int64) for e in VISIBLE_EDGES},
        max_prompt=prompt, first_at=frame["started_at"],
    )
    grouped = data.groupby(list(GROUP_KEYS), observed=True, sort=True)
    groups = grouped[list(SUM_COLUMNS)].sum()
    groups["max_prompt"] = grouped["max_prompt"].max()
    groups["first_at"] = grouped["first_at"].min()
    ok = data[data["status_code"] == 200]
    devices = ok[DEVICE_COLUMNS].drop_duplicates().reset_index(drop=True)
    return _of_frames(group_columns(groups.reset_index()), odd_with_keys(frame[is_odd(frame, line)], timezone),
                      devices, line)


def _of_frames(columns: Columns, odd: pd.DataFrame, devices: pd.DataFrame, line: int) -> Usage:
    return Usage(columns, odd_columns(odd), devices, line, lambda: odd)


def odd_with_keys(odd: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """The odd requests (per-request rows, without time keys) with the time keys of the groups they belong to."""
    keys = pd.DataFrame(day_keys(odd["started_at"], timezone), index=odd.index)
    return pd.concat([odd, keys], axis=1)  # beside the rows' columns (assign copies them: twice the time)


# -- reading Usage -----------------------------------------------------------------------------------

# a mask over key columns, valid on frames of groups or odd rows and on Usage.priceable_columns
Where = Callable[[Any], Any]


def successful_of(project_id: Any, model: Any, service_tier: str | None = None) -> Where:
    """The successful requests of one project (NO_PROJECT: unattributed) on one model (as reported)."""
    def where(frame: Any) -> Any:
        mask = (frame["status_code"] == 200) & (frame["project_id"] == project_id) & (frame["model"] == str(model))
        return mask if service_tier is None else mask & (frame["service_tier"] == service_tier)
    return where


def priceable(usage: Usage, where: Where, *, rates: RateTable, with_output_only: bool = False,
              apart: pd.DataFrame | None = None, timezone: str = "UTC") -> pd.DataFrame:
    """Rows to price for the requests `where` selects: each group's sums less its odd requests (one row
    per group, below every long-context threshold), then the odd requests one by one.

    Columns: GROUP_KEYS, TOKENS, reasoning_tokens, capped_output_tokens, started_at, threshold_prompt
    (what price_requests compares with the thresholds), requests (how many requests the row stands for),
    odd, and for a row of one request its id and logged cost_nanos (a sum: id SUM_ID, cost 0).
    `with_output_only` leaves out the successful requests without output. `apart`: per-request rows
    (checks.base.REQUEST_COLUMNS) of requests `where` selects, to price one by one as well: they leave
    their group's sums (their time keys in the workspace's `timezone`). A sum too large for the cost
    function's int64 bound is cut into equal parts (rounded once per part)."""
    columns = usage.priceable_columns  # the rows chosen by their arrays, the frame selected once
    chosen = np.asarray(where(columns), dtype=bool)
    if with_output_only:
        chosen &= ~(columns["odd"] & (columns["status_code"] == 200) & (columns["output_tokens"] == 0))
    rows = usage.priceable_rows[chosen]
    if apart is not None and len(apart):
        rows = _take_apart(rows, apart, timezone)
    return _split_large(rows.reset_index(drop=True), rates.max_tokens_per_kind // 4)  # a counterfactual may
    # add three kinds of tokens into one


_SUMS = ["requests", *TOKENS, "reasoning_tokens", "capped_output_tokens"]
_KEY_TYPES: dict[str, Any] = {"project_id": np.int64, "status_code": np.int64, "night": bool}  # as priced


def _request_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-request rows with their time keys (odd_with_keys) as priceable rows of one request each."""
    return pd.DataFrame(_request_arrays(odd_columns(frame)))


def odd_columns(frame: pd.DataFrame) -> Columns:
    """ODD_COLUMNS of per-request rows with their time keys (odd_with_keys), as Usage.odd_columns holds them: the
    integers int64, the texts str objects, started_at the UTC instants as datetime64[us], the days datetime.date
    objects, night bool."""
    columns: Columns = {}
    for name in ODD_COLUMNS:
        if name in ("provider", "model", "service_tier"):
            columns[name] = _strings(frame[name])
        elif name == "started_at":
            columns[name] = frame[name].to_numpy(dtype="datetime64[us]")
        elif name in ("day", "local_day"):
            columns[name] = frame[name].to_numpy()
        else:
            columns[name] = np.asarray(frame[name], bool if name == "night" else np.int64)
    return columns


def _request_arrays(odd: Columns) -> Columns:
    """_request_rows' columns of odd_columns, without the frame (on a few rows, building it costs milliseconds)."""
    n = len(odd["id"])
    tokens: Columns = {c: odd[c] for c in (*TOKENS, "reasoning_tokens")}
    return {
        **{c: odd[c] for c in ("project_id", "provider", "model", "service_tier", "status_code", "day", "local_day",
                               "night")},
        "requests": np.ones(n, np.int64),
        **tokens,
        "capped_output_tokens": capped_output(tokens),
        "started_at": odd["started_at"],
        "threshold_prompt": prompt_of(tokens),
        "odd": np.ones(n, dtype=bool),
        "id": odd["id"], "cost_nanos": odd["cost_nanos"],
    }


def _strings(column: pd.Series) -> npt.NDArray[np.object_]:
    """The column's values as str objects (`astype(str).to_numpy()`; a categorical's categories cast once)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        categories = np.asarray(column.cat.categories.astype(str).to_numpy(), dtype=object)
        codes = column.cat.codes.to_numpy()
        if len(codes) and codes.min() >= 0:  # no missing value (astype(str) would spell it 'nan')
            return categories[codes]
    return np.asarray(column.astype(str).to_numpy(), dtype=object)


def _less(sums: pd.DataFrame, each: pd.DataFrame) -> pd.DataFrame:
    """Group rows less the requests of `each` that belong to them (equal GROUP_KEYS; a request of no group
    is not counted)."""
    left = _sums_less(sums, each)
    at = {name: i for i, name in enumerate(_SUMS)}
    return pd.DataFrame({name: left[:, at[name]] if name in at else sums[name].array for name in sums.columns})


def _sums_less(sums: pd.DataFrame | Columns, each: pd.DataFrame | Columns) -> npt.NDArray[np.int64]:
    """The _SUMS of each group row less those of the requests of `each` that belong to it. Rows are matched
    on tuples of their keys in a dict: a MultiIndex of eight keys costs milliseconds however few the rows."""
    codes: dict[tuple[Any, ...], int] = {}  # one per distinct key of the groups
    group_code = np.array([codes.setdefault(key, len(codes)) for key in _key_tuples(sums)], dtype=np.intp)
    request_code = np.array([codes.get(key, -1) for key in _key_tuples(each)], dtype=np.intp)
    mine = request_code >= 0
    less = np.zeros((len(codes), len(_SUMS)), dtype=np.int64)
    np.add.at(less, request_code[mine], _int_columns(each, _SUMS)[mine])
    left: npt.NDArray[np.int64] = _int_columns(sums, _SUMS) - less[group_code]
    return left


def _int_columns(frame: pd.DataFrame | Columns, names: Sequence[str]) -> npt.NDArray[np.int64]:
    """n × len(names) int64: the columns side by side."""
    if isinstance(frame, pd.DataFrame):
        return frame[list(names)].to_numpy(np.int64)
    return np.column_stack([np.asarray(frame[name], np.int64) for name in names]).reshape(-1, len(names))


def _key_tuples(frame: pd.DataFrame | Columns) -> list[tuple[Any, ...]]:
    return list(zip(*(frame[key].tolist() for key in GROUP_KEYS), strict=True))


def _priceable_columns(usage: Usage) -> dict[str, Any]:
    """Built column by column with numpy, made a frame at the end (Usage.priceable_rows): pandas' assign, drop
    and concat cost a millisecond each on a few hundred rows."""
    rest, odd = usage.columns, usage.odd_columns
    odd_rows = _request_arrays(odd) if len(odd["id"]) else None  # none: not even an empty frame to build
    sums = _int_columns(rest, _SUMS) if odd_rows is None else _sums_less(rest, odd_rows)
    kept = sums[:, _SUMS.index("requests")] > 0  # a group of odd requests only is left to them
    n = int(kept.sum())
    summed = {**{key: rest[key][kept] for key in GROUP_KEYS},
              **{name: sums[kept, i] for i, name in enumerate(_SUMS)},
              "started_at": rest["first_at"][kept],
              "threshold_prompt": np.zeros(n, np.int64), "odd": np.zeros(n, bool),
              "id": np.full(n, SUM_ID, np.int64), "cost_nanos": np.zeros(n, np.int64)}
    columns = {name: values if odd_rows is None else np.concatenate([values, odd_rows[name]])
               for name, values in summed.items()}
    for name in ("model", "service_tier"):  # categoricals of their strings, made before the frame: a column
        # cast to str and then to category once in it costs twice as much
        columns[name] = _categorical(columns[name])
    return columns


def _categorical(values: npt.NDArray[Any]) -> pd.Categorical:
    """`pd.Categorical(values.astype(str))` (its categories sorted, of the str dtype), from numpy's sorted
    distinct values and codes: half the cost (pandas factorizes and sorts its categories again)."""
    categories, codes = np.unique(np.asarray(values).astype(str), return_inverse=True)
    return pd.Categorical.from_codes(codes.reshape(-1), categories=pd.Index(categories, dtype=str), validate=False)


def _take_apart(rows: pd.DataFrame, requests: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """`rows` (priceable) with `requests` priced one by one: out of their group's sums, a row each (a
    request already apart, an odd one, stays as it is)."""
    requests = requests[~requests["id"].isin(rows.loc[rows["odd"], "id"])]
    if not len(requests):
        return rows
    each = _request_rows(odd_with_keys(requests, timezone))
    summed = rows[~rows["odd"]]
    summed = summed.assign(**{name: summed[name].astype(str) for name in ("provider", "model", "service_tier")})
    rest = _less(summed, each)
    if (rest[_SUMS].to_numpy() < 0).any() or int(rest["requests"].sum()) + len(each) != int(summed["requests"].sum()):
        raise ValueError("requests taken apart are not all in the window's sums of their scope")
    out = pd.concat([rest[rest["requests"] > 0], rows[rows["odd"]], each], ignore_index=True)
    for name in ("model", "service_tier"):
        out[name] = out[name].astype(str).astype("category")
    return out


def _split_large(rows: pd.DataFrame, bound: int) -> pd.DataFrame:
    sums = _SUMS
    # the largest token kind per row, column by column (a frame of the four and its max cost a millisecond)
    largest = np.maximum.reduce([np.asarray(rows[c], np.int64) for c in TOKENS]) if len(rows) \
        else np.zeros(0, np.int64)
    parts = np.maximum(1, -(-largest // bound))
    if not len(rows) or int(parts.max()) == 1:
        return rows
    out = rows.loc[rows.index.repeat(parts)].reset_index(drop=True)
    part = np.concatenate([np.arange(p) for p in parts])  # which part of its row each output row is
    count = np.repeat(parts, parts)
    for name in sums:
        total = out[name].to_numpy(np.int64)
        out[name] = total // count + (part < total % count)
    return out


def successful_rows(usage: Usage, columns: Sequence[str]) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """The window's sums of successful requests per (project, model), what most checks start from: each
    group's project_id, model and the chosen columns' values, as by_project_model would walk a frame of them."""
    keys, lists = usage.successful_lists
    chosen = [(name, lists[name]) for name in columns]
    for i, (project_id, model) in enumerate(keys):
        yield project_id, model, {name: values[i] for name, values in chosen}


def grouped_rows(by: Grouping, columns: Columns) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """by_project_model(by.frame(columns)) for a Grouping by (project_id, model) and int64 columns, without
    building the frame (a fraction of a millisecond, with its index, however few the groups)."""
    names = list(columns)
    values = [np.asarray(column, np.int64).tolist() for column in columns.values()]
    for (project_id, model), row in zip(by.key_tuples(), zip(*values, strict=True), strict=True):
        yield int(project_id), str(model), dict(zip(names, row, strict=True))


def by_project_model(per: pd.DataFrame) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """The rows of a frame indexed by (project_id, model), the keys typed (pandas-stubs types them Hashable),
    each row a dict (a Series per row, as iterrows makes, costs more than the rule that reads it)."""
    names = [str(c) for c in per.columns]
    # all int64 (the sums): one block, converted at once; else column by column (a mixed block would upcast)
    rows = per.to_numpy().tolist() if all(t == np.int64 for t in per.dtypes) else \
        [list(r.values()) for r in per.to_dict("records")]
    for key, values in zip(per.index, rows, strict=True):
        project_id, model = cast(tuple[Any, Any], key)
        yield int(project_id), str(model), dict(zip(names, values, strict=True))


def percentile_bound(counts: Sequence[int], edges: Sequence[int], n: int, q: float) -> int | None:
    """The smallest edge the q-th percentile (numpy's "higher") of n values is at most, from the counts of
    values <= each edge; None when it is above the last edge."""
    if n <= 0:
        return 0
    rank = math.ceil((n - 1) * (q / 100))
    for edge, count in zip(edges, counts, strict=True):
        if count >= rank + 1:
            return edge
    return None


