"""The failure classes every job speaks. No Celery here: domain code may raise these."""

from typing import TypeVar

T = TypeVar("T")


class FleetError(Exception):
    """Base for errors the fleet raises on purpose."""


class UserError(FleetError):
    """Bad input a person must fix (a malformed paste, a missing project, an unknown slug).

    Never retried: the run fails at once and stores this message for the dashboard.
    """


class ConfigError(FleetError):
    """A missing or malformed setting; start-up stops with this one line."""


class TransientError(FleetError):
    """A failure worth retrying with backoff (a provider 429/5xx, a dropped connection)."""


class JobBusy(TransientError):
    """Another run of the same job and workspace holds the lock for different work; try again later."""


class GiveUpError(FleetError):
    """A job that keeps killing its worker (out of memory, a hard time limit): stop redelivering it."""


def present(value: T | None, what: str) -> T:
    """`value`, which the code around it guarantees is there (a row an INSERT … RETURNING returns, an id a
    stored request has). An explicit check, not an `assert`: `python -O` would strip that."""
    if value is None:
        raise RuntimeError(f"{what} is missing, which the code guarantees cannot happen")
    return value
