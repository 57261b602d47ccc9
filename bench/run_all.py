"""Run every benchmark in turn, each in its own process (`make bench`).

    python bench/run_all.py [--fleet-full]

`--fleet-full` runs the fleet benchmark on issue 18's whole population (10M requests, `bench_fleet --full`)
instead of its default of 1M, which finishes in a few minutes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

BENCHMARKS = ["bench.bench_pricing", "bench.bench_seed", "bench.bench_rollup", "bench.bench_reader",
              "bench.bench_reports", "bench.bench_reconcile", "bench.bench_paste", "bench.bench_exports",
              "bench.bench_checks", "bench.bench_clustering", "bench.bench_forecast", "bench.bench_pulse",
              "bench.bench_fleet", "bench.bench_focus_export"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fleet-full", action="store_true", help="bench_fleet on 10M requests")
    args = parser.parse_args()
    failed = 0
    for module in BENCHMARKS:
        extra = ["--full"] if module == "bench.bench_fleet" and args.fleet_full else []
        print(f"== {module}", flush=True)
        failed += subprocess.run([sys.executable, "-m", module, *extra], check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
