"""Clustering requests by prompt_hash: prompt clusters, loop incidents and request shapes (pure:
numpy, pandas, scikit-learn; no SQL, no Celery).

    result = cluster_requests(frame, ClusterRules(min_cacheable_tokens=...))  # clusters + incidents
    shapes = request_shapes(cells, seed=0)                                    # per-project shapes
"""

from clustering.loops import INCIDENT_COLUMNS, LoopRules, find_loop_incidents
from clustering.prompts import (
    CLUSTER_COLUMNS,
    DEFAULT_CACHE_LIFETIMES,
    EXTENDED_CACHE_LIFETIMES,
    KINDS,
    ClusterResult,
    ClusterRules,
    cluster_requests,
)
from clustering.shapes import CELL_COLUMNS, SHAPE_COLUMNS, request_shapes, time_profile

__all__ = [
    "CELL_COLUMNS",
    "CLUSTER_COLUMNS",
    "DEFAULT_CACHE_LIFETIMES",
    "EXTENDED_CACHE_LIFETIMES",
    "INCIDENT_COLUMNS",
    "KINDS",
    "SHAPE_COLUMNS",
    "ClusterResult",
    "ClusterRules",
    "LoopRules",
    "cluster_requests",
    "find_loop_incidents",
    "request_shapes",
    "time_profile",
]
