"""The emulator's route table: Sentry's core endpoints, Crons and release health, in one place."""

from __future__ import annotations

from airflow_provider_sentry.testing import routing
from airflow_provider_sentry.testing.endpoints import ROUTES as CORE_ROUTES
from airflow_provider_sentry.testing.monitor_endpoints import MONITOR_ROUTES
from airflow_provider_sentry.testing.routing import Route
from airflow_provider_sentry.testing.sessions import SESSION_ROUTES

ROUTES: tuple[Route, ...] = (*CORE_ROUTES, *MONITOR_ROUTES, *SESSION_ROUTES)


def match_route(method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """(route, path params, path_exists) in :data:`ROUTES`; path_exists without a route means 405."""
    return routing.match_route(ROUTES, method, path)
