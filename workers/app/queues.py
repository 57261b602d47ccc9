"""Task families: which queue a task goes to and which time limits apply to it."""

from __future__ import annotations

from enum import StrEnum

from workers.settings import Settings


class Family(StrEnum):
    ANALYSIS = "analysis"  # refreshes: rollups, clustering, checks (CPU and Postgres)
    BILLING = "billing"  # provider billing pulls, reconciliation, alert delivery (HTTP; holds the key)
    PDF = "pdf"  # WeasyPrint rendering (memory-heavy)
    FANOUT = "fanout"  # the scheduler's cheap fan-out over workspaces


# Every task the fleet runs, by name: routing and limits never depend on which modules were imported.
TASK_FAMILIES: dict[str, Family] = {
    "halton.refresh_workspace": Family.ANALYSIS,
    "halton.nightly_fanout": Family.FANOUT,
    "halton.render_report": Family.PDF,
    "halton.reconcile": Family.BILLING,
    "halton.pull_billing": Family.BILLING,
    "halton.pull_billing_fanout": Family.FANOUT,
    "halton.reconcile_sweep": Family.BILLING,
    "halton.apply_decisions": Family.ANALYSIS,
    # the billing queue's workers hold HALTON_ENCRYPTION_KEYS, which decrypts the alert channels
    "halton.deliver_alerts": Family.BILLING,
    "halton.pulse": Family.FANOUT,
    "halton.pulse_workspace": Family.ANALYSIS,
}


def queue_for(family: Family, settings: Settings) -> str:
    return {
        Family.ANALYSIS: settings.queue_analysis,
        Family.BILLING: settings.queue_billing,
        Family.PDF: settings.queue_pdf,
        Family.FANOUT: settings.queue_analysis,
    }[family]


def limits_for(family: Family, settings: Settings) -> tuple[int, int]:
    """(soft, hard) seconds."""
    limits = settings.limits
    return {
        Family.ANALYSIS: (limits.analysis_soft, limits.analysis_hard),
        Family.BILLING: (limits.billing_soft, limits.billing_hard),
        Family.PDF: (limits.pdf_soft, limits.pdf_hard),
        Family.FANOUT: (limits.fanout_soft, limits.fanout_hard),
    }[family]
