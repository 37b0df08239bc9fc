"""A raw loopback server that misbehaves below HTTP: it trickles an answer a byte at a time."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Trickle:
    """What the trickling server did: connections accepted and bytes it managed to send."""

    url: str = ""
    connections: int = 0
    sent: list[int] = field(default_factory=list)


@contextmanager
def trickling_server(*, head: bytes, body: bytes, every: float = 0.5) -> Iterator[Trickle]:
    """Send ``head`` at once (may be empty), then ``body`` one byte every ``every`` seconds.

    Stops sending to a client that hung up; the server thread ends with the context."""
    stats = Trickle()
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stats.url = f"http://127.0.0.1:{listener.getsockname()[1]}"

    def serve(conn: socket.socket) -> None:
        index = len(stats.sent)
        stats.sent.append(0)
        with conn:
            conn.settimeout(2)
            try:
                conn.recv(65536)  # the request (small: a GET)
                if head:
                    conn.sendall(head)
                for byte in body:
                    if stop.wait(every):
                        return
                    conn.sendall(bytes([byte]))
                    stats.sent[index] += 1
            except OSError:
                return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            stats.connections += 1
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield stats
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
        time.sleep(0.01)
