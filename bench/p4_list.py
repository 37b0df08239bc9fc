"""P4. Wall time and peak memory to list 10,000 issues: ``SentryHook.paginate`` vs ``sentry-cli issues list``.

Both list project ``backend`` (10,000 issues, 100 per page) from the same emulator, median of 3
runs each, in the same run. sentry-cli's output goes to a pipe that is read and counted (it
prints a table row per issue). Memory: the peak ``tracemalloc`` allocation while iterating
``paginate`` and counting items (nothing kept), for N=1,000 and N=10,000 in separate projects;
a streaming client's peak is about one page, whatever N is.
"""

from __future__ import annotations

import os
import resource
import subprocess
import time
import tracemalloc

from bench._context import BenchContext
from bench._table import Row, median, mib, ratio, secs, verdict
from bench.p3_resolve import sentry_cli

N_LIST = 10_000
MEMORY_SIZES = (1000, 10_000)
RUNS = 3
CLI_TIMEOUT_S = 120


def _path(ctx: BenchContext, project: str) -> str:
    return f"projects/{ctx.emu.organization}/{project}/issues/"


def _list_ours(ctx: BenchContext, project: str) -> int:
    from airflow_provider_sentry.hooks.sentry import SentryHook

    hook = SentryHook()
    try:
        return sum(1 for _ in hook.paginate(_path(ctx, project), params={"query": "", "limit": "100"}))
    finally:
        hook.close()


def _peak_bytes(ctx: BenchContext, project: str) -> tuple[int, int]:
    from airflow_provider_sentry.hooks.sentry import SentryHook

    hook = SentryHook()
    _ = hook.settings, hook.session  # connection and session set up before tracing
    tracemalloc.start()
    try:
        count = sum(1 for _ in hook.paginate(_path(ctx, project), params={"query": "", "limit": "100"}))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        hook.close()
    return count, peak


def _list_cli(ctx: BenchContext, project: str, pages: int) -> tuple[int, int]:
    exe = sentry_cli()
    assert exe is not None
    cmd = [exe, "issues", "list", "-o", ctx.emu.organization, "-p", project, "--pages", str(pages)]
    env = dict(os.environ, SENTRY_LOAD_DOTENV="0")
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=CLI_TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"sentry-cli issues list: exit {done.returncode}: {done.stderr.strip()[-200:]}")
    # table rows look like "| 1000001 | BenchError #0 | ... |"; count those starting with an id
    rows = sum(1 for line in done.stdout.splitlines() if line.startswith("|") and line[1:].strip()[:1].isdigit())
    return rows, done.returncode


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(ctx: BenchContext) -> list[Row]:
    start = time.time() - 7 * 86400
    ctx.seed(N_LIST, start=start, step=1.0, project="backend")
    ctx.seed(MEMORY_SIZES[0], start=start, step=1.0, project="frontend")

    ours_times, cli_times, ours_cpu, cli_cpu = [], [], [], []
    ours_count = cli_count = 0
    cli_requests = ours_requests = 0
    pages = N_LIST // 100 + 1
    for _ in range(RUNS):
        with ctx.counting() as records:
            t0, c0 = time.perf_counter(), time.process_time()
            ours_count = _list_ours(ctx, "backend")
            ours_times.append(time.perf_counter() - t0)
            ours_cpu.append(time.process_time() - c0)
        ours_requests = len(records)
        if sentry_cli():
            with ctx.counting() as records:
                t0, c0 = time.perf_counter(), _children_cpu()
                cli_count, _ = _list_cli(ctx, "backend", pages)
                cli_times.append(time.perf_counter() - t0)
                cli_cpu.append(_children_cpu() - c0)
            cli_requests = len(records)
    t_ours = median(ours_times)
    t_cli = median(cli_times) if cli_times else 0.0

    c_ours = median(ours_cpu)
    c_cli = median(cli_cpu) if cli_cpu else 0.0
    peaks = {}
    for n, project in zip(MEMORY_SIZES, ("frontend", "backend"), strict=True):
        count, peak = _peak_bytes(ctx, project)
        assert count == n, (count, n)
        peaks[n] = peak
    growth = peaks[MEMORY_SIZES[1]] / peaks[MEMORY_SIZES[0]]
    return [
        Row(
            "P4",
            f"list {N_LIST:,} issues: wall time (paginate vs sentry-cli issues list)",
            secs(t_ours),
            secs(t_cli) if cli_times else "",
            ratio(t_ours, t_cli) if cli_times else "",
            "<= 1.0x",
            verdict(t_ours <= t_cli) if cli_times else "n/a",
            note=(
                f"median of {RUNS}; paginate yielded {ours_count} issues in {ours_requests} requests; sentry-cli "
                f"printed {cli_count} rows in {cli_requests} requests (--pages {pages})"
            ),
        ),
        Row(
            "P4",
            f"list {N_LIST:,} issues: client CPU time",
            secs(c_ours),
            secs(c_cli) if cli_cpu else "",
            ratio(c_ours, c_cli) if cli_cpu else "",
            "<= 2x",
            verdict(c_ours <= 2 * c_cli) if cli_cpu else "n/a",
            note="user+sys CPU of the client alone (the emulator runs in another process and dominates the wall time)",
        ),
        Row(
            "P4",
            f"paginate peak memory, N={MEMORY_SIZES[0]:,} -> N={MEMORY_SIZES[1]:,}",
            f"{mib(peaks[MEMORY_SIZES[0]])} -> {mib(peaks[MEMORY_SIZES[1]])} ({growth:.2f}x)",
            "",
            "",
            "flat (not ~10x)",
            verdict(growth < 2.0),
            note="tracemalloc peak of Python allocations during the iteration (setup excluded)",
        ),
    ]
