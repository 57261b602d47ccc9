"""A worker process runs the numeric libraries on one thread each: its pool is the parallelism."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

SCRIPT = """
import json
from workers.runtime.threads import one_thread_per_process
import os
one_thread_per_process()
import clustering, checks, forecast  # the numeric code the worker's tasks load after the call
from threadpoolctl import threadpool_info
pools = sorted({(i["user_api"], i["num_threads"]) for i in threadpool_info()})
print(json.dumps({"pools": pools, "omp": os.environ.get("OMP_NUM_THREADS")}))
"""


def numeric_threads(env: dict[str, str]) -> dict[str, Any]:
    """The loaded libraries' thread pools as [api, threads], and OMP_NUM_THREADS (for an OpenMP library
    loaded later: none of the fleet's own code loads one since the shapes' k-means left scikit-learn)."""
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)
    seen: dict[str, Any] = json.loads(done.stdout)
    return seen


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def test_every_numeric_library_gets_one_thread() -> None:
    seen = numeric_threads(clean_env())
    assert {api for api, _ in seen["pools"]} >= {"blas"}
    assert all(threads == 1 for _, threads in seen["pools"]), seen
    assert seen["omp"] == "1"


def test_an_operators_own_thread_count_is_kept() -> None:
    seen = numeric_threads({**clean_env(), "OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"})
    # (OpenBLAS caps its own at the machine's cores)
    assert ["blas", min(2, os.cpu_count() or 1)] in seen["pools"], seen
    assert seen["omp"] == "2"
