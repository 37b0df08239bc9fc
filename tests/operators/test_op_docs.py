"""docs/operators.md: every ```python block runs with the operators importable (no task runs), and
every operator has a section saying what it returns."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from airflow_provider_sentry.operators import issues, releases

DOC = Path(__file__).resolve().parents[2] / "docs" / "operators.md"
FENCE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
OPERATORS = [
    "ResolveIssuesOperator",
    "UpdateIssuesOperator",
    "ArchiveIssuesOperator",
    "AssignIssuesOperator",
    "CreateReleaseOperator",
    "SetCommitsOperator",
    "CreateDeployOperator",
    "FinalizeReleaseOperator",
]
BLOCKS = FENCE.findall(DOC.read_text())


def test_every_operator_has_a_section_with_a_snippet_and_its_return_value() -> None:
    text = DOC.read_text()
    sections = dict(re.findall(r"^## (\w+)\n(.*?)(?=^## |\Z)", text, re.DOTALL | re.MULTILINE))
    for name in OPERATORS:
        assert name in sections, name
        assert "```python" in sections[name] and name in sections[name]
    for name in OPERATORS:
        body = sections[name]
        assert "Returns" in body or "return value" in body, name


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_snippet_builds_its_dag_without_running_tasks(code: str) -> None:
    namespace = {name: getattr(issues, name, None) or getattr(releases, name) for name in OPERATORS}
    scope = {"__name__": "doc_snippet", **namespace}
    exec(compile(code, str(DOC), "exec"), scope)
    assert any(name in code for name in OPERATORS)
