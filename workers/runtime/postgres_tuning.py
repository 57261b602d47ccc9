"""The Postgres settings production runs with (deploy/runbook.md, "Postgres settings"), which the embedded
server of the demo, the benchmarks and a test run without DATABASE_URL gets too (issue 18 item 6).

Why: `make bench` on a fresh clone ran on the embedded server with initdb's defaults (128 MB of shared
buffers, 4 MB of work_mem, checkpoints every 1 GB of WAL), where clustering's first build on 10M requests
was 3.95x the bare GROUP BY against 1.12x on a tuned server: hash aggregates spilled to disk, bulk loads
forced checkpoints. The figures a newcomer measures should be those of the server the fleet runs on.

The values are for the reference host, a dedicated database machine of 2 cores and 24 GB (this project's
benchmark machine): the memory ones are shares of the RAM (shared_buffers a quarter, effective_cache_size
three quarters, maintenance_work_mem a sixteenth, capped at 1 GB), so a smaller machine gets the same
shares, and the parallel ones follow the cores (at most 2 workers per gather).
"""

from __future__ import annotations

import os

GB = 1024**3
MB = 1024**2
REFERENCE_RAM = 24 * GB
REFERENCE_CORES = 2


def _size(n: int) -> str:
    """Postgres's memory unit text: whole GB when it is one, else MB."""
    return f"{n // GB}GB" if n % GB == 0 else f"{n // MB}MB"


def production_settings(ram_bytes: int = REFERENCE_RAM, cores: int = REFERENCE_CORES) -> dict[str, str]:
    """The settings for a database host with `ram_bytes` of memory and `cores` CPUs."""
    parallel = max(1, min(2, cores))
    return {
        # memory: the working set of a night (the window's requests, the rollups) stays in shared buffers
        "shared_buffers": _size(ram_bytes // 4 // MB * MB),
        "effective_cache_size": _size(ram_bytes * 3 // 4 // MB * MB),
        # the stages' hash aggregates (GROUP BY prompt_hash over a 10M-row window) stay in memory; the fleet
        # opens few connections (HALTON_DB_POOL_MAX per worker process), so 64 MB each is safe
        "work_mem": "64MB",
        "maintenance_work_mem": _size(min(GB, ram_bytes // 16 // MB * MB)),
        "hash_mem_multiplier": "2",
        # parallel scans and aggregates on the big reads
        "max_worker_processes": "8",
        "max_parallel_workers": str(parallel),
        "max_parallel_workers_per_gather": str(parallel),
        "max_parallel_maintenance_workers": str(parallel),
        # WAL and checkpoints: a bulk load (the sync service's, a benchmark's seed) must not checkpoint every GB
        "wal_buffers": "64MB",
        "max_wal_size": "8GB",
        "min_wal_size": "1GB",
        "checkpoint_timeout": "15min",
        "checkpoint_completion_target": "0.9",
        # SSD storage
        "random_page_cost": "1.1",
        "effective_io_concurrency": "200",
    }


def this_machine() -> tuple[int, int]:
    """(RAM in bytes, CPUs) of this machine, for the embedded server."""
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(ram), os.cpu_count() or 1


def embedded_settings() -> dict[str, str]:
    """production_settings sized to this machine, never more than the reference host's."""
    ram, cores = this_machine()
    return production_settings(min(ram, REFERENCE_RAM), min(cores, REFERENCE_CORES))
