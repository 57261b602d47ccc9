"""Admin keys: Fernet-encrypted at rest, decrypted only in the pulling worker, and never printed:
not in logs, errors, Sentry events (frame locals included) or task arguments."""

from __future__ import annotations

import datetime as dt
import inspect
import logging
from collections.abc import Iterator

import pytest
import sentry_sdk
from cryptography.fernet import Fernet

from adapters.billing import AdminKey, AnthropicCosts
from core.errors import TransientError, UserError
from reconciliation.limits import HttpPolicy
from tests.factories import Conn
from tests.sentry_recorder import Recorder
from tests.unit.billing_server import Answer, Script, billing_server
from workers.runtime import billing_keys
from workers.settings import get_settings

SECRET = "sk-ant-admin01-TOPSECRETKEYMATERIAL0123456789"


@pytest.fixture
def fleet_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@db/h")
    monkeypatch.setenv("REDIS_URL", "redis://r:6379/0")
    monkeypatch.setenv("HALTON_ENCRYPTION_KEY", key)
    get_settings.cache_clear()
    yield key
    get_settings.cache_clear()


def test_a_key_round_trips_through_fernet_and_prints_only_its_hint(fleet_key: str, db_conn: Conn) -> None:
    ciphertext = billing_keys.seal_admin_key(SECRET, 1, 7)
    assert SECRET.encode() not in ciphertext
    key = billing_keys.open_admin_key(db_conn, 1, 7, ciphertext, "sk-ant-admin…6789")
    assert key.reveal() == SECRET
    assert SECRET not in repr(key) and SECRET not in str(key) and SECRET not in f"{key!r} {[key]}"
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(key)


def test_a_key_from_another_fleet_is_a_user_error_that_names_the_hint(fleet_key: str, db_conn: Conn) -> None:
    other = Fernet(Fernet.generate_key()).encrypt(SECRET.encode())
    with pytest.raises(UserError, match="the admin key …6789 cannot be decrypted") as raised:
        billing_keys.open_admin_key(db_conn, 1, 7, other, "sk-ant-admin…6789")  # a stored hint: its last four
    assert SECRET not in str(raised.value) and "sk-ant" not in str(raised.value)


def test_a_key_shows_its_last_four_characters_and_nothing_else() -> None:
    key = AdminKey(SECRET)
    assert key.hint == "…6789" and repr(key) == "AdminKey('…6789')"
    assert AdminKey("sk-short-12345").hint == "…"  # a short key would be mostly shown by its last four


def test_no_task_takes_a_key_as_an_argument(fleet_key: str) -> None:
    from workers.tasks import reconcile as tasks_reconcile

    for task in (tasks_reconcile.reconcile_task, tasks_reconcile.pull_billing_task,
                 tasks_reconcile.pull_billing_fanout_task, tasks_reconcile.reconcile_sweep_task):
        names = set(inspect.signature(task.run).parameters)
        assert not names & {"key", "admin_key", "api_key", "ciphertext", "secret"}, task.name


def test_a_failing_pull_sends_sentry_an_event_without_the_key(caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder()
    sentry_sdk.init(dsn="http://public@127.0.0.1:9/1", transport=recorder, include_local_variables=True,
                    default_integrations=False)
    caplog.set_level(logging.DEBUG)
    try:
        with billing_server(Script([Answer(503, {"error": SECRET})])) as base:
            api = AnthropicCosts(AdminKey(SECRET), base, attempts=2, sleep=lambda s: None,
                                 http=HttpPolicy(allow_insecure_http=True))
            try:
                api.daily_costs(dt.date(2026, 11, 1), dt.date(2026, 12, 1))
            except TransientError as error:
                sentry_sdk.capture_exception(error)
        sentry_sdk.flush(timeout=5)
    finally:
        sentry_sdk.init()
    sent = b"".join(envelope.serialize() for envelope in recorder.envelopes)
    assert b"TransientError" in sent, "the event was captured, with its frames"
    assert SECRET.encode() not in sent and SECRET not in caplog.text
