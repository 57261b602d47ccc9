"""Run every benchmark in turn, each in its own process (`make bench`)."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = ["bench.bench_pricing", "bench.bench_seed", "bench.bench_rollup", "bench.bench_reader",
              "bench.bench_reports", "bench.bench_reconcile", "bench.bench_paste", "bench.bench_exports",
              "bench.bench_checks", "bench.bench_clustering", "bench.bench_forecast", "bench.bench_pulse",
              "bench.bench_focus_export"]


def main() -> int:
    failed = 0
    for module in BENCHMARKS:
        print(f"== {module}", flush=True)
        failed += subprocess.run([sys.executable, "-m", module], check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
