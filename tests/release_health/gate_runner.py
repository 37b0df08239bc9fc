"""Drive ReleaseHealthSensor against the emulator the way Airflow would: reschedule (a fresh sensor per
poke) or deferrable (first poke on the worker, then the trigger rebuilt from its serialized kwargs, then
``execute_complete`` on a fresh sensor)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_sentry._compat import PokeReturnValue, TaskDeferred
from airflow_provider_sentry.sensors.releases import ReleaseHealthSensor
from airflow_provider_sentry.testing import SentryEmulator
from airflow_provider_sentry.triggers.releases import ReleaseHealthTrigger
from tests.trigger_loop import first_event

WAITING = "waiting"


@dataclass
class GateRunner:
    """One sensor task; ``check()`` is one poke (one trigger check in deferrable mode)."""

    mode: str  # "poke" | "reschedule" | "deferrable"
    sensor_kwargs: dict[str, Any]
    sensor: ReleaseHealthSensor | None = None  # poke mode: one task process, one sensor object
    trigger: ReleaseHealthTrigger | None = None
    trigger_kwargs: list[str] = field(default_factory=list)

    def new_sensor(self) -> ReleaseHealthSensor:
        kwargs = {"task_id": "gate", "poke_interval": 0.01, "timeout": 30, **self.sensor_kwargs}
        return ReleaseHealthSensor(
            deferrable=self.mode == "deferrable", mode="reschedule" if self.mode == "reschedule" else "poke", **kwargs
        )

    def check(self) -> Any:
        """The XCom dict on a pass, ``WAITING`` otherwise; a fail raises as in Airflow."""
        if self.mode in ("poke", "reschedule"):
            if self.sensor is None or self.mode == "reschedule":
                self.sensor = self.new_sensor()
            result = self.sensor.poke({})
            return result.xcom_value if isinstance(result, PokeReturnValue) and result.is_done else WAITING
        if self.trigger is None:
            try:
                return self.new_sensor().execute({})
            except TaskDeferred as deferred:
                assert isinstance(deferred.trigger, ReleaseHealthTrigger)
                self.trigger = deferred.trigger
                _, kwargs = self.trigger.serialize()
                self.trigger_kwargs.append(json.dumps(kwargs))  # must be JSON: the triggerer stores it
                return WAITING
        _, kwargs = self.trigger.serialize()
        event = asyncio.run(first_event(ReleaseHealthTrigger(**kwargs)))  # rebuilt, as after a triggerer restart
        if event is None:
            return WAITING
        return self.new_sensor().execute_complete({}, event.payload)


def sessions_once_deployed(emu: SentryEmulator, version: str, **counts: int) -> Callable[[Any], None]:
    """A before_request callback: the app's sessions arrive when the gate first asks for them (after the
    deploy, so inside the default window)."""
    sent = {"done": False}

    def callback(record: Any) -> None:
        if record.path.endswith("/sessions/") and not sent["done"]:
            sent["done"] = True
            emu.add_sessions(version, "production", **counts)

    return callback
