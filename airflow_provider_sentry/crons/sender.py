"""The background sender: the listener hands check-ins over and returns at once; one daemon thread sends.

- A bounded queue (``put_nowait``): when full, the check-in is dropped with a warning, never waited for.
- Per monitor FIFO, at most 6 check-ins per minute per monitor environment (Sentry drops the rest).
- A terminal check-in that finds its own ``in_progress`` still queued replaces it (one request, same id).
- Transport errors and 429/5xx are retried 3 times (1, 2, 4 s later); other errors are logged, never raised.
- Forked children (LocalExecutor workers) start their own thread; ``flush()`` runs at interpreter exit.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_sentry._lazy import lazy_module
from airflow_provider_sentry.core.crons import MonitorBudget
from airflow_provider_sentry.core.dsn import DsnTarget
from airflow_provider_sentry.core.envelope import check_in_envelope
from airflow_provider_sentry.exceptions import SentryApiError, SentryError, SentryTransportError

if TYPE_CHECKING:
    from airflow.models import connection

    from airflow_provider_sentry import ingestion
else:  # loaded by the sending thread, at the first check-in
    connection = lazy_module("airflow.models.connection")
    ingestion = lazy_module("airflow_provider_sentry.ingestion")

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000
MAX_ATTEMPTS = 4
TARGET_TTL = 60.0
TargetLoader = Callable[[str], DsnTarget]
Sender = Callable[[DsnTarget, bytes], int]


@dataclass
class Outgoing:
    """One check-in waiting to go out."""

    conn_id: str
    payload: dict[str, Any]
    attempts: int = 0
    not_before: float = 0.0

    @property
    def monitor(self) -> tuple[str, str]:
        return (str(self.payload["monitor_slug"]), str(self.payload.get("environment") or "production"))


def load_target_from_airflow(conn_id: str) -> DsnTarget:
    """Server side (scheduler, API server): the connection from the secrets backends and the metadata DB."""
    return ingestion.target_from_connection(connection.Connection.get_connection_from_secrets(conn_id))


def send_with_requests(target: DsnTarget, body: bytes) -> int:
    return ingestion.IngestClient(target).send_envelope(body)


@dataclass
class CheckInSender:
    """Owns the queue and the thread. ``stats`` counts sent / retried / failed / dropped_full / coalesced."""

    load_target: TargetLoader = load_target_from_airflow
    send: Sender = send_with_requests
    maxsize: int = QUEUE_SIZE
    clock: Callable[[], float] = time.monotonic
    stats: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: queue.Queue[Outgoing] = queue.Queue(self.maxsize)
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._pending: dict[tuple[str, str], deque[Outgoing]] = {}
        self._budget = MonitorBudget()
        self._targets: dict[str, tuple[DsnTarget, float]] = {}
        self._busy = 0

    def submit(self, conn_id: str, payload: dict[str, Any]) -> bool:
        """Hand one check-in over without blocking; False (and a warning) when the queue is full."""
        self._ensure_thread()
        try:
            self._queue.put_nowait(Outgoing(conn_id, payload))
        except queue.Full:
            self.stats["dropped_full"] += 1
            log.warning("Sentry Crons: queue full (%d); check-in for %s dropped", self.maxsize, payload["monitor_slug"])
            return False
        return True

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait (bounded) until everything queued was sent or given up; True when nothing is left."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                idle = self._queue.empty() and not any(self._pending.values()) and self._busy == 0
            if idle:
                return True
            time.sleep(0.02)
        return False

    # -- the thread -------------------------------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's thread does not exist here
                self.__post_init__()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sentry-crons-sender", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                self._step()
            except Exception:  # the thread must survive anything
                log.exception("Sentry Crons: sender error")
                time.sleep(0.5)

    def _next_wait(self, now: float) -> float:
        waits = [
            max(items[0].not_before - now, self._budget.wait(*monitor, now))
            for monitor, items in self._pending.items()
            if items
        ]
        return max(0.0, min(waits)) if waits else 1.0

    def _step(self) -> None:
        now = self.clock()
        try:
            item = self._queue.get(timeout=min(1.0, self._next_wait(now)) or 0.001)
        except queue.Empty:
            item = None
        with self._lock:
            while item is not None:
                self._enqueue(item)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    item = None
            now = self.clock()
            ready = [
                (monitor, items)
                for monitor, items in self._pending.items()
                if items and items[0].not_before <= now and self._budget.wait(*monitor, now) <= 0
            ]
            self._busy += len(ready)
        for monitor, items in ready:
            try:
                self._deliver(monitor, items)
            finally:
                with self._lock:
                    self._busy -= 1

    def _enqueue(self, item: Outgoing) -> None:
        items = self._pending.setdefault(item.monitor, deque())
        if item.payload["status"] != "in_progress":
            for index, queued in enumerate(items):
                same = queued.payload["check_in_id"] == item.payload["check_in_id"]
                if same and queued.payload["status"] == "in_progress" and queued.attempts == 0:
                    del items[index]
                    self.stats["coalesced"] += 1
                    break
        items.append(item)

    def _target(self, conn_id: str) -> DsnTarget:
        cached = self._targets.get(conn_id)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        target = self.load_target(conn_id)
        self._targets[conn_id] = (target, now + TARGET_TTL)
        return target

    def _deliver(self, monitor: tuple[str, str], items: deque[Outgoing]) -> None:
        item = items[0]
        now = self.clock()
        try:
            target = self._target(item.conn_id)
            body = check_in_envelope(item.payload, sent_at=datetime.now(tz=UTC))
            self._budget.record(*monitor, now)
            item.attempts += 1
            self.send(target, body)
        except (SentryTransportError, SentryApiError) as exc:
            retriable = isinstance(exc, SentryTransportError) or getattr(exc, "status", 0) in (429, 500, 502, 503, 504)
            if retriable and item.attempts < MAX_ATTEMPTS:
                item.not_before = now + 2 ** (item.attempts - 1)
                self.stats["retried"] += 1
                log.warning(
                    "Sentry Crons: %s for %s, retry %d: %s", item.payload["status"], monitor[0], item.attempts, exc
                )
                return
            self._give_up(items, f"{exc}")
        except SentryError as exc:  # configuration: no DSN, bad DSN...
            self._give_up(items, f"{exc}")
        except Exception as exc:
            self._give_up(items, f"unexpected {type(exc).__name__}: {exc}")
        else:
            items.popleft()
            self.stats["sent"] += 1

    def _give_up(self, items: deque[Outgoing], reason: str) -> None:
        item = items.popleft()
        self.stats["failed"] += 1
        log.error(
            "Sentry Crons: %s check-in for monitor %s not sent: %s",
            item.payload["status"],
            item.payload["monitor_slug"],
            reason,
        )


_sender: CheckInSender | None = None
_sender_lock = threading.Lock()


def get_sender() -> CheckInSender:
    """The process-wide sender, created on first use (never at import)."""
    global _sender
    with _sender_lock:
        if _sender is None:
            _sender = CheckInSender()
            atexit.register(_sender.flush, 3.0)
        return _sender
