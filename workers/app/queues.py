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
    # exports decrypt destination credentials: the billing queue, whose workers alone hold the key
    "halton.export_fanout": Family.FANOUT,
    "halton.export_workspace": Family.BILLING,
    "halton.export": Family.BILLING,
}


# Task priorities on the Redis transport (docs/DESIGN.md, "Fairness"). kombu keeps one list per queue and
# priority step, and a worker's BRPOP names every queue's step-0 list before any queue's step-9 list, so a
# message sent at HEAVY_PRIORITY is taken only when no message of a higher priority (a lower number, 0 the
# highest) waits in any queue the worker consumes. A message sent without a priority is at 0.
PRIORITY_STEPS = (0, 3, 6, 9)
SMALL_PRIORITY = 0
HEAVY_PRIORITY = 9
REDIS_PRIORITY_SEPARATOR = "\x06\x16"  # kombu.transport.redis.Channel.sep


def priority_lists(queue: str) -> list[str]:
    """The Redis lists that hold the waiting messages of `queue`: the queue's own name for priority 0, then
    one list per lower priority step (kombu's naming); what a queue's length is the sum of."""
    return [queue if step == 0 else f"{queue}{REDIS_PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS]


def worker_queues(settings: Settings) -> list[str]:
    """The queues a worker started without --queues consumes: every one, the heavy queue last."""
    return [settings.queue_analysis, settings.queue_billing, settings.queue_pdf, settings.queue_heavy]


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
