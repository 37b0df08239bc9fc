"""Web API for Crons: ``organizations/{org}/monitors/``, one monitor, and its check-ins (newest first).

Scopes are the official schema's (``listOrganizationMonitors``, ``listOrganizationMonitorCheckins``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from airflow_provider_sentry.testing.endpoints import _offset_page, _org, _project_summary
from airflow_provider_sentry.testing.issues import ApiError
from airflow_provider_sentry.testing.monitors import Monitor, serialize_checkin, serialize_monitor
from airflow_provider_sentry.testing.routing import NOT_FOUND, Answer, Ctx, Route, json_answer
from airflow_provider_sentry.testing.routing import route as _route

MONITORS_READ = ("alerts:read", "org:admin", "org:read", "org:write")
MONITOR_READ = ("alerts:read", "alerts:write", "project:admin", "project:read", "project:write")


def _monitors(ctx: Ctx) -> list[Monitor]:
    with ctx.app.state.crons.lock:
        return list(ctx.app.state.crons.monitors.values())


def _monitor(ctx: Ctx, org: str, monitor: str) -> Monitor:
    _org(ctx, org)
    wanted = unquote(monitor)
    found = next((m for m in _monitors(ctx) if wanted in (m.slug, m.id, str(m.id))), None)
    if found is None:
        found = next((m for m in _monitors(ctx) if m.id.replace("-", "") == wanted.replace("-", "")), None)
    if found is None:
        raise ApiError(404, NOT_FOUND)
    return found


def _monitor_json(ctx: Ctx, monitor: Monitor) -> dict[str, Any]:
    project = ctx.app.state.project_by_id(monitor.project_id)
    assert project is not None
    # MonitorSerializer embeds the full ProjectSerializer: the summary plus these fields.
    summary = {
        **_project_summary(ctx, project),
        "avatar": {"avatarType": "letter_avatar", "avatarUuid": None, "avatarUrl": None},
        "color": "#3f70bf",
        "isInternal": False,
        "isPublic": False,
        "status": "active",
    }
    return serialize_monitor(monitor, summary)


def list_monitors(ctx: Ctx, org: str) -> Answer:
    _org(ctx, org)
    monitors = _monitors(ctx)
    wanted = ctx.getlist("project")
    if wanted and "-1" not in wanted:
        try:
            ids = {int(x) for x in wanted}
        except ValueError:
            raise ApiError(400, {"detail": "Invalid project parameter. Values must be numbers."}) from None
        monitors = [m for m in monitors if m.project_id in ids]
    environments = set(ctx.getlist("environment"))
    if environments:
        monitors = [m for m in monitors if environments & set(m.environments)]
    query = (ctx.get("query") or "").strip().lower()
    if query:
        monitors = [m for m in monitors if query in m.slug or query in m.name.lower()]
    monitors.sort(key=lambda m: (m.name, m.slug))
    return _offset_page(ctx, monitors, lambda m: _monitor_json(ctx, m))


def get_monitor(ctx: Ctx, org: str, monitor: str) -> Answer:
    return json_answer(200, _monitor_json(ctx, _monitor(ctx, org, monitor)))


def list_checkins(ctx: Ctx, org: str, monitor: str) -> Answer:
    found = _monitor(ctx, org, monitor)
    crons = ctx.app.state.crons
    with crons.lock:
        checkins = [c for c in crons.checkins if c.monitor_id == found.id]
    environments = set(ctx.getlist("environment"))
    if environments:
        checkins = [c for c in checkins if c.environment in environments]
    checkins.sort(key=lambda c: c.date_added, reverse=True)
    return _offset_page(ctx, checkins, serialize_checkin)


MONITOR_ROUTES: tuple[Route, ...] = (
    _route("GET", "organizations/{org}/monitors/", list_monitors, MONITORS_READ),
    _route("GET", "organizations/{org}/monitors/{monitor}/", get_monitor, MONITOR_READ),
    _route("GET", "organizations/{org}/monitors/{monitor}/checkins/", list_checkins, MONITOR_READ),
)
