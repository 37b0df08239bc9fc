"""An offline Sentry emulator for tests, the demo and users' own DAG tests.

It never imports Airflow or the provider's client code: a server that shares the client's parser would
hide the client's bugs.
"""

from __future__ import annotations

from airflow_provider_sentry.testing.emulator import SentryEmulator
from airflow_provider_sentry.testing.routing import RequestRecord

__all__ = ["RequestRecord", "SentryEmulator"]
