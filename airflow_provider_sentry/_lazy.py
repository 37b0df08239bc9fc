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
from typing import Any, NoReturn


class LazyModule:
    """Stands in for a module until an attribute is read, then imports it and delegates."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        # Dunder probes (copy, pickle, inspect) must not import the module, and a copy made without
        # __init__ has no _name: answering them here keeps both from recursing into this method.
        if attribute == "_name" or (attribute.startswith("__") and attribute.endswith("__")):
            raise AttributeError(attribute)
        # import_module, not sys.modules: it waits while another thread is still importing the module.
        return getattr(importlib.import_module(self._name), attribute)

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"{self!r} is a module stand-in: it cannot be copied or pickled")

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy_module(name: str) -> Any:
    """A stand-in for the module ``name`` (typed ``Any``: declare the real import under TYPE_CHECKING)."""
    return LazyModule(name)
