"""P3. Requests and wall time to resolve N issues, ResolveIssuesOperator vs ``sentry-cli issues resolve``.

For each N and each way of choosing (by id, by query), N fresh unresolved issues are seeded in
project ``backend`` (with everything earlier already resolved, so the query selects exactly the
N), then resolved once by the operator (``execute(context)``) and once by sentry-cli on a fresh
set, both against the same emulator. We count requests from the emulator's log, time the call,
and check afterwards that no unresolved issue is left.

sentry-cli chooses by ``-i ID`` (repeated) or ``--status unresolved`` (its nearest to a query;
it has no free-text query for resolve).

Bytes: what each client sent (request line, headers, body) per 1,000 issues, and the longest
request line, which must stay under the 8 KB a default nginx accepts (sentry-cli's single
``-i`` request for 1,000 ids does not).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._context import BenchContext, task_context
from bench._table import Row, ratio, secs, verdict

SIZES = (100, 1000, 5000)
QUICK_SIZES = (100, 1000)
CLI_TIMEOUT_S = 120


def sentry_cli() -> str | None:
    local = Path(sys.executable).parent / "sentry-cli"
    return str(local) if local.exists() else shutil.which("sentry-cli")


@dataclass
class Sent:
    requests: int
    seconds: float
    sent_bytes: int
    longest_line: int


def _timed(ctx: BenchContext, action: Callable[[], Any]) -> tuple[Sent, Any]:
    with ctx.counting() as records:
        t0 = time.perf_counter()
        result = action()
        elapsed = time.perf_counter() - t0
    sent = sum(r.sent_bytes for r in records)
    return Sent(len(records), elapsed, sent, max((r.line_bytes for r in records), default=0)), result


def _ours(ctx: BenchContext, n: int, by: str) -> tuple[Sent, int]:
    from airflow_provider_sentry.operators.issues import ResolveIssuesOperator

    ids = ctx.seed(n, start=time.time() - 600, step=0.1, title=f"P3 ours {by} {n}")
    kwargs: dict[str, Any] = (
        {"issue_ids": ids} if by == "id" else {"query": "is:unresolved", "projects": ["backend"], "max_issues": n}
    )
    op = ResolveIssuesOperator(task_id=f"resolve_{by}_{n}", **kwargs)
    sent, changed = _timed(ctx, lambda: op.execute(task_context(op.task_id)))
    return sent, len(changed)


def _cli(ctx: BenchContext, n: int, by: str) -> tuple[Sent, str]:
    exe = sentry_cli()
    assert exe is not None
    ids = ctx.seed(n, start=time.time() - 600, step=0.1, title=f"P3 cli {by} {n}")
    select = [arg for issue_id in ids for arg in ("-i", issue_id)] if by == "id" else ["--status", "unresolved"]
    cmd = [exe, "issues", "resolve", "-o", ctx.emu.organization, "-p", "backend", *select]
    env = dict(os.environ, SENTRY_PROJECT="backend", SENTRY_LOAD_DOTENV="0")

    def call() -> subprocess.CompletedProcess[str]:
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=CLI_TIMEOUT_S)

    sent, done = _timed(ctx, call)
    outcome = "ok" if done.returncode == 0 else f"exit {done.returncode}: {(done.stderr or done.stdout).strip()[-160:]}"
    return sent, outcome


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


def _kib_per_1000(sent: Sent, n: int) -> str:
    return f"{sent.sent_bytes * 1000 / n / 1024:.1f} KiB"


def run(ctx: BenchContext) -> list[Row]:
    # One-time imports (hook, requests, msgspec) are not part of a resolve; in a full run P1/P2 did them.
    from airflow_provider_sentry.core import json_codec
    from airflow_provider_sentry.hooks.sentry import SentryHook

    json_codec.loads(b"[]")
    SentryHook().close()
    rows = []
    has_cli = sentry_cli() is not None
    for n in QUICK_SIZES if ctx.quick else SIZES:
        for by in ("id", "query"):
            ours, changed = _ours(ctx, n, by)
            left_ours = ctx.status_counts().get("unresolved", 0)
            note = f"operator resolved {changed}/{n}, unresolved left: {left_ours}"
            cli: Sent | None = None
            left_cli = 0
            if has_cli:
                cli, outcome = _cli(ctx, n, by)
                left_cli = ctx.status_counts().get("unresolved", 0)
                note += f"; sentry-cli: {outcome}, unresolved left: {left_cli}"
                if left_cli:
                    note += f" (sentry-cli resolved only {n - left_cli}/{n})"
                if left_cli:
                    _resolve_rest(ctx)
            label = "by id" if by == "id" else "by query"
            other_label = "-i ID x N" if by == "id" else "--status unresolved"
            goal, met = "", ""
            if n == 1000 and by == "id":
                goal, met = "<= 6", verdict(ours.requests <= 6)
            elif n == 5000 and by == "query":
                goal, met = "<= 65", verdict(ours.requests <= 65)
            rows.append(
                Row(
                    "P3",
                    f"resolve N={n:,} {label}: requests (vs sentry-cli {other_label})",
                    str(ours.requests),
                    ""
                    if cli is None
                    else str(cli.requests) + (f" (resolved {n - left_cli:,} only)" if left_cli else ""),
                    "" if cli is None else ratio(ours.requests, cli.requests),
                    goal,
                    met,
                    note=note,
                )
            )
            rows.append(
                Row(
                    "P3",
                    f"resolve N={n:,} {label}: bytes sent per 1,000 issues (longest request line)",
                    f"{_kib_per_1000(ours, n)} ({ours.longest_line:,} B)",
                    "" if cli is None else f"{_kib_per_1000(cli, n)} ({cli.longest_line:,} B)",
                    "" if cli is None else ratio(ours.sent_bytes, cli.sent_bytes),
                    "line <= 8,192 B",
                    verdict(ours.longest_line <= 8192),
                    note="request line + headers + body; a default nginx answers 414 above 8 KB per line",
                )
            )
            wall_goal, wall_met = "", ""
            if n == 1000 and by == "id" and cli is not None:
                wall_goal, wall_met = "<= 2x", verdict(ours.seconds <= 2 * cli.seconds)
            rows.append(
                Row(
                    "P3",
                    f"resolve N={n:,} {label}: wall time",
                    secs(ours.seconds),
                    "" if cli is None else secs(cli.seconds),
                    "" if cli is None else ratio(ours.seconds, cli.seconds),
                    wall_goal,
                    wall_met,
                )
            )
    return rows
