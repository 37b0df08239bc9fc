"""P2. Requests to deliver N new issues with NewIssuesSensor; goal ceil(N/100)+1.

N issues arrive, 20 per second of ``firstSeen`` (so same-second ties are part of the test), in a
time range of their own in the recent past. The watch starts with ``since=`` just before that
range (the emulator, like Sentry, lists no issue first seen in the future, so the issues cannot
follow a baseline taken now); ``since`` starts the same cursor walk as a steady-state poll. The
sensor pokes until all N are delivered; we count the requests and check each issue came exactly
once. ``max_issues=1000`` (the per-run maximum):
N=10,000 therefore needs 10 task runs, each re-reading the overlap of the previous one.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

from bench._context import BenchContext, memory_sensor_class, task_context
from bench._table import Row, verdict

SIZES = (1, 99, 100, 101, 1000, 10_000)
QUICK_SIZES = (1, 99, 100, 101, 1000)
MAX_ISSUES = 1000
PER_SECOND = 20


def deliver(ctx: BenchContext, n: int, start: float) -> tuple[int, int, int, bool]:
    """(requests, pokes, delivered, exactly_once) for N new issues on a fresh watch."""
    sensor_class = memory_sensor_class()
    key = f"p2-{n}"
    added = ctx.seed(n, start=start, step=1.0 / PER_SECOND, title=f"P2 N={n}")
    sensor = sensor_class(
        task_id=key,
        projects=[ctx.project_id()],
        max_issues=MAX_ISSUES,
        state_key=key,
        since=datetime.fromtimestamp(start - 1, UTC),
    )
    delivered: list[str] = []
    pokes = 0
    with ctx.counting() as records:
        while len(delivered) < n and pokes < 2 * math.ceil(n / MAX_ISSUES) + 2:
            pokes += 1
            # one task run per delivery, as in Airflow (a new run_id each time)
            result = sensor.poke(task_context(key, run_id=f"run-{pokes}"))
            if result:
                delivered.extend(issue["id"] for issue in result.xcom_value)
    exactly_once = len(delivered) == len(set(delivered)) and set(delivered) == set(added)
    return len(records), pokes, len(delivered), exactly_once


def run(ctx: BenchContext) -> list[Row]:
    rows = []
    sizes = QUICK_SIZES if ctx.quick else SIZES
    # Oldest range first: each watch starts after every range seeded before it.
    start = time.time() - sum(n / PER_SECOND + 10 for n in sizes) - 60
    for n in sizes:
        requests, pokes, delivered, exactly_once = deliver(ctx, n, start)
        start += n / PER_SECOND + 10
        goal = math.ceil(n / 100) + 1
        per_run_goal = sum(math.ceil(min(MAX_ISSUES, n - done) / 100) + 1 for done in range(0, n, MAX_ISSUES))
        note = f"{pokes} poke(s)/task run(s); delivered {delivered}/{n}, exactly once: {exactly_once}"
        if n > MAX_ISSUES:
            note += (
                f"; max_issues caps a run at {MAX_ISSUES}, so the floor is sum over runs of "
                f"ceil(n_run/100)+1 = {per_run_goal}"
            )
        rows.append(
            Row(
                "P2",
                f"requests to deliver N={n:,} new issues",
                str(requests),
                "",
                "",
                f"<= {goal}",
                verdict(requests <= goal and exactly_once),
                note=note,
            )
        )
    return rows
