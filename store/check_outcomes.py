"""How each check fared in a workspace's latest catalog run (analysis.check_outcomes).

A check that raises in the nightly stage is recorded here with its error while the other checks' findings
are written (checks.run_isolated); the catalog's headline names the checks it leaves out
(analysis.catalog_summary.failed_checks). The dashboard reads which check fails, since when, and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from checks import CheckOutcome
from core.db import Conn
from core.errors import correlation_id

# what the workspace's people read for a check that raised (its type and message are logged under error_ref)
CHECK_FAILED = ("this check could not run because of a fault on our side; its earlier recommendations are kept "
                "as they were, and it runs again at the next refresh")


def outcome_error(outcome: CheckOutcome) -> tuple[str | None, str | None]:
    """(sentence, reference) stored for a check's outcome: none for a check that ran. The reference is the
    one the stage's log line quotes (core.errors.correlation_id keeps it on the exception)."""
    if not outcome.failed:
        return None, None
    return CHECK_FAILED, correlation_id(outcome.exception) if outcome.exception is not None else None


def write_outcomes(tx: Conn, workspace_id: int, run_id: int, as_of: datetime, outcomes: Sequence[CheckOutcome]) -> None:
    """Replace the workspace's rows with the run's outcomes (in the run's results transaction). A check
    that keeps failing keeps the moment it started to; a rerun of the same moment writes the same rows."""
    errors = [outcome_error(o) for o in outcomes]
    # one statement (a row per check from arrays; it was a statement per check and a delete): the checks'
    # rows upserted, and the rows of a check no longer in the catalog deleted (never one of those upserted)
    tx.execute(
        """with gone as (delete from analysis.check_outcomes
                         where workspace_id = %(ws)s and not (check_id = any(%(checks)s)))
           insert into analysis.check_outcomes (workspace_id, check_id, run_id, as_of, status, findings, error,
               error_ref, failing_since, last_ok_at)
           select %(ws)s, o.check_id, %(run)s, %(as_of)s, case when o.failed then 'failed' else 'ok' end, o.findings,
                  o.error, o.ref, case when o.failed then %(as_of)s end, case when not o.failed then %(as_of)s end
           from unnest(%(checks)s::text[], %(failed)s::boolean[], %(findings)s::integer[], %(errors)s::text[],
                       %(refs)s::text[]) as o (check_id, failed, findings, error, ref)
           on conflict (workspace_id, check_id) do update set
               run_id = excluded.run_id, as_of = excluded.as_of, status = excluded.status,
               findings = excluded.findings, error = excluded.error, error_ref = excluded.error_ref,
               failing_since = case when excluded.status = 'failed'
                                    then coalesce(check_outcomes.failing_since, excluded.as_of) end,
               last_ok_at = case when excluded.status = 'ok'
                                 then greatest(check_outcomes.last_ok_at, excluded.as_of)
                                 else check_outcomes.last_ok_at end""",
        {"ws": workspace_id, "run": run_id, "as_of": as_of, "checks": [o.check_id for o in outcomes],
         "failed": [o.failed for o in outcomes], "findings": [o.findings for o in outcomes],
         "errors": [e[0] for e in errors], "refs": [e[1] for e in errors]})


@dataclass(frozen=True)
class CheckStatus:
    check_id: str
    status: str  # 'ok' or 'failed'
    findings: int
    error: str | None  # a sentence for people (CHECK_FAILED); the details are logged under error_ref
    error_ref: str | None
    failing_since: datetime | None  # the first of the runs it has failed in a row
    last_ok_at: datetime | None
    as_of: datetime
    run_id: int


def check_outcomes(conn: Conn, workspace_id: int) -> list[CheckStatus]:
    """Every check of the workspace's latest catalog run, the failed ones first."""
    rows = conn.execute(
        """select check_id, status, findings, error, error_ref, failing_since, last_ok_at, as_of, run_id
           from analysis.check_outcomes where workspace_id = %s order by status = 'ok', check_id""",
        (workspace_id,)).fetchall()
    return [CheckStatus(*row) for row in rows]
