"""The exception the release health gate fails with; imported only when a gate fails, not at DAG parse."""

from __future__ import annotations

from airflow_provider_sentry._compat import AirflowFailException
from airflow_provider_sentry.exceptions import SentryReleaseUnhealthyError


class ReleaseUnhealthyFailure(SentryReleaseUnhealthyError, AirflowFailException):
    """A :class:`SentryReleaseUnhealthyError` that Airflow fails at once, without retries, so a
    ``one_failed`` rollback runs (``exceptions.py`` itself stays free of Airflow)."""
