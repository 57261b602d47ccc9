"""Refused destinations see no request, redirects are not followed, and the connection goes to the address
that was checked (DNS rebinding), with TLS still verified for the host name. Real local servers throughout.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.delivery import DeliveryOptions, DeliveryOutcome, DeliveryStatus, Outbound
from adapters.destinations import DestinationPolicy
from adapters.webhooks import SigningSecret, deliver_webhook, verify_signature
from tests.unit.tls_certs import CertAuthority, make_ca
from tests.unit.webhook_receiver import Receiver, Reply, RoutedNetwork, ScriptedResolver, receiver

SECRET = SigningSecret("whsec_t3st_s1gn1ng_s3cr3t_0123456789")
PAYLOAD = {"id": "evt_1", "type": "alert.spend_anomaly"}
OPTIONS = DeliveryOptions(attempts=2, connect_timeout=2, read_timeout=2, write_timeout=2)
STRICT = DestinationPolicy()
LENIENT = DestinationPolicy(allow_private=True)
PUBLIC_ADDRESS = "93.184.215.14"  # a public address; RoutedNetwork stands a local receiver in for it
HOST = "hooks.customer.test"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertAuthority:
    return make_ca(Path(tmp_path_factory.mktemp("ca")))


def no_sleep(seconds: float) -> None:
    return None


def deliver(url: str, outbound: Outbound) -> DeliveryOutcome:
    return deliver_webhook(url, SECRET, event_id="evt_1", payload=PAYLOAD, outbound=outbound)


# -- refused before any request --------------------------------------------------------------------------------

def test_a_host_resolving_to_loopback_is_refused_without_the_setting_and_no_connection_is_made() -> None:
    with receiver() as internal:
        resolver = ScriptedResolver(["127.0.0.1"])
        outcome = deliver_webhook(internal.url(scheme="https", host=HOST), SECRET, event_id="evt_1",
                                  payload=PAYLOAD, outbound=Outbound(STRICT, OPTIONS, resolve=resolver))
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.FAILED_PERMANENT, 0)
    assert outcome.last_error == (f"webhook destination refused: {HOST} resolves to 127.0.0.1, a loopback address; "
                                  "only public internet addresses are allowed")
    assert internal.connections == 0 and internal.received == []


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_loopback_by_address_is_refused_without_the_setting(scheme: str) -> None:
    with receiver() as internal:
        outcome = deliver_webhook(internal.url(scheme=scheme), SECRET, event_id="evt_1", payload=PAYLOAD,
                                  outbound=Outbound(STRICT, OPTIONS))
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.FAILED_PERMANENT, 0)
    assert outcome.last_error is not None and "refused" in outcome.last_error
    assert internal.connections == 0


@pytest.mark.parametrize("answer", [["169.254.169.254"], ["::ffff:169.254.169.254"],
                                    [PUBLIC_ADDRESS, "169.254.169.254"]])
def test_a_host_resolving_to_the_metadata_address_is_refused_even_with_the_setting(answer: list[str]) -> None:
    """A local stand-in for the metadata service sits behind 169.254.169.254 (and the public address):
    it sees nothing, and no connection is even attempted."""
    with receiver() as metadata:
        network = RoutedNetwork({"169.254.169.254": "127.0.0.1", "::ffff:169.254.169.254": "127.0.0.1",
                                 PUBLIC_ADDRESS: "127.0.0.1"})
        outbound = Outbound(LENIENT, OPTIONS, resolve=ScriptedResolver(answer), network=network)
        outcome = deliver(f"http://{HOST}:{metadata.port}/latest/meta-data/", outbound)
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.FAILED_PERMANENT, 0)
    assert "a cloud metadata service address" in str(outcome.last_error)
    assert network.asked == []
    assert metadata.connections == 0


def test_the_metadata_address_itself_is_refused_through_the_system_resolver() -> None:
    outcome = deliver_webhook("https://169.254.169.254/latest/meta-data/", SECRET, event_id="evt_1",
                              payload=PAYLOAD, outbound=Outbound(LENIENT, OPTIONS))
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.FAILED_PERMANENT, 0)
    assert outcome.last_error == ("webhook destination refused: 169.254.169.254 is a cloud metadata service "
                                  "address; only public internet addresses are allowed")


# -- redirects -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_an_internal_address_is_not_followed(status: int) -> None:
    with receiver() as internal, receiver([Reply(status)]) as hook:
        hook.replies[0].headers["Location"] = internal.url("/internal")
        outcome = deliver_webhook(hook.url(), SECRET, event_id="evt_1", payload=PAYLOAD,
                                  outbound=Outbound(LENIENT, OPTIONS, sleep=no_sleep))
    assert (outcome.status, outcome.attempts, outcome.status_code) == (DeliveryStatus.FAILED_PERMANENT, 1, status)
    assert outcome.last_error is not None and "a redirect, which is never followed" in outcome.last_error
    assert len(hook.received) == 1
    assert internal.connections == 0


def test_a_redirect_to_the_metadata_address_is_not_followed() -> None:
    """The metadata service's stand-in listens behind 169.254.169.254 on this network: it sees nothing."""
    with receiver() as metadata, receiver([Reply(302)]) as hook:
        hook.replies[0].headers["Location"] = f"http://169.254.169.254:{metadata.port}/latest/meta-data/"
        network = RoutedNetwork({"169.254.169.254": "127.0.0.1"})
        outcome = deliver_webhook(hook.url(), SECRET, event_id="evt_1", payload=PAYLOAD,
                                  outbound=Outbound(LENIENT, OPTIONS, network=network, sleep=no_sleep))
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.FAILED_PERMANENT, 1)
    assert "169.254.169.254" not in str(outcome.last_error)  # the Location is never echoed either
    assert network.asked == ["127.0.0.1"]
    assert metadata.connections == 0


# -- DNS rebinding ---------------------------------------------------------------------------------------------

@pytest.fixture
def two_loopback_receivers() -> Iterator[tuple[Receiver, Receiver]]:
    """A receiver on 127.0.0.1:P (the checked address) and one on 127.0.0.2:P (where DNS later points)."""
    with receiver() as checked, receiver(host="127.0.0.2", port=checked.port) as rebound:
        yield checked, rebound


def test_a_rebinding_host_still_connects_to_the_checked_address(
        two_loopback_receivers: tuple[Receiver, Receiver]) -> None:
    """The lookup after the check would say 127.0.0.2; no second lookup happens and 127.0.0.1 gets it."""
    checked, rebound = two_loopback_receivers
    resolver = ScriptedResolver(["127.0.0.1"], ["127.0.0.2"])
    outcome = deliver(f"http://{HOST}:{checked.port}/hook",
                      Outbound(LENIENT, OPTIONS, resolve=resolver, sleep=no_sleep))
    assert outcome.status is DeliveryStatus.DELIVERED
    assert resolver.lookups == [(HOST, checked.port)]
    [request] = checked.received
    assert request.headers["host"] == f"{HOST}:{checked.port}"
    assert rebound.connections == 0


def test_a_host_that_was_public_at_the_check_and_rebinds_to_loopback_gets_the_public_address(
        ca: CertAuthority) -> None:
    """Production rules (https, public only). The check sees 93.184.215.14; DNS then answers 127.0.0.2,
    where an internal service listens on the same port with a certificate for the same name. The
    connection goes to 93.184.215.14 (routed to the customer's receiver on 127.0.0.1), over TLS verified
    for the host name, and the internal service sees nothing."""
    with receiver(tls=ca.server_context(HOST)) as customer, \
            receiver(host="127.0.0.2", port=customer.port, tls=ca.server_context(HOST)) as internal:
        network = RoutedNetwork({PUBLIC_ADDRESS: "127.0.0.1"})
        resolver = ScriptedResolver([PUBLIC_ADDRESS], ["127.0.0.2"])
        outbound = Outbound(STRICT, OPTIONS, resolve=resolver, ssl_context=ca.client_context(), network=network,
                            sleep=no_sleep)
        outcome = deliver(f"https://{HOST}:{customer.port}/hook", outbound)
    assert outcome.status is DeliveryStatus.DELIVERED
    assert resolver.lookups == [(HOST, customer.port)]
    assert network.asked == [PUBLIC_ADDRESS]
    assert customer.server_names == [HOST]  # SNI is the host name, not the address
    [request] = customer.received
    assert request.headers["host"] == f"{HOST}:{customer.port}"
    assert verify_signature(SECRET, request.headers, request.body) == "evt_1"
    assert internal.connections == 0


# -- TLS is verified for the host name while connecting to the address -----------------------------------------

def test_a_certificate_for_another_name_is_refused_permanently(ca: CertAuthority) -> None:
    with receiver(tls=ca.server_context("someone-else.test")) as hook:
        outbound = Outbound(LENIENT, OPTIONS, resolve=ScriptedResolver(["127.0.0.1"]),
                            ssl_context=ca.client_context(), sleep=no_sleep)
        outcome = deliver_webhook(f"https://{HOST}:{hook.port}/hook", SECRET, event_id="evt_1", payload=PAYLOAD,
                                  outbound=outbound)
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.FAILED_PERMANENT, 1)
    assert outcome.last_error is not None
    assert outcome.last_error.startswith(f"the TLS certificate of {HOST}:{hook.port} could not be verified")
    assert hook.connections == 1 and hook.received == []


def test_a_certificate_from_an_unknown_authority_is_refused(ca: CertAuthority, tmp_path: Path) -> None:
    stranger = make_ca(tmp_path / "stranger")
    with receiver(tls=stranger.server_context(HOST)) as hook:
        outbound = Outbound(LENIENT, OPTIONS, resolve=ScriptedResolver(["127.0.0.1"]),
                            ssl_context=ca.client_context(), sleep=no_sleep)
        outcome = deliver_webhook(f"https://{HOST}:{hook.port}/hook", SECRET, event_id="evt_1", payload=PAYLOAD,
                                  outbound=outbound)
    assert outcome.status is DeliveryStatus.FAILED_PERMANENT
    assert "could not be verified" in str(outcome.last_error)
    assert hook.received == []


def test_the_default_trust_store_does_not_trust_a_private_authority(ca: CertAuthority) -> None:
    """Without a test's ssl_context the delivery verifies against certifi's roots, not nothing."""
    with receiver(tls=ca.server_context(HOST)) as hook:
        outbound = Outbound(LENIENT, OPTIONS, resolve=ScriptedResolver(["127.0.0.1"]), sleep=no_sleep)
        outcome = deliver_webhook(f"https://{HOST}:{hook.port}/hook", SECRET, event_id="evt_1", payload=PAYLOAD,
                                  outbound=outbound)
    assert outcome.status is DeliveryStatus.FAILED_PERMANENT
    assert hook.received == []
