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
    tx.execute("delete from analysis.check_outcomes where workspace_id = %s and not (check_id = any(%s))",
               (workspace_id, [o.check_id for o in outcomes]))  # a check no longer in the catalog
    with tx.cursor() as cursor:
        cursor.executemany(
            """insert into analysis.check_outcomes (workspace_id, check_id, run_id, as_of, status, findings, error,
                   error_ref, failing_since, last_ok_at)
               values (%(ws)s, %(check)s, %(run)s, %(as_of)s, %(status)s, %(findings)s, %(error)s, %(ref)s,
                       case when %(failed)s then %(as_of)s end, case when not %(failed)s then %(as_of)s end)
               on conflict (workspace_id, check_id) do update set
                   run_id = excluded.run_id, as_of = excluded.as_of, status = excluded.status,
                   findings = excluded.findings, error = excluded.error, error_ref = excluded.error_ref,
                   failing_since = case when excluded.status = 'failed'
                                        then coalesce(check_outcomes.failing_since, excluded.as_of) end,
                   last_ok_at = case when excluded.status = 'ok'
                                     then greatest(check_outcomes.last_ok_at, excluded.as_of)
                                     else check_outcomes.last_ok_at end""",
            [{"ws": workspace_id, "check": o.check_id, "run": run_id, "as_of": as_of,
              "status": "failed" if o.failed else "ok", "findings": o.findings, "error": outcome_error(o)[0],
              "ref": outcome_error(o)[1], "failed": o.failed}
             for o in outcomes],
        )


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
