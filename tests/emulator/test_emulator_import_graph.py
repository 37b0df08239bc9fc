"""The emulator's modules form no import circle: the route table depends on the endpoints and the app on the
route table, never the other way (module-level imports, TYPE_CHECKING ones included)."""

from __future__ import annotations

import ast
from pathlib import Path

import airflow_provider_sentry.testing as testing

PACKAGE = "airflow_provider_sentry.testing"
FOLDER = Path(testing.__file__).parent


def module_level_imports(path: Path) -> set[str]:
    """Modules of the package imported at module level (not inside functions)."""
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names if (FOLDER / f"{a.name}.py").exists())
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(PACKAGE + "."))
        elif isinstance(node, ast.If | ast.Try):
            pending.extend(node.body)
            pending.extend(node.orelse)
    return {name for name in found if name != PACKAGE}


GRAPH = {f"{PACKAGE}.{p.stem}": module_level_imports(p) for p in FOLDER.glob("*.py") if p.stem != "__init__"}


def test_no_module_of_the_emulator_imports_itself_back() -> None:
    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in GRAPH.get(start, ()):
            if nxt == goal or (nxt not in seen and (seen.add(nxt) or reaches(nxt, goal, seen))):
                return True
        return False

    cycles = sorted(module for module in GRAPH if reaches(module, module, set()))
    assert cycles == []


def test_routing_depends_on_neither_the_server_nor_the_endpoints() -> None:
    routing = GRAPH[f"{PACKAGE}.routing"]
    assert not routing & {f"{PACKAGE}.server", f"{PACKAGE}.endpoints", f"{PACKAGE}.routes"}
    assert f"{PACKAGE}.server" not in GRAPH[f"{PACKAGE}.endpoints"]
    assert f"{PACKAGE}.routes" in GRAPH[f"{PACKAGE}.server"]
