"""Clustering requests by prompt_hash: prompt clusters, loop incidents and request shapes (pure:
numpy, pandas; no SQL, no Celery).

    result = cluster_requests(frame, ClusterRules(min_cacheable_tokens=...))  # clusters + incidents
    shapes = request_shapes(cells, seed=0)                                    # per-project shapes
"""

from clustering.loops import INCIDENT_COLUMNS, LoopRules, find_loop_incidents
from clustering.prompts import (
    CLUSTER_COLUMNS,
    KINDS,
    ClusterResult,
    ClusterRules,
    cluster_requests,
    default_cache_lifetimes,
    extended_cache_lifetimes,
)
from clustering.shapes import CELL_COLUMNS, SHAPE_COLUMNS, request_shapes, time_profile

__all__ = [
    "CELL_COLUMNS",
    "CLUSTER_COLUMNS",
    "INCIDENT_COLUMNS",
    "KINDS",
    "SHAPE_COLUMNS",
    "ClusterResult",
    "ClusterRules",
    "LoopRules",
    "cluster_requests",
    "default_cache_lifetimes",
    "extended_cache_lifetimes",
    "find_loop_incidents",
    "request_shapes",
    "time_profile",
]
