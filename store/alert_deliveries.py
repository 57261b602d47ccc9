"""Delivering alerts (issue 17 item 5): claiming one (alert, channel) row at a time, recording its outcome,
and the listing `halton-workers alerts` prints.

A claim is `select … for update of d skip locked` inside the transaction that also records the outcome:
the row stays locked while its delivery is sent, so a second worker (or the command line) skips it and can
never send it too; a worker that dies mid-delivery rolls its transaction back and the row is pending again
(sent at most once more, with the same X-Halton-Event-Id for the receiver to drop). Only pending rows are
claimed, and a delivered or failed row is never claimed again. The status 'delivering' of 0018 is not
written: a row being delivered is one that is locked.

Every query pairs an alert with channels of its own workspace (and the workspace the caller named), so an
alert of one workspace never reaches another's channel.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core.db import Conn

REVOKED = "the channel was revoked before the alert was delivered"


@dataclass(frozen=True)
class ClaimedDelivery:
    """A locked pending row with what the delivery needs: the alert, its names, the channel's ciphertexts."""

    alert_id: int
    channel_id: int
    attempts: int  # requests sent in earlier rounds
    workspace_id: int
    workspace_slug: str
    workspace_name: str
    kind: str
    scope: str
    scope_id: int | None
    scope_name: str | None
    period: dt.date
    opened_at: dt.datetime
    threshold_percent: int | None
    amount_nanos: int
    details: dict[str, Any]
    channel_kind: str
    url_ciphertext: bytes = field(repr=False)  # encrypted, and still kept out of logs and Sentry's frame locals
    secret_ciphertext: bytes | None = field(repr=False)

    @property
    def key(self) -> tuple[int, int]:
        return self.alert_id, self.channel_id


def fail_revoked(conn: Conn, workspace_id: int) -> int:
    """Pending deliveries to a channel revoked (or deleted) since the alert was raised: failed, saying so."""
    return conn.execute(
        """update analysis.alert_deliveries d set status = 'failed', last_error = %s
             from analysis.alerts a
            where a.id = d.alert_id and a.workspace_id = %s and d.status = 'pending'
              and not exists (select 1 from meter.alert_channels c
                               where c.id = d.channel_id and c.workspace_id = a.workspace_id
                                 and c.revoked_at is null)""",
        (REVOKED, workspace_id),
    ).rowcount


def claim_next(tx: Conn, workspace_id: int, skip: Sequence[tuple[int, int]] = ()) -> ClaimedDelivery | None:
    """Lock the next pending delivery of the workspace to a live channel of its own, not in `skip` (those tried
    in this round), or None. Call inside the transaction that records its outcome."""
    row = tx.execute(
        """select d.alert_id, d.channel_id, d.attempts, a.workspace_id, w.slug, w.name, a.kind, a.scope,
                  a.scope_id,
                  case a.scope
                       when 'project' then (select p.name from meter.projects p
                                             where p.id = a.scope_id and p.workspace_id = a.workspace_id)
                       when 'cost_center' then (select cc.name from meter.cost_centers cc
                                                 where cc.id = a.scope_id and cc.workspace_id = a.workspace_id)
                       when 'device' then (select dv.name from meter.devices dv
                                            where dv.id = a.scope_id and dv.workspace_id = a.workspace_id)
                  end,
                  a.period, a.opened_at, a.threshold_percent, a.amount_nanos, a.details,
                  c.kind, c.url_ciphertext, c.secret_ciphertext
             from analysis.alert_deliveries d
             join analysis.alerts a on a.id = d.alert_id
             join meter.alert_channels c on c.id = d.channel_id and c.workspace_id = a.workspace_id
             join meter.workspaces w on w.id = a.workspace_id
            where a.workspace_id = %(ws)s and d.status = 'pending' and c.revoked_at is null
              and not exists (select 1 from unnest(%(alerts)s::bigint[], %(channels)s::bigint[]) t(alert_id, channel_id)
                               where t.alert_id = d.alert_id and t.channel_id = d.channel_id)
            order by d.alert_id, d.channel_id
            limit 1
            for update of d skip locked""",
        {"ws": workspace_id, "alerts": [a for a, _ in skip], "channels": [c for _, c in skip]},
    ).fetchone()
    if row is None:
        return None
    (alert_id, channel_id, attempts, ws, slug, name, kind, scope, scope_id, scope_name, period, opened_at,
     threshold, amount, details, channel_kind, url_ciphertext, secret_ciphertext) = row
    return ClaimedDelivery(alert_id, channel_id, attempts, ws, slug, name, kind, scope, scope_id, scope_name, period,
                           opened_at, threshold, amount, dict(details), channel_kind, bytes(url_ciphertext),
                           None if secret_ciphertext is None else bytes(secret_ciphertext))


def record_outcome(tx: Conn, claimed: ClaimedDelivery, status: str, attempts: int, last_error: str | None,
                   delivered_at: dt.datetime | None) -> None:
    """The claimed row's outcome: 'delivered', 'failed', or 'pending' again (to be tried in a later round).
    `attempts` are the requests this round sent; last_error is a sentence without a URL or a secret."""
    tx.execute(
        """update analysis.alert_deliveries
              set status = %s, attempts = attempts + %s, last_error = %s, delivered_at = %s
            where alert_id = %s and channel_id = %s and status = 'pending'""",
        (status, attempts, last_error, delivered_at, claimed.alert_id, claimed.channel_id),
    )


@dataclass(frozen=True)
class ListedAlert:
    id: int
    opened_at: dt.datetime
    kind: str
    scope: str
    scope_id: int | None
    threshold_percent: int | None
    amount_nanos: int
    delivered: int
    pending: int
    failed: int
    last_error: str | None  # of a failed or retried delivery, for the person reading the list
    scope_name: str | None = None  # the project's slug, the cost center's or the device's name


def workspace_alerts(conn: Conn, workspace_id: int, limit: int = 50) -> list[ListedAlert]:
    """The workspace's latest alerts, newest first, with how their deliveries stand."""
    rows = conn.execute(
        """select a.id, a.opened_at, a.kind, a.scope, a.scope_id, a.threshold_percent, a.amount_nanos,
                  count(*) filter (where d.status = 'delivered'),
                  count(*) filter (where d.status in ('pending', 'delivering')),
                  count(*) filter (where d.status = 'failed'),
                  (array_agg(d.last_error order by d.channel_id) filter (where d.last_error is not null
                                                                         and d.status <> 'delivered'))[1],
                  case a.scope when 'project' then (select p.slug from meter.projects p
                                                     where p.workspace_id = a.workspace_id and p.id = a.scope_id)
                               when 'cost_center' then (select c.name from meter.cost_centers c
                                                         where c.workspace_id = a.workspace_id and c.id = a.scope_id)
                               when 'device' then (select v.name from meter.devices v
                                                    where v.workspace_id = a.workspace_id and v.id = a.scope_id)
                  end
             from analysis.alerts a
             left join analysis.alert_deliveries d on d.alert_id = a.id
            where a.workspace_id = %s
            group by a.id
            order by a.opened_at desc, a.id desc
            limit %s""",
        (workspace_id, limit),
    ).fetchall()
    return [ListedAlert(*row) for row in rows]
