"""The default emulator for the emulator's own tests (a module may define its own ``emu`` instead)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_sentry.testing import SentryEmulator


@pytest.fixture
def emu() -> Iterator[SentryEmulator]:
    with SentryEmulator() as emulator:
        yield emulator
