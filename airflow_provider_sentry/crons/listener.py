"""The Airflow listener (DAG-run running / success / failed) that turns selected runs into check-ins.

It runs inside the scheduler's loop (and the API server's, when a run is marked by hand), so each hook only
reads the run's in-memory attributes, builds the payload with the pure core and hands it to the background
sender. Nothing here blocks on the network or raises: any error is logged.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.listeners import hookimpl

from airflow_provider_sentry._lazy import lazy_module

if TYPE_CHECKING:
    from airflow_provider_sentry.core import crons
    from airflow_provider_sentry.crons import config, schedule, sender
else:  # loaded at the first DAG-run event: every Airflow process imports this plugin at start
    crons = lazy_module("airflow_provider_sentry.core.crons")
    config = lazy_module("airflow_provider_sentry.crons.config")
    schedule = lazy_module("airflow_provider_sentry.crons.schedule")
    sender = lazy_module("airflow_provider_sentry.crons.sender")

log = logging.getLogger(__name__)

#: the last monitor_config per DAG seen in this process, for runs whose DAG object is not attached.
_configs: dict[str, dict[str, Any] | None] = {}


def _run_type(dag_run: Any) -> str:
    value = getattr(dag_run, "run_type", "") or ""
    return str(getattr(value, "value", value)).lower()


def _duration(dag_run: Any) -> float | None:
    start = getattr(dag_run, "start_date", None)
    if start is None:
        return None
    end = getattr(dag_run, "end_date", None) or datetime.now(tz=UTC)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    return float(max(0.0, (end - start).total_seconds()))


def build_check_in(dag_run: Any, status: str) -> tuple[str, dict[str, Any]] | None:
    """``(conn_id, payload)`` for this run, or None when the DAG or the run type is not monitored."""
    dag_id = str(dag_run.dag_id)
    settings = config.read_airflow_config()
    dag = getattr(dag_run, "dag", None)
    if dag is not None:
        settings = config.with_override(settings, config.param_value(getattr(dag, "params", None)), dag_id)
    if not settings.monitors(dag_id) or not settings.wants(_run_type(dag_run)):
        return None
    upsert: dict[str, Any] | None
    if dag is not None:
        timeout = getattr(dag, "dagrun_timeout", None)
        upsert = crons.monitor_config(
            schedule.schedule_of(dag),
            dagrun_timeout=timeout if isinstance(timeout, timedelta) else None,
            options=settings.options,
        )
        _configs[dag_id] = upsert
    else:
        upsert = _configs.get(dag_id)
    payload = crons.check_in_payload(
        slug=crons.monitor_slug(dag_id),
        check_in=crons.check_in_id(dag_id, str(dag_run.run_id)),
        status=status,
        environment=settings.environment,
        duration=_duration(dag_run) if status != "in_progress" else None,
        config=upsert,
    )
    return settings.conn_id, payload


def _check_in(dag_run: Any, status: str) -> None:
    try:
        built = build_check_in(dag_run, status)
        if built is None:
            return
        sender.get_sender().submit(*built)
    except Exception:
        log.exception("Sentry Crons: %s check-in for %s skipped", status, getattr(dag_run, "dag_id", "?"))


@hookimpl
def on_dag_run_running(dag_run: Any, msg: str) -> None:
    _check_in(dag_run, "in_progress")


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    _check_in(dag_run, "ok")


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    _check_in(dag_run, "error")
