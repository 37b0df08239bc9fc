"""The emulator's release-health data: session counts by project, release, environment and start minute.

A field of ``EmulatorState`` (``state.sessions``), filled by the envelope ingestion and by
``SentryEmulator.add_sessions``, read by ``GET /api/0/organizations/{org}/sessions/`` (``testing/sessions.py``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field


@dataclass
class SessionRow:
    """A bucket of sessions with the same project, release, environment and start minute."""

    project_id: int
    release: str
    environment: str
    started: float  # epoch seconds
    total: int = 0
    errored: int = 0  # sessions with errors, including the crashed and abnormal ones
    crashed: int = 0
    abnormal: int = 0
    users: set[str] = field(default_factory=set)
    errored_users: set[str] = field(default_factory=set)
    crashed_users: set[str] = field(default_factory=set)
    abnormal_users: set[str] = field(default_factory=set)


@dataclass
class SingleSession:
    """One SDK session (``session`` item), updated in place by later items with the same ``sid``."""

    row: SessionRow
    did: str | None
    errored: bool = False
    crashed: bool = False
    abnormal: bool = False


class SessionStore:
    """All session data of one emulator; guarded by the state's lock."""

    def __init__(self) -> None:
        self.rows: list[SessionRow] = []
        self.singles: dict[tuple[int, str], SingleSession] = {}
        self._synthetic_users = itertools.count(1)

    @property
    def environments(self) -> set[str]:
        return {row.environment for row in self.rows}

    def add(
        self,
        project_id: int,
        release: str,
        environment: str,
        started: float,
        *,
        healthy: int = 0,
        errored: int = 0,
        crashed: int = 0,
        abnormal: int = 0,
        users: int = 0,
        crashed_users: int | None = None,
    ) -> SessionRow:
        """Counts by final status; ``users`` synthetic distinct users, of whom ``crashed_users`` crashed."""
        if min(healthy, errored, crashed, abnormal, users) < 0:
            raise ValueError("session counts must not be negative")
        row = SessionRow(project_id, release, environment, started)
        row.total = healthy + errored + crashed + abnormal
        row.errored = errored + crashed + abnormal
        row.crashed, row.abnormal = crashed, abnormal
        names = [f"user-{next(self._synthetic_users)}" for _ in range(users)]
        row.users = set(names)
        bad = min(crashed if crashed_users is None else crashed_users, users)
        row.crashed_users = set(names[:bad])
        row.errored_users = set(names[: min(users, bad + errored + abnormal)])
        self.rows.append(row)
        return row
