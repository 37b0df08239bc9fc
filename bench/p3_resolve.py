"""P3. Requests and wall time to resolve N issues, ResolveIssuesOperator vs ``sentry-cli issues resolve``.

For each N and each way of choosing (by id, by query), N fresh unresolved issues are seeded in
project ``backend`` (with everything earlier already resolved, so the query selects exactly the
N), then resolved once by the operator (``execute(context)``) and once by sentry-cli on a fresh
set, both against the same emulator. We count requests from the emulator's log, time the call,
and check afterwards that no unresolved issue is left.

sentry-cli chooses by ``-i ID`` (repeated) or ``--status unresolved`` (its nearest to a query;
it has no free-text query for resolve).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._context import BenchContext, task_context
from bench._table import Row, ratio, secs

SIZES = (100, 1000, 5000)
QUICK_SIZES = (100, 1000)
CLI_TIMEOUT_S = 120


def sentry_cli() -> str | None:
    local = Path(sys.executable).parent / "sentry-cli"
    return str(local) if local.exists() else shutil.which("sentry-cli")


def _timed(ctx: BenchContext, action: Callable[[], Any]) -> tuple[int, float, Any]:
    with ctx.counting() as records:
        t0 = time.perf_counter()
        result = action()
        elapsed = time.perf_counter() - t0
    return len(records), elapsed, result


def _ours(ctx: BenchContext, n: int, by: str) -> tuple[int, float, int]:
    from airflow_provider_sentry.operators.issues import ResolveIssuesOperator

    ids = ctx.seed(n, start=time.time() - 600, step=0.1, title=f"P3 ours {by} {n}")
    kwargs: dict[str, Any] = (
        {"issue_ids": ids} if by == "id" else {"query": "is:unresolved", "projects": ["backend"], "max_issues": n}
    )
    op = ResolveIssuesOperator(task_id=f"resolve_{by}_{n}", **kwargs)
    requests, elapsed, changed = _timed(ctx, lambda: op.execute(task_context(op.task_id)))
    return requests, elapsed, len(changed)


def _cli(ctx: BenchContext, n: int, by: str) -> tuple[int, float, str]:
    exe = sentry_cli()
    assert exe is not None
    ids = ctx.seed(n, start=time.time() - 600, step=0.1, title=f"P3 cli {by} {n}")
    select = [arg for issue_id in ids for arg in ("-i", issue_id)] if by == "id" else ["--status", "unresolved"]
    cmd = [exe, "issues", "resolve", "-o", ctx.emu.organization, "-p", "backend", *select]
    env = dict(os.environ, SENTRY_PROJECT="backend", SENTRY_LOAD_DOTENV="0")

    def call() -> subprocess.CompletedProcess[str]:
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=CLI_TIMEOUT_S)

    requests, elapsed, done = _timed(ctx, call)
    outcome = "ok" if done.returncode == 0 else f"exit {done.returncode}: {(done.stderr or done.stdout).strip()[-160:]}"
    return requests, elapsed, outcome


def _resolve_rest(ctx: BenchContext) -> None:
    """Leave a clean slate for the next case (a query PUT resolves up to 1000 at a time)."""
    from airflow_provider_sentry.hooks.sentry import SentryHook

    hook = SentryHook()
    for _ in range(20):
        if not ctx.status_counts().get("unresolved", 0):
            return
        hook.request(
            "PUT",
            f"projects/{ctx.emu.organization}/backend/issues/",
            params={"query": "is:unresolved"},
            json={"status": "resolved"},
        )


def run(ctx: BenchContext) -> list[Row]:
    rows = []
    has_cli = sentry_cli() is not None
    for n in QUICK_SIZES if ctx.quick else SIZES:
        for by in ("id", "query"):
            req, wall, changed = _ours(ctx, n, by)
            left_ours = ctx.status_counts().get("unresolved", 0)
            note = f"operator resolved {changed}/{n}, unresolved left: {left_ours}"
            cli_req = cli_wall = None
            left_cli = 0
            if has_cli:
                cli_req, cli_wall, outcome = _cli(ctx, n, by)
                left_cli = ctx.status_counts().get("unresolved", 0)
                note += f"; sentry-cli: {outcome}, unresolved left: {left_cli}"
                if left_cli:
                    note += f" (sentry-cli resolved only {n - left_cli}/{n})"
                if left_cli:
                    _resolve_rest(ctx)
            label = "by id" if by == "id" else "by query"
            other_label = "-i ID x N" if by == "id" else "--status unresolved"
            rows.append(
                Row(
                    "P3",
                    f"resolve N={n:,} {label}: requests (vs sentry-cli {other_label})",
                    str(req),
                    ""
                    if cli_req is None
                    else str(cli_req) + (f" (resolved {n - left_cli:,} only)" if left_cli else ""),
                    "" if cli_req is None else ratio(req, cli_req),
                    "",
                    "",
                    note=note,
                )
            )
            rows.append(
                Row(
                    "P3",
                    f"resolve N={n:,} {label}: wall time",
                    secs(wall),
                    "" if cli_wall is None else secs(cli_wall),
                    "" if cli_wall is None else ratio(wall, cli_wall),
                )
            )
    return rows
