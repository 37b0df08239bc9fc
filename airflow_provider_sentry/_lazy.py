"""The one lazy-import boundary of a module that DAG files import: its runtime half loads on first use.

Every DAG parse imports the operators, sensors, notifier and watcher trigger, but the hook, the
core, the exceptions and the triggerer code are needed only when a task or trigger runs
(docs/performance.md, P5). Such a module names its runtime modules once, at the top::

    if TYPE_CHECKING:
        from airflow_provider_sentry.core import issue_updates
    else:
        issue_updates = lazy_module("airflow_provider_sentry.core.issue_updates")

and then uses them as modules (``issue_updates.build_selection(...)``): type checkers see the real
modules, and the import happens at the first attribute read.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any


class LazyModule:
    """Stands in for a module until an attribute is read, then imports it and delegates."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        module = sys.modules.get(self._name) or importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy_module(name: str) -> Any:
    """A stand-in for the module ``name`` (typed ``Any``: declare the real import under TYPE_CHECKING)."""
    return LazyModule(name)
