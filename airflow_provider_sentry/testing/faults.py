"""Scheduled faults: error statuses, latency, truncated bodies and connection resets, by request number or path."""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass

FAULT_KINDS = ("status", "rate_limit", "latency", "reset", "truncate", "query_timeout")
BAD_GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


@dataclass
class Fault:
    """One scheduled fault. ``on_request`` is an absolute request number (1-based) once registered."""

    kind: str
    status: int | None = None
    path: str | None = None
    method: str | None = None
    times: int = 1
    on_request: int | None = None
    delay: float = 0.0
    when: str = "before"

    def matches(self, number: int, method: str, path: str) -> bool:
        if self.on_request is not None and number != self.on_request:
            return False
        if self.path is not None and self.path not in path:
            return False
        return self.method is None or self.method.upper() == method.upper()


#: ``handle_query_errors``: Snuba rate limits, timeouts and memory limits become a 400 ``ParseError``.
QUERY_TIMEOUT_DETAIL = "Query timeout. Please try with a smaller date range or fewer conditions."


def query_timeout_answer() -> tuple[int, dict[str, str], bytes]:
    """What Sentry sends when Snuba times out or is overloaded during an issue search."""
    return 400, {"Content-Type": "application/json"}, json.dumps({"detail": QUERY_TIMEOUT_DETAIL}).encode()


def error_answer(status: int) -> tuple[int, dict[str, str], bytes]:
    """What Sentry's edge sends for an injected error status."""
    if status == 502:
        return 502, {"Content-Type": "text/html"}, BAD_GATEWAY_HTML
    if status in (503, 504):
        text = b"Service Unavailable" if status == 503 else b"Gateway Timeout"
        return status, {"Content-Type": "text/plain"}, text
    body = {"detail": "Internal Error", "errorId": secrets.token_hex(16)}
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


class FaultBook:
    """Thread-safe schedule; ``take`` consumes one use of the first matching fault."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {fault.kind!r}; expected one of {FAULT_KINDS}")
        if fault.when not in ("before", "after"):
            raise ValueError("when must be 'before' or 'after'")
        if fault.kind == "status" and fault.status is None:
            fault.status = 500
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, number: int, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and fault.matches(number, method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None
