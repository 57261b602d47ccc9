"""A worker process runs the numeric libraries on one thread each: its pool is the parallelism."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = """
import json
from workers.runtime.threads import one_thread_per_process
one_thread_per_process()
import sklearn.cluster  # loads OpenMP after the call, as the worker's tasks do
from threadpoolctl import threadpool_info
print(json.dumps(sorted({(i["user_api"], i["num_threads"]) for i in threadpool_info()})))
"""


def numeric_threads(env: dict[str, str]) -> list[list[object]]:
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)
    pools: list[list[object]] = json.loads(done.stdout)
    return pools


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def test_every_numeric_library_gets_one_thread() -> None:
    pools = numeric_threads(clean_env())
    assert {api for api, _ in pools} >= {"openmp", "blas"}
    assert all(threads == 1 for _, threads in pools), pools


def test_an_operators_own_thread_count_is_kept() -> None:
    pools = numeric_threads({**clean_env(), "OMP_NUM_THREADS": "3", "OPENBLAS_NUM_THREADS": "3"})
    assert ["openmp", 3] in pools, pools  # (OpenBLAS caps its own at the machine's cores)
