"""The sans-I/O core loads without Airflow: every ``core`` module, imported alone in a fresh interpreter,
leaves no ``airflow`` module in ``sys.modules`` (h11 has no dependencies, and neither does the protocol)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import airflow_provider_sentry.core as core

CORE_MODULES = sorted(
    f"airflow_provider_sentry.core.{path.stem}"
    for path in Path(core.__file__).parent.glob("*.py")
    if path.stem != "__init__"
)
PROBE = """
import importlib, sys
importlib.import_module(sys.argv[1])
loaded = sorted(m for m in sys.modules if m == "airflow" or m.startswith("airflow."))
print(",".join(loaded))
"""


def test_the_core_has_modules() -> None:
    assert len(CORE_MODULES) >= 20


@pytest.mark.parametrize("module", CORE_MODULES)
def test_a_core_module_imports_no_airflow(module: str) -> None:
    done = subprocess.run([sys.executable, "-c", PROBE, module], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "", f"{module} loaded Airflow modules: {done.stdout.strip()[:300]}"


def test_the_exceptions_module_imports_no_airflow() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "airflow_provider_sentry.exceptions"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == ""
