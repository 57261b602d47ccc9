"""A month's export objects are encoded and put on a few threads (workers/jobs/export_datasets.py): the same
objects in the same order as one at a time, and a failed put raises as a put after a put would."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pyarrow as pa
import pytest

from exports.focus import Workspace, usage_rows
from pricing import load_rates
from store.exports import ROLLUP_TYPES
from workers.jobs import export_datasets
from workers.jobs.export_datasets import Encoded, encoded_all, put_all

WS = Workspace(slug="acme", name="Acme", projects={1: ("search", "Search", "R&D")}, devices={10: "alice-mbp"})
NOV = date(2026, 11, 1)


def month_of_days(days: int) -> list[tuple[date, pa.Table]]:
    """The FOCUS rows of `days` days, a few rollup rows each."""
    rows = [{"day": NOV + timedelta(days=d), "project_id": 1 if i % 2 else None, "device_id": 10,
             "provider": "anthropic", "model": model, "service_tier": "standard", "requests": i + 1,
             "input_tokens": 1_000 * (i + 1), "cache_read_tokens": 7 * d, "cache_write_tokens": 0,
             "output_tokens": 333 + d, "cost_nanos": 1_234_567 * (i + 1) + d}
            for d in range(days) for i, model in enumerate(("claude-sonnet-4-6", "claude-opus-4-1", "unknown"))]
    table = usage_rows(pa.table({name: pa.array([r[name] for r in rows], kind) for name, kind in
                                 ROLLUP_TYPES.items()}), load_rates(), WS)
    starts = table["ChargePeriodStart"].to_pylist()
    return [(NOV + timedelta(days=d), table.filter(pa.array([s.date() == NOV + timedelta(days=d) for s in starts])))
            for d in range(days)]


def test_objects_encoded_on_threads_are_the_bytes_and_order_of_one_at_a_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = [("focus", f"focus/{day}.parquet", NOV, day, table) for day, table in month_of_days(9)]
    monkeypatch.setattr(export_datasets, "ENCODE_THREADS", 4)
    threaded = encoded_all(jobs, "parquet")
    monkeypatch.setattr(export_datasets, "ENCODE_THREADS", 1)
    alone = encoded_all(jobs, "parquet")
    assert threaded == alone
    assert [item.key for item in threaded] == [job[1] for job in jobs]
    assert all(item.rows and item.cost_nanos for item in threaded)


class FailingSink:
    """Fails two puts: 'c' at once, 'b' only after 'c' has failed (so the later object fails first)."""

    def __init__(self) -> None:
        self.put_keys: list[str] = []
        self.c_failed = threading.Event()

    def put(self, key: str, data: bytes, content_type: str) -> None:
        if key == "c":
            self.c_failed.set()
            raise OSError("c refused")
        if key == "b":
            self.c_failed.wait(5)
            raise OSError("b refused")
        self.put_keys.append(key)

    def get(self, key: str) -> bytes | None:
        return None

    def describe(self) -> str:
        return "failing"

    def close(self) -> None:
        pass


def test_a_failed_put_raises_the_first_failure_in_the_objects_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_datasets, "PUT_THREADS", 4)
    items = [Encoded("focus", key, NOV, None, 1, b"x", "0" * 64, 0, 1) for key in "abcd"]
    sink = FailingSink()
    with pytest.raises(OSError, match=r"^b refused$"):
        put_all(sink, items, "parquet")
    assert "a" in sink.put_keys
