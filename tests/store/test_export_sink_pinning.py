"""An export endpoint is connected to at the address that was checked (issue 19 item 5), like an alert webhook
(tests/unit/test_destination_pinning.py): the AWS SDK under pyarrow, against the embedded S3 server behind TLS
with a test authority's certificate, never a mock of the client or of HTTP.

The rebinding is real, not scripted for the SDK: the endpoint's host is `localhost`, which the check is told
(by a scripted resolver) is a public address, while the system's resolver, the one the SDK would use, says
127.0.0.1, where an internal service with a valid certificate for `localhost` listens on the same port. The
public address is routed to the customer's store on 127.0.0.2 by the tunnel's connect (the only way to have a
"public" store on a test machine)."""

from __future__ import annotations

import datetime as dt
import gc
import json
import logging
import socket
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from adapters.destinations import DestinationPolicy
from adapters.object_stores import BucketSink, StoreOptions, check_target, open_bucket, parse_credentials
from adapters.pinned_tunnel import connect_tcp
from adapters.store_errors import StoreUnavailable
from tests.store.export_stores import BUCKET, QUICK, Stores
from tests.store.store_proxy import Faults, store_proxy
from tests.store.tls_front import tls_front
from tests.unit.tls_certs import CertAuthority, make_ca
from tests.unit.webhook_receiver import ScriptedResolver, receiver

STRICT, LENIENT = DestinationPolicy(), DestinationPolicy(allow_private=True)
NAME = "localhost"  # what the customer typed; the system resolver answers 127.0.0.1 (the rebinding)
PUBLIC_ADDRESS = "93.184.215.14"  # what the check saw; routed to the customer's store on 127.0.0.2
CUSTOMER = "127.0.0.2"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertAuthority:
    authority = make_ca(Path(tmp_path_factory.mktemp("ca")))
    (authority.folder / "ca.pem").write_bytes(authority.cert_pem)
    return authority


@pytest.fixture(autouse=True)
def no_cloud_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


def trusting(ca: CertAuthority | None, *, attempts: int = QUICK.attempts, timeout: float = QUICK.connect_timeout
             ) -> StoreOptions:
    """QUICK's options, trusting the test's authority only (None: the system's roots)."""
    return replace(QUICK, ca_file=str(ca.folder / "ca.pem") if ca else None, attempts=attempts,
                   connect_timeout=timeout, request_timeout=timeout)


class Routed:
    """The tunnel's TCP connect, with the public address routed to the customer's store (recorded)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, address: str, port: int, timeout: float) -> socket.socket:
        self.asked.append(address)
        return connect_tcp(CUSTOMER if address == PUBLIC_ADDRESS else address, port, timeout)


def pinned_sink(stores: Stores, port: int, options: StoreOptions, resolver: ScriptedResolver, network: Routed,
                prefix: str = "pinned") -> BucketSink:
    target = check_target("s3", BUCKET, prefix, None, f"https://{NAME}:{port}", STRICT, resolve=resolver)
    credentials = parse_credentials("s3", stores.credentials("s3"), f"s3://{BUCKET}")
    return open_bucket(target, credentials, options, connect=network)


def read_back(stores: Stores, key: str) -> bytes:
    return bytes(stores.s3.client().get_object(Bucket=BUCKET, Key=key)["Body"].read())


def test_an_https_endpoint_public_at_the_check_that_rebinds_to_loopback_still_reaches_the_checked_address(
        stores: Stores, ca: CertAuthority, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Production rules (https, public addresses only). Without the tunnel the SDK's own lookup of the name
    reaches the internal service (shown first, with pyarrow alone); through the sink, every connection goes
    to the checked address, TLS verified for the name, and the internal service hears nothing more; neither
    the environment's proxy settings nor NO_PROXY route around the tunnel."""
    caplog.set_level(logging.DEBUG)
    secret = json.loads(stores.credentials("s3"))["secret_access_key"]
    with tls_front(stores.s3.port, ca.server_context(NAME), host=CUSTOMER) as customer, \
            receiver(host="127.0.0.1", port=customer.port, tls=ca.server_context(NAME)) as internal:
        unpinned = pafs.S3FileSystem(access_key="AKIAUNPINNED00000001", secret_key="unpinned", region="us-east-1",
                                     scheme="https", endpoint_override=f"{NAME}:{customer.port}",
                                     tls_ca_file_path=str(ca.folder / "ca.pem"), connect_timeout=2,
                                     request_timeout=2, retry_strategy=pafs.AwsStandardS3RetryStrategy(1))
        with pytest.raises(OSError):  # the internal stand-in answers 501 to anything but a POST
            unpinned.get_file_info(f"{BUCKET}/probe.csv")
        assert internal.connections >= 1 and internal.server_names[-1] == NAME, "the rebinding is real"
        reached_before = internal.connections

        for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{customer.port}")
        monkeypatch.setenv("NO_PROXY", "*")
        monkeypatch.setenv("no_proxy", "*")
        resolver, network = ScriptedResolver([PUBLIC_ADDRESS], ["127.0.0.1"]), Routed()
        sink = pinned_sink(stores, customer.port, trusting(ca), resolver, network)
        assert sink.tunnel is not None
        sink.put("day.csv", b"BilledCost\n1.25\n", "text/csv")
        assert sink.get("day.csv") == b"BilledCost\n1.25\n"
        assert sink.get("absent.csv") is None
        tunnel = sink.tunnel
        sink.close()

    assert read_back(stores, "pinned/day.csv") == b"BilledCost\n1.25\n"
    assert resolver.lookups == [(NAME, customer.port)], "the check's one lookup; no second one of ours"
    assert network.asked and set(network.asked) == {PUBLIC_ADDRESS}
    assert tunnel.connected_to == network.asked and tunnel.refused == []
    assert customer.relayed == len(network.asked), "every SDK connection came through the tunnel"
    assert set(customer.server_names) == {NAME}, "SNI (and the certificate checked) is the name, not the address"
    assert internal.connections == reached_before
    assert secret not in caplog.text


@pytest.mark.parametrize(("certified", "trusted"), [("someone-else.test", True), (NAME, False)],
                         ids=["a certificate for another name", "an authority the system does not trust"])
def test_a_certificate_not_valid_for_the_name_fails_the_export_after_the_tunnel(
        stores: Stores, ca: CertAuthority, certified: str, trusted: bool, caplog: pytest.LogCaptureFixture) -> None:
    """The tunnel reaches the checked address; TLS inside it is the SDK's, and it refuses the certificate
    (curl's code 60, in the workers' log): nothing reaches the store."""
    with store_proxy(stores.s3.port) as (url, seen), \
            tls_front(int(url.rsplit(":", 1)[1]), ca.server_context(certified), host=CUSTOMER) as customer:
        network = Routed()
        sink = pinned_sink(stores, customer.port, trusting(ca if trusted else None, attempts=2),
                           ScriptedResolver([PUBLIC_ADDRESS]), network, prefix="untrusted")
        with pytest.raises(StoreUnavailable), sink:
            sink.put("day.csv", b"x", "text/csv")
    assert "curlCode: 60, SSL peer certificate" in caplog.text
    assert customer.connections >= 1 and seen.count == 0, "no request reached the store"
    assert set(network.asked) == {PUBLIC_ADDRESS}


def test_a_retried_request_opens_a_new_tunnel_to_the_checked_address(stores: Stores, ca: CertAuthority) -> None:
    """The first request is held past the SDK's timeout: the SDK gives up on that connection and retries on
    a new one, which goes through the tunnel to the checked address again."""
    with store_proxy(stores.s3.port, Faults(held=1, hold_seconds=3.0)) as (url, seen), \
            tls_front(int(url.rsplit(":", 1)[1]), ca.server_context(NAME), host=CUSTOMER) as customer:
        network = Routed()
        options = trusting(ca, attempts=4, timeout=1.0)
        with pinned_sink(stores, customer.port, options, ScriptedResolver([PUBLIC_ADDRESS]), network,
                         prefix="retried") as sink:
            sink.put("day.csv", b"after a timeout\n", "text/csv")
    assert seen.held == 1 and seen.count >= 2
    assert len(network.asked) >= 2 and set(network.asked) == {PUBLIC_ADDRESS}
    assert read_back(stores, "retried/day.csv") == b"after a timeout\n"


@pytest.mark.parametrize("kind", ["s3", "gcs"])
def test_an_http_endpoint_is_given_its_checked_address_so_the_client_resolves_nothing(
        kind: str, stores: Stores) -> None:
    """http is admitted only with HALTON_ALLOW_PRIVATE_DESTINATIONS=true (tests, the demo). The name does not
    resolve on this machine: the client can only have used the checked address, which the Host header
    names."""
    name = "store.customer.test"
    with store_proxy(stores.port(kind)) as (url, seen):
        port = int(url.rsplit(":", 1)[1])
        target = check_target(kind, BUCKET, f"by-name-{kind}", None, f"http://{name}:{port}", LENIENT,
                              resolve=ScriptedResolver(["127.0.0.1"], ["169.254.169.254"]))
        credentials = parse_credentials(kind, stores.credentials(kind), f"{kind}://{BUCKET}")
        with open_bucket(target, credentials, QUICK) as sink:
            assert sink.tunnel is None
            sink.put("day.csv", b"1\n", "text/csv")
            assert sink.get("day.csv") == b"1\n"
    hosts = {{k.lower(): v for k, v in headers.items()}["host"] for _, _, headers in seen.requests}
    assert hosts == {f"127.0.0.1:{port}"}


def test_the_tunnel_ends_with_its_sink_closed_or_collected(stores: Stores) -> None:
    ports = []
    for close in (True, False):
        sink = pinned_sink(stores, 443, QUICK, ScriptedResolver([PUBLIC_ADDRESS]), Routed())
        assert sink.tunnel is not None
        ports.append(sink.tunnel.port)
        if close:
            sink.close()
        del sink
        gc.collect()
    for port in ports:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()



def parquet_of(megabytes: int, seed: int) -> bytes:
    """A Parquet file of about `megabytes` MB that does not compress (random values)."""
    table = pa.table({"BilledCost": np.random.default_rng(seed).random(megabytes * 1024 * 1024 // 8)})
    out = pa.BufferOutputStream()
    pq.write_table(table, out, compression="none")
    return bytes(out.getvalue())


def test_multi_megabyte_parquet_objects_put_at_once_go_through_the_tunnel_whole(
        stores: Stores, ca: CertAuthority) -> None:
    """The nightly's PUT_THREADS puts at once (its own put_all), each of several MB and one of two parts
    (pyarrow uploads every object as a multipart upload, in 10 MB parts), through one sink's tunnel: every
    byte there and back, no tunnel refused, every connection to the checked address."""
    from workers.jobs.export_datasets import PUT_THREADS, Encoded, put_all

    objects = {f"big-{n}.parquet": parquet_of(12 if n == 0 else 3, n) for n in range(PUT_THREADS * 2)}
    items = [Encoded("focus", key, dt.date(2026, 11, 1), None, 0, data, "", None, len(data))
             for key, data in objects.items()]
    with tls_front(stores.s3.port, ca.server_context(NAME), host=CUSTOMER) as customer:
        network = Routed()
        with pinned_sink(stores, customer.port, trusting(ca, timeout=10), ScriptedResolver([PUBLIC_ADDRESS]), network,
                         prefix="big") as sink:
            tunnel = sink.tunnel
            put_all(sink, items, "parquet")
            for key, data in objects.items():
                assert sink.get(key) == data
    for key, data in objects.items():
        assert read_back(stores, f"big/{key}") == data
    assert tunnel is not None and tunnel.refused == []
    assert 1 <= tunnel.peak <= 2 * PUT_THREADS, "each put's connection, and one the store just closed"
    assert set(network.asked) == {PUBLIC_ADDRESS}


def test_requests_timed_out_on_a_stalling_store_leave_room_for_their_retries(stores: Stores, ca: CertAuthority
                                                                             ) -> None:
    """A store holds the first requests past the SDK's timeout: the SDK closes each connection and retries at
    once on a new one, while the closed one's tunnel stays until the idle timeout (a tunnel passes a half-close
    on and waits for the other side). The nightly's PUT_THREADS retrying together three times must still find
    a tunnel: at 8 tunnels the third attempts were answered 503, and the SDK's retries of a 503 (well under a
    second apart) failed the export."""
    from workers.jobs.export_datasets import PUT_THREADS, Encoded, put_all

    items = [Encoded("focus", f"stalled-{n}.csv", dt.date(2026, 11, 1), None, 1, b"1\n", "", None, 2)
             for n in range(PUT_THREADS)]
    options = replace(trusting(ca, attempts=5), connect_timeout=5.0, request_timeout=1.0)  # idle: 6 s
    with store_proxy(stores.s3.port, Faults(held=3 * PUT_THREADS, hold_seconds=10.0)) as (url, seen), \
            tls_front(int(url.rsplit(":", 1)[1]), ca.server_context(NAME), host=CUSTOMER) as customer, \
            pinned_sink(stores, customer.port, options, ScriptedResolver([PUBLIC_ADDRESS]), Routed(),
                        prefix="stalled") as sink:
        tunnel = sink.tunnel
        put_all(sink, items, "csv")
    assert seen.held == 3 * PUT_THREADS and tunnel is not None and tunnel.refused == []
    assert tunnel.peak > 8
    for item in items:
        assert read_back(stores, f"stalled/{item.key}") == b"1\n"
