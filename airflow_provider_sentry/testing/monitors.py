"""Sentry Crons in the emulator: monitors upserted from ``monitor_config``, check-ins, and the rules of
Sentry's check-in consumer (getsentry/sentry ``src/sentry/monitors/consumers/monitor_consumer.py``,
``validators.py``; getsentry/relay ``relay-monitors``).

- A check-in with a valid ``monitor_config`` creates or updates its monitor; an invalid config is ignored
  (the check-in still lands if the monitor exists). A check-in for an unknown monitor without config is dropped.
- A nil (all-zero) or missing ``check_in_id`` with ``ok``/``error`` completes the latest in-progress check-in.
- A finished check-in is never reopened or changed; a later check-in with its id is dropped.
- At most 6 check-ins per minute per monitor environment; the rest are dropped.

Drops are not errors for the client (Relay answered already): they are recorded in ``CronBook.dropped``.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import uuid
import zoneinfo
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

SLUG_MAX_LENGTH = 50
MAX_TIMEOUT = 40_320
MAX_MARGIN = 40_320
MAX_THRESHOLD = 720
INTERVAL_NAMES = ("year", "month", "week", "day", "hour", "minute")
NONSTANDARD_CRONTAB_SCHEDULES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@hourly": "0 * * * *",
}
CHECKIN_QUOTA_LIMIT = 6
CHECKIN_QUOTA_WINDOW = 60.0
TERMINAL = ("ok", "error")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,?#LW-]+$")


def _now() -> datetime:
    return datetime.now(tz=UTC)


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def slugify_monitor_slug(slug: str) -> str:
    """Relay cuts to 50 chars; Sentry then slugifies (Django's ``slugify``) and strips dashes."""
    text = slug[:SLUG_MAX_LENGTH].lower()
    text = re.sub(r"[^\w\s-]", "", text, flags=re.ASCII)
    text = re.sub(r"[-\s]+", "-", text).strip("-_")
    return text[:SLUG_MAX_LENGTH].strip("-")


class ConfigError(ValueError):
    """``monitor_config`` failed Sentry's ``ConfigValidator``."""


def validate_config(raw: Any) -> dict[str, Any]:
    """Sentry's ``ConfigValidator`` in the stored (serialized) form: ``schedule_type`` + ``schedule``."""
    if not isinstance(raw, Mapping):
        raise ConfigError("monitor_config must be an object")
    schedule = raw.get("schedule")
    schedule_type = raw.get("schedule_type")
    if isinstance(schedule, Mapping) and schedule.get("type"):
        schedule_type = schedule.get("type")
    if schedule_type not in ("crontab", "interval"):
        raise ConfigError("schedule_type: Missing or invalid schedule type")
    stored: Any
    if schedule_type == "interval":
        pair = [schedule.get("value"), schedule.get("unit")] if isinstance(schedule, Mapping) else schedule
        if not isinstance(pair, list) or len(pair) != 2:
            raise ConfigError("schedule: Invalid schedule for for 'interval' type")
        if not isinstance(pair[0], int) or isinstance(pair[0], bool):
            raise ConfigError("schedule: Invalid schedule for schedule unit count")
        if pair[0] <= 0:
            raise ConfigError("schedule: Interval must be greater than zero")
        if pair[1] not in INTERVAL_NAMES:
            raise ConfigError("schedule: Invalid schedule for schedule unit name")
        stored = pair
    else:
        value = schedule.get("value") if isinstance(schedule, Mapping) else schedule
        if not isinstance(value, str):
            raise ConfigError("schedule: Invalid schedule for 'crontab' type")
        value = " ".join(value.split())
        if value.startswith("@"):
            if value not in NONSTANDARD_CRONTAB_SCHEDULES:
                raise ConfigError("schedule: Schedule was not parseable")
            value = NONSTANDARD_CRONTAB_SCHEDULES[value]
        fields = value.split(" ")
        if len(fields) > 5:
            raise ConfigError("schedule: Only 5 field crontab syntax is supported")
        if len(fields) < 5 or not all(_CRON_FIELD.match(part) for part in fields):
            raise ConfigError("schedule: Schedule is invalid")
        stored = value
    config: dict[str, Any] = {"schedule_type": schedule_type, "schedule": stored}
    bounds = {
        "checkin_margin": (1, MAX_MARGIN),
        "max_runtime": (1, MAX_TIMEOUT),
        "failure_issue_threshold": (1, MAX_THRESHOLD),
        "recovery_threshold": (1, MAX_THRESHOLD),
    }
    for name, (low, high) in bounds.items():
        number = raw.get(name)
        if number is None or number == "":
            config[name] = None
            continue
        if isinstance(number, bool) or not isinstance(number, int):
            raise ConfigError(f"{name}: A valid integer is required.")
        if name == "checkin_margin" and number == 0:
            number = 1  # Sentry still accepts 0 here and stores 1 (MissedMarginField)
        if number < low:
            raise ConfigError(f"{name}: Ensure this value is greater than or equal to {low}.")
        if number > high:
            raise ConfigError(f"{name}: Ensure this value is less than or equal to {high}.")
        config[name] = number
    timezone = raw.get("timezone")
    if timezone not in (None, ""):
        if not isinstance(timezone, str) or timezone not in _timezones():
            raise ConfigError(f'timezone: "{timezone}" is not a valid choice.')
        config["timezone"] = timezone
    else:
        config["timezone"] = None
    config["alert_rule_id"] = None
    return config


@dataclass
class MonitorEnvironment:
    name: str
    date_created: datetime
    status: str = "active"
    last_check_in: datetime | None = None


@dataclass
class Monitor:
    id: str
    project_id: int
    slug: str
    name: str
    config: dict[str, Any]
    date_created: datetime
    environments: dict[str, MonitorEnvironment] = field(default_factory=dict)


@dataclass
class CheckIn:
    guid: str  # 32 hex digits
    monitor_id: str
    project_id: int
    environment: str
    status: str
    date_added: datetime
    date_updated: datetime
    duration_ms: int | None = None
    date_in_progress: datetime | None = None
    monitor_config: dict[str, Any] = field(default_factory=dict)
    updates: int = 0


@dataclass
class Drop:
    """A check-in Sentry accepted over HTTP but dropped while processing (a "processing error")."""

    reason: str
    slug: str
    check_in_id: str | None
    status: str | None
    when: datetime


class CronBook:
    """All monitors and check-ins of the emulator, behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.monitors: dict[tuple[int, str], Monitor] = {}
        self.checkins: list[CheckIn] = []
        self.dropped: list[Drop] = []
        self._quota: dict[tuple[int, str, str], deque[float]] = {}

    def _drop(self, reason: str, slug: str, check_in_id: str | None, status: str | None) -> None:
        self.dropped.append(Drop(reason, slug, check_in_id, status, _now()))

    def _allowed(self, project_id: int, slug: str, environment: str) -> bool:
        now = time.monotonic()
        sent = self._quota.setdefault((project_id, slug, environment), deque())
        while sent and sent[0] <= now - CHECKIN_QUOTA_WINDOW:
            sent.popleft()
        if len(sent) >= CHECKIN_QUOTA_LIMIT:
            return False
        sent.append(now)
        return True

    def upsert(self, project_id: int, slug: str, config: Mapping[str, Any]) -> Monitor:
        """Create or update a monitor (config already validated)."""
        with self.lock:
            monitor = self.monitors.get((project_id, slug))
            if monitor is None:
                monitor = Monitor(uuid.uuid4().hex, project_id, slug, slug, dict(config), _now())
                self.monitors[(project_id, slug)] = monitor
            else:
                monitor.config = dict(config)
            return monitor

    def process(self, project_id: int, payload: Mapping[str, Any]) -> CheckIn | None:
        """One check-in through the consumer's rules; returns the stored check-in or None when dropped."""
        raw_slug = str(payload.get("monitor_slug") or "")
        slug = slugify_monitor_slug(raw_slug)
        raw_id = payload.get("check_in_id")
        status = payload.get("status")
        if not slug:
            self._drop("empty_slug", raw_slug, None, None)
            return None
        if status not in ("in_progress", *TERMINAL):
            self._drop("invalid_status", slug, None, str(status))
            return None
        try:
            guid = uuid.UUID(str(raw_id)).hex if raw_id not in (None, "") else uuid.UUID(int=0).hex
        except ValueError:
            self._drop("invalid_check_in_id", slug, str(raw_id), status)
            return None
        environment = str(payload.get("environment") or "production")
        if len(environment) > 64:
            self._drop("invalid_environment", slug, guid, status)
            return None
        duration = payload.get("duration")
        if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int | float)):
            self._drop("invalid_duration", slug, guid, status)
            return None
        with self.lock:
            monitor = self.monitors.get((project_id, slug))
            raw_config = payload.get("monitor_config")
            if raw_config is not None:
                # Sentry logs an invalid upsert; an existing monitor still takes the check-in.
                with contextlib.suppress(ConfigError):
                    monitor = self.upsert(project_id, slug, validate_config(raw_config))
            if monitor is None:
                self._drop("monitor_not_found", slug, guid, status)
                return None
            if not self._allowed(project_id, slug, environment):
                self._drop("rate_limited", slug, guid, status)
                return None
            now = _now()
            env = monitor.environments.get(environment)
            if env is None:
                env = monitor.environments[environment] = MonitorEnvironment(environment, now)
            use_latest = guid == uuid.UUID(int=0).hex
            existing: CheckIn | None = None
            if use_latest and status in TERMINAL:
                existing = next(
                    (
                        c
                        for c in reversed(self.checkins)
                        if c.monitor_id == monitor.id and c.environment == environment and c.status == "in_progress"
                    ),
                    None,
                )
            elif not use_latest:
                existing = next((c for c in self.checkins if c.guid == guid and c.project_id == project_id), None)
            if existing is not None and existing.monitor_id != monitor.id:
                self._drop("guid_mismatch", slug, guid, status)
                return None
            if existing is not None and existing.status != "in_progress":
                self._drop("checkin_finished", slug, guid, status)
                return None
            duration_ms = int(float(duration) * 1000) if duration is not None else None
            if existing is None:
                checkin = CheckIn(
                    guid=uuid.uuid4().hex if use_latest else guid,
                    monitor_id=monitor.id,
                    project_id=project_id,
                    environment=environment,
                    status=status,
                    date_added=now,
                    date_updated=now,
                    duration_ms=duration_ms if status in TERMINAL else None,
                    date_in_progress=now if status == "in_progress" else None,
                    monitor_config=dict(monitor.config),
                )
                self.checkins.append(checkin)
            else:
                checkin = existing
                checkin.date_updated = now
                checkin.updates += 1
                if status in TERMINAL:
                    checkin.status = status
                    if duration_ms is None:
                        duration_ms = int((now - checkin.date_added).total_seconds() * 1000)
                    checkin.duration_ms = duration_ms
            if status in TERMINAL:
                env.status = status
            env.last_check_in = now
            return checkin


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def serialize_monitor(monitor: Monitor, project: Mapping[str, Any]) -> dict[str, Any]:
    """``MonitorSerializer`` fields a client reads (``nextCheckIn`` is not computed: null); ``project`` is the
    project's JSON as the projects endpoints serialize it."""
    return {
        "id": str(uuid.UUID(monitor.id)),
        "slug": monitor.slug,
        "name": monitor.name,
        "status": "active",
        "isMuted": False,
        "isUpserting": False,
        "config": dict(monitor.config),
        "dateCreated": _iso(monitor.date_created),
        "project": dict(project),
        "environments": [
            {
                "name": env.name,
                "status": env.status,
                "isMuted": False,
                "dateCreated": _iso(env.date_created),
                "lastCheckIn": _iso(env.last_check_in),
                "nextCheckIn": None,
                "nextCheckInLatest": None,
                "activeIncident": None,
            }
            for env in monitor.environments.values()
        ],
        "owner": None,
        "alertRule": None,
    }


def serialize_checkin(checkin: CheckIn) -> dict[str, Any]:
    """``MonitorCheckInSerializer``: ``duration`` in milliseconds."""
    return {
        "id": str(uuid.UUID(checkin.guid)),
        "environment": checkin.environment,
        "status": checkin.status,
        "duration": checkin.duration_ms,
        "dateCreated": _iso(checkin.date_added),
        "dateAdded": _iso(checkin.date_added),
        "dateUpdated": _iso(checkin.date_updated),
        "dateInProgress": _iso(checkin.date_in_progress),
        # Sentry's clock tick is the minute the check-in arrived in; the emulator has no schedule clock, so the
        # expected time is that tick too (Sentry's is the schedule's tick the check-in was due at).
        "dateClock": _iso(checkin.date_added.replace(second=0, microsecond=0)),
        "expectedTime": _iso(checkin.date_added.replace(second=0, microsecond=0)),
        "monitorConfig": dict(checkin.monitor_config),
    }
