"""Each module declares its imports once, at the top: no import statement hides inside a function.

Modules that DAG files import keep their runtime half lazy through one block at the top
(``_lazy.lazy_module`` under ``if TYPE_CHECKING: ... else:``), so DAG parsing stays cheap
without an import in every method. The few function-level imports left are listed with why.
"""

from __future__ import annotations

import ast
import copy
import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import airflow_provider_sentry
from airflow_provider_sentry._lazy import LazyModule, lazy_module

PACKAGE = Path(airflow_provider_sentry.__file__).parent

#: (module path, function): the only imports inside functions, each for a reason a module-level one can't serve.
ALLOWED = {
    # Flask AppBuilder is not installed on Airflow 3.2+; the form is only built on older UIs.
    ("hooks/sentry.py", "get_connection_form_widgets"),
    # msgspec is optional: the decoder falls back to json when it is missing.
    ("core/json_codec.py", "_fast_decoder"),
    # control.py names SentryEmulator in its types; importing it here keeps the two out of an import circle.
    ("testing/emulator.py", "_control"),
}


def function_level_imports() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    found.add((path.relative_to(PACKAGE).as_posix(), function.name))
    return found


def test_no_module_imports_inside_its_functions_beyond_the_listed_reasons() -> None:
    assert function_level_imports() - ALLOWED == set()


def test_every_listed_reason_is_still_needed() -> None:
    assert ALLOWED.issubset(function_level_imports())


def test_a_lazy_module_imports_on_first_attribute_read() -> None:
    name = "airflow_provider_sentry.testing.faults"
    probe = (
        "import sys\n"
        "from airflow_provider_sentry._lazy import lazy_module\n"
        f"faults = lazy_module({name!r})\n"
        f"before = {name!r} in sys.modules\n"
        "kind = faults.Fault\n"
        f"print(before, {name!r} in sys.modules, kind.__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["False", "True", "Fault"]


def test_a_lazy_module_names_the_missing_attribute_and_module() -> None:
    proxy = lazy_module("airflow_provider_sentry.defaults")
    assert isinstance(proxy, LazyModule)
    assert repr(proxy) == "<lazy module 'airflow_provider_sentry.defaults'>"
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = proxy.no_such_name
    with pytest.raises(ModuleNotFoundError):
        _ = lazy_module("airflow_provider_sentry.no_such_module").anything


def test_a_lazy_module_cannot_be_copied_or_pickled_and_dunder_probes_import_nothing() -> None:
    name = "airflow_provider_sentry.testing.faults"
    probe = (
        "import sys\n"
        "from airflow_provider_sentry._lazy import lazy_module\n"
        f"faults = lazy_module({name!r})\n"
        "print(hasattr(faults, '__wrapped__'), hasattr(faults, '__deepcopy__'))\n"
        f"print({name!r} in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["False", "False", "False"]
    proxy = lazy_module("airflow_provider_sentry.defaults")
    for duplicate in (copy.copy, copy.deepcopy, pickle.dumps):
        with pytest.raises(TypeError, match="module stand-in"):
            duplicate(proxy)


def test_a_lazy_module_waits_for_an_import_another_thread_has_begun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "slow_lazy_probe.py").write_text("import time\ntime.sleep(0.5)\nVALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "slow_lazy_probe", raising=False)
    importer = threading.Thread(target=__import__, args=("slow_lazy_probe",))
    importer.start()
    while "slow_lazy_probe" not in sys.modules:  # the other thread is now inside the module's body
        time.sleep(0.01)
    try:
        assert lazy_module("slow_lazy_probe").VALUE == 42
    finally:
        importer.join(timeout=10)


def lazy_declarations(tree: ast.Module) -> tuple[dict[str, str], dict[str, str]]:
    """The aliases a module imports under ``if TYPE_CHECKING:`` and the ones its ``else:`` makes lazy."""
    typed: dict[str, str] = {}
    lazy: dict[str, str] = {}
    for node in tree.body:
        if not (isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
            continue
        for statement in node.body:
            if isinstance(statement, ast.ImportFrom) and statement.module:
                for alias in statement.names:
                    typed[alias.asname or alias.name] = f"{statement.module}.{alias.name}"
            elif isinstance(statement, ast.Import):
                for alias in statement.names:
                    typed[alias.asname or alias.name] = alias.name
        for statement in node.orelse:
            if (
                isinstance(statement, ast.Assign)
                and isinstance(statement.value, ast.Call)
                and isinstance(statement.value.func, ast.Name)
                and statement.value.func.id == "lazy_module"
            ):
                (target,) = statement.targets
                argument = statement.value.args[0]
                assert isinstance(target, ast.Name) and isinstance(argument, ast.Constant)
                lazy[target.id] = str(argument.value)
    return typed, lazy


def test_each_lazy_module_names_the_module_its_type_checking_import_names() -> None:
    checked = 0
    for path in sorted(PACKAGE.rglob("*.py")):
        typed, lazy = lazy_declarations(ast.parse(path.read_text()))
        for alias, module in lazy.items():
            assert typed.get(alias) == module, f"{path.name}: {alias} = lazy_module({module!r}) vs {typed.get(alias)}"
            checked += 1
    assert checked >= 40
