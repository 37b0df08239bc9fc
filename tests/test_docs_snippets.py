"""Every ```python block in the README and docs/ compiles and runs (defining DAGs does no I/O)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(path: Path) -> list[str]:
    return FENCE.findall(path.read_text())


SNIPPETS = [
    pytest.param(path, index, code, id=f"{path.name}#{index}")
    for path in DOCS
    for index, code in enumerate(python_blocks(path))
    if "# doc-test: skip" not in code
]


def test_the_docs_have_snippets() -> None:
    assert len(SNIPPETS) >= 3


@pytest.mark.parametrize(("path", "index", "code"), SNIPPETS)
def test_snippet_runs(path: Path, index: int, code: str) -> None:
    exec(compile(code, f"{path.name}#{index}", "exec"), {"__name__": f"doc_snippet_{index}"})


def test_the_docs_index_links_every_page() -> None:
    index = (ROOT / "docs" / "index.md").read_text()
    pages = {p.name for p in (ROOT / "docs").glob("*.md")} - {"index.md"}
    required = {"connection.md", "operators.md", "sensor.md", "emulator.md", "performance.md", "changelog.md"}
    assert required <= pages
    for page in pages:
        assert f"({page})" in index, page
