"""A real local HTTP(S) server that receives webhooks from a script of replies, and the DNS and routing a
test controls: a resolver that answers what the test says, and a network backend that routes a public
address to a local server (the only way to have a "public" receiver on a test machine).
"""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpcore


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering: a slow receiver
    endless: bool = False  # a body that never ends (until the client hangs up, or 64 MB)


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


@dataclass
class Receiver:
    replies: list[Reply]
    received: list[Received] = field(default_factory=list)
    connections: int = 0  # TCP connections accepted, whether or not a request followed
    server_names: list[str | None] = field(default_factory=list)  # TLS SNI of each handshake
    port: int = 0
    host: str = "127.0.0.1"

    def url(self, path: str = "/hook", *, scheme: str = "http", host: str | None = None) -> str:
        return f"{scheme}://{host or self.host}:{self.port}{path}"


@contextmanager
def receiver(replies: Sequence[Reply] = (Reply(),), *, host: str = "127.0.0.1", port: int = 0,
             tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    """Serve `replies` in order (the last one repeats) on host:port; with `tls`, speak HTTPS with it."""
    state = Receiver(list(replies), host=host)
    lock = threading.Lock()
    if tls is not None:
        tls.sni_callback = lambda _sock, name, _ctx: state.server_names.append(name)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with lock:
                state.received.append(Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                                               body))
                reply = state.replies[min(len(state.received), len(state.replies)) - 1]
            if reply.delay:
                time.sleep(reply.delay)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.endless:
                self.end_headers()
                self._write_forever()
                return
            self.send_header("content-length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def _write_forever(self) -> None:
            chunk = b"x" * 65536
            try:
                for _ in range(1024):
                    self.wfile.write(chunk)
            except OSError:
                return  # the client hung up: what a capped read does

        def log_message(self, *args: object) -> None:
            return

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self) -> tuple[socket.socket, object]:
            sock, address = self.socket.accept()
            with lock:
                state.connections += 1
            if tls is not None:
                sock.settimeout(5)
                sock = tls.wrap_socket(sock, server_side=True)  # a failed handshake ends this connection only
            return sock, address

        def handle_error(self, request: object, client_address: object) -> None:
            return  # a client that hung up mid-answer is what several tests do on purpose

    server = Server((host, port), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


class ScriptedResolver:
    """Plays DNS: answers[i] for the i-th lookup (the last repeats); records every lookup."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = answers
        self.lookups: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append((host, port))
        return self.answers[min(len(self.lookups), len(self.answers)) - 1]


class RoutedNetwork(httpcore.NetworkBackend):
    """Real sockets, with a route table: a connection to a routed address goes to its local stand-in.

    Records the address each connection asked for, so a test sees where the pinned backend connected.
    """

    def __init__(self, routes: dict[str, str]) -> None:
        self.routes = routes
        self.asked: list[str] = []
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        self.asked.append(host)
        return self._sockets.connect_tcp(self.routes.get(host, host), port, timeout=timeout,
                                         local_address=local_address, socket_options=socket_options)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        raise NotImplementedError

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def closed_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port
