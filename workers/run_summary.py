"""A run's stats as a person reads them: dollars, counts and short words.

`analysis.runs.stats` keeps the raw figures (nanos, flags, digests) for machines; the demo's runs table
and `halton-workers refresh` show these phrases instead, most telling first, so that a line cut at the
terminal's edge loses the least.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from core.money import format_dollars, money, reconciled

Stats = Mapping[str, Any]


def count(n: object, one: str, many: str | None = None) -> str:
    number = int(n) if isinstance(n, int | float | str) else 0
    return f"{number:,} {one if number == 1 else (many or one + 's')}"


def _rollup(stats: Stats) -> list[str]:
    days = int(stats.get("rollup_days_recomputed", 0))
    if days == 0:
        rebuilt = "no day changed"
    else:
        rebuilt = count(days, "day") + " rebuilt" + (" (all)" if stats.get("rollup_full_rebuild") else "")
    parts = [rebuilt]
    if "for_report" in stats:  # first, so a line cut at the edge still tells it from the nightly's
        report = stats["for_report"]
        parts.insert(0, f"for report {report}" if isinstance(report, int) else f"for a report by {report}")
    if days:
        parts.append(count(stats.get("rollup_rows", 0), "row"))
    if stats.get("runs_pruned"):
        parts.append(count(stats["runs_pruned"], "old run") + " pruned")
    return parts


def _clustering(stats: Stats) -> list[str]:
    return [f"{money(int(stats.get('avoidable_nanos', 0)))} avoidable", count(stats.get("loop_incidents", 0), "loop"),
            count(stats.get("clusters", 0), "cluster"), count(stats.get("request_shapes", 0), "shape")]


def _checks(stats: Stats) -> list[str]:
    parts = [count(stats.get("findings", 0), "finding")]
    if "monthly_saving_nanos" in stats:
        parts.append(f"saves {money(int(stats['monthly_saving_nanos']))}/month")
    if stats.get("unpriced_models"):
        parts.append(count(len(stats["unpriced_models"]), "model") + " not priced")
    return parts


def _savings(stats: Stats) -> list[str]:
    accepted, measured = int(stats.get("accepted", 0)), int(stats.get("measured", 0))
    taken = f"{accepted:,} accepted" + (f" ({measured:,} measured)" if measured != accepted else "")
    return [f"{money(int(stats.get('saved_nanos', 0)))} saved", taken]


def _alerts(stats: Stats) -> list[str]:
    parts = [count(stats.get("alerts_raised", 0), "alert") + " raised"]
    if stats.get("deliveries_pending"):
        parts.append(count(stats["deliveries_pending"], "delivery", "deliveries") + " pending")
    return parts


def _reconcile(stats: Stats) -> list[str]:
    where = f"{stats.get('provider', '?')} {str(stats.get('period', ''))[:7]}".strip()
    if stats.get("unchanged"):
        return [where, "unchanged"]
    parts = [where, str(stats.get("band") or stats.get("status") or "")]
    if stats.get("logged_nanos") is not None and stats.get("billed_nanos") is not None:
        # as the reconciliation table prints it: logged and billed rounded, the variance their difference
        variance = reconciled(int(stats["logged_nanos"]), int(stats["billed_nanos"])).variance
        parts.append(f"{format_dollars(variance)} variance")
    elif stats.get("variance_nanos") is not None:  # a run recorded before logged and billed were kept
        parts.append(f"{money(int(stats['variance_nanos']))} variance")
    return parts


def _billing(stats: Stats) -> list[str]:
    return [str(stats.get("provider", "?")), count(stats.get("days", 0), "billed day"),
            count(len(stats.get("months_changed") or []), "month") + " changed"]


def _report(stats: Stats) -> list[str]:
    return [str(stats.get("kind", "report")), count(stats.get("pages", 0), "page"),
            "signed" if stats.get("signed") else "unsigned"]


DESCRIBE: dict[str, Callable[[Stats], list[str]]] = {
    "rollup": _rollup, "clustering": _clustering, "checks": _checks, "savings": _savings, "alerts": _alerts,
    "reconcile": _reconcile, "pull_billing": _billing, "import_billing": _billing, "report": _report,
}


def _plain(stats: Stats) -> list[str]:
    """A job without a phrase of its own: its numbers in words, nanos as dollars, nothing nested."""
    parts = []
    for key, value in sorted(stats.items()):
        words = key.replace("_", " ")
        if key.endswith("_nanos") and isinstance(value, int):
            parts.append(f"{words.removesuffix(' nanos')} {money(value)}")
        elif isinstance(value, bool):
            parts.append(words if value else f"not {words}")
        elif isinstance(value, int | float):
            parts.append(f"{words} {value:,}")
    return parts


def run_summary(job: str, stats: Stats) -> str:
    """One short phrase for a run's stats, e.g. '$40.57 avoidable, 412 clusters, 1 loop, 8 shapes'."""
    if "noop" in stats:  # a stage whose capability has not landed says so in one phrase
        return str(stats["noop"])
    current = stats.get("already_current_to") or stats.get("rollup_already_current_to")
    if current:
        return f"already current to {_moment(current)}"
    return ", ".join(part for part in DESCRIBE.get(job, _plain)(stats) if part)


def _moment(value: object) -> str:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return f"{moment.astimezone(UTC) if moment.tzinfo else moment:%Y-%m-%d %H:%M} UTC"


def refresh_lines(outcome: Mapping[str, Any], slug: str, width: int) -> list[str]:
    """`halton-workers refresh`'s report: a headline, then one line per stage wrapped at `width`."""
    stages = outcome.get("stages", [])
    failed = [s["stage"] for s in stages if s["status"] == "failed"]
    if outcome.get("status") == "succeeded":
        verdict = "succeeded"
    else:
        verdict = f"{', '.join(failed)} failed" if failed else "not every stage ran"
    lines = textwrap.wrap(f"refresh of '{slug}' as of {_moment(outcome.get('as_of'))}: {verdict}", width) or [""]
    name_width = max((len(s["stage"]) for s in stages), default=0)
    for stage in stages:
        lead = f"  {stage['stage']:<{name_width}}  {stage['status']:<9}  "
        if stage["status"] == "succeeded":
            text = run_summary(stage["stage"], stage.get("stats") or {})
        else:  # a failed run's error is written for a person; a skipped one says why
            error = " ".join(str(stage.get("error") or "").split()).removeprefix("skipped ")
            text = f"run {stage['run_id']}: {error}" if stage["status"] == "failed" and stage.get("run_id") else error
        lines += textwrap.wrap(text, width, initial_indent=lead, subsequent_indent=" " * len(lead),
                               break_on_hyphens=False) or [lead.rstrip()]
    return lines
