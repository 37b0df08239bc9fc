"""Run every benchmark and print one table: ``python -m bench.run [--only P1,P4] [--quick] [--out DIR]``.

Each measure gets a fresh emulator in its own process, so no measure sees another's issues or
requests. A measure whose provider module does not exist yet is reported as not run; a measure
that fails is reported as an error row, and the others still run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench._context import bench_context, prepare_airflow_env
from bench._table import Row, markdown_table, notes

MEASURES: tuple[tuple[str, str, bool], ...] = (
    # id, module, needs an emulator
    ("P1", "bench.p1_idle_poke", True),
    ("P2", "bench.p2_delivery", True),
    ("P3", "bench.p3_resolve", True),
    ("P4", "bench.p4_list", True),
    ("P5", "bench.p5_import_cost", False),
    ("P6", "bench.p6_triggerer", True),
    ("P7", "bench.p7_latency", True),
)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import airflow

        airflow_version = airflow.__version__
    except Exception:
        airflow_version = "?"
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, Airflow {airflow_version}, "
        f"{platform.system()} {platform.release()}"
    )


def run_measure(measure_id: str, module_name: str, needs_emulator: bool, quick: bool) -> list[Row]:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        return [Row(measure_id, "not run", "-", verdict="n/a", note=f"module missing: {exc.name}")]
    run: Callable[..., list[Row]] = module.run
    try:
        if not needs_emulator:
            return run(None)
        with bench_context(quick=quick) as ctx:
            return run(ctx)
    except ModuleNotFoundError as exc:
        return [Row(measure_id, "not run", "-", verdict="n/a", note=f"module missing: {exc.name}")]
    except Exception as exc:
        traceback.print_exc()
        return [Row(measure_id, "ERROR", "-", verdict="error", note=f"{type(exc).__name__}: {exc}")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="", help="comma-separated measure ids, e.g. P1,P5")
    parser.add_argument("--quick", action="store_true", help="smaller sizes and shorter runs (a smoke test)")
    parser.add_argument("--out", default="bench/results", help="where to write latest.md and latest.json")
    args = parser.parse_args(argv)
    prepare_airflow_env()
    wanted = {m.strip().upper() for m in args.only.split(",") if m.strip()}
    rows: list[Row] = []
    timings: dict[str, float] = {}
    started = time.monotonic()
    for measure_id, module_name, needs_emulator in MEASURES:
        if wanted and measure_id not in wanted:
            continue
        print(f"[bench] {measure_id} ...", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        got = run_measure(measure_id, module_name, needs_emulator, args.quick)
        timings[measure_id] = time.monotonic() - t0
        print(markdown_table(got).split("\n", 2)[-1], file=sys.stderr, flush=True)
        print(f"[bench] {measure_id} took {timings[measure_id]:.1f} s", file=sys.stderr, flush=True)
        rows.extend(got)
    total = time.monotonic() - started
    header = f"Machine: {machine()}. Total run time {total:.0f} s" + (" (--quick)" if args.quick else "") + "."
    text = "\n\n".join([header, markdown_table(rows), "Notes:\n" + notes(rows)])
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.md").write_text(text + "\n")
    (out / "latest.json").write_text(
        json.dumps({"machine": machine(), "seconds": timings, "rows": [r.to_json() for r in rows]}, indent=2)
    )
    failed = [r for r in rows if r.verdict == "error"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
