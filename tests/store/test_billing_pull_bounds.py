"""One connection answering garbage stops no other (issue 16 item 2), and an export beyond a limit is
refused before anything is written: on a real Postgres, against local billing servers."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet

from adapters.billing import API_CLIENTS, AdminKey, BillingClient
from core.errors import FleetError, UserError
from reconciliation.limits import BillingLimits, HttpPolicy
from tests.factories import Conn, add_request, make_workspace
from tests.unit.billing_server import Answer, Script, anthropic_page, billing_server, openai_page
from workers.jobs import reconcile as jobs
from workers.settings import get_settings

AS_OF = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
NOV2 = 1_793_577_600  # 2026-11-02T00:00:00Z
D = 1_000_000_000
LIMITS = BillingLimits(max_response_bytes=200_000)  # small, so that an oversized answer is quick to send

GARBAGE = {
    "an amount of 1e999999999": (anthropic_page([("2026-11-02", [("1e999999999", "tokens")])]),
                                 "amount '1e999999999' is larger than any bill"),
    "a 131,073-character field": (anthropic_page([("2026-11-02", [("100", "x" * 131_073)])]),
                                  "holds a text of 131,073 characters, longer than the limit of 16,384"),
    "nesting 5,000 deep": ({"data": [], "has_more": False, "deep": "@"},
                           "nests deeper than 32 levels"),
    "an answer over the size limit": (anthropic_page([("2026-11-02", [("100", "y" * 10_000)] * 30)]),
                                      "answered more than the limit of 200,000 bytes"),
    "a day before year 1": ({"has_more": False, "data": [{"starting_at": "0001-01-01T00:00:00+05:00", "results": []}]},
                            "is not an RFC 3339 time"),
    "not JSON": ("<html>gateway</html>", "is not JSON"),
}


@pytest.fixture
def fleet(fleet_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Fernet]:
    for name, value in fleet_env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield Fernet(fleet_env["HALTON_ENCRYPTION_KEY"].encode())
    get_settings.cache_clear()


def workspace(conn: Conn, fernet: Fernet) -> int:
    scene = make_workspace(conn, "acme")
    for provider, model in (("openai", "gpt-4.1"), ("anthropic", "claude-sonnet-4-6")):
        add_request(conn, scene, dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC), cost_nanos=D, provider=provider,
                    model=model)
    for provider in ("openai", "anthropic", "gemini"):  # gemini bills through exports: skipped by the pull
        conn.execute("""insert into meter.provider_connections (workspace_id, provider, admin_key_ciphertext, key_hint)
                        values (%s, %s, %s, 'sk-admin-0123…beef')""",
                     (scene.workspace_id, provider, fernet.encrypt(f"sk-{provider}-0123456789abcdefghij".encode())))
    return scene.workspace_id


def body(answer: Any) -> Any:
    if isinstance(answer, dict) and answer.get("deep") == "@":
        return '{"has_more": false, "data": [], "deep": ' + "[" * 5_000 + "]" * 5_000 + "}"
    return answer


def pull(conn: Conn, ws: int, anthropic_answer: Answer,
         client_for: Any = None) -> tuple[Any, list[tuple[Any, ...]]]:
    good = Script([Answer(body=openai_page([(NOV2, [(1, "gpt-4.1, input")])]))])
    bad = Script([anthropic_answer])
    with billing_server(good) as openai_base, billing_server(bad) as anthropic_base:
        def local(provider: str, key: AdminKey) -> BillingClient:
            base = openai_base if provider == "openai" else anthropic_base
            return API_CLIENTS[provider](key, base, sleep=lambda s: None, http=HttpPolicy(allow_insecure_http=True),
                                         limits=LIMITS)
        outcome: Any
        try:
            outcome = jobs.pull_billing(conn, ws, AS_OF, client_for=client_for(local) if client_for else local)
        except FleetError as error:
            outcome = error
    rows = conn.execute("""select provider, billed_nanos, bill_reference from analysis.reconciliation
                            where period = '2026-11-01' order by 1""").fetchall()
    return outcome, rows


@pytest.mark.parametrize("garbage", GARBAGE)
def test_a_connection_answering_garbage_stops_no_other(garbage: str, db_conn: Conn, fleet: Fernet) -> None:
    ws = workspace(db_conn, fleet)
    answer, says = GARBAGE[garbage]
    outcome, rows = pull(db_conn, ws, Answer(body=body(answer)))
    assert outcome.stats["pulled"] == ["openai"] and outcome.stats["skipped"] == ["gemini"]
    [failed] = outcome.stats["failed"]
    assert failed.startswith("anthropic: ") and says in failed and len(failed) < 300
    assert rows == [("openai", D, "pull:openai_costs_api")], "the good connection was pulled and reconciled"
    run = db_conn.execute("""select status, error from analysis.runs where job = 'pull_billing'
                              and stats->>'provider' is null""").fetchone()
    assert run is not None and run[0] == "failed" and says in run[1]
    hint = db_conn.execute("select details->>'key_hint' from analysis.audit_events where event = 'billing.pulled'")
    assert hint.fetchone() == ("…beef",)


def test_a_fault_in_one_connection_stops_no_other_and_then_fails_the_task_naming_it(
        db_conn: Conn, fleet: Fernet) -> None:
    ws = workspace(db_conn, fleet)

    def breaking_anthropic(local: Any) -> Any:
        def client_for(provider: str, key: AdminKey) -> BillingClient:
            if provider == "anthropic":
                raise RuntimeError("a bug of ours")
            return local(provider, key)  # type: ignore[no-any-return]
        return client_for

    outcome, rows = pull(db_conn, ws, Answer(body=anthropic_page([])), breaking_anthropic)
    assert isinstance(outcome, FleetError)
    assert str(outcome) == (f"billing pull of workspace {ws} failed for anthropic: RuntimeError: a bug of ours "
                            "(pulled: openai)")
    assert rows == [("openai", D, "pull:openai_costs_api")]


def test_an_export_beyond_a_limit_is_refused_and_nothing_is_written(
        db_conn: Conn, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = make_workspace(db_conn, "acme").workspace_id
    monkeypatch.setenv("HALTON_BILLING_MAX_ROWS", "100")
    export = io.BytesIO(("date,cost\n" + "2026-11-02,1\n" * 101).encode())
    with pytest.raises(UserError, match=r"the xai export usage\.csv could not be read: the export has more than the "
                                        r"limit of 100 rows; split it by month"):
        jobs.import_billing_export(db_conn, ws, "xai", export, AS_OF, name="usage.csv")
    assert db_conn.execute("select count(*) from analysis.billing_days").fetchone() == (0,)
    monkeypatch.setenv("HALTON_BILLING_MAX_ROWS", "101")
    export.seek(0)
    outcome = jobs.import_billing_export(db_conn, ws, "xai", export, AS_OF, name="usage.csv")
    assert outcome.stats["days"] == 1 and not export.closed
