"""TLS in front of a local plain-HTTP store (the embedded S3 server, or a store_proxy before it): what an
https S3-compatible endpoint is to a client. It terminates TLS with a certificate of the test's authority,
records each handshake's server name (SNI), and relays the decrypted bytes to 127.0.0.1:`upstream_port`."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Front:
    port: int
    connections: int = 0  # TCP connections accepted
    server_names: list[str | None] = field(default_factory=list)  # the SNI of each handshake begun
    relayed: int = 0  # handshakes that succeeded and were relayed to the store


@contextmanager
def tls_front(upstream_port: int, context: ssl.SSLContext, *, host: str = "127.0.0.1",
              port: int = 0) -> Iterator[Front]:
    listener = socket.create_server((host, port))
    state = Front(listener.getsockname()[1])
    lock = threading.Lock()

    def named(_sock: ssl.SSLObject, name: str, _ctx: ssl.SSLContext) -> None:
        with lock:
            state.server_names.append(name)  # None when the client sent no server name

    context.sni_callback = named

    def pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def one(conn: socket.socket) -> None:
        try:
            conn.settimeout(10)
            secured = context.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            conn.close()
            return
        upstream = socket.create_connection(("127.0.0.1", upstream_port), timeout=10)
        with lock:
            state.relayed += 1
        back = threading.Thread(target=pump, args=(upstream, secured), daemon=True)
        back.start()
        pump(secured, upstream)
        back.join(timeout=15)
        secured.close()
        upstream.close()

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with lock:
                state.connections += 1
            threading.Thread(target=one, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, name="tls-front", daemon=True).start()
    try:
        yield state
    finally:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
