"""Alert delivery rounds (issue 17 item 5) against real local receivers: one signed POST per alert and
channel, a retried 503 delivered once, refused destinations never reached, no alert at another workspace's
channel, and no URL or secret in a row or a log line."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import sentry_sdk
from cryptography.fernet import Fernet
from prometheus_client import REGISTRY

from adapters.alert_delivery import alert_event_id
from adapters.delivery import DeliveryOptions, Outbound
from adapters.destinations import DestinationPolicy
from adapters.webhooks import verify_signature
from core.errors import ConfigError
from store import alert_deliveries
from store.tenancy import workspace_scope
from tests.factories import Conn, make_workspace
from tests.sentry_recorder import Recorder
from tests.store.alert_scene import AS_OF, DOLLAR, add_channel, put_forecast, set_workspace_budget
from tests.unit.webhook_receiver import Reply, RoutedNetwork, ScriptedResolver, receiver
from workers.jobs.alert_delivery import MAX_ATTEMPTS, deliver_pending
from workers.jobs.alerts import raise_alerts
from workers.runtime.stored_secrets import rotate_stored_secrets
from workers.settings import get_settings

SECRET = "whsec_d3l1very_s3cr3t_0123456789"
TOKEN = "t0k3nInTheQuery0123"
OPTIONS = DeliveryOptions(attempts=4, connect_timeout=2, read_timeout=2, write_timeout=2)


def no_sleep(seconds: float) -> None:
    return None


def lenient(**kwargs: Any) -> Outbound:
    """HALTON_ALLOW_PRIVATE_DESTINATIONS=true's rules, as the tests' local receivers need; no waiting."""
    return Outbound(DestinationPolicy(allow_private=True), OPTIONS, sleep=no_sleep, **kwargs)


@pytest.fixture
def fernet(fleet_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Fernet]:
    for name, value in fleet_env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield Fernet(fleet_env["HALTON_ENCRYPTION_KEY"].encode())
    get_settings.cache_clear()


def workspace(conn: Conn, spent: int = 85) -> int:
    """A workspace whose month crossed 50 % of its budget (and 80 % with the default $85): alerts to raise."""
    ws = make_workspace(conn, "acme").workspace_id
    set_workspace_budget(conn, ws, 100 * DOLLAR)
    put_forecast(conn, ws, spent=spent * DOLLAR, forecast=99 * DOLLAR)
    return ws


def raise_now(conn: Conn, ws: int) -> list[int]:
    with conn.transaction():
        return raise_alerts(conn, ws, AS_OF, actor="worker:test").alert_ids


def deliveries(conn: Conn) -> list[tuple[Any, ...]]:
    return conn.execute("""select alert_id, channel_id, status, attempts, last_error, delivered_at is not null
                             from analysis.alert_deliveries order by alert_id, channel_id""").fetchall()


def test_each_alert_reaches_a_webhook_once_signed_and_a_rerun_sends_nothing(db_conn: Conn, fernet: Fernet) -> None:
    ws = workspace(db_conn)
    with receiver() as hook:
        channel = add_channel(db_conn, fernet, ws, "webhook", hook.url(f"/halton?token={TOKEN}"), SECRET)
        alerts = raise_now(db_conn, ws)
        first = deliver_pending(db_conn, ws, lenient())
        again = deliver_pending(db_conn, ws, lenient())
    assert (first.delivered, first.failed, first.retry_later) == (2, 0, 0)
    assert (again.delivered, again.failed, again.retry_later) == (0, 0, 0)
    assert [verify_signature(SECRET, r.headers, r.body) for r in hook.received] == [
        alert_event_id(alert, channel) for alert in alerts]
    assert deliveries(db_conn) == [(alert, channel, "delivered", 1, None, True) for alert in alerts]


def test_a_503_is_retried_and_the_alert_delivered_once(db_conn: Conn, fernet: Fernet) -> None:
    ws = workspace(db_conn, spent=60)  # 50 % only: one alert
    with receiver([Reply(503, b"busy"), Reply(200)]) as hook:
        channel = add_channel(db_conn, fernet, ws, "webhook", hook.url(), SECRET)
        [alert] = raise_now(db_conn, ws)
        deliver_pending(db_conn, ws, lenient())
        deliver_pending(db_conn, ws, lenient())
    assert deliveries(db_conn) == [(alert, channel, "delivered", 2, None, True)]
    first, second = hook.received
    assert first.headers["x-halton-event-id"] == second.headers["x-halton-event-id"] == alert_event_id(alert, channel)
    assert verify_signature(SECRET, second.headers, second.body) == alert_event_id(alert, channel)


def delivery_counts() -> dict[str, float]:
    """halton_alert_deliveries_total by outcome, in this process (the default registry)."""
    return {outcome: REGISTRY.get_sample_value("halton_alert_deliveries_total", {"outcome": outcome}) or 0.0
            for outcome in ("delivered", "failed", "retry_later", "revoked")}


def test_each_rounds_outcomes_are_counted_for_the_metrics(db_conn: Conn, fernet: Fernet) -> None:
    ws = workspace(db_conn, spent=60)
    before = delivery_counts()
    # a round's four tries all answered 500, then the next round's first is accepted
    with receiver([Reply(500)] * OPTIONS.attempts + [Reply(200)]) as hook:
        add_channel(db_conn, fernet, ws, "webhook", hook.url(), SECRET)
        raise_now(db_conn, ws)
        rounds = [deliver_pending(db_conn, ws, lenient()) for _ in range(2)]
    after = delivery_counts()
    assert [(r.delivered, r.retry_later) for r in rounds] == [(0, 1), (1, 0)]
    assert {k: after[k] - before[k] for k in after} == {"delivered": 1, "failed": 0, "retry_later": 1, "revoked": 0}


def test_a_receiver_that_keeps_failing_stays_pending_then_is_given_up(db_conn: Conn, fernet: Fernet) -> None:
    ws = workspace(db_conn, spent=60)
    with receiver([Reply(500)]) as hook:
        channel = add_channel(db_conn, fernet, ws, "webhook", hook.url(f"/in?token={TOKEN}"), SECRET)
        [alert] = raise_now(db_conn, ws)
        rounds = [deliver_pending(db_conn, ws, lenient()) for _ in range(MAX_ATTEMPTS // OPTIONS.attempts)]
        after = deliver_pending(db_conn, ws, lenient())
    assert [r.retry_later for r in rounds] == [1, 1, 1, 0] and rounds[-1].failed == 1 and after.failed == 0
    assert len(hook.received) == MAX_ATTEMPTS
    assert deliveries(db_conn) == [(alert, channel, "failed", MAX_ATTEMPTS,
                                    f"127.0.0.1:{hook.port} answered HTTP 500 Internal Server Error on each of 4 tries",
                                    False)]


def test_a_slack_channel_gets_a_readable_message(db_conn: Conn, fernet: Fernet) -> None:
    ws = workspace(db_conn, spent=60)
    path = "/services/T0ACME/B0ACME/sLaCkT0k3n0123456789"
    with receiver() as slack:
        add_channel(db_conn, fernet, ws, "slack", slack.url(path, host="hooks.slack.com"))
        raise_now(db_conn, ws)
        # hooks.slack.com played by the local receiver: the resolver points the name at it
        result = deliver_pending(db_conn, ws, lenient(resolve=ScriptedResolver(["127.0.0.1"])))
    assert result.delivered == 1
    [request] = slack.received
    assert request.path == path and "x-halton-signature-256" not in request.headers
    assert b"Budget 50% reached" in request.body and b"Workspace Acme has spent $60.00" in request.body


# -- destinations refused without a request reaching them --------------------------------------------------------

def test_a_destination_resolving_to_the_metadata_address_is_refused_without_a_request(db_conn: Conn,
                                                                                       fernet: Fernet) -> None:
    ws = workspace(db_conn, spent=60)
    with receiver() as metadata:  # stands in for 169.254.169.254, should anything connect there
        add_channel(db_conn, fernet, ws, "webhook", f"https://hooks.evil.example:{metadata.port}/x", SECRET)
        raise_now(db_conn, ws)
        network = RoutedNetwork({"169.254.169.254": "127.0.0.1"})
        result = deliver_pending(db_conn, ws, lenient(resolve=ScriptedResolver(["169.254.169.254"]), network=network))
    assert (result.delivered, result.failed) == (0, 1)
    assert metadata.connections == 0 and network.asked == []
    [(_, _, status, attempts, error, _)] = deliveries(db_conn)
    assert (status, attempts) == ("failed", 0)
    assert error == ("webhook destination refused: hooks.evil.example resolves to 169.254.169.254, a cloud metadata "
                     "service address; only public internet addresses are allowed")


def test_loopback_is_refused_unless_the_setting_admits_it_and_the_setting_is_refused_in_production(
        db_conn: Conn, fernet: Fernet, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = workspace(db_conn, spent=60)
    monkeypatch.delenv("HALTON_ALLOW_PRIVATE_DESTINATIONS", raising=False)
    with receiver() as local:
        add_channel(db_conn, fernet, ws, "webhook", f"https://localhost.test:{local.port}/x", SECRET)
        raise_now(db_conn, ws)
        # the task's own Outbound (the setting unset), with DNS answering loopback for the name
        from workers.jobs import alert_delivery as alert_delivery_jobs

        default = alert_delivery_jobs.default_outbound()
        refused = deliver_pending(db_conn, ws, dataclasses.replace(default, resolve=ScriptedResolver(["127.0.0.1"])))
    assert default.policy.allow_private is False
    assert (refused.failed, local.connections) == (1, 0)
    assert deliveries(db_conn)[0][4] == ("webhook destination refused: localhost.test resolves to 127.0.0.1, a "
                                         "loopback address; only public internet addresses are allowed")
    monkeypatch.setenv("HALTON_ALLOW_PRIVATE_DESTINATIONS", "true")
    assert alert_delivery_jobs.default_outbound().policy.allow_private is True
    monkeypatch.setenv("HALTON_ENV", "production")
    with pytest.raises(ConfigError, match="HALTON_ALLOW_PRIVATE_DESTINATIONS=true is for tests and the demo only"):
        alert_delivery_jobs.default_outbound()


def test_a_redirect_to_the_metadata_address_is_not_followed(db_conn: Conn, fernet: Fernet) -> None:
    ws = workspace(db_conn, spent=60)
    with receiver() as metadata, receiver([Reply(302, headers={"Location": "http://169.254.169.254/latest/"})]) as hook:
        add_channel(db_conn, fernet, ws, "webhook", hook.url(), SECRET)
        raise_now(db_conn, ws)
        network = RoutedNetwork({"169.254.169.254": "127.0.0.1"})
        result = deliver_pending(db_conn, ws, lenient(network=network))
    assert (result.failed, len(hook.received), metadata.connections) == (1, 1, 0)
    assert network.asked == ["127.0.0.1"]  # the checked address of the channel, and nothing after the redirect
    assert deliveries(db_conn)[0][2:4] == ("failed", 1)
    assert "a redirect, which is never followed" in deliveries(db_conn)[0][4]


# -- one workspace's alert never reaches another's channel ------------------------------------------------------

def test_an_alert_of_one_workspace_never_reaches_another_workspaces_channel(db_conn: Conn, fernet: Fernet) -> None:
    acme = make_workspace(db_conn, "acme").workspace_id
    globex = make_workspace(db_conn, "globex").workspace_id
    set_workspace_budget(db_conn, acme, 100 * DOLLAR)
    put_forecast(db_conn, acme, spent=60 * DOLLAR, forecast=90 * DOLLAR)
    with receiver() as acme_hook, receiver() as globex_hook:
        add_channel(db_conn, fernet, acme, "webhook", acme_hook.url(), SECRET)
        globex_channel = add_channel(db_conn, fernet, globex, "webhook", globex_hook.url(), "whsec_globex_987654321")
        [alert] = raise_now(db_conn, acme)
        raise_now(db_conn, globex)
        # a row pairing acme's alert with globex's channel (as a bug elsewhere might write it) is never sent
        db_conn.execute("insert into analysis.alert_deliveries (alert_id, channel_id, status)"
                        " values (%s, %s, 'pending')", (alert, globex_channel))
        delivered = [deliver_pending(db_conn, ws, lenient()).delivered for ws in (acme, globex, acme)]
    assert delivered == [1, 0, 0]
    assert len(acme_hook.received) == 1 and globex_hook.connections == 0
    assert db_conn.execute("select status from analysis.alert_deliveries where channel_id = %s",
                           (globex_channel,)).fetchall() == [("failed",)]


def test_two_rounds_at_once_send_each_alert_once(db_conn: Conn, fernet: Fernet, database_url: str) -> None:
    ws = workspace(db_conn)
    with receiver([Reply(200, delay=0.3)]) as slow:
        add_channel(db_conn, fernet, ws, "webhook", slow.url(), SECRET)
        raise_now(db_conn, ws)
        results: list[int] = []

        def round_on_its_own_connection() -> None:
            with psycopg.connect(database_url, autocommit=True) as conn:
                results.append(deliver_pending(conn, ws, lenient()).delivered)

        threads = [threading.Thread(target=round_on_its_own_connection) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(results)[-1] >= 1 and sum(results) == 2
    assert len(slow.received) == 2
    assert len({r.headers["x-halton-event-id"] for r in slow.received}) == 2


# -- secrets ----------------------------------------------------------------------------------------------------

def test_no_url_or_secret_reaches_a_row_or_a_log_line(db_conn: Conn, fernet: Fernet,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ws = workspace(db_conn)
    echo = f"bad request to /hook?token={TOKEN} signed with {SECRET}".encode()
    with receiver([Reply(400, echo)]) as echoing, receiver([Reply(503)]) as failing:
        add_channel(db_conn, fernet, ws, "webhook", echoing.url(f"/hook?token={TOKEN}"), SECRET)
        add_channel(db_conn, fernet, ws, "webhook", failing.url(f"/other?token={TOKEN}"), SECRET)
        add_channel(db_conn, Fernet(Fernet.generate_key()), ws, "webhook", f"https://x.example/?token={TOKEN}",
                    SECRET)  # encrypted with another fleet's key
        raise_now(db_conn, ws)
        result = deliver_pending(db_conn, ws, lenient())
    assert (result.delivered, result.failed, result.retry_later) == (0, 4, 2)
    text = " ".join(str(row) for row in deliveries(db_conn)) + caplog.text + " ".join(result.errors)
    for secret in (TOKEN, SECRET, "/hook", "/other", "s3cr3t"):
        assert secret not in text
    assert "cannot be decrypted by this fleet; enter the channel again in the dashboard" in text
    assert "HALTON_" not in " ".join(str(row) for row in deliveries(db_conn)), "no setting name where people read"


def test_a_delivery_that_breaks_midway_sends_sentry_no_url_or_secret(db_conn: Conn, fernet: Fernet) -> None:
    def broken_clock() -> dt.datetime:  # called while signing, with the URL and secret in the frames below
        raise RuntimeError("the clock broke while signing")

    ws = workspace(db_conn, spent=60)
    recorder = Recorder()
    # the frames' variables as Sentry sends them; not their source lines, for this test's own name the URL
    sentry_sdk.init(dsn="http://public@127.0.0.1:9/1", transport=recorder, include_local_variables=True,
                    include_source_context=False, default_integrations=False)
    try:
        with receiver() as hook:
            add_channel(db_conn, fernet, ws, "webhook", hook.url(f"/hook?token={TOKEN}"), SECRET)
            raise_now(db_conn, ws)
            try:
                deliver_pending(db_conn, ws, lenient(now=broken_clock))
            except RuntimeError as error:
                sentry_sdk.capture_exception(error)
        sentry_sdk.flush(timeout=5)
    finally:
        sentry_sdk.init()
    sent = b"".join(envelope.serialize() for envelope in recorder.envelopes)
    assert b"the clock broke while signing" in sent and b"deliver_pending" in sent  # the event, with its frames
    for secret in (TOKEN, SECRET, "/hook"):
        assert secret.encode() not in sent
    assert deliveries(db_conn)[0][2] == "pending"  # the round's transaction rolled back: sent again later


def test_the_alerts_command_lists_and_delivers_in_80_columns(db_conn: Conn, fleet_env: dict[str, str]) -> None:
    import subprocess
    import sys

    fernet = Fernet(fleet_env["HALTON_ENCRYPTION_KEY"].encode())
    ws = workspace(db_conn)
    with receiver() as hook:
        add_channel(db_conn, fernet, ws, "webhook", hook.url(), SECRET)
        raise_now(db_conn, ws)
        env = {**fleet_env, "HALTON_ALLOW_PRIVATE_DESTINATIONS": "true"}
        done = subprocess.run([sys.executable, "-m", "workers.cli", "alerts", "--workspace", "acme", "--deliver"],
                              env=env, capture_output=True, text=True, timeout=120)
        listed = subprocess.run([sys.executable, "-m", "workers.cli", "alerts", "--workspace", "acme"],
                                env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "delivered 2, failed 0, to try again 0"
    assert len(hook.received) == 2
    lines = listed.stdout.splitlines()
    assert lines[0] == "alerts of 'acme', newest first (UTC); deliveries sent/pending/failed"
    assert max(len(line) for line in lines) <= 80
    assert lines[2].split()[2:] == ["budget", "80%,", "workspace", "$85.00", "1/0/0"]


def test_a_channel_url_copied_from_another_workspace_is_refused_before_any_request(db_conn: Conn,
                                                                                   fernet: Fernet) -> None:
    """Issue 16 item 3: the delivery opens channels through the one function that checks where a secret
    was sealed for; a URL token copied from workspace beta's channel into acme's reaches nobody."""
    ws = workspace(db_conn)
    beta = make_workspace(db_conn, "beta").workspace_id
    with receiver() as hook:
        theirs = add_channel(db_conn, fernet, beta, "webhook", hook.url(f"/beta?token={TOKEN}"), SECRET)
        mine = add_channel(db_conn, fernet, ws, "webhook", "https://hooks.acme.example/in", SECRET)
        assert all(r.complete for r in rotate_stored_secrets(db_conn))  # each sealed for its own row
        db_conn.execute("""update meter.alert_channels set url_ciphertext =
                               (select url_ciphertext from meter.alert_channels where id = %s) where id = %s""",
                        (theirs, mine))
        alerts = raise_now(db_conn, ws)
        result = deliver_pending(db_conn, ws, lenient())
    assert hook.received == [] and result.failed == len(alerts) == 2
    assert {(row[2], row[4]) for row in deliveries(db_conn)} == {
        ("failed", f"the URL of alert channel {mine} was not stored for this alert channel, so it was not used; "
                   "enter the channel again in the dashboard")}
    events = db_conn.execute("""select workspace_id, resource, details->>'column' from analysis.audit_events
                                 where event = 'secret.misplaced'""").fetchall()
    assert events == [(ws, f"meter.alert_channels:{mine}", "url_ciphertext")] * 2


def test_a_copied_channel_url_refused_in_a_round_that_then_fails_keeps_its_audit_event(
        db_conn: Conn, fleet: Conn, fernet: Fernet, monkeypatch: pytest.MonkeyPatch) -> None:
    """The refusal happens inside the delivery's transaction (its claim's lock); when that transaction then
    rolls back (here the outcome cannot be recorded: the connection is lost), the refusal's audit event is
    committed all the same, once, naming no secret, and nothing was sent."""
    ws = workspace(db_conn, spent=60)  # 50 % only: one alert
    beta = make_workspace(db_conn, "beta").workspace_id
    with receiver() as hook:
        theirs = add_channel(db_conn, fernet, beta, "webhook", hook.url(f"/beta?token={TOKEN}"), SECRET)
        mine = add_channel(db_conn, fernet, ws, "webhook", "https://hooks.acme.example/in", SECRET)
        assert all(r.complete for r in rotate_stored_secrets(db_conn))  # each sealed for its own row
        db_conn.execute("""update meter.alert_channels set url_ciphertext =
                               (select url_ciphertext from meter.alert_channels where id = %s) where id = %s""",
                        (theirs, mine))
        [alert] = raise_now(db_conn, ws)

        def lost(*args: Any) -> None:
            raise psycopg.OperationalError("server closed the connection unexpectedly")

        monkeypatch.setattr(alert_deliveries, "record_outcome", lost)
        with workspace_scope(fleet, ws), pytest.raises(psycopg.OperationalError):
            deliver_pending(fleet, ws, lenient())
    assert hook.received == []
    assert deliveries(db_conn) == [(alert, mine, "pending", 0, None, False)], "the round's transaction rolled back"
    copied = db_conn.execute("select url_ciphertext from meter.alert_channels where id = %s", (mine,)).fetchone()
    assert copied is not None
    events = db_conn.execute("""select workspace_id, event, resource, actor || ' ' || details::text
                                  from analysis.audit_events where event like 'secret.%'""").fetchall()
    assert [e[:3] for e in events] == [(ws, "secret.misplaced", f"meter.alert_channels:{mine}")]
    assert not any(s in events[0][3] for s in (TOKEN, SECRET, "beta", bytes(copied[0]).decode()))
