"""Stage 4: realised savings of accepted recommendations (issue 8).

For each accepted recommendation whose evidence names a counterfactual (a model swap, a tier move),
the traffic in its scope since acceptance priced the way it ran before minus what it cost, per month
(checks.realised), into analysis.realised_savings, replaced as a whole with the run.
"""

from __future__ import annotations

from checks.realised import REALISED_COLUMNS, Decision, measurable, realised
from pricing import load_rates
from store import recommendations as store
from store.frames import empty_frame, read_requests
from store.runs import Run
from workers.stages import Stage, StageContext


def run_savings(ctx: StageContext, run: Run) -> None:
    decisions = [Decision(a.fingerprint, a.project_id, a.decided_at, a.evidence.get("counterfactual"))
                 for a in store.accepted(ctx.conn, ctx.workspace_id)]
    measured = [d for d in decisions if measurable(d.counterfactual) and d.decided_at < ctx.as_of]
    since = min((d.decided_at for d in measured), default=ctx.as_of)
    requests = read_requests(ctx.conn, ctx.workspace_id, since, ctx.as_of, REALISED_COLUMNS, synced_by=ctx.as_of) \
        if measured else empty_frame(REALISED_COLUMNS)
    rows = realised(measured, requests, load_rates())
    with run.results() as tx:
        store.write_realised(tx, ctx.workspace_id, rows, ctx.as_of)
        run.stats.update({"accepted": len(decisions), "measured": len(measured),
                          "saved_nanos": sum(cf - actual for _fp, _m, cf, actual in rows)})


STAGE = Stage(name="savings", needs=("checks",), run=run_savings, keep_newer=True)
