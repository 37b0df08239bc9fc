"""Run a trigger's loop in a test until it fires or first goes to sleep: one poll of the triggerer."""

from __future__ import annotations

from typing import Any


class _Idle(BaseException):
    """The trigger went to sleep: this poll fired nothing."""


async def first_event(trigger: Any) -> Any:
    """The first event the trigger yields, or None when it sleeps before yielding one."""

    async def idle(seconds: float) -> None:
        raise _Idle

    trigger._sleep = idle
    gen = trigger.run()
    try:
        return await gen.__anext__()
    except _Idle:
        return None
    finally:
        await gen.aclose()
