"""A small HTTP proxy on 127.0.0.1 in front of a real store (the embedded S3 server or Cloud Storage emulator):
it forwards every request as it came (the Host header too, which S3 signatures cover), counts them, and can
answer the first few with 503 or hold them past the client's timeout, to see the client retry against the
real server behind it. Also a recorder that refuses everything itself (403), to see what a client sent."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Faults:
    unavailable: int = 0  # the first N requests get a 503 (with S3's SlowDown-free ServiceUnavailable body)
    held: int = 0  # the next N requests are held `hold_seconds` without an answer, then dropped
    hold_seconds: float = 0.0


@dataclass
class Seen:
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)  # method, path, headers
    answered_503: int = 0
    held: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def count(self) -> int:
        return len(self.requests)


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        raw = b""
        while True:
            line = handler.rfile.readline()
            raw += line
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers, then the blank line
                    trailer = handler.rfile.readline()
                    raw += trailer
                    if trailer in (b"\r\n", b"\n", b""):
                        return raw
            raw += handler.rfile.read(size + 2)
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


@contextmanager
def store_proxy(upstream_port: int | None, faults: Faults | None = None) -> Iterator[tuple[str, Seen]]:
    """(the proxy's URL, what it saw). `upstream_port` None: a recorder answering 403 to everything."""
    plan = faults or Faults()
    seen = Seen()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _any(self) -> None:
            body = _read_body(self)
            with seen.lock:
                seen.requests.append((self.command, self.path, dict(self.headers.items())))
                number = len(seen.requests)
            if number <= plan.unavailable or upstream_port is None:
                with seen.lock:
                    seen.answered_503 += upstream_port is not None
                status = 503 if upstream_port is not None else 403
                payload = (b"<Error><Code>ServiceUnavailable</Code><Message>Please reduce your request rate."
                           b"</Message></Error>" if upstream_port is not None else
                           b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>")
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
                return
            if number <= plan.unavailable + plan.held:
                with seen.lock:
                    seen.held += 1
                time.sleep(plan.hold_seconds)
                self.close_connection = True
                return
            upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
                upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in headers.items():
                    upstream.putheader(name, value)
                upstream.endheaders(body if body else None)
                answer = upstream.getresponse()
                data = answer.read()
                self.send_response(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length", "server",
                                            "date"):
                        self.send_header(name, value)
                # a HEAD's answer has no body but the length of the object it describes
                length = answer.getheader("Content-Length") if self.command == "HEAD" else None
                self.send_header("Content-Length", length or str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
            finally:
                upstream.close()

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = _any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="store-proxy",
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
