"""The plugins that register the Crons listener with Airflow.

Two ways in, one listener: ``get_provider_info()["plugins"]`` (``SentryCronsPlugin``) is read only when
``[core] lazy_discover_providers`` is off, so the ``airflow.plugins`` entry point (``SentryCronsEntryPointPlugin``)
registers it in the default setup. Airflow's listener manager registers the module once either way; the
names differ because Airflow 3.3 reports a second plugin of the same name as an import error.

Always registered; the listener does nothing until ``[sentry_crons] dags`` selects a DAG (or a DAG opts in).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from airflow_provider_sentry.crons import listener


class SentryCronsPlugin(AirflowPlugin):
    """Sentry Crons check-ins for scheduled DAG runs (declared in the provider info)."""

    name = "sentry_crons"
    listeners = [listener]


class SentryCronsEntryPointPlugin(AirflowPlugin):
    """The same listener through the ``airflow.plugins`` entry point (loaded even with lazy providers)."""

    name = "sentry_crons_entrypoint"
    listeners = [listener]
