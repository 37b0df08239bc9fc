"""Drive NewIssuesSensor against the emulator the way Airflow would, in each mode, with kills."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from airflow_provider_sentry._compat import PokeReturnValue, TaskDeferred
from airflow_provider_sentry.sensors import issues as sensor_module
from airflow_provider_sentry.sensors.issues import NewIssuesSensor
from airflow_provider_sentry.sensors.state_store import StateStore, VariableStateStore
from airflow_provider_sentry.triggers.issues import NewIssuesTrigger
from tests.trigger_loop import first_event


class Killed(BaseException):
    """The worker died (SIGKILL-like): nothing after this point of the poke ran."""


class DbVariables:
    """``airflow.models.Variable`` (the metadata DB table tasks use), usable outside a task."""

    def get(self, key: str, default: Any = None) -> Any:
        from airflow.models import Variable

        return Variable.get(key, default_var=default)

    def set(self, key: str, value: Any, description: str | None = None) -> None:
        from airflow.models import Variable

        Variable.set(key, value, description=description)

    def delete(self, key: str) -> Any:
        from airflow.models import Variable

        return Variable.delete(key)


class KillableStore:
    """Wraps a store; ``arm("before_write" | "after_write")`` kills the next save at that step."""

    def __init__(self, inner: StateStore) -> None:
        self.inner = inner
        self.armed: str | None = None

    def load(self, key: str) -> dict[str, Any] | None:
        return self.inner.load(key)

    def save(self, key: str, state: dict[str, Any]) -> None:
        step, self.armed = self.armed, None
        if step == "before_write":
            raise Killed(step)
        self.inner.save(key, state)
        if step == "after_write":
            raise Killed(step)

    def delete(self, key: str) -> None:
        self.inner.delete(key)


@dataclass
class Runner:
    """Plays the scheduler: runs, tries, pokes, reschedules, deferrals and retries after a kill."""

    mode: str  # "poke" | "reschedule" | "deferrable"
    store: KillableStore
    sensor_kwargs: dict[str, Any] = field(default_factory=dict)
    run: int = 1
    try_number: int = 1
    delivered: list[str] = field(default_factory=list)
    batches: int = 0
    _sensor: NewIssuesSensor | None = None
    trigger_kwargs: list[str] = field(default_factory=list)

    def context(self) -> dict[str, Any]:
        ti = SimpleNamespace(
            dag_id="triage", task_id="wait", run_id=f"run{self.run}", map_index=-1, try_number=self.try_number
        )
        return {"ti": ti}

    def new_sensor(self) -> NewIssuesSensor:
        store = self.store

        class Sensor(NewIssuesSensor):
            commit_settle_seconds = 0.0  # one poller at a time here: nothing to settle

            def state_store(self) -> StateStore:
                return store

        kwargs = {"task_id": "wait", "poke_interval": 0.01, "timeout": 30, **self.sensor_kwargs}
        return Sensor(
            deferrable=self.mode == "deferrable", mode="reschedule" if self.mode == "reschedule" else "poke", **kwargs
        )

    def poke(self, kill: str | None = None) -> list[str]:
        """One poke (one trigger poll in deferrable mode); ``kill`` = the step where the worker dies."""
        if self._sensor is None or self.mode != "poke":
            self._sensor = self.new_sensor()
        sensor = self._sensor
        if kill in ("before_write", "after_write"):
            self.store.armed = kill
        try:
            issues = self._poke_once(sensor, kill == "after_fetch")
        except Killed:
            self.store.armed = None
            self.try_number += 1  # the task is retried: a new try of the same run, fresh object
            self._sensor = None
            return []
        self.store.armed = None
        if issues:
            self.delivered += [i["id"] for i in issues]
            self.batches += 1
            self.run += 1  # the task succeeded; the next poke belongs to the next DAG run
            self.try_number = 1
            self._sensor = None
        return [i["id"] for i in issues]

    def _poke_once(self, sensor: NewIssuesSensor, kill_after_fetch: bool) -> list[dict[str, Any]]:
        context = self.context()
        real = sensor_module.run_poll

        def fetch_then_die(*args: Any, **kwargs: Any) -> Any:
            real(*args, **kwargs)
            raise Killed("after_fetch")

        if kill_after_fetch:
            sensor_module.run_poll = fetch_then_die
        try:
            if self.mode != "deferrable":
                result = sensor.poke(context)
                return list(result.xcom_value) if isinstance(result, PokeReturnValue) and result.is_done else []
            try:
                return list(sensor.execute(context) or [])
            except TaskDeferred as deferred:
                trigger = deferred.trigger
        finally:
            sensor_module.run_poll = real
        assert isinstance(trigger, NewIssuesTrigger)
        _, kwargs = trigger.serialize()
        self.trigger_kwargs.append(json.dumps(kwargs))
        rebuilt = NewIssuesTrigger(**kwargs)  # the triggerer rebuilds it from its kwargs (e.g. after a restart)
        event = asyncio.run(first_event(rebuilt))
        if event is None:
            return []
        if kill_after_fetch:
            raise Killed("after_fetch")
        return list(self.new_sensor().execute_complete(self.context(), event.payload) or [])


def variable_store() -> VariableStateStore:
    return VariableStateStore(DbVariables())
