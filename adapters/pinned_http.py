"""HTTP to a checked destination, connected to the address that was checked.

How the address is pinned: httpcore (httpx's own engine) opens every TCP connection through a network
backend; `PinnedNetworkBackend` is one whose `connect_tcp(host, port)` connects to the checked addresses of
exactly that (host, port) and refuses any other. Everything above the socket is unchanged: the request
still names the host, so the Host header, TLS SNI and certificate verification (ssl's `server_hostname`,
with `check_hostname` on) are all for the host name the customer gave, as `curl --resolve` does.
There is no second DNS lookup to rebind.

Why httpcore directly rather than `httpx.Client`: the client logs every request's full URL at INFO
("HTTP Request: POST https://hooks.slack.com/services/…", the Slack secret in the path), Sentry's httpx
integration records that URL in breadcrumbs and adds trace headers to requests to third parties, and
`httpx.HTTPTransport` takes no network backend (encode/httpx#3749 is open). The pool built here never
reads the environment (no proxy, netrc or SSL_CERT_FILE: what `trust_env=False` asks of httpx), never
follows a redirect, and has no retries of its own (adapters/delivery.py decides).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterable

import httpcore
import httpx

from adapters.destinations import CheckedDestination
from core.errors import present

log = logging.getLogger(__name__)

# a receiver gets a few of the checked addresses, in the resolver's order, before the attempt fails
MAX_ADDRESSES_TRIED = 3


class PinnedNetworkBackend(httpcore.NetworkBackend):
    """Connects (host, port) of one checked destination to its checked addresses, and nothing else."""

    def __init__(self, destination: CheckedDestination, network: httpcore.NetworkBackend | None = None) -> None:
        self._destination = destination
        self._network = network or httpcore.SyncBackend()
        self.connected_to: list[str] = []  # the addresses connected to, in order (what tests and logs see)

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        destination = self._destination
        if (host, port) != (destination.host, destination.port):
            raise httpcore.ConnectError(f"{host}:{port} is not the checked destination {destination.host}")
        failure: Exception | None = None
        for address in destination.addresses[:MAX_ADDRESSES_TRIED]:
            try:
                stream = self._network.connect_tcp(str(address), port, timeout=timeout,
                                                   local_address=local_address, socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
                continue
            self.connected_to.append(str(address))
            log.debug("%s:%d connected to its checked address %s", host, port, address)
            return stream
        raise present(failure, "a connection failure")  # a CheckedDestination has at least one address

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("a checked destination is never a Unix socket")

    def sleep(self, seconds: float) -> None:
        self._network.sleep(seconds)


def default_ssl_context() -> ssl.SSLContext:
    """certifi's roots, hostname checking on: what httpx uses, without reading SSL_CERT_FILE/DIR."""
    return httpx.create_ssl_context(trust_env=False)


def pinned_pool(destination: CheckedDestination, *, ssl_context: ssl.SSLContext | None = None,
                network: httpcore.NetworkBackend | None = None) -> tuple[httpcore.ConnectionPool, PinnedNetworkBackend]:
    """A one-connection pool that only reaches `destination`'s checked addresses; close it after use.

    `ssl_context` replaces the default roots (tests trust their own CA); `network` is the backend under
    the pin (tests route an address to a local server with it).
    """
    backend = PinnedNetworkBackend(destination, network)
    pool = httpcore.ConnectionPool(ssl_context=ssl_context or default_ssl_context(), max_connections=1,
                                   http1=True, http2=False, retries=0, network_backend=backend)
    return pool, backend
