"""Stage 2: prompt clusters, loop incidents and request shapes (issue 7); the work is in
workers/clustering_jobs.py."""

from __future__ import annotations

from workers.clustering_jobs import run_clustering
from workers.stages import Stage

STAGE = Stage(name="clustering", needs=("rollup",), run=run_clustering)
