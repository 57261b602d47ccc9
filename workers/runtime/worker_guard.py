"""`halton-workers worker` runs as a role that can only read `meter`, or not at all.

A worker renders hostile strings and talks to provider APIs; if one is taken over, the database role it
holds bounds the damage. `meter` is the customer's record (the sync service's and the dashboard's to
write), so a worker that logs in as a superuser or as a role that can write it refuses to start, before
Celery takes any task. HALTON_ALLOW_PRIVILEGED_WORKER=true lets it start anyway, with a warning; the
settings refuse that outside development.
"""

from __future__ import annotations

import logging

from core.errors import ConfigError
from store.roles import WriteAccess, meter_write_access
from workers.runtime.db import connect
from workers.settings import Settings, role_names

log = logging.getLogger(__name__)


def require_unprivileged_role(settings: Settings) -> None:
    """Connect as DATABASE_URL (one line if unreachable) and refuse a role that can write `meter`."""
    with connect(settings.database_url) as conn:
        login, found = meter_write_access(conn)
    if not found:
        return
    reason = privileged_reason(login, found)
    if settings.allow_privileged_worker:
        log.warning("HALTON_ALLOW_PRIVILEGED_WORKER=true: this worker runs as %s, %s (development only)",
                    login, reason)
        return
    raise ConfigError(f"DATABASE_URL logs in as {login}, {reason}, and a worker may only read meter: point "
                      f"DATABASE_URL at the fleet's role ({role_names().fleet}, which `halton-workers migrate` "
                      "creates), or set HALTON_ALLOW_PRIVILEGED_WORKER=true in development")


def privileged_reason(login: str, found: list[WriteAccess]) -> str:
    """The plainest way the role can write meter, as the middle of a sentence about `login`:
    'a superuser', 'the owner of schema meter', 'which has INSERT on meter.devices (and 2 more tables)',
    'a member of writer (INSERT on meter.devices)'."""
    first = found[0]
    if first.what == "superuser":
        return "a superuser" if first.role == login else f"a member of the superuser {first.role}"
    if first.what == "owner":
        held = f"the owner of {first.target}"
        return held if first.role == login else f"a member of {first.role} ({held})"
    others = len({access.target for access in found if access.target != first.target})
    held = f"{first.what} on {first.target}" + (f" (and {others} more table{'s' * (others > 1)})" if others else "")
    return f"which has {held}" if first.role == login else f"a member of {first.role} ({held})"
