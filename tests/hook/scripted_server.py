"""A tiny loopback HTTP server whose answers each test scripts, for exact transport checks."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes


Answer = tuple[int, dict[str, str], bytes]
Handler = Callable[[Seen], Answer]


@dataclass
class ScriptedServer:
    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    routes: dict[tuple[str, str], list[Handler]] = field(default_factory=dict)

    def on(self, method: str, path: str, *handlers: Handler) -> None:
        """Answer ``method path`` with each handler in turn; the last one repeats."""
        self.routes[(method, path)] = list(handlers)

    def answer(self, seen: Seen) -> Answer:
        handlers = self.routes.get((seen.method, seen.path))
        if not handlers:
            return json_answer(404, {"detail": "The requested resource does not exist"})
        handler = handlers.pop(0) if len(handlers) > 1 else handlers[0]
        return handler(seen)


def json_answer(status: int, data: Any, headers: dict[str, str] | None = None) -> Answer:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(data).encode()


@contextmanager
def scripted_server() -> Iterator[ScriptedServer]:
    state = ScriptedServer()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(
                self.command,
                parts.path,
                parse_qsl(parts.query, keep_blank_values=True),
                dict(self.headers.items()),
                self.rfile.read(length) if length else b"",
            )
            state.seen.append(seen)
            status, headers, body = state.answer(seen)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
