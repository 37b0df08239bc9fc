"""docs/emulator.md's python snippets run as tests; the ``sentry_emulator`` fixture works as documented."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_sentry.testing import SentryEmulator

DOC = Path(__file__).resolve().parents[2] / "docs" / "emulator.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_fixture_sets_the_connection(sentry_emulator: SentryEmulator) -> None:
    conn = json.loads(os.environ["AIRFLOW_CONN_SENTRY_DEFAULT"])
    assert conn["host"] == sentry_emulator.url and conn["password"] == sentry_emulator.token
    assert conn["extra"]["organization"] == "acme"


def test_docs_have_snippets() -> None:
    assert len(python_blocks()) >= 2


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_docs_snippet_runs(index: int, sentry_emulator: SentryEmulator, request: pytest.FixtureRequest) -> None:
    namespace: dict[str, Any] = {"__name__": f"docs_snippet_{index}"}
    exec(compile(python_blocks()[index], f"{DOC}:block{index}", "exec"), namespace)
    tests = [fn for name, fn in namespace.items() if name.startswith("test_") and callable(fn)]
    assert tests
    for fn in tests:  # arguments are fixtures, by name, as pytest would pass them
        names = fn.__code__.co_varnames[: fn.__code__.co_argcount]
        fn(*[request.getfixturevalue(name) for name in names])
