"""A run's stats as a person reads them (the demo's runs table, `halton-workers refresh`)."""

from __future__ import annotations

from workers.jobs.run_summary import refresh_lines, run_summary


def test_each_stage_says_what_it_did_in_words_and_dollars() -> None:
    assert run_summary("rollup", {"rollup_days_recomputed": 30, "rollup_full_rebuild": True, "rollup_rows": 48211,
                                  "runs_pruned": 0}) == "30 days rebuilt (all), 48,211 rows"
    assert run_summary("rollup", {"rollup_days_recomputed": 1, "rollup_full_rebuild": False, "rollup_rows": 90,
                                  "runs_pruned": 2}) == "1 day rebuilt, 90 rows, 2 old runs pruned"
    assert run_summary("rollup", {"rollup_days_recomputed": 0, "rollup_full_rebuild": False,
                                  "rollup_rows": 0}) == "no day changed"
    # a rollup a report brought up to date says so first, so it is not read as the nightly's
    assert run_summary("rollup", {"rollup_days_recomputed": 2, "rollup_full_rebuild": False, "rollup_rows": 40,
                                  "for_report": 42}) == "for report 42, 2 days rebuilt, 40 rows"
    assert run_summary("rollup", {"rollup_days_recomputed": 0, "rollup_full_rebuild": False, "rollup_rows": 0,
                                  "for_report": "cli:alice"}) == "for a report by cli:alice, no day changed"
    assert run_summary("clustering", {"days_rebuilt": 31, "clusters": 412, "loop_incidents": 1, "request_shapes": 8,
                                      "avoidable_nanos": 40_565_000_001}) == \
        "$40.57 avoidable, 1 loop, 412 clusters, 8 shapes"
    assert run_summary("checks", {"requests": 90000, "findings": 28, "monthly_saving_nanos": 1_261_714_999_999,
                                  "statuses": {"open": 28}, "unpriced_models": ["mystery-1"]}) == \
        "28 findings, saves $1,261.71/month, 1 model not priced"
    assert run_summary("savings", {"accepted": 3, "measured": 2, "basis": "04441d6da0324f58",
                                   "saved_nanos": 12_000_000_000}) == "$12.00 saved, 3 accepted (2 measured)"


def test_other_jobs_and_unknown_stats_read_as_words() -> None:
    assert run_summary("reconcile", {"provider": "gemini", "period": "2026-12-01", "status": "ok", "band": "red",
                                     "variance_nanos": 3_670_000_000}) == "gemini 2026-12, red, $3.67 variance"
    # with logged and billed kept, the variance the reconciliation table prints ($34.44 − $30.76), not $3.67
    assert run_summary("reconcile", {"provider": "gemini", "period": "2026-12-01", "status": "ok", "band": "red",
                                     "logged_nanos": 34_436_838_820, "billed_nanos": 30_764_900_000,
                                     "variance_nanos": 3_671_938_820}) == "gemini 2026-12, red, $3.68 variance"
    assert run_summary("report", {"kind": "executive", "pages": 2, "signed": True, "sha256": "ab" * 32}) == \
        "executive, 2 pages, signed"
    assert run_summary("someday_job", {"moved_nanos": 1_500_000_000, "rows_read": 1200, "forced": False,
                                       "detail": {"a": 1}}) == "not forced, moved $1.50, rows read 1,200"
    assert run_summary("checks", {"noop": "the catalog has not landed yet"}) == "the catalog has not landed yet"
    assert run_summary("clustering", {"already_current_to": "2026-12-07T02:00:00+00:00"}) == \
        "already current to 2026-12-07 02:00 UTC"


def test_a_refresh_report_names_the_failed_stage_and_wraps_under_its_column() -> None:
    outcome = {"job": "refresh", "workspace_id": 1, "as_of": "2026-11-21T03:00:00+00:00", "status": "failed",
               "stages": [
                   {"stage": "rollup", "status": "succeeded", "run_id": 1, "error": None,
                    "stats": {"rollup_days_recomputed": 2, "rollup_full_rebuild": False, "rollup_rows": 12}},
                   {"stage": "clustering", "status": "failed", "run_id": 2, "stats": {},
                    "error": "meter.requests of workspace 1 on 2026-11-20 hold a prompt_hash that is not a hex "
                             "digest: fix those rows or the daemon's prompt hashing"},
                   {"stage": "checks", "status": "skipped", "run_id": 3, "stats": {},
                    "error": "skipped because clustering failed"}]}
    lines = refresh_lines(outcome, "acme", 64)
    assert lines[0] == "refresh of 'acme' as of 2026-11-21 03:00 UTC: clustering failed"
    assert lines[1] == "  rollup      succeeded  2 days rebuilt, 12 rows"
    assert lines[2].startswith("  clustering  failed     run 2: meter.requests")
    assert all(len(line) <= 64 for line in lines)
    continued = lines[3:lines.index("  checks      skipped    because clustering failed")]
    assert continued and all(line.startswith(" " * 25) and line[25] != " " for line in continued)
