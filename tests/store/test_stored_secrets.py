"""Stored secrets rotate and stay where they belong (issue 16 item 3), on the real Postgres, through the
command line an operator uses (`pull-billing`, `keys rotate`) and against local billing servers."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from store.audit import audit
from store.export_destinations import add_destination, destination_credentials, store_credentials
from store.tenancy import workspace_scope
from tests.factories import Conn, add_request, make_workspace
from tests.unit.billing_server import Answer, Script, anthropic_page, billing_server, openai_page
from workers.runtime.stored_secrets import SecretMisplaced, open_stored_secret, seal_stored_secret

AS_OF = "2026-11-28T03:00:00+00:00"
NOV2 = 1_793_577_600  # 2026-11-02T00:00:00Z
D = 1_000_000_000
CONNECTIONS, CHANNELS = "meter.provider_connections", "meter.alert_channels"
DESTINATIONS = "meter.export_destinations"


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workers.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def with_keys(fleet_env: dict[str, str], *keys: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in fleet_env.items() if k != "HALTON_ENCRYPTION_KEY"}
    return {**env, "HALTON_ENCRYPTION_KEYS": ",".join(keys), **extra}


def use(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """This process reads the same settings as the command it stands for."""
    monkeypatch.delenv("HALTON_ENCRYPTION_KEY", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def connect_billing(conn: Conn, workspace_id: int, provider: str, secret: str) -> int:
    """As the dashboard does: the row first, then its key sealed for that row."""
    row = conn.execute("""insert into meter.provider_connections (workspace_id, provider, admin_key_ciphertext,
                              key_hint) values (%s, %s, '', %s) returning id""",
                       (workspace_id, provider, f"sk-…{secret[-4:]}")).fetchone()
    assert row is not None
    conn.execute("update meter.provider_connections set admin_key_ciphertext = %s where id = %s",
                 (seal_stored_secret(secret, CONNECTIONS, "admin_key_ciphertext", workspace_id, row[0]), row[0]))
    return int(row[0])


def add_channel(conn: Conn, workspace_id: int, url: str, secret: str) -> int:
    row = conn.execute("""insert into meter.alert_channels (workspace_id, kind, url_ciphertext, secret_ciphertext)
                          values (%s, 'webhook', '', '') returning id""", (workspace_id,)).fetchone()
    assert row is not None
    conn.execute("update meter.alert_channels set url_ciphertext = %s, secret_ciphertext = %s where id = %s",
                 (seal_stored_secret(url, CHANNELS, "url_ciphertext", workspace_id, row[0]),
                  seal_stored_secret(secret, CHANNELS, "secret_ciphertext", workspace_id, row[0]), row[0]))
    return int(row[0])


def channel_secrets(conn: Conn, workspace_id: int, channel: int) -> tuple[str, str]:
    row = conn.execute("select url_ciphertext, secret_ciphertext from meter.alert_channels where id = %s",
                       (channel,)).fetchone()
    assert row is not None
    return (open_stored_secret(conn, CHANNELS, "url_ciphertext", workspace_id, channel, row[0]),
            open_stored_secret(conn, CHANNELS, "secret_ciphertext", workspace_id, channel, row[1]))


def add_export_destination(conn: Conn, workspace_id: int, credentials: str) -> int:
    destination = add_destination(conn, workspace_id, "s3", "halton-exports", prefix="exports")
    sealed = seal_stored_secret(credentials, DESTINATIONS, "credentials_ciphertext", workspace_id, destination)
    store_credentials(conn, workspace_id, destination, sealed)
    return destination


def export_credentials(conn: Conn, workspace_id: int, destination: int) -> str:
    ciphertext = destination_credentials(conn, workspace_id, destination)
    assert ciphertext is not None
    return open_stored_secret(conn, DESTINATIONS, "credentials_ciphertext", workspace_id, destination, ciphertext)


def audit_rows(conn: Conn) -> list[tuple[int, str, str, str, str]]:
    """Every audit event as text (workspace, event, resource, actor, details), oldest first."""
    return conn.execute("""select workspace_id, event, resource, actor, details::text from analysis.audit_events
                            order by id""").fetchall()


def names_no_secret(rows: list[tuple[int, str, str, str, str]], *secrets: str | bytes) -> bool:
    text = " ".join(str(field) for row in rows for field in row)
    return not any((s.decode() if isinstance(s, bytes) else s) in text for s in secrets)


def pull(env: dict[str, str], slug: str) -> tuple[subprocess.CompletedProcess[str], Script, Script]:
    openai = Script([Answer(body=openai_page([(NOV2, [(1, "gpt-4.1, input")])]))])
    anthropic = Script([Answer(body=anthropic_page([("2026-11-02", [("100", "claude-sonnet-4-6")])]))])
    with billing_server(openai) as openai_base, billing_server(anthropic) as anthropic_base:
        done = run_cli({**env, "HALTON_OPENAI_BASE_URL": openai_base, "HALTON_ANTHROPIC_BASE_URL": anthropic_base,
                        "HALTON_ALLOW_INSECURE_HTTP": "true"}, "pull-billing", "--workspace", slug, "--as-of", AS_OF)
    return done, openai, anthropic


def test_a_rotated_key_keeps_every_connection_working_and_then_the_old_key_can_go(
        db_conn: Conn, fleet_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = fleet_env["HALTON_ENCRYPTION_KEY"], Fernet.generate_key().decode()
    use(monkeypatch, with_keys(fleet_env, old))
    scene = make_workspace(db_conn, "acme")
    add_request(db_conn, scene, dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC), cost_nanos=D, provider="openai",
                model="gpt-4.1")
    openai_key, anthropic_key = "sk-admin-OPENAI-0123456789abcdef", "sk-ant-admin01-ANTHROPIC-0123456789"
    connect_billing(db_conn, scene.workspace_id, "openai", openai_key)
    connect_billing(db_conn, scene.workspace_id, "anthropic", anthropic_key)
    channel = add_channel(db_conn, scene.workspace_id, "https://hooks.example.com/h/SECRETPATH", "whsec_SIGNING")
    bucket_key = '{"access_key_id": "AKIAEXPORTS000000001", "secret_access_key": "EXPORTS-secret-0123456789"}'
    destination = add_export_destination(db_conn, scene.workspace_id, bucket_key)

    done, _, _ = pull(with_keys(fleet_env, new), "acme")  # the new key alone cannot open what the old sealed
    assert done.returncode == 1 and "cannot be decrypted by this fleet" in done.stderr

    both = with_keys(fleet_env, new, old)  # the new key first seals; the old one, second, still opens
    done, openai, anthropic = pull(both, "acme")
    assert done.returncode == 0, done.stderr
    assert openai.seen[-1].headers["authorization"] == f"Bearer {openai_key}"
    assert anthropic.seen[-1].headers["x-api-key"] == anthropic_key

    rotated = run_cli(both, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.splitlines() == [
        "meter.provider_connections: 2 re-sealed under the newest key (0 of them legacy, now bound to their row), "
        "0 sealed for another row, 0 unreadable",
        "meter.alert_channels: 2 re-sealed under the newest key (0 of them legacy, now bound to their row), "
        "0 sealed for another row, 0 unreadable",
        "meter.export_destinations: 1 re-sealed under the newest key (0 of them legacy, now bound to their row), "
        "0 sealed for another row, 0 unreadable",
        "every stored secret is under the newest key: the older keys can be dropped"]

    alone = with_keys(fleet_env, new)  # the old key dropped
    done, openai, anthropic = pull(alone, "acme")
    assert done.returncode == 0, done.stderr
    assert openai.seen[-1].headers["authorization"] == f"Bearer {openai_key}"
    assert anthropic.seen[-1].headers["x-api-key"] == anthropic_key
    use(monkeypatch, alone)
    assert channel_secrets(db_conn, scene.workspace_id, channel) == ("https://hooks.example.com/h/SECRETPATH",
                                                                     "whsec_SIGNING")
    assert export_credentials(db_conn, scene.workspace_id, destination) == bucket_key
    assert db_conn.execute("select count(*) from analysis.audit_events where event = 'secret.misplaced'"
                           ).fetchone() == (0,)


def test_a_ciphertext_copied_from_another_workspace_is_refused_before_any_request_and_audited(
        db_conn: Conn, fleet_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, fleet_env)
    acme, beta = make_workspace(db_conn, "acme"), make_workspace(db_conn, "beta")
    beta_key = "sk-ant-admin01-BETAS-OWN-KEY-0123456789"
    mine = connect_billing(db_conn, acme.workspace_id, "anthropic", "sk-ant-admin01-ACME-KEY-0123456789")
    theirs = connect_billing(db_conn, beta.workspace_id, "anthropic", beta_key)
    db_conn.execute("""update meter.provider_connections set admin_key_ciphertext =
                           (select admin_key_ciphertext from meter.provider_connections where id = %s)
                        where id = %s""", (theirs, mine))

    done, openai, anthropic = pull(fleet_env, "acme")
    assert anthropic.seen == [] and openai.seen == [], "no request left with the copied key"
    assert done.returncode == 1 and "was not stored for this billing connection, so it was not used" in done.stderr
    assert beta_key not in done.stdout + done.stderr and "beta" not in done.stderr
    events = db_conn.execute("""select workspace_id, event, resource, details->>'sealed_for_this_workspace'
                                  from analysis.audit_events""").fetchall()
    assert events == [(acme.workspace_id, "secret.misplaced", f"meter.provider_connections:{mine}", "false")]
    copied = db_conn.execute("select admin_key_ciphertext from meter.provider_connections where id = %s",
                             (mine,)).fetchone()
    assert copied is not None
    assert names_no_secret(audit_rows(db_conn), beta_key, "BETAS-OWN", bytes(copied[0]), "beta")
    run = db_conn.execute("select status, error from analysis.runs where job = 'pull_billing'").fetchone()
    assert run is not None and run[0] == "failed" and "was not stored for this billing connection" in run[1]

    done, _, anthropic = pull(fleet_env, "beta")  # the key still works in its own row
    assert done.returncode == 0 and anthropic.seen[-1].headers["x-api-key"] == beta_key


def test_a_channel_secret_copied_to_another_row_of_the_same_workspace_is_refused(
        db_conn: Conn, fleet_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, fleet_env)
    scene = make_workspace(db_conn, "acme")
    first = add_channel(db_conn, scene.workspace_id, "https://hooks.slack.com/services/T0/B0/XYZ", "s1")
    second = add_channel(db_conn, scene.workspace_id, "https://example.com/hook", "s2")
    url = db_conn.execute("select url_ciphertext from meter.alert_channels where id = %s", (first,)).fetchone()
    assert url is not None
    with pytest.raises(SecretMisplaced, match="was not stored for this alert channel"):
        open_stored_secret(db_conn, CHANNELS, "url_ciphertext", scene.workspace_id, second, url[0])
    with pytest.raises(SecretMisplaced):  # nor in another column of its own row
        open_stored_secret(db_conn, CHANNELS, "secret_ciphertext", scene.workspace_id, first, url[0])
    assert db_conn.execute("""select resource, details->>'column', details->>'sealed_for_this_workspace'
                                from analysis.audit_events order by id""").fetchall() == [
        (f"meter.alert_channels:{second}", "url_ciphertext", "true"),
        (f"meter.alert_channels:{first}", "secret_ciphertext", "true")]


def test_a_refusal_in_a_transaction_that_rolls_back_keeps_its_audit_event_once(
        db_conn: Conn, fleet: Conn, fleet_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The refusal's audit event is committed on its own: the caller's work around it (here a transaction the
    refusal itself aborts, as the fleet's role under row-level security) rolls back without taking it along."""
    use(monkeypatch, fleet_env)
    acme, beta = make_workspace(db_conn, "acme").workspace_id, make_workspace(db_conn, "beta").workspace_id
    mine = add_channel(db_conn, acme, "https://hooks.example.com/h/ACME", "whsec_ACME")
    theirs = add_channel(db_conn, beta, "https://hooks.example.com/h/BETA-PRIVATE-PATH", "whsec_BETA_SIGNING")
    copied = db_conn.execute("select url_ciphertext from meter.alert_channels where id = %s", (theirs,)).fetchone()
    assert copied is not None
    with workspace_scope(fleet, acme):
        with pytest.raises(SecretMisplaced, match="was not stored for this alert channel"), fleet.transaction():
            audit(fleet, acme, "worker:test", "work.rolled_back", "test", {})  # the caller's own work
            open_stored_secret(fleet, CHANNELS, "url_ciphertext", acme, mine, bytes(copied[0]))
        assert fleet.info.transaction_status.name == "IDLE"
    rows = audit_rows(db_conn)
    assert [row[:3] for row in rows] == [(acme, "secret.misplaced", f"meter.alert_channels:{mine}")]
    assert names_no_secret(rows, "BETA-PRIVATE-PATH", "whsec_BETA_SIGNING", bytes(copied[0]), "beta")


def test_a_legacy_unbound_ciphertext_is_accepted_until_keys_rotate_binds_it_to_its_row(
        db_conn: Conn, fleet_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, fleet_env)
    scene = make_workspace(db_conn, "acme")
    legacy = Fernet(fleet_env["HALTON_ENCRYPTION_KEY"].encode()).encrypt(b"sk-admin-LEGACY-0123456789")
    rows = [db_conn.execute("""insert into meter.provider_connections (workspace_id, provider, admin_key_ciphertext,
                                   key_hint) values (%s, %s, %s, 'sk-…6789') returning id""",
                            (scene.workspace_id, provider, legacy)).fetchone() for provider in ("openai", "xai")]
    first, second = (int(r[0]) for r in rows if r is not None)
    assert open_stored_secret(db_conn, CONNECTIONS, "admin_key_ciphertext", scene.workspace_id, second,
                              legacy) == "sk-admin-LEGACY-0123456789", "a legacy ciphertext opens anywhere"

    rotated = run_cli(fleet_env, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.startswith("meter.provider_connections: 2 re-sealed under the newest key (2 of them legacy")
    bound = db_conn.execute("select admin_key_ciphertext from meter.provider_connections where id = %s",
                            (first,)).fetchone()
    assert bound is not None
    assert open_stored_secret(db_conn, CONNECTIONS, "admin_key_ciphertext", scene.workspace_id, first,
                              bound[0]) == "sk-admin-LEGACY-0123456789"
    with pytest.raises(SecretMisplaced):  # bound now: it no longer opens in another row
        open_stored_secret(db_conn, CONNECTIONS, "admin_key_ciphertext", scene.workspace_id, second, bound[0])


def test_keys_rotate_leaves_what_it_cannot_reseal_and_says_to_keep_the_old_key(
        db_conn: Conn, fleet_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, fleet_env)
    scene = make_workspace(db_conn, "acme")
    good = connect_billing(db_conn, scene.workspace_id, "openai", "sk-admin-GOOD-0123456789")
    foreign = Fernet(Fernet.generate_key()).encrypt(b"sk-admin-FOREIGN-0123456789")
    unreadable = db_conn.execute("""insert into meter.provider_connections (workspace_id, provider,
                                        admin_key_ciphertext, key_hint) values (%s, 'anthropic', %s, 'sk-…6789')
                                    returning id""", (scene.workspace_id, foreign)).fetchone()
    assert unreadable is not None
    rotated = run_cli(fleet_env, "keys", "rotate")
    assert rotated.returncode == 1
    assert rotated.stdout.splitlines()[0] == ("meter.provider_connections: 1 re-sealed under the newest key (0 of them "
                                              "legacy, now bound to their row), 0 sealed for another row, 1 unreadable")
    assert rotated.stderr.strip() == (f"error: left as they were: meter.provider_connections rows {unreadable[0]}; "
                                      "keep the old key until each is stored again (reconnected) or opens")
    kept = db_conn.execute("select admin_key_ciphertext from meter.provider_connections where id = %s",
                           (unreadable[0],)).fetchone()
    assert kept is not None and bytes(kept[0]) == foreign and good != unreadable[0]


def test_keys_rotate_says_it_connects_as_the_owner(fleet_env: dict[str, str]) -> None:
    done = run_cli(fleet_env, "keys", "rotate", "--help")
    assert done.returncode == 0 and "HALTON_OWNER_DATABASE_URL" in done.stdout


def test_once_sealing_is_required_a_legacy_ciphertext_is_refused_and_audited(
        db_conn: Conn, fleet_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, {**fleet_env, "HALTON_REQUIRE_SEALED_SECRETS": "true"})
    scene = make_workspace(db_conn, "acme")
    sealed = add_channel(db_conn, scene.workspace_id, "https://hooks.example.com/h/SEALED", "s1")
    assert channel_secrets(db_conn, scene.workspace_id, sealed) == ("https://hooks.example.com/h/SEALED", "s1")
    legacy = Fernet(fleet_env["HALTON_ENCRYPTION_KEY"].encode()).encrypt(b"https://hooks.example.com/h/OLD")
    with pytest.raises(SecretMisplaced, match="stored in an older form this fleet no longer accepts"):
        open_stored_secret(db_conn, CHANNELS, "url_ciphertext", scene.workspace_id, sealed, legacy)
    assert db_conn.execute("select event, resource from analysis.audit_events").fetchall() == [
        ("secret.unsealed", f"meter.alert_channels:{sealed}")]
