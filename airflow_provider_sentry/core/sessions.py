"""Sentry's sessions API (``GET organizations/{org}/sessions/``): the query a release health check sends,
and how its answer reads.

Sentry's rules (``src/sentry/snuba/sessions_v2.py``, ``get_constrained_date_range``; reference correction 18):

- ``interval`` is at least one hour, at most one day, and divides a day;
- the date range is rounded *out* to the interval (start down, end up), so the counted window can begin up
  to one interval before the requested start;
- at most ``MAX_POINTS`` data points per answer;
- ``crash_free_rate(...)`` is ``null`` when there are no sessions, never 1.0, and rates cannot be grouped by
  ``session.status``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from airflow_provider_sentry.core.api_urls import api_path
from airflow_provider_sentry.exceptions import SentryResponseError

SESSIONS = "sum(session)"
CRASH_FREE_SESSIONS = "crash_free_rate(session)"
USERS = "count_unique(user)"
CRASH_FREE_USERS = "crash_free_rate(user)"
#: intervals Sentry accepts: whole hours that divide a day (seconds).
ALLOWED_INTERVALS = (3600, 7200, 10800, 14400, 21600, 28800, 43200, 86400)
#: points per answer this client asks for at most (Sentry refuses more than 10,000).
MAX_POINTS = 1000
#: the detail of the 400 Sentry sends when Snuba times out or is overloaded (reference correction 13).
QUERY_TIMEOUT_DETAIL = "Query timeout. Please try with a smaller date range or fewer conditions."


def choose_interval(start: float, end: float) -> int:
    """The smallest allowed interval that keeps the rounded window within ``MAX_POINTS`` points."""
    for interval in ALLOWED_INTERVALS:
        low, high = rounded_window(start, end, interval)
        if (high - low) / interval <= MAX_POINTS:
            return interval
    return ALLOWED_INTERVALS[-1]


def format_interval(seconds: int) -> str:
    """``3600`` -> ``"1h"``, ``86400`` -> ``"1d"`` (Sentry's ``statsPeriod`` syntax)."""
    return "1d" if seconds == 86400 else f"{seconds // 3600}h"


def rounded_window(start: float, end: float, interval: int) -> tuple[float, float]:
    """The window Sentry actually counts: start rounded down and end rounded up to the interval."""
    low = math.floor(start / interval) * interval
    high = max(math.ceil(end / interval) * interval, low + interval)
    return float(low), float(high)


def iso_z(epoch: float) -> str:
    """Epoch seconds as ``2026-01-01T12:00:00Z`` (whole seconds; Sentry rounds to the interval anyway)."""
    return datetime.fromtimestamp(int(epoch), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def release_query(version: str) -> str:
    """``release:"<version>"``: quoted, so versions with spaces, colons or parentheses stay one value."""
    return 'release:"' + version.replace('"', '\\"') + '"'


@dataclass(frozen=True)
class SessionsQuery:
    """One sessions request: the totals of one release in one environment over ``[start, end]``."""

    organization: str
    version: str
    environment: str
    project_ids: tuple[str, ...]
    start: float
    end: float
    users: bool = False

    @property
    def interval(self) -> int:
        return choose_interval(self.start, self.end)

    @property
    def fields(self) -> tuple[str, ...]:
        return (SESSIONS, CRASH_FREE_SESSIONS, *((USERS, CRASH_FREE_USERS) if self.users else ()))

    def path(self) -> str:
        return api_path("organizations", self.organization, "sessions")

    def params(self) -> tuple[tuple[str, str], ...]:
        """Grouped by release, so an answer that ignored the release filter cannot pass as this release's."""
        pairs: list[tuple[str, str]] = [("field", name) for name in self.fields]
        pairs += [("project", pid) for pid in self.project_ids]
        pairs += [
            ("environment", self.environment),
            ("query", release_query(self.version)),
            ("groupBy", "release"),
            ("interval", format_interval(self.interval)),
            ("start", iso_z(self.start)),
            ("end", iso_z(self.end)),
        ]
        return tuple(pairs)

    def counted_window(self) -> tuple[float, float]:
        """What Sentry counts for this query (the requested window rounded out to the interval)."""
        return rounded_window(self.start, self.end, self.interval)


@dataclass(frozen=True)
class SessionTotals:
    """A release's totals over a window. A rate is ``None`` when there were no sessions (not 100 %)."""

    sessions: int
    crash_free_rate: float | None
    users: int | None = None
    crash_free_user_rate: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "sessions": self.sessions,
            "crash_free_rate": self.crash_free_rate,
            "users": self.users,
            "crash_free_user_rate": self.crash_free_user_rate,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SessionTotals:
        return cls(
            sessions=int(data["sessions"]),
            crash_free_rate=_rate(data.get("crash_free_rate"), "crash_free_rate"),
            users=None if data.get("users") is None else int(data["users"]),
            crash_free_user_rate=_rate(data.get("crash_free_user_rate"), "crash_free_user_rate"),
        )


def _rate(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
        raise SentryResponseError(f"sessions answer: {name} must be a number from 0 to 1 or null, got {value!r}")
    return float(value)


def _count(value: Any, name: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value != int(value):
        raise SentryResponseError(f"sessions answer: {name} must be a whole number, got {value!r}")
    return int(value)


def parse_sessions(data: Any, query: SessionsQuery) -> SessionTotals:
    """The totals of ``query.version`` from a sessions answer.

    No group for the release (Sentry sends ``groups: []`` when a grouped query matched nothing) means no
    sessions. A group whose session count is 0 must have null rates; a rate without sessions is refused
    rather than read as healthy.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("groups"), list):
        raise SentryResponseError(f"sessions answer is not an object with a 'groups' list: {str(data)[:200]}")
    found: Mapping[str, Any] | None = None
    for group in data["groups"]:
        if not isinstance(group, Mapping) or not isinstance(group.get("totals"), Mapping):
            raise SentryResponseError(f"sessions answer has a group without totals: {str(group)[:200]}")
        raw_by = group.get("by")
        by: Mapping[str, Any] = raw_by if isinstance(raw_by, Mapping) else {}
        if by.get("release", query.version) == query.version:
            if found is not None:
                raise SentryResponseError(f"sessions answer has two groups for release {query.version!r}")
            found = group
    if found is None:
        return SessionTotals(0, None, 0 if query.users else None, None)
    totals = found["totals"]
    sessions = _count(totals.get(SESSIONS), SESSIONS)
    rate = _rate(totals.get(CRASH_FREE_SESSIONS), CRASH_FREE_SESSIONS)
    users = _count(totals.get(USERS), USERS) if query.users else None
    user_rate = _rate(totals.get(CRASH_FREE_USERS), CRASH_FREE_USERS) if query.users else None
    if sessions == 0 and (rate is not None or user_rate is not None):
        raise SentryResponseError("sessions answer has a crash-free rate but no sessions")
    return SessionTotals(sessions, rate if sessions else None, users, user_rate if sessions else None)
