"""P6. Triggerer scale: 1,000 NewIssuesTrigger instances in one asyncio event loop, against the emulator.

A child process (a stand-in for the triggerer) creates 1,000 triggers for the same idle watch
(state from one baseline poll), runs them concurrently for ``DURATION_S`` with a 60 s
``poll_interval`` (the default), then cancels them. The emulator runs in another process, so its
CPU is not counted. Reported: RSS added by the triggers, the child's CPU share (of one core) over
the run, requests per second (from the emulator's log) and how long the first round took (all
1,000 triggers start at once, the worst case). The poke-mode equivalent holds 1,000 worker slots
for the whole wait; reschedule mode frees them between pokes but starts a task process per poke.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import time
from typing import Any

from bench._context import BenchContext, prepare_airflow_env
from bench._table import Row, mib

TRIGGERS = 1000
POLL_S = 60.0
DURATION_S = 130.0  # three rounds of polls: t=0, 60, 120 s
QUICK = {"triggers": 200, "poll": 5.0, "duration": 12.0}
CHILD_TIMEOUT_S = DURATION_S + 120


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def _child(triggers: int, poll: float, duration: float, project_id: str) -> dict[str, Any]:
    from airflow_provider_sentry.core.poll import IssuePoll
    from airflow_provider_sentry.core.watch import WatchSpec
    from airflow_provider_sentry.hooks.sentry import SentryHook
    from airflow_provider_sentry.hooks.sentry_async import SentryAsyncHook
    from airflow_provider_sentry.triggers.issues import NewIssuesTrigger

    hook = SentryHook()
    spec = WatchSpec(organization=hook.organization, query="is:unresolved", projects=(project_id,))
    baseline = IssuePoll(spec, None, now=time.time())
    while (request := baseline.next_request()) is not None:
        baseline.receive(hook.get_page(request.path, params=request.params))
    state = baseline.outcome().state.to_json()
    hook.close()

    # Instrumentation only: when each request finished, to time the first round.
    done_at: list[float] = []
    original = SentryAsyncHook.request

    async def timed_request(self: SentryAsyncHook, *args: Any, **kwargs: Any) -> Any:
        try:
            return await original(self, *args, **kwargs)
        finally:
            done_at.append(time.monotonic())

    SentryAsyncHook.request = timed_request  # type: ignore[method-assign]

    events: list[str] = []

    async def consume(trigger: NewIssuesTrigger) -> None:
        async for event in trigger.run():
            events.append(str(event.payload.get("status")))

    gc.collect()
    rss0 = _rss_bytes()
    cpu0, t0 = time.process_time(), time.monotonic()
    tasks = [
        asyncio.create_task(
            consume(
                NewIssuesTrigger(spec=spec.to_json(), state=state, run_key=f"bench/run/t{i}/-1", poll_interval=poll)
            )
        )
        for i in range(triggers)
    ]
    peak = rss0
    while time.monotonic() - t0 < duration:
        await asyncio.sleep(0.5)
        peak = max(peak, _rss_bytes())
    rss_end = _rss_bytes()
    cpu, wall = time.process_time() - cpu0, time.monotonic() - t0
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    first_round = sorted(done_at)[triggers - 1] - t0 if len(done_at) >= triggers else None
    return {
        "rss_before": rss0,
        "rss_end": rss_end,
        "rss_peak": peak,
        "cpu": cpu,
        "wall": wall,
        "requests": len(done_at),
        "first_round_s": first_round,
        "events": events,
    }


def run(ctx: BenchContext) -> list[Row]:
    triggers, poll, duration = (
        (QUICK["triggers"], QUICK["poll"], QUICK["duration"]) if ctx.quick else (TRIGGERS, POLL_S, DURATION_S)
    )
    ctx.seed(50, start=time.time() - 3600, step=1.0)
    cmd = [sys.executable, "-m", "bench.p6_triggerer", str(int(triggers)), str(poll), str(duration), ctx.project_id()]
    with ctx.counting() as records:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120, env=dict(os.environ))
    if done.returncode != 0:
        raise RuntimeError(f"triggerer child failed: {done.stderr.strip()[-400:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    polls = [r for r in records if r.path.endswith("/issues/")]
    errors = sum(1 for r in polls if r.status != 200)
    added = data["rss_end"] - data["rss_before"]
    share = data["cpu"] / data["wall"]
    rate = len(polls) / data["wall"]
    scaled = "" if poll == POLL_S else f" (scaled down from {POLL_S:.0f} s)"
    setting = f"{triggers:,} triggers, poll_interval {poll:g} s{scaled}, {data['wall']:.0f} s"
    first = data["first_round_s"]
    return [
        Row(
            "P6",
            f"triggerer: RSS added ({setting})",
            f"{mib(added)} ({added / triggers / 1024:.0f} KiB/trigger)",
            "poke mode: 1,000 worker slots",
            "",
            note=f"RSS {mib(data['rss_before'])} before, peak {mib(data['rss_peak'])}",
        ),
        Row(
            "P6",
            "triggerer: CPU share of one core",
            f"{share * 100:.1f} %",
            note=(
                f"{data['cpu']:.1f} s CPU over {data['wall']:.0f} s; the first round (all triggers at once) took "
                + (f"{first:.1f} s" if first is not None else "longer than the run")
            ),
        ),
        Row(
            "P6",
            "triggerer: requests per second",
            f"{rate:.1f}/s",
            "",
            "",
            f"{triggers / poll:.1f}/s (1 per trigger per interval)",
            "" if not data["events"] else "MISSED",
            note=(
                (
                    "WRONG: triggers fired on an idle watch (no issue was created), so they stopped polling; "
                    if data["events"]
                    else ""
                )
                + f"{len(polls)} issue polls, {errors} non-200, {len(data['events'])} trigger events "
                f"({', '.join(sorted(set(data['events']))) or 'none'}) during the run"
            ),
        ),
    ]


if __name__ == "__main__":
    prepare_airflow_env()
    n, interval, seconds, project = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    print(json.dumps(asyncio.run(_child(n, interval, seconds, project))))
