"""The failure classes every job speaks. No Celery here: domain code may raise these."""

from __future__ import annotations

import contextlib
import secrets
from typing import TypeVar

T = TypeVar("T")


class FleetError(Exception):
    """Base for errors the fleet raises on purpose."""

    # True: the message is written for the workspace's people (what happened, what to do; no exception
    # type, library text or setting name), so it is stored as is where they read it (store.runs)
    for_customers = False


class UserError(FleetError):
    """Bad input a person must fix (a malformed paste, a missing project, an unknown slug).

    Never retried: the run fails at once and stores this message for the dashboard.
    """

    for_customers = True


class ConfigError(FleetError):
    """A missing or malformed setting; start-up stops with this one line."""


class TransientError(FleetError):
    """A failure worth retrying with backoff (a provider 429/5xx, a dropped connection)."""


class JobBusy(TransientError):
    """Another run of the same job and workspace holds the lock for different work; try again later."""


class GiveUpError(FleetError):
    """A job that keeps killing its worker (out of memory, a hard time limit): stop redelivering it."""

    for_customers = True


def correlation_id(error: BaseException) -> str:
    """The reference of this failure: stored beside the customer's sentence, logged (and so sent to Sentry)
    with the details. Kept on the exception, so every place that records the same failure quotes the same
    reference."""
    ref = getattr(error, "halton_ref", None)
    if isinstance(ref, str):
        return ref
    ref = f"ref-{secrets.token_hex(5)}"
    with contextlib.suppress(AttributeError):  # a type without a __dict__: each record gets its own reference
        error.halton_ref = ref  # type: ignore[attr-defined]
    return ref

def present(value: T | None, what: str) -> T:
    """`value`, which the code around it guarantees is there (a row an INSERT … RETURNING returns, an id a
    stored request has). An explicit check, not an `assert`: `python -O` would strip that."""
    if value is None:
        raise RuntimeError(f"{what} is missing, which the code guarantees cannot happen")
    return value
