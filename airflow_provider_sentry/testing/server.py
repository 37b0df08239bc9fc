"""The HTTP side: a stdlib ThreadingHTTPServer, the request pipeline, fault application and the request log.

Pipeline per request: log it -> ``before_request`` callbacks -> fault (when="before") -> rate limit ->
authentication (401) -> route (404/405) -> permission scopes (401/403) -> endpoint -> fault (when="after").
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import struct
import threading
import time
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from airflow_provider_sentry.testing import ingest
from airflow_provider_sentry.testing.auth import (
    NO_PERMISSION,
    NOT_PROVIDED,
    WWW_AUTHENTICATE,
    AuthFailed,
    Credential,
    TokenBook,
    has_any_scope,
)
from airflow_provider_sentry.testing.faults import Fault, FaultBook, error_answer, query_timeout_answer
from airflow_provider_sentry.testing.issues import ApiError
from airflow_provider_sentry.testing.ratelimit import RateLimiter, too_many_requests_body
from airflow_provider_sentry.testing.routes import match_route
from airflow_provider_sentry.testing.routing import Answer, Ctx, RequestRecord, json_answer

__all__ = ["EmulatorApp", "EmulatorHTTPServer", "RequestRecord"]  # RequestRecord: its old import path
from airflow_provider_sentry.testing.state import EmulatorState

REQUEST_URI_TOO_LARGE_HTML = (
    b"<html>\r\n<head><title>414 Request-URI Too Large</title></head>\r\n<body>\r\n"
    b"<center><h1>414 Request-URI Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
EXPOSE_HEADERS = "X-Sentry-Error, X-Sentry-Direct-Hit, X-Hits, X-Max-Hits, Endpoint, Retry-After, Link"


class RequestLog:
    """Thread-safe, append-only list of RequestRecord."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._counter = 0

    def open(
        self, method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes
    ) -> RequestRecord:
        with self._lock:
            self._counter += 1
            record = RequestRecord(self._counter, method, path, query, headers, body)
            self._records.append(record)
            return record

    @property
    def count(self) -> int:
        with self._lock:
            return self._counter

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


class EmulatorApp:
    """Everything the request handler needs; owned by ``SentryEmulator``."""

    def __init__(self, state: EmulatorState, *, empty_result_mode: str = "empty_result") -> None:
        if empty_result_mode not in ("empty_result", "echo"):
            raise ValueError("empty_result_mode must be 'empty_result' or 'echo'")
        self.state = state
        self.max_request_line: int | None = None  # nginx-like 414 above this many bytes (None: no limit)
        self.tokens = TokenBook()
        self.faults = FaultBook()
        self.limiter = RateLimiter()
        self.log = RequestLog()
        self.callbacks: list[Callable[[RequestRecord], None]] = []
        self.base_url = ""
        self.empty_result_mode = empty_result_mode
        self.environments: set[str] = {"production"}
        # The control API (testing/control.py): (method, path, query, body) -> answer; None = off.
        self.control: Callable[[str, str, str, bytes], Answer] | None = None
        #: issue search: ``snuba.search.max-pre-snuba-candidates`` and ``snuba.search.max-chunk-size``
        self.max_candidates = 5000
        self.max_chunk_size = 2000
        #: projects the token's user is a member of (a request without ``project``); ``None`` = all
        self.member_project_ids: set[int] | None = None

    def known_environments(self) -> set[str]:
        with self.state.lock:
            names = set(self.environments)
            for issue in self.state.issues.values():
                names.update(issue.environments)
            names.update(d.environment for d in self.state.deploys)
        return names

    # -- pipeline ---------------------------------------------------------------------------------------------

    def handle(self, record: RequestRecord, client_ip: str) -> Answer:
        path = record.path
        if path.startswith("/api/") and not path.startswith("/api/0/"):
            return self._handle_ingest(record)
        route, params, path_exists = match_route(record.method, path)
        credential: Credential | None = None
        auth_error: str | None = None
        try:
            credential = self.tokens.authenticate(record.headers.get("authorization")).credential
        except AuthFailed as exc:
            auth_error = str(exc)
        caller = self._caller(credential, client_ip)
        endpoint_name = route.name if route else path
        decision = self.limiter.enter(credential.secret if credential else None, caller, endpoint_name, record.method)
        try:
            answer = self._answer(record, route, params, path_exists, credential, auth_error, decision)
        finally:
            if decision is not None:
                self.limiter.leave(caller)
        if decision is not None:
            answer[1].update(decision.headers)
        return answer

    @staticmethod
    def _caller(credential: Credential | None, client_ip: str) -> str:
        if credential is not None and credential.kind == "user_token":
            return f"user:{credential.user_id}"
        return f"ip:{client_ip}"

    def _answer(
        self,
        record: RequestRecord,
        route: Any,
        params: dict[str, str],
        path_exists: bool,
        credential: Credential | None,
        auth_error: str | None,
        decision: Any,
    ) -> Answer:
        if decision is not None and decision.limited:
            config = self.limiter.config_for(credential.secret if credential else None)
            assert config is not None
            return 429, {"Content-Type": "text/html"}, too_many_requests_body(config.limit, config.window)
        if auth_error is not None:
            return json_answer(401, {"detail": auth_error}, {"WWW-Authenticate": WWW_AUTHENTICATE})
        if route is None:
            if path_exists:
                return json_answer(405, {"detail": f'Method "{record.method}" not allowed.'})
            return json_answer(404, {"detail": "The requested resource does not exist"})
        if route.scopes is not None and credential is None:
            return json_answer(401, {"detail": NOT_PROVIDED}, {"WWW-Authenticate": WWW_AUTHENTICATE})
        ctx = Ctx(self, record, credential)
        try:
            if route.scopes is not None and not has_any_scope(credential, route.scopes):
                # Resource lookups (404) come before the scope check in Sentry's convert_args.
                org = params.get("org")
                if org is not None and org not in (self.state.organization_slug, str(self.state.organization_id)):
                    raise ApiError(404, {"detail": "The requested resource does not exist"})
                return json_answer(403, {"detail": NO_PERMISSION})
            with self.state.lock:  # one lock around state: a request sees and leaves a consistent world
                answer: Answer = route.handler(ctx, **params)
            return answer
        except ApiError as exc:
            if exc.status == 500:
                return json_answer(500, {"detail": "Internal Error", "errorId": secrets.token_hex(16)})
            return json_answer(exc.status, exc.body)
        except Exception:  # an emulator bug must look like a Sentry 500, and be visible in test output
            traceback.print_exc()
            return json_answer(500, {"detail": "Internal Error", "errorId": secrets.token_hex(16)})

    def _handle_ingest(self, record: RequestRecord) -> Answer:
        parts = [p for p in record.path.split("/") if p]
        if len(parts) in (4, 5) and parts[2] == "cron" and parts[1].isdigit():
            return self._handle_cron(record, parts)
        if len(parts) != 3 or parts[2] not in ("envelope", "store") or not parts[1].isdigit():
            return json_answer(404, {"detail": "not found"})
        if record.method != "POST":
            return json_answer(405, {"detail": "method not allowed"})
        project = self.state.project_by_id(int(parts[1]))
        key = ingest.request_key(record.headers, record.query)
        if project is None or key is None or key != project.public_key:
            return json_answer(401, {"detail": "invalid api key"})
        try:
            payload = ingest.decode_body(record.raw_body, record.headers.get("content-encoding"))
            with self.state.lock:
                event_id = self._ingest(parts[2], project, payload)
        except ApiError as exc:
            return json_answer(exc.status, exc.body)
        return json_answer(200, {"id": event_id})

    def _handle_cron(self, record: RequestRecord, parts: list[str]) -> Answer:
        """Cron check-ins over HTTP: the key in the path, or any way ``request_key`` accepts; 202, no body."""
        if record.method not in ("GET", "POST"):
            return json_answer(405, {"detail": "method not allowed"})
        project = self.state.project_by_id(int(parts[1]))
        key = parts[4] if len(parts) == 5 else ingest.request_key(record.headers, record.query)
        if project is None or key is None or key != project.public_key:
            return json_answer(401, {"detail": "invalid api key"})
        try:
            payload = ingest.decode_body(record.raw_body, record.headers.get("content-encoding"))
            ingest.handle_cron(self.state, project, record.method, parts[3], record.query, payload)
        except ApiError as exc:
            return json_answer(exc.status, exc.body)
        return 202, {}, b""

    def _ingest(self, kind: str, project: Any, payload: bytes) -> str:
        if kind == "envelope":
            return ingest.handle_envelope(self.state, project, payload)
        return ingest.handle_store(self.state, project, payload)


class _Handler(BaseHTTPRequestHandler):
    server: EmulatorHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "SentryEmulator/1.0"
    # TCP_NODELAY, as nginx's default: headers and body go out as two writes, and with Nagle on, the body would
    # wait for the client's delayed ACK (40 ms) on every keep-alive request after the first few.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is not None:
            return self.rfile.read(int(length)) if int(length) > 0 else b""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return b""

    def _serve(self) -> None:
        app = self.server.app
        parts = urlsplit(self.path)
        body = self._read_body()
        if app.control is not None and parts.path.startswith("/_emulator/"):
            self._send(*app.control(self.command, parts.path, parts.query, body), truncate=False)
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        record = app.log.open(self.command, parts.path, parse_qsl(parts.query, keep_blank_values=True), headers, body)
        if app.max_request_line is not None and len(self.requestline.encode()) > app.max_request_line:
            record.status = 414
            self._send(414, {"Content-Type": "text/html"}, REQUEST_URI_TOO_LARGE_HTML, truncate=False)
            return
        for callback in list(app.callbacks):
            callback(record)
        fault = app.faults.take(record.number, record.method, record.path)
        answer: Answer | None = None
        if fault is not None:
            record.fault = fault.kind
        for phase in ("before", "after"):
            if phase == "after" and answer is None:
                answer = app.handle(record, self.client_address[0])
            if fault is None or fault.when != phase:
                continue
            if fault.kind == "latency":
                time.sleep(fault.delay)
            elif fault.kind == "reset":
                record.status = 0
                self._reset()
                return
            elif fault.kind in ("status", "rate_limit"):
                answer = self._fault_answer(app, fault)
            elif fault.kind == "query_timeout":
                answer = query_timeout_answer()
        assert answer is not None
        status, out_headers, out_body = answer
        out_headers.setdefault("Access-Control-Expose-Headers", EXPOSE_HEADERS)
        record.status, record.response_headers, record.response_body = status, dict(out_headers), out_body
        self._send(status, out_headers, out_body, truncate=fault is not None and fault.kind == "truncate")

    @staticmethod
    def _fault_answer(app: EmulatorApp, fault: Fault) -> Answer:
        if fault.kind == "rate_limit":
            config = app.limiter.config_for(None)
            limit, window = (config.limit, config.window) if config else (40, 1)
            return 429, {"Content-Type": "text/html"}, too_many_requests_body(limit, window)
        return error_answer(fault.status or 500)

    def _send(self, status: int, headers: dict[str, str], body: bytes, *, truncate: bool) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        if truncate:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body[: len(body) // 2] if truncate else body)
        self.wfile.flush()
        if truncate:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_WR)

    def _reset(self) -> None:
        """Close with SO_LINGER 0: the client sees ECONNRESET with no answer."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: EmulatorApp) -> None:
        self.app = app
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Client disconnects and injected resets are expected; stay quiet."""
        return
