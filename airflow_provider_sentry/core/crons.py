"""Sentry Crons for Airflow, the pure part: slugs, check-in ids, ``monitor_config`` and check-in payloads.

No Airflow import and no I/O: the listener extracts plain values from a DAG run (:class:`ScheduleSpec`) and
this module turns them into what Sentry's ingestion expects. Limits are Sentry's
(``src/sentry/monitors/constants.py`` and ``validators.py``).
"""

from __future__ import annotations

import fnmatch
import math
import re
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from airflow_provider_sentry.exceptions import SentryConfigError

#: Relay cuts slugs to 50 characters.
SLUG_MAX_LENGTH = 50
#: Sentry's hard maximum for ``max_runtime`` and ``checkin_margin``, in minutes (28 days).
MAX_TIMEOUT_MINUTES = 40_320
MAX_MARGIN_MINUTES = 40_320
#: Sentry's bounds for ``failure_issue_threshold`` and ``recovery_threshold``.
MIN_THRESHOLD = 1
MAX_THRESHOLD = 720
#: Sentry accepts this many check-ins per minute per monitor environment and drops the rest.
CHECKINS_PER_MINUTE = 6
#: The ``@`` schedules Sentry's validator accepts, as it rewrites them (``NONSTANDARD_CRONTAB_SCHEDULES``).
SENTRY_CRON_PRESETS: Mapping[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@hourly": "0 * * * *",
}
#: Airflow's extra preset, not known to Sentry.
AIRFLOW_ONLY_PRESETS: Mapping[str, str] = {"@midnight": "0 0 * * *", "@quarterly": "0 0 1 */3 *"}
INTERVAL_UNITS: tuple[tuple[str, int], ...] = (("week", 604_800), ("day", 86_400), ("hour", 3_600), ("minute", 60))
STATUSES = ("in_progress", "ok", "error")
NIL_CHECK_IN_ID = "0" * 32
#: Namespace of the deterministic check-in ids (uuid5), fixed forever: changing it would reopen runs.
CHECK_IN_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://pypi.org/project/airflow-provider-sentry/crons")

_SLUG_INVALID = re.compile(r"[^a-z0-9_-]+")
_DASHES = re.compile(r"-{2,}")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,?#LW-]+$")
_TZ_NAME = re.compile(r"^(UTC|GMT|[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*)$")


def monitor_slug(dag_id: str) -> str:
    """The DAG id lowercased, each run of characters outside ``[a-z0-9_-]`` made one ``-``, at most 50 chars.

    Runs of ``-`` become one and leading or trailing ``-``/``_`` are dropped, as Sentry's own slugify does, so
    Sentry keeps the slug as it is.
    """
    slug = _DASHES.sub("-", _SLUG_INVALID.sub("-", dag_id.lower()))[:SLUG_MAX_LENGTH].strip("-_")
    if not slug:
        raise SentryConfigError(f"dag_id {dag_id!r}: gives an empty monitor slug")
    return slug


def check_in_id(dag_id: str, run_id: str) -> str:
    """Deterministic id of one run's check-in: every sender of the same run opens and closes the same one."""
    return uuid.uuid5(CHECK_IN_NAMESPACE, f"{dag_id}\n{run_id}").hex


def dag_selected(dag_id: str, patterns: Iterable[str]) -> bool:
    """Glob match (``fnmatchcase``) against the ``[sentry_crons] dags`` patterns; none means off."""
    return any(fnmatch.fnmatchcase(dag_id, pattern) for pattern in patterns)


def parse_patterns(value: str | None) -> tuple[str, ...]:
    """``"nightly_*, billing_report"`` -> ``("nightly_*", "billing_report")``; empty means off."""
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


@dataclass(frozen=True)
class ScheduleSpec:
    """What the listener read from a DAG's timetable: a cron expression, or a fixed interval, or neither."""

    cron: str | None = None
    interval: timedelta | None = None
    #: for ``relativedelta`` schedules: (value, unit) already in Sentry's units, e.g. ``(1, "month")``.
    calendar_interval: tuple[int, str] | None = None
    timezone: str | None = None


@dataclass(frozen=True)
class MonitorOptions:
    """Monitor settings from ``[sentry_crons]`` and the per-DAG override. ``None`` leaves Sentry's default."""

    checkin_margin: int | None = None
    failure_issue_threshold: int | None = None
    recovery_threshold: int | None = None

    @classmethod
    def parse(cls, values: Mapping[str, Any], *, source: str = "[sentry_crons]") -> MonitorOptions:
        """Validate like Sentry's ``ConfigValidator``; errors name the option."""
        bounds = {
            "checkin_margin": (1, MAX_MARGIN_MINUTES),
            "failure_issue_threshold": (MIN_THRESHOLD, MAX_THRESHOLD),
            "recovery_threshold": (MIN_THRESHOLD, MAX_THRESHOLD),
        }
        parsed: dict[str, int | None] = {}
        for name, (low, high) in bounds.items():
            raw = values.get(name)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                parsed[name] = None
                continue
            if isinstance(raw, bool):
                raise SentryConfigError(f"{source} {name}: expected a whole number, got {raw!r}")
            try:
                number = int(str(raw).strip())
            except ValueError:
                raise SentryConfigError(f"{source} {name}: expected a whole number, got {raw!r}") from None
            if not low <= number <= high:
                raise SentryConfigError(f"{source} {name}: must be between {low} and {high}, got {number}")
            parsed[name] = number
        return cls(**parsed)


def crontab(expression: str) -> str | None:
    """A 5-field crontab Sentry accepts, or None (6/7 fields, unknown ``@`` names, odd characters)."""
    text = " ".join(expression.split())
    if text.startswith("@"):
        text = SENTRY_CRON_PRESETS.get(text) or AIRFLOW_ONLY_PRESETS.get(text) or ""
    fields = text.split(" ")
    if len(fields) != 5 or not all(_CRON_FIELD.match(part) for part in fields):
        return None
    return text


def interval_schedule(delta: timedelta) -> dict[str, Any] | None:
    """A whole number of the largest unit that divides ``delta`` exactly; sub-minute deltas cannot be expressed."""
    seconds = delta.total_seconds()
    if seconds <= 0 or seconds != int(seconds):
        return None
    for unit, size in INTERVAL_UNITS:
        if int(seconds) % size == 0:
            return {"type": "interval", "value": int(seconds) // size, "unit": unit}
    return None


def max_runtime_minutes(timeout: timedelta | None) -> int | None:
    """``dagrun_timeout`` in whole minutes, rounded up, within Sentry's 1..40,320."""
    if timeout is None or timeout.total_seconds() <= 0:
        return None
    return min(MAX_TIMEOUT_MINUTES, max(1, math.ceil(timeout.total_seconds() / 60)))


def valid_timezone_name(name: str | None) -> str | None:
    """A tz database name (``Europe/Vienna``, ``UTC``); fixed offsets like ``+01:00`` are not names."""
    if not name or not _TZ_NAME.match(name):
        return None
    return name


def monitor_config(
    schedule: ScheduleSpec,
    *,
    dagrun_timeout: timedelta | None = None,
    options: MonitorOptions = MonitorOptions(),
) -> dict[str, Any] | None:
    """The ``monitor_config`` that upserts the monitor, or None when the schedule cannot be expressed."""
    sched: dict[str, Any] | None = None
    if schedule.cron is not None:
        value = crontab(schedule.cron)
        sched = {"type": "crontab", "value": value} if value else None
    elif schedule.interval is not None:
        sched = interval_schedule(schedule.interval)
    elif schedule.calendar_interval is not None:
        count, unit = schedule.calendar_interval
        if count >= 1 and unit in ("year", "month", "week", "day", "hour", "minute"):
            sched = {"type": "interval", "value": count, "unit": unit}
    if sched is None:
        return None
    config: dict[str, Any] = {"schedule": sched}
    timezone = valid_timezone_name(schedule.timezone)
    if timezone:
        config["timezone"] = timezone
    runtime = max_runtime_minutes(dagrun_timeout)
    if runtime is not None:
        config["max_runtime"] = runtime
    for name in ("checkin_margin", "failure_issue_threshold", "recovery_threshold"):
        value = getattr(options, name)
        if value is not None:
            config[name] = value
    return config


def check_in_payload(
    *,
    slug: str,
    check_in: str,
    status: str,
    environment: str,
    duration: float | None = None,
    config: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One check-in as Relay's ``CheckIn`` (``relay-monitors``): duration in seconds."""
    if status not in STATUSES:
        raise ValueError(f"status: must be one of {', '.join(STATUSES)}, got {status!r}")
    payload: dict[str, Any] = {
        "check_in_id": check_in,
        "monitor_slug": slug,
        "status": status,
        "environment": environment,
    }
    if duration is not None:
        payload["duration"] = max(0.0, round(duration, 3))
    if config:
        payload["monitor_config"] = dict(config)
    return payload


@dataclass
class MonitorBudget:
    """Sentry's 6 check-ins per minute per monitor environment, as a sliding window the sender waits on."""

    limit: int = CHECKINS_PER_MINUTE
    #: one second over Sentry's minute: the server counts arrivals, a little later than the sender's sends.
    window: float = 61.0
    _sent: dict[tuple[str, str], deque[float]] = field(default_factory=dict)

    def wait(self, slug: str, environment: str, now: float) -> float:
        """Seconds until one more check-in may go out for this monitor (0 = now)."""
        sent = self._sent.get((slug, environment))
        if sent is None:
            return 0.0
        while sent and sent[0] <= now - self.window:
            sent.popleft()
        if len(sent) < self.limit:
            return 0.0
        return sent[0] + self.window - now

    def record(self, slug: str, environment: str, now: float) -> None:
        self._sent.setdefault((slug, environment), deque()).append(now)
