"""The export endpoint's pinning tunnel (adapters/pinned_tunnel.py) spoken to with raw sockets: CONNECT of the
checked host and port reaches the checked address and relays bytes both ways; any other host, port, method or
a malformed head is refused before any connection is made; the bounds hold; closing ends everything.
The AWS SDK's own use of it, against a real S3-protocol server over TLS: tests/store/test_export_sink_pinning.py.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from adapters.destinations import CheckedDestination, SecretURL
from adapters.pinned_tunnel import MAX_TUNNELS, PinnedTunnel, connect_tcp
from tests.unit.webhook_receiver import closed_port

HOST = "s3.customer.test"
PUBLIC_ADDRESS = "93.184.215.14"  # a public address, routed to a local echo server by `Routed`


class Routed:
    """The tunnel's TCP connect with a route table (a public address to a local stand-in); records what the
    tunnel asked for."""

    def __init__(self, routes: dict[str, str]) -> None:
        self.routes = routes
        self.asked: list[str] = []

    def __call__(self, address: str, port: int, timeout: float) -> socket.socket:
        self.asked.append(address)
        return connect_tcp(self.routes.get(address, address), port, timeout)


@contextmanager
def echo_server(host: str = "127.0.0.1") -> Iterator[tuple[int, list[int]]]:
    """(port, [connections]): sends back what it receives, until the client finishes."""
    listener = socket.create_server((host, 0))
    seen = [0]

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            seen[0] += 1
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    def echo(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1], seen
    finally:
        listener.close()


def destination(port: int, host: str = HOST, addresses: tuple[str, ...] = (PUBLIC_ADDRESS,)) -> CheckedDestination:
    return CheckedDestination(SecretURL(f"https://{host}:{port}"), "https", host, port,
                              tuple(ipaddress.ip_address(a) for a in addresses), "export endpoint")


def ask(tunnel: PinnedTunnel, head: bytes) -> tuple[socket.socket, bytes]:
    """Send `head` to the tunnel; (the connection, the answer's status line and headers)."""
    sock = socket.create_connection(("127.0.0.1", tunnel.port), timeout=5)
    sock.sendall(head)
    answer = b""
    while b"\r\n\r\n" not in answer:
        data = sock.recv(4096)
        if not data:
            break
        answer += data
    return sock, answer


def connect_head(target: str) -> bytes:
    return f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode()


def test_connect_of_the_checked_host_reaches_the_checked_address_and_relays_both_ways() -> None:
    with echo_server() as (port, seen):
        routed = Routed({PUBLIC_ADDRESS: "127.0.0.1"})
        with PinnedTunnel(destination(port), connect_timeout=2, idle_timeout=5, connect=routed) as tunnel:
            sock, answer = ask(tunnel, connect_head(f"{HOST}:{port}"))
            with sock:
                assert answer.startswith(b"HTTP/1.1 200 ")
                sock.sendall(b"a TLS record, as far as the tunnel knows")
                assert sock.recv(100) == b"a TLS record, as far as the tunnel knows"
                sock.shutdown(socket.SHUT_WR)
                assert sock.recv(100) == b"", "the end is passed on both ways"
    assert routed.asked == [PUBLIC_ADDRESS] and tunnel.connected_to == [PUBLIC_ADDRESS]
    assert seen == [1] and tunnel.refused == []


def test_bytes_sent_with_the_connect_head_are_not_lost() -> None:
    with echo_server() as (port, _), \
            PinnedTunnel(destination(port), connect_timeout=2, idle_timeout=5,
                         connect=Routed({PUBLIC_ADDRESS: "127.0.0.1"})) as tunnel:
        sock, answer = ask(tunnel, connect_head(f"{HOST.upper()}:{port}") + b"early")
        with sock:
            assert answer.startswith(b"HTTP/1.1 200 ")
            rest = answer.split(b"\r\n\r\n", 1)[1]
            while len(rest) < 5:
                rest += sock.recv(100)
            assert rest == b"early"


@pytest.mark.parametrize("target", [
    "other.example.com:{port}",  # another host
    f"{HOST}:1{{port}}",  # another port
    f"{HOST}:443",
    f"{PUBLIC_ADDRESS}:{{port}}",  # the checked address by number: only the checked name is tunnelled
    "169.254.169.254:80",
    "127.0.0.1:{port}",
    f"{HOST}.evil.test:{{port}}",
    f"{HOST}",  # no port
    f"[{HOST}]:{{port}}",
])
def test_connect_of_anything_but_the_checked_host_and_port_is_refused_without_connecting(target: str) -> None:
    with echo_server() as (port, seen):
        routed = Routed({PUBLIC_ADDRESS: "127.0.0.1"})
        with PinnedTunnel(destination(port), connect_timeout=2, idle_timeout=5, connect=routed) as tunnel:
            sock, answer = ask(tunnel, connect_head(target.format(port=port)))
            sock.close()
    assert answer.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert routed.asked == [] and seen == [0]
    [why] = tunnel.refused
    assert why.endswith(f"(only {HOST}:{port} is tunnelled)")


def test_a_plain_http_request_in_absolute_form_is_refused_and_its_url_never_shown(
        caplog: pytest.LogCaptureFixture) -> None:
    with echo_server() as (port, seen):
        routed = Routed({PUBLIC_ADDRESS: "127.0.0.1"})
        with PinnedTunnel(destination(port), connect_timeout=2, idle_timeout=5, connect=routed) as tunnel:
            for method in ("GET", "PUT"):
                url = f"http://{HOST}:{port}/halton-exports/secret-key?X-Amz-Signature=s3cr3t"
                sock, answer = ask(tunnel, f"{method} {url} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
                                           "Content-Length: 0\r\n\r\n".encode())
                sock.close()
                assert answer.startswith(b"HTTP/1.1 405 Method Not Allowed\r\n")
    assert routed.asked == [] and seen == [0]
    assert tunnel.refused == ["a GET request (only CONNECT is tunnelled)", "a PUT request (only CONNECT is tunnelled)"]
    assert "s3cr3t" not in caplog.text and "secret-key" not in caplog.text


@pytest.mark.parametrize("head", [
    b"not http at all\r\n\r\n",
    b"CONNECT " + b"x" * 10000 + b":443 HTTP/1.1\r\n\r\n",  # a head over the bound
    b"CONNECT s3.customer.test:443 HTTP/1.1\r\n",  # never finished: refused at the connect timeout
])
def test_a_malformed_oversized_or_unfinished_head_is_refused(head: bytes) -> None:
    routed = Routed({})
    with PinnedTunnel(destination(443), connect_timeout=0.5, idle_timeout=5, connect=routed) as tunnel:
        started = time.monotonic()
        sock, answer = ask(tunnel, head)
        sock.close()
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n") and time.monotonic() - started < 3
    assert routed.asked == []


def test_when_no_checked_address_answers_the_connect_fails_and_no_other_address_is_tried() -> None:
    port = closed_port()
    routed = Routed({PUBLIC_ADDRESS: "127.0.0.1", "93.184.215.15": "127.0.0.1"})
    with PinnedTunnel(destination(port, addresses=(PUBLIC_ADDRESS, "93.184.215.15")), connect_timeout=2,
                      idle_timeout=5, connect=routed) as tunnel:
        sock, answer = ask(tunnel, connect_head(f"{HOST}:{port}"))
        sock.close()
    assert answer.startswith(b"HTTP/1.1 502 Bad Gateway\r\n")
    assert routed.asked == [PUBLIC_ADDRESS, "93.184.215.15"] and tunnel.connected_to == []
    assert tunnel.refused == [f"CONNECT {HOST}:{port}: the export endpoint did not accept a connection "
                              f"({PUBLIC_ADDRESS}: Connection refused; 93.184.215.15: Connection refused)"]


def test_an_ipv6_literal_endpoint_is_tunnelled_in_any_spelling() -> None:
    with echo_server() as (port, _):
        routed = Routed({"2606:2800:220:1::248": "127.0.0.1"})
        checked = destination(port, host="2606:2800:220:1::248", addresses=("2606:2800:220:1::248",))
        with PinnedTunnel(checked, connect_timeout=2, idle_timeout=5, connect=routed) as tunnel:
            sock, answer = ask(tunnel, connect_head(f"[2606:2800:0220:0001:0:0:0:0248]:{port}"))
            sock.close()
    assert answer.startswith(b"HTTP/1.1 200 ") and routed.asked == ["2606:2800:220:1::248"]


def test_at_most_max_tunnels_at_once() -> None:
    with echo_server() as (port, _):
        routed = Routed({PUBLIC_ADDRESS: "127.0.0.1"})
        with PinnedTunnel(destination(port), connect_timeout=2, idle_timeout=5, connect=routed) as tunnel:
            opened = [ask(tunnel, connect_head(f"{HOST}:{port}")) for _ in range(MAX_TUNNELS)]
            assert all(answer.startswith(b"HTTP/1.1 200 ") for _, answer in opened)
            extra, answer = ask(tunnel, connect_head(f"{HOST}:{port}"))
            assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
            extra.close()
            opened[0][0].close()  # one ends: the next is admitted
            deadline = time.monotonic() + 5
            while True:
                sock, answer = ask(tunnel, connect_head(f"{HOST}:{port}"))
                sock.close()
                if answer.startswith(b"HTTP/1.1 200 ") or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert answer.startswith(b"HTTP/1.1 200 ")
            for sock, _ in opened[1:]:
                sock.close()
    assert len(tunnel.connected_to) == MAX_TUNNELS + 1


def test_an_idle_tunnel_is_closed() -> None:
    with echo_server() as (port, _), \
            PinnedTunnel(destination(port), connect_timeout=2, idle_timeout=0.3,
                         connect=Routed({PUBLIC_ADDRESS: "127.0.0.1"})) as tunnel:
        sock, answer = ask(tunnel, connect_head(f"{HOST}:{port}"))
        with sock:
            assert answer.startswith(b"HTTP/1.1 200 ")
            started = time.monotonic()
            assert sock.recv(10) == b""
            assert time.monotonic() - started < 3


def test_closing_ends_the_listener_and_every_open_tunnel() -> None:
    with echo_server() as (port, _):
        tunnel = PinnedTunnel(destination(port), connect_timeout=2, idle_timeout=30,
                              connect=Routed({PUBLIC_ADDRESS: "127.0.0.1"}))
        sock, answer = ask(tunnel, connect_head(f"{HOST}:{port}"))
        assert answer.startswith(b"HTTP/1.1 200 ")
        tunnel.close()
        with sock:
            assert sock.recv(10) == b""
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", tunnel.port), timeout=2).close()
        deadline = time.monotonic() + 5
        while any(t.name.startswith(f"halton-tunnel-{tunnel.port}") for t in threading.enumerate()):
            assert time.monotonic() < deadline, "the tunnel's threads ended"
            time.sleep(0.05)


# -- the relay: both directions at once, half-close, a peer that stops reading --------------------------------

BIG = 16 * 1024 * 1024  # more than the sockets' buffers hold on the way, so the relay has to keep both moving


@contextmanager
def talker(first_write: bool, size: int = BIG) -> Iterator[tuple[int, list[int]]]:
    """(port, [bytes it received]): a server that sends `size` bytes and reads until the end, the sending first
    (`first_write`: it reads nothing until all is sent) or only after the end of what it received."""
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[int] = []

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with conn:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
                if first_write:
                    conn.sendall(b"s" * size)
                total = 0
                while data := conn.recv(65536):
                    total += len(data)
                received.append(total)
                if not first_write:
                    conn.sendall(b"s" * size)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], received
    finally:
        listener.close()
        thread.join(timeout=10)


def read_all(sock: socket.socket) -> int:
    total = 0
    while data := sock.recv(65536):
        total += len(data)
    return total


def test_both_directions_move_at_once_when_a_peer_sends_before_it_reads() -> None:
    """The store answers while the client is still sending (an early error to a large PUT does): a relay that
    blocks sending one way while the other way fills up would stall both until the idle timeout."""
    with talker(first_write=True) as (port, received), \
            PinnedTunnel(destination(port), connect_timeout=2, idle_timeout=10,
                         connect=Routed({PUBLIC_ADDRESS: "127.0.0.1"})) as tunnel:
        sock, answer = ask(tunnel, connect_head(f"{HOST}:{port}"))
        status, early = answer.split(b"\r\n\r\n", 1)
        assert status == b"HTTP/1.1 200 Connection established"
        with sock:
            sock.settimeout(20)

            def send() -> None:
                with contextlib.suppress(OSError):
                    sock.sendall(b"c" * BIG)
                    sock.shutdown(socket.SHUT_WR)

            writer = threading.Thread(target=send, daemon=True)
            writer.start()
            got = len(early) + read_all(sock)
            writer.join(timeout=20)
    assert got == BIG and received == [BIG], "all of it both ways, not cut at the idle timeout"


def test_after_the_client_finishes_sending_the_answer_still_drains_in_full() -> None:
    with talker(first_write=False) as (port, received), \
            PinnedTunnel(destination(port), connect_timeout=2, idle_timeout=3,
                         connect=Routed({PUBLIC_ADDRESS: "127.0.0.1"})) as tunnel:
        sock, answer = ask(tunnel, connect_head(f"{HOST}:{port}"))
        assert answer == b"HTTP/1.1 200 Connection established\r\n\r\n"
        with sock:
            sock.settimeout(20)
            sock.sendall(b"c" * 1_000_000)
            sock.shutdown(socket.SHUT_WR)
            assert read_all(sock) == BIG
    assert received == [1_000_000]


def test_after_the_store_finishes_sending_the_client_can_still_send_in_full() -> None:
    """The other half-close: the store's answer and its end arrive first (an early error answer), and what the
    client still sends reaches the store whole."""
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[int] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"early answer")
            conn.shutdown(socket.SHUT_WR)
            received.append(read_all(conn))

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    port = listener.getsockname()[1]
    with listener, PinnedTunnel(destination(port), connect_timeout=2, idle_timeout=5,
                                connect=Routed({PUBLIC_ADDRESS: "127.0.0.1"})) as tunnel:
        sock, answer = ask(tunnel, connect_head(f"{HOST}:{port}"))
        with sock:
            sock.settimeout(20)
            rest = answer.split(b"\r\n\r\n", 1)[1]
            while data := sock.recv(100):
                rest += data
            assert rest == b"early answer"
            sock.sendall(b"c" * 4_000_000)
            sock.shutdown(socket.SHUT_WR)
            server.join(timeout=20)
    assert received == [4_000_000]


def test_a_client_that_stops_reading_holds_a_bounded_amount_and_is_closed_at_the_idle_timeout() -> None:
    with talker(first_write=True) as (port, _), \
            PinnedTunnel(destination(port), connect_timeout=2, idle_timeout=0.5,
                         connect=Routed({PUBLIC_ADDRESS: "127.0.0.1"})) as tunnel:
        sock, answer = ask(tunnel, connect_head(f"{HOST}:{port}"))
        with sock:
            assert answer.startswith(b"HTTP/1.1 200 ")  # and then the client reads nothing more for a while
            deadline = time.monotonic() + 5
            while any(t.name == f"halton-tunnel-{tunnel.port}-relay" for t in threading.enumerate()):
                assert time.monotonic() < deadline, "the tunnel ended at the idle timeout"
                time.sleep(0.05)
            got = len(answer) + read_all(sock)
    assert got < BIG // 2, "the tunnel read no further than the client took"


# -- the request head ----------------------------------------------------------------------------------------

def test_a_head_over_the_bound_is_refused_even_when_it_arrives_at_once() -> None:
    """h11's bound is on an unfinished head only: a complete one of 20 KiB in one read would pass it."""
    routed = Routed({PUBLIC_ADDRESS: "127.0.0.1"})
    with echo_server() as (port, seen), \
            PinnedTunnel(destination(port), connect_timeout=2, idle_timeout=5, connect=routed) as tunnel:
        head = f"CONNECT {HOST}:{port} HTTP/1.1\r\nHost: {HOST}:{port}\r\nX-Pad: {'p' * 20000}\r\n\r\n".encode()
        sock, answer = ask(tunnel, head)
        sock.close()
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert routed.asked == [] and seen == [0]
    assert tunnel.refused == ["a request head of more than 8192 bytes"]


# -- errors inside the tunnel ----------------------------------------------------------------------------------

def test_the_listener_keeps_accepting_after_an_accept_error(monkeypatch: pytest.MonkeyPatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    """Out of file descriptors (EMFILE) for a moment: the next connection is served, not left in the backlog
    of a listener nobody accepts from any more (each SDK attempt would wait out its request timeout)."""
    accept = socket.socket.accept
    failures = [OSError(errno.EMFILE, "Too many open files")]

    def failing_once(sock: socket.socket) -> tuple[socket.socket, Any]:
        if failures and threading.current_thread().name.startswith("halton-tunnel-"):
            raise failures.pop()
        return accept(sock)

    monkeypatch.setattr(socket.socket, "accept", failing_once)
    with echo_server() as (port, _), \
            PinnedTunnel(destination(port), connect_timeout=2, idle_timeout=5,
                         connect=Routed({PUBLIC_ADDRESS: "127.0.0.1"})) as tunnel:
        sock, answer = ask(tunnel, connect_head(f"{HOST}:{port}"))
        sock.close()
    assert failures == [] and answer.startswith(b"HTTP/1.1 200 ")
    assert "Too many open files" in caplog.text


def test_an_unexpected_error_in_a_tunnel_is_logged_and_frees_its_place(caplog: pytest.LogCaptureFixture) -> None:
    def broken(address: str, port: int, timeout: float) -> socket.socket:
        raise ValueError("a bug")

    with PinnedTunnel(destination(443), connect_timeout=2, idle_timeout=5, connect=broken) as tunnel:
        for _ in range(MAX_TUNNELS + 1):
            sock, answer = ask(tunnel, connect_head(f"{HOST}:443"))
            sock.close()
            assert answer == b"", "closed, and never a 503: each place is given back"
    assert caplog.text.count("ValueError: a bug") == MAX_TUNNELS + 1


def test_no_thread_for_a_tunnel_is_a_503_and_frees_its_place(monkeypatch: pytest.MonkeyPatch) -> None:
    start = threading.Thread.start
    failures = [RuntimeError("can't start new thread")]

    def failing_once(thread: threading.Thread) -> None:
        if failures and thread.name.endswith("-relay"):
            raise failures.pop()
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", failing_once)
    with echo_server() as (port, _), \
            PinnedTunnel(destination(port), connect_timeout=2, idle_timeout=5,
                         connect=Routed({PUBLIC_ADDRESS: "127.0.0.1"})) as tunnel:
        first, refused = ask(tunnel, connect_head(f"{HOST}:{port}"))
        first.close()
        answers = []
        for _ in range(MAX_TUNNELS):
            sock, answer = ask(tunnel, connect_head(f"{HOST}:{port}"))
            answers.append((sock, answer))
        for sock, _ in answers:
            sock.close()
    assert refused.startswith(b"HTTP/1.1 503 ") or refused == b""  # the answer may be lost to the reset
    assert tunnel.refused == ["no thread for another tunnel (can't start new thread)"]
    assert all(answer.startswith(b"HTTP/1.1 200 ") for _, answer in answers)


def test_no_checked_address_is_tried_once_the_tunnel_is_closed() -> None:
    """A close while the first address is still being connected to: the sink is done, so no connection to
    the customer's next address is opened after it."""
    tried: list[str] = []
    closed = threading.Event()

    def slow_then_refused(address: str, port: int, timeout: float) -> socket.socket:
        tried.append(address)
        closed.wait(5)
        raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")

    tunnel = PinnedTunnel(destination(443, addresses=(PUBLIC_ADDRESS, "93.184.215.15")), connect_timeout=5,
                          idle_timeout=5, connect=slow_then_refused)
    with socket.create_connection(("127.0.0.1", tunnel.port), timeout=5) as sock:
        sock.sendall(connect_head(f"{HOST}:443"))
        deadline = time.monotonic() + 5
        while not tried:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        tunnel.close()
        closed.set()
        while any(t.name == f"halton-tunnel-{tunnel.port}-relay" for t in threading.enumerate()):
            assert time.monotonic() < deadline, "the tunnel's thread ended"
            time.sleep(0.01)
    assert tried == [PUBLIC_ADDRESS]


@pytest.mark.parametrize(("checked", "target"), [
    (HOST, f"{HOST.upper()}:{{port}}"),  # a host name is compared without case
    (f"{HOST}.", f"{HOST}.:{{port}}"),  # an endpoint typed with the root's dot: the SDK sends it as given
    ("2606:2800:220:1::248", "[2606:2800:220:1:0:0:0:248]:{port}"),
])
def test_the_spellings_the_sdk_sends_for_the_checked_endpoint_are_tunnelled(checked: str, target: str) -> None:
    with echo_server() as (port, _), \
            PinnedTunnel(destination(port, host=checked), connect_timeout=2, idle_timeout=5,
                         connect=Routed({PUBLIC_ADDRESS: "127.0.0.1"})) as tunnel:
        sock, answer = ask(tunnel, connect_head(target.format(port=port)))
        sock.close()
    assert answer.startswith(b"HTTP/1.1 200 ") and tunnel.connected_to == [PUBLIC_ADDRESS]
