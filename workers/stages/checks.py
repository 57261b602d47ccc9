"""Stage 3: the optimisation catalog (issue 8). A no-op until the catalog lands."""

from __future__ import annotations

from store.runs import Run
from workers.stages import Stage, StageContext


def run_checks(ctx: StageContext, run: Run) -> None:
    with run.results():
        run.stats["noop"] = "the optimisation catalog has not landed yet"


STAGE = Stage(name="checks", needs=("rollup", "clustering"), run=run_checks)
