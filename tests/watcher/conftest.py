"""Every watcher test gets an empty in-memory Airflow ``Variable`` (the 3.0-3.2 cursor store, and the
legacy cursor a 3.3 watcher reads once when its asset state store is empty)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


class FakeVariables:
    """``airflow.sdk.Variable``'s ``get``/``set`` on a dict."""

    data: dict[str, str] = {}
    reads = 0

    @classmethod
    def get(cls, key: str, default: Any = None) -> Any:
        cls.reads += 1
        return cls.data.get(key, default)

    @classmethod
    def set(cls, key: str, value: str, description: str | None = None) -> None:
        cls.data[key] = value


@pytest.fixture(autouse=True)
def variables(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakeVariables]]:
    import airflow_provider_sentry._compat as compat

    FakeVariables.data = {}
    FakeVariables.reads = 0
    monkeypatch.setattr(compat, "Variable", FakeVariables)
    yield FakeVariables
