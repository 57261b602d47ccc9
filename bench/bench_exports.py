"""Billing export imports: time and peak memory of the reader, against the reader before issue 16.

Prints, side by side in one process (time untraced; peak memory traced by tracemalloc, the file's bytes
included, since the reader before read the whole file):
- the issue's export: 300,000 rows of an xAI usage export (3.9 MB), now and before;
- the largest Gemini billing export the byte limit allows (50 MB of realistic rows, a credit on one row
  in ten), now only (before, it took about 2 GB), against the 1 GiB a billing pod has;
- the worst for memory within the limits: an xAI export at the row limit whose every line is a distinct
  line item (each is kept, summed per day), now only;
and for each, the peak resident memory of a fresh process reading it alone (what the pod's limit sees).

Usage: python -m bench.bench_exports [--skip-before]   (no database)
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from bench import exports_before as before
from bench.common import verdict
from reconciliation import exports as now
from reconciliation.limits import BillingLimits

POD_BYTES = 2**30
LIMITS = BillingLimits()
GEMINI_HEADER = ("billing_account_id,service.id,service.description,sku.id,sku.description,usage_start_time,"
                 "usage_end_time,project.id,cost,currency,usage.amount,usage.unit,credits,invoice.month,cost_type\n")
SKUS = ["Gemini 2.5 Pro input tokens", "Gemini 2.5 Pro output tokens", "Gemini 2.5 Flash input tokens",
        "Gemini 2.5 Flash output tokens", "Gemini 2.5 Pro cached input tokens", "Grounding with Google Search"]


def issue_export(path: Path) -> None:
    """300,000 rows of 13 bytes: the 3.9 MB export of the issue."""
    with path.open("w", newline="") as out:
        out.write("date,cost\n")
        out.writelines(f"2026-11-{1 + i % 28:02d},{i % 10}\n" for i in range(300_000))


def largest_gemini_export(path: Path, limit: int) -> None:
    """Realistic Gemini rows (hourly, per SKU, a credit on one row in ten) up to the byte limit."""
    rng = random.Random(7)
    with path.open("w", newline="") as out:
        out.write(GEMINI_HEADER)
        written, hour = len(GEMINI_HEADER), 0
        while True:
            day, clock = 1 + (hour // 24) % 30, hour % 24
            for index, sku in enumerate(SKUS):
                credits = ('"[{""name"": ""Free trial credit"", ""amount"": -0.5, ""type"": ""PROMOTION""}]"'
                           if rng.random() < 0.1 else "[]")
                line = (f"01AB-CD,AEFD-{index},Gemini API,S{index:03d}-XYZ,{sku},2026-11-{day:02d}T{clock:02d}:00:00Z,"
                        f"2026-11-{day:02d}T{clock:02d}:59:59Z,acme-prod,{rng.randint(0, 10**7) / 10**6:.6f},USD,"
                        f"{rng.randint(1, 10**6)},count,{credits},202611,regular\n")
                if written + len(line) > limit:
                    return
                out.write(line)
                written += len(line)
            hour += 1


def distinct_items_export(path: Path, rows: int, limit: int) -> None:
    """An xAI export at the row limit (or the byte limit) where no two lines share an item."""
    with path.open("w", newline="") as out:
        out.write("date,model,cost\n")
        written = 16
        for i in range(rows):
            line = f"2026-11-{1 + i % 28:02d},m{i:07d},0.01\n"
            if written + len(line) > limit:
                return
            out.write(line)
            written += len(line)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def peak(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def read_now(provider: str, path: Path) -> Callable[[], object]:
    def read() -> object:
        with path.open("rb") as export:  # as the import-billing command does now
            return now.parse_export(provider, export, LIMITS)
    return read


def read_before(provider: str, path: Path) -> Callable[[], object]:
    return lambda: before.parse_export(provider, path.read_bytes())  # as the command did: the whole file


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-before", action="store_true")
    parser.add_argument("--resident", nargs=2, metavar=("PROVIDER", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.resident:
        read_alone(args.resident[0], Path(args.resident[1]))
        return
    with tempfile.TemporaryDirectory(prefix="halton-bench-exports-") as folder:
        root = Path(folder)
        cases = [("xAI, 300,000 rows", "xai", root / "issue.csv", issue_export, not args.skip_before),
                 ("Gemini at the byte limit", "gemini", root / "gemini.csv",
                  lambda p: largest_gemini_export(p, LIMITS.max_export_bytes), False),
                 ("xAI, all items distinct", "xai", root / "distinct.csv",
                  lambda p: distinct_items_export(p, LIMITS.max_rows, LIMITS.max_export_bytes), False)]
        print(f"export import, best of 2 (peak memory by tracemalloc; a billing pod has {POD_BYTES / 2**20:,.0f} MiB)")
        print(f"{'export':<26}{'MB':>6}{'rows':>11}  {'now s':>6}{'now MB':>8}  {'before s':>8}{'before MB':>10}")
        for name, provider, path, make, with_before in cases:
            make(path)
            size, rows = path.stat().st_size, sum(1 for _ in path.open("rb")) - 1
            now_s = min(timed(read_now(provider, path)) for _ in range(2))
            now_peak = peak(read_now(provider, path))
            then = ""
            if with_before:
                then_s = timed(read_before(provider, path))
                then = f"{then_s:>8.2f}{peak(read_before(provider, path)) / 1e6:>10.1f}"
            rss, baseline = resident(provider, path)
            print(f"{name:<26}{size / 1e6:>6.1f}{rows:>11,}  {now_s:>6.2f}{now_peak / 1e6:>8.1f}  {then}")
            grown = rss - baseline  # the worker's own imports and the write of the days need the rest of the pod
            print(f"  {'':<24}read alone: {rss / 2**20:,.0f} MiB resident at the peak, {grown / 2**20:,.0f} MiB more "
                  f"than before ({verdict(grown, POD_BYTES / 4)}: a quarter of the pod)")
            path.unlink()


def resident(provider: str, path: Path) -> tuple[int, int]:
    """Peak resident memory of a fresh process that imports the reader and reads the export, and its
    resident memory before reading (what the pod's limit sees; tracemalloc's own bookkeeping excluded)."""
    done = subprocess.run([sys.executable, "-m", "bench.bench_exports", "--resident", provider, str(path)],
                          check=True, capture_output=True, text=True)
    peak_kib, before_kib = (int(part) for part in done.stdout.split())
    return peak_kib * 1024, before_kib * 1024


def read_alone(provider: str, path: Path) -> None:
    before_kib = status_kib("VmRSS")
    read_now(provider, path)()
    # VmHWM, not getrusage's ru_maxrss: Linux carries the parent's peak over to a child across exec
    print(status_kib("VmHWM"), before_kib)


def status_kib(field: str) -> int:
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(f"{field}:"))
    return int(line.split()[1])


if __name__ == "__main__":
    main()
