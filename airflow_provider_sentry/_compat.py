"""The one place that imports Airflow internals, newest path first (Airflow 3.0 to 3.3+)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from airflow.sdk import (
    BaseOperator,
    BaseOperatorLink,
    BaseSensorOperator,
    PokeReturnValue,
    Variable,  # the sensor's durable watch state (3.0+)
)

try:  # task-sdk 1.1+
    from airflow.sdk.exceptions import AirflowException, TaskDeferred
except ImportError:  # Airflow 3.0
    from airflow.exceptions import AirflowException, TaskDeferred  # type: ignore[no-redef,attr-defined]

try:  # task-sdk 1.1+
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
except ImportError:  # Airflow 3.0
    from airflow.exceptions import AirflowFailException, AirflowSkipException  # type: ignore[no-redef,attr-defined]

try:  # 3.1+
    from airflow.sdk.log import mask_secret, redact  # type: ignore[attr-defined]
except ImportError:  # 3.0
    from airflow.sdk.execution_time.secrets_masker import mask_secret, redact  # type: ignore[no-redef]

try:  # 3.1+
    from airflow.sdk.configuration import conf
except ImportError:  # 3.0
    from airflow.configuration import conf  # type: ignore[no-redef]

if TYPE_CHECKING:
    from airflow.sdk import BaseHook, Context
    from airflow.sdk.execution_time.xcom import XCom
    from airflow.triggers.base import BaseTrigger, TriggerEvent
else:
    Context = dict

# Imported on first use only, to keep DAG parse time low: the hook base class is needed when a task
# runs, the trigger base classes on the triggerer, XCom when an extra link is rendered.
# Each name maps to the modules that may hold it, newest first.
_LAZY: dict[str, tuple[str, ...]] = {
    "BaseHook": ("airflow.sdk", "airflow.hooks.base"),  # 3.1+ (task-sdk 1.1+), 3.0
    "BaseTrigger": ("airflow.triggers.base",),
    "TriggerEvent": ("airflow.triggers.base",),
    "XCom": ("airflow.sdk.execution_time.xcom",),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for path in _LAZY[name]:
        value = getattr(importlib.import_module(path), name, None)
        if value is not None:
            globals()[name] = value
            return value
    raise ImportError(f"cannot import {name!r} from any of {_LAZY[name]}")


__all__ = [
    "AirflowException",
    "AirflowFailException",
    "AirflowSkipException",
    "BaseHook",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "BaseTrigger",
    "Context",
    "PokeReturnValue",
    "TaskDeferred",
    "TriggerEvent",
    "Variable",
    "XCom",
    "conf",
    "mask_secret",
    "redact",
]
