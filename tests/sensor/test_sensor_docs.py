"""The ```python blocks of docs/sensor.md run (they define DAGs and read a state; no task runs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "sensor.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", DOC.read_text(), re.DOTALL | re.MULTILINE)


def test_the_sensor_doc_has_snippets_and_the_reset_command() -> None:
    assert len(BLOCKS) >= 3
    assert "airflow variables delete sentry_sensor_state." in DOC.read_text()


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_sensor_doc_snippet_runs(code: str) -> None:
    namespace: dict[str, object] = {"__name__": "sensor_doc_snippet"}
    exec(compile(code, str(DOC), "exec"), namespace)
    from airflow_provider_sentry.sensors.issues import NewIssuesSensor

    dags = [v for v in namespace.values() if type(v).__name__ == "DAG"]
    for dag in dags:
        assert any(isinstance(t, NewIssuesSensor) for t in dag.tasks)
