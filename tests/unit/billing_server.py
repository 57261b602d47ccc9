"""A local HTTP server that answers like a provider's billing API, from a script of answers."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Answer:
    status: int = 200
    body: Any = None  # JSON, or a str sent as is, or bytes sent as is (a gzip body, say)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the answer starts (a slow provider)
    trickle: float = 0.0  # seconds between chunks of the body (an answer that never quite ends)
    chunk: int = 1024
    declare_length: bool = True  # False: no content-length, the body ends when the connection closes


@dataclass
class Seen:
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]


@dataclass
class Script:
    answers: list[Answer]
    seen: list[Seen] = field(default_factory=list)


@contextmanager
def billing_server(script: Script) -> Iterator[str]:
    """Serve `script.answers` in order on 127.0.0.1 (the last one repeats); yield the base URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            script.seen.append(Seen(url.path, parse_qsl(url.query), {k.lower(): v for k, v in self.headers.items()}))
            answer = script.answers[min(len(script.seen), len(script.answers)) - 1]
            if isinstance(answer.body, bytes):
                data = answer.body
            else:
                data = (answer.body if isinstance(answer.body, str) else json.dumps(answer.body)).encode()
            time.sleep(answer.delay)
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("content-type", "application/json")
            if answer.declare_length:
                self.send_header("content-length", str(len(data)))
            self.end_headers()
            for start in range(0, len(data), answer.chunk if answer.trickle else len(data) or 1):
                self.wfile.write(data[start:start + (answer.chunk if answer.trickle else len(data))])
                self.wfile.flush()
                time.sleep(answer.trickle)

        def log_message(self, *args: object) -> None:
            return

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            return  # a client that gave up (a timeout under test) breaks the pipe: expected here

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def openai_page(buckets: list[tuple[int, list[Any]]], next_page: str | None = None, **extra: Any) -> dict[str, Any]:
    """A Costs API page: buckets of (start_time, [(value, line_item), …]) in the documented shape."""
    return {"object": "page", "has_more": next_page is not None, "next_page": next_page, **extra, "data": [
        {"object": "bucket", "start_time": start, "end_time": start + 86400, "results": [
            {"object": "organization.costs.result", "amount": {"value": value, "currency": "usd"},
             "line_item": item, "project_id": None, "api_key_id": None, "quantity": None, "quantity_unit": None}
            for value, item in results]}
        for start, results in buckets]}


def anthropic_page(buckets: list[tuple[str, list[Any]]], next_page: str | None = None,
                   **extra: Any) -> dict[str, Any]:
    """A cost report page: buckets of (day ISO, [(cents string, description), …])."""
    return {"has_more": next_page is not None, "next_page": next_page, **extra, "data": [
        {"starting_at": f"{day}T00:00:00Z", "ending_at": f"{day}T23:59:59Z", "results": [
            {"amount": cents, "currency": "USD", "description": description, "cost_type": "tokens",
             "model": "claude-sonnet-4-6", "token_type": "output_tokens", "service_tier": "standard",
             "context_window": "0-200k", "inference_geo": "global", "workspace_id": None}
            for cents, description in results]}
        for day, results in buckets]}
