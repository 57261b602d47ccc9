"""Synthetic workspaces: realistic, deterministic meter data with planted patterns to find.

    from synthetic import SeedOptions, seed_workspace, PLANTS
    report = seed_workspace(conn, SeedOptions(slug="acme", days=30, requests_per_day=2000))
"""

from synthetic.options import PLANTS, SeedOptions
from synthetic.report import SeedReport
from synthetic.seed import seed_workspace

__all__ = ["PLANTS", "SeedOptions", "SeedReport", "seed_workspace"]
