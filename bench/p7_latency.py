"""P7. Latency from an issue's creation to the sensor's success, poke and deferrable modes, poke_interval=2 s.

Each trial starts the wait (``NewIssuesSensor.execute`` in poke mode in a thread, or
``NewIssuesTrigger.run`` on an event loop in a thread), waits a random 0.3-2.3 s so creation
falls at a random phase of the poll cycle, creates one issue in the emulator and times until the
sensor returns it (or the trigger yields its event). Expect about interval/2 plus one request.
Deferrable mode here stops at the trigger event: in Airflow the triggerer -> scheduler -> worker
hop that runs ``execute_complete`` comes on top (seconds, set by the scheduler loop, not by us).
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from typing import Any

from bench._context import BenchContext, memory_sensor_class, task_context
from bench._table import Row, median, secs, verdict

INTERVAL_S = 2.0
TRIALS = 8
QUICK_TRIALS = 3
WAIT_TIMEOUT_S = 20.0


def _create(ctx: BenchContext) -> tuple[float, str]:
    """Create one issue; its creation time is the midpoint of the call (it lands in between)."""
    t0 = time.time()
    (issue_id,) = ctx.seed(1, start=time.time(), title="P7 latency")
    return (t0 + time.time()) / 2, issue_id


def _trial(ctx: BenchContext, wait: Any, rng: random.Random) -> tuple[float, bool]:
    done: dict[str, Any] = {}

    def target() -> None:
        done["result"] = wait()
        done["at"] = time.time()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    time.sleep(rng.uniform(0.3, 0.3 + INTERVAL_S))
    created_at, issue_id = _create(ctx)
    thread.join(WAIT_TIMEOUT_S)
    if "at" not in done:
        raise RuntimeError("the sensor did not see the new issue in time")
    ids = [issue["id"] for issue in done["result"]]
    return done["at"] - created_at, ids == [issue_id]


def run(ctx: BenchContext) -> list[Row]:
    from airflow_provider_sentry.core.watch import WatchSpec
    from airflow_provider_sentry.triggers.issues import NewIssuesTrigger

    rng = random.Random(7)
    trials = QUICK_TRIALS if ctx.quick else TRIALS
    sensor_class = memory_sensor_class()
    store = sensor_class.store  # type: ignore[attr-defined]
    key = "bench.p7"
    project_id = ctx.project_id()

    def sensor(run_id: str) -> Any:
        return sensor_class(
            task_id="p7", projects=[project_id], state_key=key, poke_interval=INTERVAL_S, timeout=WAIT_TIMEOUT_S
        )

    assert sensor("baseline").poke(task_context("p7", "baseline")) is False

    poke: list[float] = []
    poke_ok = True
    for i in range(trials):
        run_id = f"poke-{i}"
        latency, ok = _trial(ctx, lambda run_id=run_id: sensor(run_id).execute(task_context("p7", run_id)), rng)
        poke.append(latency)
        poke_ok &= ok

    spec = WatchSpec(organization=ctx.emu.organization, query="is:unresolved", projects=(project_id,)).to_json()

    def defer(run_id: str) -> list[dict[str, Any]]:
        trigger = NewIssuesTrigger(spec=spec, state=store.load(key), run_key=run_id, poll_interval=INTERVAL_S)

        async def first_event() -> dict[str, Any]:
            async for event in trigger.run():
                return dict(event.payload)
            raise RuntimeError("the trigger ended without an event")

        payload = asyncio.run(first_event())
        if payload.get("status") != "success":
            raise RuntimeError(f"trigger error event: {payload}")
        store.save(key, payload["state"])  # what execute_complete commits
        return list(payload["issues"])

    deferred: list[float] = []
    defer_ok = True
    for i in range(trials):
        latency, ok = _trial(ctx, lambda i=i: defer(f"defer-{i}"), rng)
        deferred.append(latency)
        defer_ok &= ok

    rows = []
    for mode, values, ok in (("poke", poke, poke_ok), ("deferrable (to trigger event)", deferred, defer_ok)):
        mean = sum(values) / len(values)
        rows.append(
            Row(
                "P7",
                f"latency creation -> success, {mode}, poke_interval={INTERVAL_S:g} s",
                f"median {secs(median(values))}, mean {secs(mean)}",
                "",
                "",
                f"~{INTERVAL_S / 2:g} s mean (interval/2)",
                verdict(mean <= INTERVAL_S / 2 + 0.5 and ok),
                note=(
                    f"{len(values)} trials, min {secs(min(values))}, max {secs(max(values))}; "
                    f"each delivered exactly the new issue: {ok}"
                ),
            )
        )
    return rows
