"""P1. Requests per idle poke of NewIssuesSensor, against Airflow's generic HttpSensor on the same endpoint.

Both sensors watch project ``backend`` (50 issues an hour old). After the sensor's first poke
(the baseline), every poke with nothing new is counted from the emulator's request log. The
HttpSensor polls ``GET organizations/acme/issues/?query=is:unresolved&sort=new&limit=1`` and its
``response_check`` says "new" when the newest issue was first seen after the sensor started:
the best a stateless sensor can do. Then one issue is added and both must see it.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from typing import Any

from bench._context import BenchContext, memory_sensor_class, task_context
from bench._table import Row, ratio, verdict

IDLE_POKES = 20


def _http_sensor(ctx: BenchContext, started: float) -> Any:
    from airflow.providers.http.sensors.http import HttpSensor

    host, port = ctx.emu.url.removeprefix("http://").split(":")
    # HttpHook sends the connection's extra as headers: the token stays out of the task's fields.
    os.environ["AIRFLOW_CONN_SENTRY_HTTP"] = json.dumps(
        {
            "conn_type": "http",
            "host": host,
            "port": int(port),
            "schema": "http",
            "extra": {"Authorization": f"Bearer {ctx.emu.token}"},
        }
    )

    def newest_is_new(response: Any) -> bool:
        issues = response.json()
        return bool(issues) and datetime.fromisoformat(issues[0]["firstSeen"]).timestamp() >= started

    return HttpSensor(
        task_id="http_sensor",
        http_conn_id="sentry_http",
        method="GET",
        endpoint=f"api/0/organizations/{ctx.emu.organization}/issues/",
        request_params={"query": "is:unresolved", "sort": "new", "limit": "1", "project": ctx.project_id()},
        response_check=newest_is_new,
        poke_interval=60,
        timeout=60,
    )


def run(ctx: BenchContext) -> list[Row]:
    ctx.seed(50, start=time.time() - 3600, step=1.0)
    sensor_class = memory_sensor_class()
    sensor = sensor_class(task_id="p1", projects=["backend"], poke_interval=60, timeout=60)
    context = task_context("p1")
    started = time.time()
    with ctx.counting() as first:
        assert sensor.poke(context) is False  # the baseline
    with ctx.counting() as ours:
        # a new task run per poke, as reschedule mode and new DAG runs do (the same run would replay its batch)
        idle = [sensor.poke(task_context("p1", run_id=f"idle-{i}")) for i in range(IDLE_POKES)]
    wrongly_delivered = sum(len(r.xcom_value) for r in idle if r)

    http = _http_sensor(ctx, started)
    with ctx.counting() as theirs:
        http_idle = [http.poke(context) for _ in range(IDLE_POKES)]
    http_false_alarms = sum(1 for r in http_idle if r)

    ctx.seed(1, start=time.time())
    found = sensor.poke(task_context("p1", run_id="found"))
    http_found = http.poke(context)
    ours_per_poke = len(ours) / IDLE_POKES
    theirs_per_poke = len(theirs) / IDLE_POKES
    return [
        Row(
            "P1",
            "requests per idle poke (NewIssuesSensor vs HttpSensor)",
            f"{ours_per_poke:g}",
            f"{theirs_per_poke:g}",
            ratio(ours_per_poke, theirs_per_poke),
            "1",
            verdict(ours_per_poke <= 1 and not wrongly_delivered),
            note=(
                (
                    f"WRONG: the {IDLE_POKES} idle pokes delivered {wrongly_delivered} issue(s) that existed "
                    "before the watch began; "
                    if wrongly_delivered
                    else ""
                )
                + (f"HttpSensor fired {http_false_alarms} time(s) with nothing new; " if http_false_alarms else "")
                + f"{IDLE_POKES} idle pokes each; the sensor's first poke (baseline, incl. the one-time project "
                f"slug lookup) cost {len(first)} requests; after 1 new issue, NewIssuesSensor delivered "
                f"{len(found.xcom_value) if hasattr(found, 'xcom_value') else found!r} issue(s), HttpSensor "
                f"returned {http_found!r}. HttpSensor (no cursor) only answers yes/no: it returns no issues, "
                "sees only the newest one, has no memory across pokes, runs or retries (each run re-fires on "
                "the same issue or misses those between runs), cannot page past 100, misses same-second ties "
                "and late-indexed issues, and has no rate-limit handling (429 without Retry-After)"
            ),
        )
    ]
