"""Stage 4: realised savings of accepted recommendations (issue 8). A no-op until it lands."""

from __future__ import annotations

from store.runs import Run
from workers.stages import Stage, StageContext


def run_savings(ctx: StageContext, run: Run) -> None:
    with run.results():
        run.stats["noop"] = "realised savings have not landed yet"


STAGE = Stage(name="savings", needs=("checks",), run=run_savings)
