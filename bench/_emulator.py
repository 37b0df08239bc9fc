"""The emulator in its own process, driven over a loopback control channel.

Why a separate process: the emulator is a threaded stdlib server. In the benchmark's own
process its threads would compete with the client under test for the GIL and its CPU would be
counted as ours (P6). Out of process, our client, ``sentry-cli`` and ``HttpSensor`` all talk to
the same server on equal terms.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Client, Connection, Listener
from typing import Any

MAX_LIFETIME_S = 1200.0  # the server exits by itself after this, even if the bench is killed


@dataclass(frozen=True)
class RequestRecord:
    """A picklable copy of one entry of the emulator's request log."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    status: int
    line_bytes: int = 0  # the request line, "METHOD /path?query HTTP/1.1"
    sent_bytes: int = 0  # request line + headers + body, as the client sent them


_PROJECTIONS: dict[str, Callable[[Any], Any]] = {
    "none": lambda value: None,
    "value": lambda value: value,
    "len": len,
    "ids": lambda value: [item["id"] for item in value],
    "status_counts": lambda value: dict(Counter(item["status"] for item in value)),
}


def _seed(emu: Any, count: int, start: float, step: float, kwargs: dict[str, Any]) -> list[str]:
    """``count`` issues first seen ``step`` seconds apart from ``start`` (``step=0``: all in one second)."""
    title = kwargs.pop("title", "BenchError")
    return [
        str(emu.add_issue(title=f"{title} #{n}", first_seen=start + n * step, **kwargs)["id"]) for n in range(count)
    ]


def _record(r: Any) -> RequestRecord:
    from urllib.parse import quote, urlencode

    query = tuple((str(k), str(v)) for k, v in r.query)
    target = str(r.path) + ("?" + urlencode(query, quote_via=quote, safe=":,") if query else "")
    line = len(f"{r.method} {target} HTTP/1.1")
    headers = sum(len(k) + len(v) + 4 for k, v in r.headers.items()) + 2
    return RequestRecord(
        str(r.method), str(r.path), query, int(r.status or 0), line, line + 2 + headers + len(r.raw_body)
    )


def _serve(kwargs: dict[str, Any]) -> None:
    from airflow_provider_sentry.testing import SentryEmulator
    from airflow_provider_sentry.testing.server import EmulatorHTTPServer

    # The stdlib default listen backlog (5) drops connections when 1,000 triggers poll at once
    # (clients then wait for a read timeout): a limit of the emulator, not of the client under test.
    EmulatorHTTPServer.request_queue_size = 1024
    threading.Timer(MAX_LIFETIME_S, lambda: os._exit(3)).start()
    authkey = bytes.fromhex(os.environ["BENCH_EMULATOR_KEY"])
    with SentryEmulator(**kwargs) as emu, Listener(("127.0.0.1", 0), authkey=authkey) as listener:
        print(listener.address[1], flush=True)
        conn = listener.accept()
        while True:
            try:
                op, name, args, kw, projection = conn.recv()
            except (EOFError, OSError):
                break
            try:
                if op == "get":
                    result = getattr(emu, name)
                elif op == "seed":
                    count, start, step = args
                    result = _seed(emu, count, start, step, dict(kw))
                elif op == "requests":
                    result = [_record(r) for r in emu.requests[args[0] :]]
                elif op == "request_count":
                    result = len(emu.requests)
                else:
                    result = getattr(emu, name)(*args, **kw)
                conn.send(("ok", _PROJECTIONS[projection](result)))
            except Exception as exc:
                conn.send(("err", f"{type(exc).__name__}: {exc}"))
    os._exit(0)


class RemoteEmulator:
    """A :class:`SentryEmulator` running in a child process; call its methods as if it were local.

    ``emu.call("add_issues", 100, project="backend", projection="len")`` returns only what is
    asked for, so 10,000 issue dicts do not cross the pipe when only their count matters.
    """

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._proc: subprocess.Popen[str] | None = None
        self._conn: Connection | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> RemoteEmulator:
        key = secrets.token_hex(16)
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, BENCH_EMULATOR_KEY=key, PYTHONPATH=root)
        code = f"from bench._emulator import _serve; _serve({self._kwargs!r})"
        self._proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line.strip():
            self.close()
            raise RuntimeError("the emulator process did not start")
        self._conn = Client(("127.0.0.1", int(line)), authkey=bytes.fromhex(key))
        self.url: str = self.get("url")
        self.token: str = self.get("token")
        self.organization: str = self.get("organization")
        self.projects: list[dict[str, Any]] = self.get("projects")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None

    def _ask(self, op: str, name: str, args: tuple[Any, ...], kw: dict[str, Any], projection: str) -> Any:
        assert self._conn is not None, "use RemoteEmulator as a context manager"
        with self._lock:
            self._conn.send((op, name, args, kw, projection))
            status, value = self._conn.recv()
        if status != "ok":
            raise RuntimeError(f"emulator {name}: {value}")
        return value

    def get(self, name: str, projection: str = "value") -> Any:
        return self._ask("get", name, (), {}, projection)

    def seed(self, count: int, *, start: float, step: float = 0.0, **kwargs: Any) -> list[str]:
        """Add issues first seen from ``start`` every ``step`` seconds; returns their ids."""
        return list(self._ask("seed", "", (count, start, step), kwargs, "value"))

    def call(self, name: str, *args: Any, projection: str = "value", **kw: Any) -> Any:
        return self._ask("call", name, args, kw, projection)

    def request_count(self) -> int:
        return int(self._ask("request_count", "", (), {}, "value"))

    def requests_since(self, index: int) -> list[RequestRecord]:
        return list(self._ask("requests", "", (index,), {}, "value"))

    def connection_env(self) -> dict[str, str]:
        """The environment a hook, sentry-cli or HttpSensor needs to reach this emulator."""
        return {
            "AIRFLOW_CONN_SENTRY_DEFAULT": self.call("connection_json"),
            "SENTRY_URL": self.url,
            "SENTRY_AUTH_TOKEN": self.token,
            "SENTRY_ORG": self.organization,
        }
