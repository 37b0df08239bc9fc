"""Sentry Crons for Airflow: every scheduled run of the selected DAGs checks in to a Sentry monitor.

Turned on by ``[sentry_crons] dags`` (see ``docs/crons.md``). This module is imported by DAG files for the
per-DAG override, so it imports nothing heavy.
"""

from __future__ import annotations

from typing import Any

#: the key in a DAG's ``params`` that holds its Crons override.
PARAMS_KEY = "sentry_crons"


def sentry_crons_params(
    *,
    enabled: bool | None = None,
    environment: str | None = None,
    checkin_margin: int | None = None,
    failure_issue_threshold: int | None = None,
    recovery_threshold: int | None = None,
    run_types: list[str] | None = None,
) -> dict[str, Any]:
    """DAG ``params`` that override ``[sentry_crons]`` for one DAG (``None`` keeps the global value).

    ``enabled=True`` monitors the DAG even when ``dags`` does not match it, ``False`` never.
    ``run_types`` adds e.g. ``"manual"`` or ``"backfill"`` to the checked-in ``"scheduled"`` runs.
    Use: ``DAG(..., params=sentry_crons_params(checkin_margin=5))`` or merge into existing params.
    """
    values = {
        "enabled": enabled,
        "environment": environment,
        "checkin_margin": checkin_margin,
        "failure_issue_threshold": failure_issue_threshold,
        "recovery_threshold": recovery_threshold,
        "run_types": list(run_types) if run_types is not None else None,
    }
    return {PARAMS_KEY: {key: value for key, value in values.items() if value is not None}}
