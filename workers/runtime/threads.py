"""One thread per worker process for the numeric libraries (OpenMP, OpenBLAS, MKL).

A worker's parallelism is its pool: one process per core. A numeric library's own thread team (numpy's
OpenBLAS, or an OpenMP runtime) otherwise starts a thread per core in every pool process, whose threads
spin-wait for each other; with the pool already using every core, scikit-learn's k-means (the request
shapes used it before clustering/kmeans.py) took 82 ms on a few dozen cells instead of 6.5 ms on the
project's 2-core machine under load. An operator's own OMP_NUM_THREADS (or OPENBLAS_/MKL_) is kept.
"""

from __future__ import annotations

import os

from threadpoolctl import threadpool_limits

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def one_thread_per_process() -> None:
    """Before the numeric libraries start their threads: the environment for those loaded later (OpenMP reads
    it when a library first loads it), and threadpoolctl's limit for those already loaded (numpy's BLAS)."""
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    given = os.environ["OMP_NUM_THREADS"]
    threadpool_limits(limits=int(given) if given.isdigit() and int(given) > 0 else 1)
