"""Drive NewIssuesEventTrigger the way the triggerer does, with an in-memory asset state store and
stops (``CancelledError``, as a triggerer shutdown injects) at chosen awaits."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_sentry.triggers.issue_events import NewIssuesEventTrigger


class FakeAssetStateStore:
    """``AssetStateStoreAccessors`` of one asset: ``aget``/``aset`` on a dict that outlives triggers."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.writes = 0

    async def aget(self, key: str, default: Any = None) -> Any:
        return copy.deepcopy(self.data.get(key, default))

    async def aset(self, key: str, value: Any) -> None:
        self.data[key] = json.loads(json.dumps(value))  # JSON only, as the metadata DB stores it
        self.writes += 1


@dataclass
class Run:
    """What one trigger instance did before it was stopped."""

    events: list[dict[str, Any]] = field(default_factory=list)
    sleeps: list[tuple[str, float]] = field(default_factory=list)
    stopped_in: str = ""

    @property
    def ids(self) -> list[str]:
        return [issue_id for event in self.events for issue_id in event["issue_ids"]]


def new_trigger(**kwargs: Any) -> NewIssuesEventTrigger:
    kwargs.setdefault("organization", "acme")
    kwargs.setdefault("poll_interval", 30.0)
    return NewIssuesEventTrigger(**kwargs)


def drive(
    trigger: NewIssuesEventTrigger,
    store: Any,
    *,
    polls: int = 1,
    stop_at_record: bool = False,
    on_poll_sleep: Any = None,
) -> Run:
    """Run ``trigger`` until it has slept ``polls`` times between polls (or, with ``stop_at_record``,
    until its first wait before recording), then stop it as a triggerer shutdown does.

    ``on_poll_sleep(n)`` runs at the n-th poll wait, e.g. to add issues between polls.
    """
    run = Run()
    if store is not None:  # else what the running Airflow leaves (None on 3.3, no attribute on 3.0-3.2)
        trigger.asset_state_store = store

    async def sleep(seconds: float, why: str) -> None:
        run.sleeps.append((why, seconds))
        if why == "record" and stop_at_record:
            run.stopped_in = "record"
            raise asyncio.CancelledError
        if why == "poll":
            waits = sum(1 for kind, _ in run.sleeps if kind == "poll")
            if waits >= polls:
                run.stopped_in = "poll"
                raise asyncio.CancelledError
            if on_poll_sleep is not None:
                on_poll_sleep(waits)

    trigger._sleep = sleep  # type: ignore[method-assign]

    async def consume() -> None:
        async for event in trigger.run():
            run.events.append(event.payload)

    with contextlib.suppress(asyncio.CancelledError):  # the stop
        asyncio.run(asyncio.wait_for(consume(), timeout=60))
    return run
