"""A CONNECT-only proxy on 127.0.0.1 for one checked destination: how an export's S3 client connects to the
address that was checked (issue 19 item 5), as an alert webhook does (adapters/pinned_http.py).

pyarrow's S3FileSystem takes no resolver or connector, but it takes `proxy_options`, and the AWS SDK under it
(libcurl) sends every request to an https endpoint through an HTTP proxy as a tunnel: `CONNECT host:port`,
then TLS end to end inside it, with SNI and certificate verification for the host name the customer typed
(what `curl --resolve` does). The SDK sets the proxy on the handle of every request it makes
(CurlHttpClient::MakeRequest), so a retry or a new pooled connection goes through it too, and with a proxy
set it sets CURLOPT_NOPROXY to "", so no `no_proxy` of the environment routes around it. libcurl itself never
resolves the endpoint's host when a proxy is set: only the proxy's address, 127.0.0.1.

`PinnedTunnel` is that proxy, for one destination and for the life of one sink: it accepts `CONNECT` of the
checked (host, port) and nothing else (another host or port: 403; any other method, such as a plain-HTTP
request in absolute form: 405), connects to the checked addresses (never resolving again), answers 200 and
relays bytes both ways. It sees TLS records only: no request, header or credential of the store.

Written here (threads and sockets; h11, already under httpx, parses the request head) rather than taken from
a library: the proxies on PyPI (proxy.py, pproxy, mitmproxy, tunnelproxy) are built to connect to the host
a request names, resolving it themselves, which is what this must not do; pinning would be a plugin over a
much larger surface (and tunnelproxy adds trio). The part that matters is the ~30 lines of `_open`.

Bounds: one destination; at most MAX_TUNNELS tunnels at once (the next is answered 503); the request head
read within the connect timeout and at most 8 KiB; the connection to the checked addresses within the
connect timeout (MAX_ADDRESSES_TRIED of them, in the resolver's order); one RELAY_CHUNK held per direction
(a side that stops reading is pushed back on by TCP, and stalls only its own direction); a tunnel where no
byte moved either way for the idle timeout is closed (the SDK opens a new one when it needs it).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import h11

from adapters.destinations import CheckedDestination
from adapters.pinned_http import MAX_ADDRESSES_TRIED

log = logging.getLogger(__name__)

# A bound for a runaway, which the SDK's own use must not reach: a 503 is retried by the SDK within a second,
# so it fails the request. The SDK pools up to max(pyarrow's I/O threads, 25) connections, and a connection it
# closed (a timed-out request: the nightly's PUT_THREADS time out and retry together) keeps its tunnel until
# the store's side ends or the idle timeout passes: at 8, three rounds of timeouts were answered 503.
MAX_TUNNELS = 32
MAX_HEAD_BYTES = 8192
ACCEPT_RETRY_SECONDS = 0.1  # after an accept error (no file descriptor left): not a busy loop
RELAY_CHUNK = 65536  # the most a tunnel holds per direction: one read not yet sent on

# (address, port, timeout) -> a connected socket; tests route a "public" address to a local server with it
Connect = Callable[[str, int, float], socket.socket]


def connect_tcp(address: str, port: int, timeout: float) -> socket.socket:
    return socket.create_connection((address, port), timeout=timeout)


class PinnedTunnel:
    """A CONNECT proxy on 127.0.0.1 (an ephemeral port) reaching one checked destination only. Close it
    (or use it as a context manager): the listener and every open tunnel are closed with it."""

    def __init__(self, destination: CheckedDestination, *, connect_timeout: float, idle_timeout: float,
                 connect: Connect | None = None) -> None:
        self._destination = destination
        self._expected = (_host_form(destination.host), destination.port)
        self._connect_timeout, self._idle_timeout = connect_timeout, idle_timeout
        self._connect = connect or connect_tcp
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._active = 0
        self._closed = False
        self.connected_to: list[str] = []  # the addresses tunnels were opened to, in order (tests, logs)
        self.refused: list[str] = []  # why each refused request was refused (tests)
        self.peak = 0  # the most tunnels open at once (tests: the SDK's use against MAX_TUNNELS)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(1.0)  # shutdown wakes accept on Linux; the timeout, wherever it does not
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name=f"halton-tunnel-{self.port}", daemon=True)
        self._thread.start()

    @property
    def proxy_options(self) -> dict[str, Any]:
        """What S3FileSystem's `proxy_options` takes to send every request through this tunnel."""
        return {"scheme": "http", "host": "127.0.0.1", "port": self.port}

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            sockets, self._sockets = list(self._sockets), set()
        _close(self._listener)  # the accept loop ends
        for sock in sockets:
            # shut down, not closed here: its thread wakes on the end and closes it (an fd closed under a
            # waiting selector would leave that thread waiting out the idle timeout)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)

    def __enter__(self) -> PinnedTunnel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PinnedTunnel(127.0.0.1:{self.port} -> {self._destination!r})"

    # -- serving ----------------------------------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._closed:
            client = self._accept()
            if client is not None:
                self._admit(client)

    def _accept(self) -> socket.socket | None:
        try:
            client, _ = self._listener.accept()
        except TimeoutError:
            return None
        except OSError as error:
            if not self._closed:  # out of file descriptors, a connection reset before it was accepted: for a moment
                log.warning("export endpoint tunnel for %s could not accept a connection (%s); trying again",
                            self._destination.host, error)
                time.sleep(ACCEPT_RETRY_SECONDS)
            return None
        client.settimeout(self._connect_timeout)
        return client

    def _admit(self, client: socket.socket) -> None:
        """A thread for the connection, or 503 when MAX_TUNNELS are open (the SDK retries)."""
        with self._lock:
            full = self._active >= MAX_TUNNELS
            if self._closed:
                _close(client)
                return
            if not full:
                self._active += 1
                self.peak = max(self.peak, self._active)
                self._sockets.add(client)
        if full:
            self._refuse(client, 503, "Service Unavailable", f"more than {MAX_TUNNELS} tunnels at once")
            return
        try:
            threading.Thread(target=self._tunnel, args=(client,), name=f"halton-tunnel-{self.port}-relay",
                             daemon=True).start()
        except RuntimeError as error:  # the process has no thread to spare
            self._refuse(client, 503, "Service Unavailable", f"no thread for another tunnel ({error})")
            self._release(client, None)

    def _tunnel(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            opened = self._open(client)
            if opened is not None:
                upstream, pending = opened
                ended = self._relay(client, upstream, pending)
                log.debug("export endpoint tunnel to %s ended: %s", self._destination.host, ended)
        except OSError as error:  # either side hung up: the tunnel ends, the SDK sees a closed connection
            log.debug("export endpoint tunnel to %s ended: %s", self._destination.host, error)
        except Exception:  # a bug: in the workers' log (not only on stderr), and the tunnel's place given back
            log.exception("export endpoint tunnel to %s failed", self._destination.host)
        finally:
            self._release(client, upstream)

    def _release(self, client: socket.socket, upstream: socket.socket | None) -> None:
        with self._lock:
            self._active -= 1
            self._sockets.discard(client)
            if upstream is not None:
                self._sockets.discard(upstream)
        _close(client)
        if upstream is not None:
            _close(upstream)

    def _open(self, client: socket.socket) -> tuple[socket.socket, bytes] | None:
        """Read the request head; refuse all but CONNECT of the checked (host, port); connect to a checked
        address; answer 200. (upstream socket, bytes already read past the head), or None when refused."""
        deadline = time.monotonic() + self._connect_timeout
        head = _request_head(client, deadline)
        if isinstance(head, str):
            self._refuse(client, 400, "Bad Request", head)
            return None
        request, pending = head
        if request.method != b"CONNECT":
            # the target is never echoed: a request in absolute form names a path, which may be a secret
            method = request.method.decode("ascii", "replace")[:20]
            self._refuse(client, 405, "Method Not Allowed", f"a {method} request (only CONNECT is tunnelled)")
            return None
        destination = self._destination
        if _authority(request.target) != self._expected:
            shown = request.target.decode("ascii", "replace")[:300]
            self._refuse(client, 403, "Forbidden", f"CONNECT {shown} (only {destination.host}:{destination.port} "
                                                   "is tunnelled)")
            return None
        upstream = self._connect_checked(deadline)
        if isinstance(upstream, str):
            self._refuse(client, 502, "Bad Gateway", f"CONNECT {destination.host}:{destination.port}: the export "
                                                     f"endpoint did not accept a connection ({upstream})")
            return None
        with self._lock:
            closed = self._closed
            if not closed:
                self._sockets.add(upstream)
        try:
            if closed:
                raise OSError("the tunnel was closed")
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        except OSError:
            with self._lock:
                self._sockets.discard(upstream)
            _close(upstream)
            raise
        return upstream, pending

    def _connect_checked(self, deadline: float) -> socket.socket | str:
        """A connection to the first checked address that accepts one in time, or what each one did."""
        destination = self._destination
        failures = []
        for address in destination.addresses[:MAX_ADDRESSES_TRIED]:
            if self._closed:  # the sink is done: no new connection to the customer's store
                failures.append("the tunnel was closed")
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                failures.append(f"{address}: not tried, the connect timeout had passed")
                break
            try:
                upstream = self._connect(str(address), destination.port, remaining)
            except OSError as error:
                failures.append(f"{address}: {error.strerror or error}")
                continue
            with self._lock:
                self.connected_to.append(str(address))
            log.debug("export endpoint %s:%d tunnelled to its checked address %s", destination.host,
                      destination.port, address)
            return upstream
        return "; ".join(failures)

    def _relay(self, client: socket.socket, upstream: socket.socket, pending: bytes) -> str:
        """Bytes both ways until both sides have finished, or nothing has moved for the idle timeout; why it
        ended. Non-blocking, one selector: a side that stops reading stalls only its own direction (one chunk
        held, no more read for it), never the other one."""
        pipes = (_Pipe(client, upstream, pending), _Pipe(upstream, client))
        for sock in (client, upstream):
            sock.setblocking(False)
        with selectors.DefaultSelector() as selector:
            while not all(pipe.finished for pipe in pipes):
                _watch(selector, client, pipes[0].read_events | pipes[1].write_events)
                _watch(selector, upstream, pipes[1].read_events | pipes[0].write_events)
                ready = {key.fileobj: events for key, events in selector.select(timeout=self._idle_timeout)}
                if not ready:
                    return "idle"
                for pipe in pipes:
                    pipe.move(readable=bool(ready.get(pipe.source, 0) & selectors.EVENT_READ),
                              writable=bool(ready.get(pipe.sink, 0) & selectors.EVENT_WRITE))
        return "finished"

    def _refuse(self, client: socket.socket, status: int, reason: str, why: str) -> None:
        with self._lock:
            self.refused.append(why)
        log.warning("export endpoint tunnel for %s refused %s", self._destination.host, why)
        body = f"{why}\n".encode()
        with contextlib.suppress(OSError):
            client.sendall(f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}"
                           f"\r\nConnection: close\r\n\r\n".encode() + body)
        if status == 503:
            _close(client)


def _request_head(client: socket.socket, deadline: float) -> tuple[h11.Request, bytes] | str:
    """The request line and headers (h11 parses them) and the bytes read past them, or why there are none.
    At most MAX_HEAD_BYTES are read before the head is complete: h11's own bound is on an unfinished head
    only, so a complete head larger than it, arriving in one read, would pass it."""
    parser = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
    received = 0
    while True:
        try:
            event = parser.next_event()
        except h11.RemoteProtocolError:
            return "a request head that did not parse"
        if isinstance(event, h11.Request):
            data, _ = parser.trailing_data if event.method == b"CONNECT" else (b"", False)
            return event, data
        if event is not h11.NEED_DATA:
            return "a request head that did not parse"
        if received >= MAX_HEAD_BYTES:
            return f"a request head of more than {MAX_HEAD_BYTES} bytes"
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "a request head not complete within the connect timeout"
        client.settimeout(remaining)
        try:
            data = client.recv(MAX_HEAD_BYTES - received)
        except TimeoutError:
            return "a request head not complete within the connect timeout"
        if not data:
            return "a connection closed before its request head was complete"
        received += len(data)
        parser.receive_data(data)


def _authority(target: bytes) -> tuple[str, int] | None:
    """("host", port) of a CONNECT target `host:port` or `[v6]:port`, the host lower-cased; None otherwise."""
    try:
        text = target.decode("ascii")
    except UnicodeDecodeError:
        return None
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit() or len(port) > 5:
        return None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if ":" not in host:
            return None
    elif ":" in host:
        return None
    return _host_form(host), int(port)


class _Pipe:
    """One direction of a tunnel: reads a chunk from `source` only when the last one has gone to `sink`
    (so a sink that stops reading holds one chunk here, and TCP pushes back on its source); passes the
    source's end on as a half-close once everything before it is sent."""

    __slots__ = ("ended", "finished", "held", "sink", "source")

    def __init__(self, source: socket.socket, sink: socket.socket, held: bytes = b"") -> None:
        self.source, self.sink = source, sink
        self.held = memoryview(held)
        self.ended = self.finished = False  # the source has sent its end; that end was passed on

    @property
    def read_events(self) -> int:
        return selectors.EVENT_READ if not (self.ended or self.held) else 0

    @property
    def write_events(self) -> int:
        return selectors.EVENT_WRITE if self.held else 0

    def move(self, *, readable: bool, writable: bool) -> None:
        if readable and not self.held:
            with contextlib.suppress(BlockingIOError):  # a readiness that was not (rare, but allowed)
                data = self.source.recv(RELAY_CHUNK)
                self.held, self.ended = memoryview(data), not data
                writable = True  # usually room already: no extra trip through the selector
        if writable and self.held:
            with contextlib.suppress(BlockingIOError):
                self.held = self.held[self.sink.send(self.held):]
        if self.ended and not self.held and not self.finished:
            self.sink.shutdown(socket.SHUT_WR)
            self.finished = True


def _watch(selector: selectors.BaseSelector, sock: socket.socket, events: int) -> None:
    """Have `selector` wait for `events` on `sock` (none: not at all)."""
    try:
        watched = selector.get_key(sock).events
    except KeyError:
        if events:
            selector.register(sock, events)
        return
    if not events:
        selector.unregister(sock)
    elif events != watched:
        selector.modify(sock, events)


def _host_form(host: str) -> str:
    """A host as compared: lower-cased; an IPv6 literal in its compressed form."""
    if ":" in host:
        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError:
            return host.lower()
    return host.lower()


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
