"""``since=``: when a first watch should start delivering, as a datetime or a duration back from now."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from airflow_provider_sentry.exceptions import SentryInputError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def since_epoch_seconds(value: datetime | timedelta | str, now: float) -> float:
    """Epoch seconds of ``since``: an aware or UTC-naive datetime, a timedelta, ``"90m"``/``"1h"``/``"7d"``
    or an ISO-8601 timestamp. ``now`` is passed in (the core never reads the clock)."""
    if isinstance(value, timedelta):
        return _back_from(now, value.total_seconds())
    if isinstance(value, datetime):
        return _aware(value).timestamp()
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return _back_from(now, float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()])
        try:
            return _aware(datetime.fromisoformat(value.strip())).timestamp()
        except ValueError:
            pass
    raise SentryInputError(
        "since", f"expected a datetime, a timedelta or a duration such as '1h', '30m', '7d'; got {value!r}"
    )


def _back_from(now: float, seconds: float) -> float:
    if seconds < 0:
        raise SentryInputError("since", "a duration must not be negative")
    return now - seconds


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
