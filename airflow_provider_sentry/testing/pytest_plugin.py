"""pytest plugin (entry point ``pytest11``): the ``sentry_emulator`` and ``sentry_airflow`` fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from airflow_provider_sentry._lazy import lazy_module
from airflow_provider_sentry.testing.emulator import SentryEmulator

if TYPE_CHECKING:
    from airflow_provider_sentry.testing import airflow_home
    from airflow_provider_sentry.testing.airflow_home import ThrowawayAirflow
else:  # imports Airflow: loaded only when a test asks for ``sentry_airflow``
    airflow_home = lazy_module("airflow_provider_sentry.testing.airflow_home")


@pytest.fixture
def sentry_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[SentryEmulator]:
    """A started emulator (org ``acme``, projects ``backend`` and ``frontend``) with
    ``AIRFLOW_CONN_SENTRY_DEFAULT`` pointing at it for the duration of the test."""
    with SentryEmulator() as emulator:
        monkeypatch.setenv("AIRFLOW_CONN_SENTRY_DEFAULT", emulator.connection_json())
        yield emulator


@pytest.fixture(scope="session")
def _sentry_throwaway_airflow() -> Iterator[ThrowawayAirflow]:
    airflow = airflow_home.ThrowawayAirflow.start()
    try:
        yield airflow
    finally:
        airflow.close()


@pytest.fixture
def sentry_airflow(_sentry_throwaway_airflow: ThrowawayAirflow) -> ThrowawayAirflow:
    """A migrated throwaway Airflow DB (one per session) to run DAGs defined in tests:
    ``sentry_airflow.run_dag(dag)`` then ``sentry_airflow.xcom(run, task_id)``. Every sensor watch
    (Variable ``sentry_sensor_state.*``) is forgotten before each test, so state never leaks between
    tests, nor between pytest runs."""
    _sentry_throwaway_airflow.clear_sensor_state()
    return _sentry_throwaway_airflow
