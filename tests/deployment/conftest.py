"""The ``deployment`` fixture: one real Airflow stack for the whole session, started on first use."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.deployment.stack import DAGS_FOLDER, EXTRA_ENV, Deployment
from tests.ui.ui_airflow_stack import VENV_BIN, AirflowStack


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/deployment/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.deployment)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    if not (VENV_BIN / "airflow").exists():
        pytest.skip(f"no airflow executable in {VENV_BIN}")
    from airflow import __version__ as airflow_version

    if tuple(int(part) for part in airflow_version.split(".")[:2]) < (3, 3):
        pytest.skip(
            f"the shared deployment stack is built for Airflow 3.3 (CI runs it on 3.3.2), not {airflow_version}"
        )
    root = tmp_path_factory.mktemp("deployment")
    stack = AirflowStack(home=root / "home", dags_folder=DAGS_FOLDER)
    stack._env.update(EXTRA_ENV)
    try:
        started = time.monotonic()
        stack.migrate()
        stack.start()
        stack.wait_healthy(timeout=180)
        print(f"deployment healthy after {time.monotonic() - started:.1f} s at {stack.url}")
        yield Deployment(stack)
    finally:
        stack.stop(grace=10.0)
