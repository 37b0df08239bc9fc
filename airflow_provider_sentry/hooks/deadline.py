"""A whole-request deadline for ``requests``, which only knows per-read timeouts.

``requests``' ``timeout`` bounds each socket read: a server that trickles one byte every half
second holds a call for as long as it likes. Here a watchdog timer shuts the socket of the
request still in flight when ``Send.timeout`` seconds have passed, so the blocked read returns
and the core sees a timeout (``Call.receive_error(..., deadline=True)``).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import TYPE_CHECKING, Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

if TYPE_CHECKING:
    import requests

_current = threading.local()


class Deadline:
    """Arms a timer for one request; :attr:`fired` says whether the request was cut."""

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._lock = threading.Lock()
        self._connection: HTTPConnection | None = None
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        _current.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()
        _current.deadline = None
        with self._lock:
            self._connection = None

    def attach(self, connection: HTTPConnection) -> None:
        with self._lock:
            self._connection = connection
            fired = self.fired
        if fired:  # the deadline passed while the pool handed out a connection
            _shut(connection)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            connection = self._connection
        if connection is not None:
            _shut(connection)


def _shut(connection: HTTPConnection) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _attach(connection: HTTPConnection) -> None:
    deadline: Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.attach(connection)


class _Connection(HTTPConnection):
    def connect(self) -> None:
        _attach(self)
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        _attach(self)
        super().request(*args, **kwargs)


class _TLSConnection(HTTPSConnection):
    def connect(self) -> None:  # an HTTPS pool connects (TLS handshake) before request()
        _attach(self)
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        _attach(self)
        super().request(*args, **kwargs)


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Connection


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _TLSConnection


def install(session: requests.Session) -> None:
    """Make the session's connections cuttable by a :class:`Deadline` of the calling thread."""
    for adapter in session.adapters.values():
        manager = getattr(adapter, "poolmanager", None)
        if manager is not None:
            manager.pool_classes_by_scheme = {"http": _Pool, "https": _TLSPool}
