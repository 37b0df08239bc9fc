"""The plugin Airflow loads from ``get_provider_info()["plugins"]``: it registers the Crons listener.

Registered always; the listener does nothing until ``[sentry_crons] dags`` selects a DAG (or a DAG opts in).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from airflow_provider_sentry.crons import listener


class SentryCronsPlugin(AirflowPlugin):
    """Sentry Crons check-ins for scheduled DAG runs."""

    name = "sentry_crons"
    listeners = [listener]
