"""Release health in the emulator: session counts, their ingestion from SDK envelopes, and
``GET /api/0/organizations/{org}/sessions/`` with Sentry's rules.

Modelled on getsentry/sentry ``src/sentry/snuba/sessions_v2.py`` (``QueryDefinition``,
``get_constrained_date_range``), ``src/sentry/release_health/metrics_sessions_v2.py`` (fields, groups,
defaults) and Relay's session metrics extraction:

- fields: ``sum(session)``, ``count_unique(user)``, ``crash_rate``/``crash_free_rate`` of ``session`` or
  ``user``, and the ``session.duration`` aggregates (always null here); anything else is a 400
  ``Invalid field: "x"``; no field is a 400 ``Request is missing a "field"``;
- ``groupBy``: ``project``, ``release``, ``environment``, ``session.status``; a rate grouped by
  ``session.status`` is a 400 ``Cannot group field crash_free_rate(session) by session.status``;
- ``interval``: a whole number of hours, at most a day, dividing a day; the range is rounded out to it
  (start down, end up; an end in the future stops at the next minute); more than 1,000 points is a 400;
- a rate is null when there are no sessions; with no ``groupBy`` an empty answer still has one group of
  zeros and nulls, with ``groupBy`` it has none;
- a session counts once (``init``); it is errored when it has errors or ended errored, crashed or
  abnormal; ``healthy = total - errored``; ``crash_free_rate = 1 - crashed / total``; user rates use the
  distinct ``did`` values;
- ``query`` takes ``release:`` and ``environment:`` filters (quoted or not); any other key is a 400
  ``Invalid search filter: key``, free text a 400 ``Invalid search filter: message``.

The counts live in ``EmulatorState.sessions`` (``testing/session_store.py``), shared by the ingestion and
the endpoint.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from airflow_provider_sentry.testing.endpoints import ORG_READ, _org, _selected_projects
from airflow_provider_sentry.testing.issues import ApiError
from airflow_provider_sentry.testing.routing import Answer, Ctx, Route, json_answer, route
from airflow_provider_sentry.testing.session_store import SessionRow, SessionStore, SingleSession
from airflow_provider_sentry.testing.state import EmulatorState, Project, now_utc, to_datetime

RATE_FIELDS = ("crash_rate(session)", "crash_rate(user)", "crash_free_rate(session)", "crash_free_rate(user)")
DURATION_FIELDS = tuple(f"{op}(session.duration)" for op in ("avg", "p50", "p75", "p90", "p95", "p99", "max"))
FIELDS = ("sum(session)", "count_unique(user)", *RATE_FIELDS, *DURATION_FIELDS)
GROUP_BYS = ("project", "release", "environment", "session.status")
STATUSES = ("healthy", "abnormal", "crashed", "errored")
MAX_POINTS = 1000
SNUBA_LIMIT = 5000
ONE_HOUR, ONE_DAY = 3600, 86400
DEFAULT_PERIOD = 90 * ONE_DAY
PERIOD_RE = re.compile(r"^(\d+)([hdmsw]?)$")
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_SESSION_AGE = 5 * ONE_DAY  # Relay drops session updates started more than 5 days ago


# -- ingestion -------------------------------------------------------------------------------------


def _epoch(value: Any, default: float) -> float:
    if value is None:
        return default
    try:
        return to_datetime(value).timestamp()
    except (TypeError, ValueError, OverflowError):
        raise ApiError(400, {"detail": f"invalid session timestamp {value!r}"}) from None


def _attrs(payload: Mapping[str, Any]) -> tuple[str, str] | None:
    raw = payload.get("attrs")
    attrs: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    release = attrs.get("release")
    if not release:
        return None  # Relay drops sessions without a release
    return str(release), str(attrs.get("environment") or "production")


def ingest_session_item(state: EmulatorState, project: Project, item_type: str, payload: bytes) -> None:
    """A ``session`` (one session update) or ``sessions`` (pre-aggregated buckets) envelope item."""
    try:
        data = json.loads(payload)
    except ValueError:
        raise ApiError(400, {"detail": f"invalid {item_type} payload"}) from None
    if not isinstance(data, Mapping):
        raise ApiError(400, {"detail": f"invalid {item_type} payload"})
    keys = _attrs(data)
    if keys is None:
        return
    release, environment = keys
    now = now_utc().timestamp()
    store = state.sessions
    with state.lock:
        if item_type == "sessions":
            for bucket in data.get("aggregates") or []:
                if not isinstance(bucket, Mapping):
                    continue
                started = _epoch(bucket.get("started"), now)
                if now - started > MAX_SESSION_AGE:
                    continue
                counts = {k: int(bucket.get(k) or 0) for k in ("exited", "errored", "crashed", "abnormal")}
                row = store.add(
                    project.id,
                    release,
                    environment,
                    started,
                    healthy=counts["exited"],
                    errored=counts["errored"],
                    crashed=counts["crashed"],
                    abnormal=counts["abnormal"],
                )
                did = bucket.get("did")
                if did:
                    row.users = {str(did)}
                    if counts["crashed"]:
                        row.crashed_users = {str(did)}
                    if counts["errored"] or counts["crashed"] or counts["abnormal"]:
                        row.errored_users = {str(did)}
            return
        _ingest_single(store, project, data, release, environment, now)


def _ingest_single(
    store: SessionStore, project: Project, data: Mapping[str, Any], release: str, environment: str, now: float
) -> None:
    sid = str(data.get("sid") or "")
    if not sid:
        raise ApiError(400, {"detail": "session without sid"})
    started = _epoch(data.get("started"), now)
    if now - started > MAX_SESSION_AGE:
        return
    did = str(data["did"]) if data.get("did") else None
    status = str(data.get("status") or "ok")
    errors = int(data.get("errors") or 0)
    key = (project.id, sid)
    single = store.singles.get(key)
    if single is None:
        if not data.get("init"):
            return  # an update for a session whose start was never seen counts nothing
        row = SessionRow(project.id, release, environment, started, total=1)
        if did:
            row.users.add(did)
        store.rows.append(row)
        single = SingleSession(row, did)
        store.singles[key] = single
    row = single.row
    if (errors > 0 or status in ("errored", "crashed", "abnormal")) and not single.errored:
        single.errored = True
        row.errored += 1
        if single.did:
            row.errored_users.add(single.did)
    if status == "crashed" and not single.crashed:
        single.crashed = True
        row.crashed += 1
        if single.did:
            row.crashed_users.add(single.did)
    if status == "abnormal" and not single.abnormal:
        single.abnormal = True
        row.abnormal += 1


# -- the endpoint ----------------------------------------------------------------------------------


def _parse_period(raw: str) -> int | None:
    match = PERIOD_RE.match(raw.strip())
    if not match:
        return None
    return int(match.group(1)) * UNIT_SECONDS[match.group(2)]


def _interval(ctx: Ctx) -> int:
    """``get_constrained_date_range``: an unreadable interval silently means 1h, as in Sentry."""
    interval = _parse_period(ctx.get("interval") or "1h") or ONE_HOUR
    if interval % ONE_HOUR != 0 or interval < ONE_HOUR:
        raise ApiError(400, {"detail": "The interval has to be a multiple of the minimum interval of one hour."})
    if interval > ONE_DAY:
        raise ApiError(400, {"detail": "The interval has to be less than one day."})
    if ONE_DAY % interval != 0:
        raise ApiError(400, {"detail": "The interval should divide one day without a remainder."})
    return interval


def _parse_date(raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, {"detail": f"{raw} is not a valid ISO8601 date query"}) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _range(ctx: Ctx, interval: int) -> tuple[int, int]:
    now = ctx.now.timestamp()
    period, start, end = ctx.get("statsPeriod"), ctx.get("start"), ctx.get("end")
    if period:
        seconds = _parse_period(period)
        if seconds is None:
            raise ApiError(400, {"detail": f"Invalid statsPeriod: {period!r}"})
        low, high = now - seconds, now
    elif start or end:
        if not (start and end):
            raise ApiError(400, {"detail": "start and end are both required"})
        low, high = _parse_date(start).timestamp(), _parse_date(end).timestamp() + 1  # end is inclusive
        if high <= low:
            raise ApiError(400, {"detail": "start must be before end"})
    else:
        low, high = now - DEFAULT_PERIOD, now
    high = min(high, (math.floor(now / 60) + 1) * 60)  # a future end stops one minute from now
    first = math.floor(low / interval) * interval
    last = max(math.ceil(high / interval) * interval, first + interval)
    if (last - first) / interval > MAX_POINTS:
        raise ApiError(
            400,
            {
                "detail": "Your interval and date range would create too many results. "
                "Use a larger interval, or a smaller date range."
            },
        )
    return first, last


def _split_query(text: str) -> dict[str, list[str]]:
    """``release:"a b" environment:prod`` -> {"release": ["a b"], "environment": ["prod"]}."""
    try:
        tokens = shlex.split(text, posix=True)
    except ValueError:
        raise ApiError(400, {"detail": "Parse error: unbalanced quotes"}) from None
    filters: dict[str, list[str]] = {}
    for token in tokens:
        key, colon, value = token.partition(":")
        if not colon or not key:
            raise ApiError(400, {"detail": "Invalid search filter: message"})
        if key not in ("release", "environment"):
            raise ApiError(400, {"detail": f"Invalid search filter: {key}"})
        values = [v.strip() for v in value[1:-1].split(",")] if value.startswith("[") else [value]
        filters.setdefault(key, []).extend(values)
    return filters


def _values(rows: Sequence[SessionRow], status: str | None) -> dict[str, Any]:
    total = sum(r.total for r in rows)
    errored = sum(r.errored for r in rows)
    crashed = sum(r.crashed for r in rows)
    abnormal = sum(r.abnormal for r in rows)
    users: set[str] = set().union(*(r.users for r in rows)) if rows else set()
    errored_users: set[str] = set().union(*(r.errored_users for r in rows)) if rows else set()
    crashed_users: set[str] = set().union(*(r.crashed_users for r in rows)) if rows else set()
    abnormal_users: set[str] = set().union(*(r.abnormal_users for r in rows)) if rows else set()
    by_status = {
        None: (total, len(users)),
        "healthy": (max(total - errored, 0), max(len(users) - len(errored_users), 0)),
        "errored": (max(errored - crashed - abnormal, 0), max(len(errored_users - crashed_users - abnormal_users), 0)),
        "crashed": (crashed, len(crashed_users)),
        "abnormal": (abnormal, len(abnormal_users)),
    }
    sessions, user_count = by_status[status]
    out: dict[str, Any] = {"sum(session)": sessions, "count_unique(user)": user_count}
    out["crash_rate(session)"] = crashed / total if total else None
    out["crash_free_rate(session)"] = 1 - crashed / total if total else None
    out["crash_rate(user)"] = len(crashed_users) / len(users) if users else None
    out["crash_free_rate(user)"] = 1 - len(crashed_users) / len(users) if users else None
    for name in DURATION_FIELDS:
        out[name] = None
    return out


def list_org_sessions(ctx: Ctx, org: str) -> Answer:
    """``GET organizations/{org}/sessions/`` (scope org:read)."""
    _org(ctx, org)
    fields = ctx.getlist("field")
    if not fields:
        raise ApiError(400, {"detail": 'Request is missing a "field"'})
    for name in fields:
        if name not in FIELDS:
            raise ApiError(400, {"detail": f'Invalid field: "{name}"'})
    group_by = ctx.getlist("groupBy")
    for name in group_by:
        if name not in GROUP_BYS:
            raise ApiError(400, {"detail": f'Invalid groupBy: "{name}"'})
    if "session.status" in group_by:
        for name in fields:
            if name in RATE_FIELDS:
                raise ApiError(400, {"detail": f"Cannot group field {name} by session.status"})
    interval = _interval(ctx)
    first, last = _range(ctx, interval)
    project_ids = set(_selected_projects(ctx))
    store = ctx.app.state.sessions
    environments = [e for e in ctx.getlist("environment") if e != ""]
    known = ctx.app.known_environments() | store.environments
    if any(name not in known for name in environments):
        raise ApiError(404, {"detail": "The requested resource does not exist"})
    raw_query = ctx.get("query") or ""
    filters = _split_query(raw_query)
    releases = filters.get("release")
    environments = environments + filters.get("environment", [])
    rows = [
        r
        for r in store.rows
        if r.project_id in project_ids
        and first <= r.started < last
        and (not environments or r.environment in environments)
        and (releases is None or r.release in releases)
    ]
    starts = list(range(first, last, interval))
    keys = [g for g in group_by if g != "session.status"]
    groups_rows: dict[tuple[Any, ...], list[SessionRow]] = {}
    for row in rows:
        key = tuple(row.project_id if k == "project" else getattr(row, k) for k in keys)
        groups_rows.setdefault(key, []).append(row)
    statuses: Sequence[str | None] = STATUSES if "session.status" in group_by else (None,)
    if not groups_rows and not keys:
        groups_rows[()] = []  # Sentry answers one group of zeros and nulls when nothing is grouped
    groups = []
    for key, members in groups_rows.items():
        for status in statuses:
            by: dict[str, Any] = dict(zip(keys, key, strict=True))
            if status is not None:
                by["session.status"] = status
            totals = _values(members, status)
            series: dict[str, list[Any]] = {name: [] for name in fields}
            for start in starts:
                bucket = _values([r for r in members if start <= r.started < start + interval], status)
                for name in fields:
                    series[name].append(bucket[name])
            groups.append({"by": by, "totals": {n: totals[n] for n in fields}, "series": series})
    groups = groups[: max(1, SNUBA_LIMIT // len(starts))]
    return json_answer(
        200,
        {
            "start": _iso(first),
            "end": _iso(last),
            "intervals": [_iso(s) for s in starts],
            "groups": groups,
            "query": raw_query,
        },
    )


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


SESSION_ROUTES: tuple[Route, ...] = (route("GET", "organizations/{org}/sessions/", list_org_sessions, ORG_READ),)
