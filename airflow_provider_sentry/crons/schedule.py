"""Read a (serialized) DAG's timetable into a plain :class:`ScheduleSpec` for the pure core.

Only Airflow's own cron and delta timetables are read (``airflow.timetables.*``: ``CronTriggerTimetable``,
``CronDataIntervalTimetable``, ``DeltaTriggerTimetable``, ``DeltaDataIntervalTimetable``; presets arrive as
their cron expressions). Everything else (``None``, ``@once``, ``@continuous``, assets, several crons, custom
timetables) gives an empty spec: check-ins are sent without ``monitor_config``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow_provider_sentry.core.crons import ScheduleSpec

_RELATIVE_UNITS = (("years", "year"), ("months", "month"), ("weeks", "week"), ("days", "day"), ("hours", "hour"))


def _tz_name(value: Any) -> str | None:
    name = getattr(value, "name", None) or getattr(value, "key", None)
    return str(name) if name else None


def _relative(delta: Any) -> tuple[int, str] | None:
    """A ``relativedelta`` with exactly one non-zero calendar unit, e.g. ``relativedelta(months=1)``."""
    units = [(getattr(delta, attr, 0) or 0, unit) for attr, unit in _RELATIVE_UNITS]
    minutes = getattr(delta, "minutes", 0) or 0
    seconds = getattr(delta, "seconds", 0) or 0
    nonzero = [(value, unit) for value, unit in units if value]
    if minutes:
        nonzero.append((minutes, "minute"))
    if len(nonzero) != 1 or seconds:
        return None
    value, unit = nonzero[0]
    return (int(value), unit) if value > 0 else None


def schedule_of(dag: Any) -> ScheduleSpec:
    """The cron or interval of ``dag.timetable`` plus the DAG's timezone name."""
    timetable = getattr(dag, "timetable", None)
    dag_tz = _tz_name(getattr(dag, "timezone", None))
    if timetable is None or not type(timetable).__module__.startswith("airflow.timetables."):
        return ScheduleSpec(timezone=dag_tz)
    expression = getattr(timetable, "_expression", None)
    if isinstance(expression, str):
        return ScheduleSpec(cron=expression, timezone=_tz_name(getattr(timetable, "_timezone", None)) or dag_tz)
    delta = getattr(timetable, "_delta", None)
    if isinstance(delta, timedelta):
        return ScheduleSpec(interval=delta, timezone=dag_tz)
    if delta is not None:
        return ScheduleSpec(calendar_interval=_relative(delta), timezone=dag_tz)
    return ScheduleSpec(timezone=dag_tz)
