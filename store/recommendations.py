"""The optimisation catalog in Postgres: the recommendations' lifecycle, check history and realised savings
(the reads behind CheckInputs are store/catalog_reads.py and store/catalog_scan.py).

Lifecycle: a finding's fingerprint (check, project, subject) is the row's key, so a refresh updates
yesterday's recommendation instead of adding a twin. `present` says whether it fired in the latest
catalog run (a check that failed in it leaves its findings as they were: it said nothing of them;
store/check_outcomes.py records how each check fared). The status is derived, in this order: a decision
in meter.recommendation_decisions ('accepted', 'dismissed'); a suppression in meter.check_suppressions of
its check for its project or the whole workspace ('suppressed'); a finding that no longer fires
('resolved'); else 'open'.
`apply_statuses` re-derives it without recomputing anything (the dashboard's task after a decision).

The catalog's headline (analysis.catalog_summary): what the open recommendations come to, by kind of money.
Its monthly figure combines the open monthly findings on one bill per project and model
(checks/overlap.py); the run keeps what every subset of each scope's findings saves
(analysis.catalog_combinations), so `write_summary` follows a decision without recomputing the catalog.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from checks import CheckOutcome
from checks.base import ANOMALY, MONTH_DAYS, MONTHLY, ONE_OFF, Finding
from checks.overlap import Combination, ScopeCombination
from checks.usage import NO_PROJECT
from core.db import Conn
from store.check_outcomes import write_outcomes
from store.frames import PROMPT_KEY_SQL as PROMPT_KEY_SQL  # the key store.frames derives


def _execute_many(tx: Conn, query: str, rows: Sequence[Sequence[object]]) -> None:
    """`query` once per row, in one pipeline; nothing at all for no rows (psycopg's executemany would still open
    and sync a pipeline: a round trip, and most of a millisecond when a catalog run has no findings to write)."""
    if rows:
        with tx.cursor() as cursor:
            cursor.executemany(query, rows)


# -- writes of the catalog --------------------------------------------------------------------------


def write_findings(tx: Conn, workspace_id: int, run_id: int, as_of: datetime, findings: Sequence[Finding],
                   combination: Combination | None = None, outcomes: Sequence[CheckOutcome] = ()) -> dict[str, int]:
    """Upsert the findings by fingerprint, mark the others absent, record check history, derive statuses,
    and replace the workspace's combination and summary (`combination`: checks.overlap.combine's, for the
    findings given; None: no finding combined, each quote on its own). `outcomes`: how each check fared
    (analysis.check_outcomes); a check that failed says nothing of its earlier findings, which keep their
    state, and the summary leaves it out. The counts by status."""
    return write_catalog(tx, workspace_id, run_id, as_of, findings, combination, outcomes)[0]


def write_catalog(tx: Conn, workspace_id: int, run_id: int, as_of: datetime, findings: Sequence[Finding],
                  combination: Combination | None = None,
                  outcomes: Sequence[CheckOutcome] = ()) -> tuple[dict[str, int], CatalogSummary]:
    """write_findings, and the summary it wrote (the catalog stage's run stats: no read of it back)."""
    # in one pipeline: the statements are sent together and their results awaited only where one is read
    # (the statuses, the open recommendations, the combination), three round trips instead of a dozen
    with tx.pipeline():
        return _write_catalog(tx, workspace_id, run_id, as_of, findings, combination, outcomes)


def _write_catalog(tx: Conn, workspace_id: int, run_id: int, as_of: datetime, findings: Sequence[Finding],
                   combination: Combination | None,
                   outcomes: Sequence[CheckOutcome]) -> tuple[dict[str, int], CatalogSummary]:
    failed = sorted(o.check_id for o in outcomes if o.failed)
    rows = [(workspace_id, f.fingerprint, f.check_id, f.project_id, f.title, f.rationale, f.monthly_saving_nanos,
             f.recurrence, f.impact_nanos, f.confidence, f.request_count, list(f.sample_request_ids),
             json.dumps(f.evidence, default=str), as_of, as_of, run_id) for f in findings]
    _execute_many(
        tx,
        """insert into analysis.recommendations (workspace_id, fingerprint, check_id, project_id, title,
               rationale, monthly_saving_nanos, recurrence, impact_nanos, confidence, request_count,
               sample_request_ids, evidence, status, first_seen_at, last_seen_at, run_id, present)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, 'open', %s, %s, %s, true)
           on conflict (workspace_id, fingerprint) do update set
               check_id = excluded.check_id, project_id = excluded.project_id, title = excluded.title,
               rationale = excluded.rationale, monthly_saving_nanos = excluded.monthly_saving_nanos,
               recurrence = excluded.recurrence, impact_nanos = excluded.impact_nanos,
               confidence = excluded.confidence, request_count = excluded.request_count,
               sample_request_ids = excluded.sample_request_ids, evidence = excluded.evidence,
               first_seen_at = least(recommendations.first_seen_at, excluded.first_seen_at),
               last_seen_at = greatest(recommendations.last_seen_at, excluded.last_seen_at),
               run_id = excluded.run_id, present = true""",
        rows,
    )
    tx.execute("""update analysis.recommendations set present = false
                  where workspace_id = %s and present and not (fingerprint = any(%s)) and not (check_id = any(%s))""",
               (workspace_id, [f.fingerprint for f in findings], failed))
    _record_history(tx, workspace_id, as_of, {(f.check_id, f.project_id) for f in findings})
    if outcomes:
        write_outcomes(tx, workspace_id, run_id, as_of, outcomes)
    statuses = apply_statuses(tx, workspace_id)
    combination = combination or Combination()
    _replace_combination(tx, workspace_id, run_id, combination)
    return statuses, write_summary(tx, workspace_id, run_id, as_of, combination.days_observed, failed,
                                   combination=combination)


def _record_history(tx: Conn, workspace_id: int, as_of: datetime, fired: Iterable[tuple[str, int | None]]) -> None:
    """One row per check and project that ever fired; a rerun for the same as_of counts once."""
    _execute_many(
        tx,
        """insert into analysis.check_history (workspace_id, check_id, project_id, first_fired_at,
               last_fired_at, times_fired)
           values (%s, %s, %s, %s, %s, 1)
           on conflict (workspace_id, check_id, project_id) do update set
               first_fired_at = least(check_history.first_fired_at, excluded.first_fired_at),
               times_fired = check_history.times_fired
                             + (excluded.last_fired_at > check_history.last_fired_at)::int,
               last_fired_at = greatest(check_history.last_fired_at, excluded.last_fired_at)""",
        [(workspace_id, check_id, project_id, as_of, as_of) for check_id, project_id in sorted(
            fired, key=lambda item: (item[0], -1 if item[1] is None else item[1]))],
    )


def apply_statuses(conn: Conn, workspace_id: int) -> dict[str, int]:
    """Re-derive every recommendation's status from decisions, suppressions and presence; counts by status
    (of the rows the update returns: it sets every row of the workspace, so one round trip counts them all)."""
    rows = conn.execute(
        """with updated as (
           update analysis.recommendations r set status = case
               when d.decision is not null then d.decision
               when exists (select 1 from meter.check_suppressions s
                            where s.workspace_id = r.workspace_id and s.check_id = r.check_id
                              and (s.project_id is null or s.project_id = r.project_id)) then 'suppressed'
               when not r.present then 'resolved'
               else 'open' end
           from analysis.recommendations x
           left join meter.recommendation_decisions d
                  on d.workspace_id = x.workspace_id and d.fingerprint = x.fingerprint
           where x.id = r.id and r.workspace_id = %s
           returning r.status)
           select status, count(*) from updated group by status""",
        (workspace_id,),
    ).fetchall()
    return {str(status): int(count) for status, count in rows}


# -- the catalog's headline ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogSummary:
    run_id: int  # the catalog run, or the apply_decisions run that brought it up to date
    computed_at: datetime
    open_recommendations: int
    monthly_saving_nanos: int  # the open monthly recommendations taken together (checks/overlap.py)
    one_off_nanos: int  # waste already spent, of the open one-off findings (runaway loops)
    anomaly_nanos: int  # spend above the baseline, of the open anomalies (spikes)
    days_observed: int  # the days the quotes were scaled from
    failed_checks: tuple[str, ...] = ()  # checks that failed in the run: every figure above leaves them out

    def as_stats(self) -> dict[str, int]:
        return {"open_recommendations": self.open_recommendations, "monthly_saving_nanos": self.monthly_saving_nanos,
                "one_off_nanos": self.one_off_nanos, "anomaly_nanos": self.anomaly_nanos}


def _replace_combination(tx: Conn, workspace_id: int, run_id: int, combination: Combination) -> None:
    tx.execute("delete from analysis.catalog_combinations where workspace_id = %s", (workspace_id,))
    _execute_many(
        tx,
        """insert into analysis.catalog_combinations (workspace_id, project_id, model, fingerprints,
               subset_savings_nanos, run_id) values (%s, %s, %s, %s, %s, %s)""",
        [(workspace_id, None if s.project_id == NO_PROJECT else s.project_id, s.model, list(s.fingerprints),
          list(s.subset_savings), run_id) for s in combination.scopes])


def read_combination(conn: Conn, workspace_id: int, days_observed: int | None = None) -> Combination:
    """The latest catalog run's combination of the workspace (empty before any run), with the days its
    quotes were scaled from (given, or as the summary keeps them)."""
    rows = conn.execute("""select coalesce(project_id, %s), model, fingerprints, subset_savings_nanos
                           from analysis.catalog_combinations where workspace_id = %s
                           order by coalesce(project_id, %s), model""",
                        (NO_PROJECT, workspace_id, NO_PROJECT)).fetchall()
    if days_observed is None:
        row = conn.execute("select days_observed from analysis.catalog_summary where workspace_id = %s",
                           (workspace_id,)).fetchone()
        days_observed = int(row[0]) if row else MONTH_DAYS
    return Combination(tuple(ScopeCombination(int(r[0]), str(r[1]), tuple(r[2]), tuple(int(x) for x in r[3]))
                             for r in rows), days_observed)


def write_summary(tx: Conn, workspace_id: int, run_id: int, computed_at: datetime, days_observed: int | None = None,
                  failed_checks: Sequence[str] | None = None, *,
                  combination: Combination | None = None) -> CatalogSummary:
    """Replace the workspace's analysis.catalog_summary from its open recommendations as they stand: after a
    catalog run (its results transaction, with the days its quotes were scaled from and the checks that
    failed in it, whose recommendations it leaves out) and after a decision (halton.apply_decisions, keeping
    the run's days and failed checks). `combination`: the one the caller just wrote (read_combination would
    read back the same scopes, in another order the headline does not depend on: a round trip saved); None:
    read it."""
    if failed_checks is None:
        kept = tx.execute("select failed_checks from analysis.catalog_summary where workspace_id = %s",
                          (workspace_id,)).fetchone()
        failed_checks = list(kept[0]) if kept else []
    open_rows = tx.execute("""select fingerprint, recurrence, impact_nanos from analysis.recommendations
                              where workspace_id = %s and status = 'open' and not (check_id = any(%s))""",
                           (workspace_id, list(failed_checks))).fetchall()
    impact: dict[str, int] = {MONTHLY: 0, ONE_OFF: 0, ANOMALY: 0}
    for _fp, recurrence, nanos in open_rows:
        impact[str(recurrence)] += int(nanos)
    if combination is None:
        combination = read_combination(tx, workspace_id, days_observed)
    elif days_observed is not None:
        combination = Combination(combination.scopes, days_observed)
    summary = CatalogSummary(
        run_id, computed_at, len(open_rows),
        combination.headline({str(fp): int(nanos) for fp, recurrence, nanos in open_rows if recurrence == MONTHLY}),
        impact[ONE_OFF], impact[ANOMALY], combination.days_observed, tuple(failed_checks))
    tx.execute(
        """insert into analysis.catalog_summary (workspace_id, run_id, computed_at, open_recommendations,
               monthly_saving_nanos, one_off_nanos, anomaly_nanos, days_observed, failed_checks)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
           on conflict (workspace_id) do update set run_id = excluded.run_id, computed_at = excluded.computed_at,
               open_recommendations = excluded.open_recommendations,
               monthly_saving_nanos = excluded.monthly_saving_nanos, one_off_nanos = excluded.one_off_nanos,
               anomaly_nanos = excluded.anomaly_nanos, days_observed = excluded.days_observed,
               failed_checks = excluded.failed_checks""",
        (workspace_id, summary.run_id, summary.computed_at, summary.open_recommendations,
         summary.monthly_saving_nanos, summary.one_off_nanos, summary.anomaly_nanos, summary.days_observed,
         list(summary.failed_checks)))
    return summary


def catalog_summary(conn: Conn, workspace_id: int) -> CatalogSummary | None:
    """The headline the dashboard, the command line, the demo and the reports show (None: no catalog run)."""
    row = conn.execute("""select run_id, computed_at, open_recommendations, monthly_saving_nanos, one_off_nanos,
                                 anomaly_nanos, days_observed, failed_checks
                          from analysis.catalog_summary where workspace_id = %s""", (workspace_id,)).fetchone()
    if row is None:
        return None
    run_id, computed_at, open_count, monthly, one_off, anomaly, days, failed = row
    return CatalogSummary(run_id, computed_at, open_count, monthly, one_off, anomaly, days, tuple(failed))


# -- what the dashboard and the command line read -----------------------------------------------------


@dataclass(frozen=True)
class Recommendation:
    id: int
    fingerprint: str
    check_id: str
    project: str | None  # slug, None: workspace-wide
    title: str
    rationale: str
    recurrence: str  # 'monthly', 'one_off', 'anomaly'
    impact_nanos: int  # the monthly saving, the waste spent, or the excess over the baseline
    monthly_saving_nanos: int  # 0 unless monthly
    confidence: str
    request_count: int
    sample_request_ids: list[int]
    evidence: dict[str, Any]
    status: str
    first_seen_at: datetime
    last_seen_at: datetime


_READ = """select r.id, r.fingerprint, r.check_id, p.slug, r.title, r.rationale, r.recurrence, r.impact_nanos,
                  r.monthly_saving_nanos, r.confidence, r.request_count, r.sample_request_ids, r.evidence, r.status,
                  r.first_seen_at, r.last_seen_at
           from analysis.recommendations r
                left join meter.projects p on p.id = r.project_id and p.workspace_id = r.workspace_id"""


def recommendations(conn: Conn, workspace_id: int, statuses: Sequence[str] = ("open",)) -> list[Recommendation]:
    """The workspace's recommendations in the given statuses, largest impact first."""
    rows = conn.execute(f"""{_READ} where r.workspace_id = %s and r.status = any(%s)
                            order by r.impact_nanos desc, r.fingerprint""",
                        (workspace_id, list(statuses))).fetchall()
    return [Recommendation(*row) for row in rows]


def recommendation(conn: Conn, workspace_id: int, recommendation_id: int) -> Recommendation | None:
    """One recommendation of the workspace, whatever its status (None: no such id in this workspace)."""
    row = conn.execute(f"{_READ} where r.workspace_id = %s and r.id = %s",
                       (workspace_id, recommendation_id)).fetchone()
    return None if row is None else Recommendation(*row)


# -- realised savings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    fingerprint: str
    check_id: str
    project_id: int | None
    decided_at: datetime
    evidence: dict[str, Any]


def accepted(conn: Conn, workspace_id: int) -> list[Accepted]:
    rows = conn.execute(
        """select r.fingerprint, r.check_id, r.project_id, d.decided_at, r.evidence
           from analysis.recommendations r
           join meter.recommendation_decisions d on d.workspace_id = r.workspace_id and d.fingerprint = r.fingerprint
           where r.workspace_id = %s and d.decision = 'accepted' order by d.decided_at, r.fingerprint""",
        (workspace_id,),
    ).fetchall()
    return [Accepted(*row) for row in rows]


def write_realised(tx: Conn, workspace_id: int, rows: Sequence[tuple[str, date, int, int]],
                   computed_at: datetime, from_month: date | None = None) -> None:
    """Replace the workspace's realised savings, all of them or those of `from_month` on:
    (fingerprint, month, counterfactual, actual) per row."""
    tx.execute("delete from analysis.realised_savings where workspace_id = %s and month >= %s",
               (workspace_id, from_month or date.min))
    with tx.cursor() as cursor:
        cursor.executemany(
            """insert into analysis.realised_savings (workspace_id, fingerprint, month, counterfactual_nanos,
                   actual_nanos, saved_nanos, computed_at) values (%s, %s, %s, %s, %s, %s, %s)""",
            [(workspace_id, fp, month, cf, actual, cf - actual, computed_at) for fp, month, cf, actual in rows],
        )


def earliest_start_synced(conn: Conn, workspace_id: int, after: datetime, upto: datetime,
                          started_from: datetime) -> datetime | None:
    """The earliest started_at, from `started_from` on, of the requests synced in (after, upto]: how far
    back the traffic changed since a run that saw everything synced by `after`."""
    row = conn.execute(
        """select min(started_at) from meter.requests
           where workspace_id = %s and synced_at > %s and synced_at <= %s and started_at >= %s""",
        (workspace_id, after, upto, started_from)).fetchone()
    return None if row is None else row[0]


def realised_total(conn: Conn, workspace_id: int) -> int:
    """What accepted recommendations have saved so far, in nanos (analysis.realised_savings_total)."""
    row = conn.execute("select saved_nanos from analysis.realised_savings_total where workspace_id = %s",
                       (workspace_id,)).fetchone()
    return 0 if row is None or row[0] is None else int(row[0])
