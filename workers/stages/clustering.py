"""Stage 2: prompt clusters and loop incidents (issue 7). A no-op until clustering lands."""

from __future__ import annotations

from store.runs import Run
from workers.stages import Stage, StageContext


def run_clustering(ctx: StageContext, run: Run) -> None:
    with run.results():
        run.stats["noop"] = "clustering has not landed yet"


STAGE = Stage(name="clustering", needs=("rollup",), run=run_clustering)
