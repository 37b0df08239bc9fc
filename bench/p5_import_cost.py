"""P5. Import cost at DAG parse time: what importing our operators and sensor adds over ``airflow.sdk``.

Each sample is a fresh ``python -X importtime`` process that imports ``airflow.sdk`` first, then
the modules under test. We sum the cumulative ``-X importtime`` figures of the top-level imports
made after ``airflow.sdk`` (the added cost), count the modules added, and list which HTTP
clients got loaded and by whom. Median of 10 samples, .pyc warm (one discarded warm-up run).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass

from bench._table import Row, median, ms, ratio, verdict

SAMPLES = 10
MARK = "@@bench-after-airflow-sdk@@"
OUR_MODULES = (
    "airflow_provider_sentry.operators.issues",
    "airflow_provider_sentry.operators.releases",
    "airflow_provider_sentry.sensors.issues",
)
HTTP_MODULES = ("airflow.providers.http.operators.http",)
CLIENTS = ("requests", "httpx", "aiohttp", "urllib3", "httpcore")
GOAL_MS = 10.0

_PROBE = """
import json, sys, time
import airflow.sdk
clients_before = [m for m in {clients!r} if m in sys.modules]
sys.stderr.write({mark!r} + "\\n"); sys.stderr.flush()
before = set(sys.modules)
t0 = time.perf_counter()
for name in {modules!r}:
    __import__(name)
wall = time.perf_counter() - t0
added = set(sys.modules) - before
print(json.dumps({{"wall": wall, "added": len(added), "clients_before": clients_before,
                   "clients_added": sorted(m for m in {clients!r} if m in added)}}))
"""


@dataclass
class Sample:
    importtime_s: float  # sum of the top-level cumulative -X importtime after the mark
    sdk_importtime_s: float  # the same for everything before the mark (import airflow.sdk)
    wall_s: float
    added: int
    clients_before: list[str]
    clients_added: list[str]
    importers: dict[str, list[str]]  # client module -> chain of importers up to a top-level import


def _parse_importtime(stderr: str) -> tuple[float, float, dict[str, list[str]]]:
    before_us = after_us = 0
    after_lines: list[tuple[int, str]] = []
    seen_mark = False
    for line in stderr.splitlines():
        if line.strip() == MARK:
            seen_mark = True
            continue
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        _, cumulative, name = line.split("|", 2)
        cumulative_us = int(cumulative.strip())
        depth = (len(name) - len(name.lstrip(" "))) // 2
        if seen_mark:
            after_lines.append((depth, name.strip()))
        if depth == 0:
            if seen_mark:
                after_us += cumulative_us
            else:
                before_us += cumulative_us
    return before_us / 1e6, after_us / 1e6, _importers(after_lines)


def _importers(lines: list[tuple[int, str]]) -> dict[str, list[str]]:
    """For each HTTP client imported, who imported it (post-order listing: the parent comes later)."""
    chains: dict[str, list[str]] = {}
    for i, (depth, name) in enumerate(lines):
        if name not in CLIENTS or name in chains:
            continue
        chain, want = [], depth
        for later_depth, later_name in lines[i + 1 :]:
            if later_depth < want:
                chain.append(later_name)
                want = later_depth
                if want == 0:
                    break
        chains[name] = chain
    return chains


def sample(modules: tuple[str, ...]) -> Sample:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure with .pyc, as an installed provider has them
    code = _PROBE.format(clients=CLIENTS, mark=MARK, modules=modules)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    if done.returncode != 0:
        raise RuntimeError(f"importing {modules} failed: {done.stderr.strip().splitlines()[-1:]}")
    sdk_s, added_s, chains = _parse_importtime(done.stderr)
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return Sample(added_s, sdk_s, data["wall"], data["added"], data["clients_before"], data["clients_added"], chains)


def measure(modules: tuple[str, ...], samples: int = SAMPLES) -> list[Sample]:
    sample(modules)  # warm-up: writes .pyc for our editable package
    return [sample(modules) for _ in range(samples)]


def available(modules: tuple[str, ...]) -> tuple[tuple[str, ...], list[str]]:
    present: list[str] = []
    missing: list[str] = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        (present if found else missing).append(name)
    return tuple(present), missing


def run(ctx: object = None, samples: int = SAMPLES) -> list[Row]:
    ours_modules, missing = available(OUR_MODULES)
    http_modules, _ = available(HTTP_MODULES)
    if not ours_modules:
        return [Row("P5", "import cost", "not run", verdict="n/a", note=f"missing modules: {missing}")]
    ours = measure(ours_modules, samples)
    other = measure(http_modules, samples) if http_modules else []
    t_ours = median([s.importtime_s for s in ours])
    n_ours = median([s.added for s in ours])
    wall_ours = median([s.wall_s for s in ours])
    t_other = median([s.importtime_s for s in other]) if other else 0.0
    n_other = median([s.added for s in other]) if other else 0.0
    wall_other = median([s.wall_s for s in other]) if other else 0.0
    sdk = median([s.sdk_importtime_s for s in ours])
    first = ours[0]
    loaded = ", ".join(first.clients_added) or "none"
    blame = "; ".join(f"{m} <- {' <- '.join(c) or '(top level)'}" for m, c in sorted(first.importers.items()))
    already = ", ".join(first.clients_before) or "none"
    no_client = "requests" not in first.clients_added and "httpx" not in first.clients_added
    label = "+".join(m.rsplit(".", 2)[-2] + "." + m.rsplit(".", 1)[-1] for m in ours_modules)
    other_label = "vs http.operators.http" if other else "(providers-http not installed)"
    rows = [
        Row(
            "P5",
            f"import time added over airflow.sdk ({label}) {other_label}",
            ms(t_ours),
            ms(t_other) if other else "",
            ratio(t_ours, t_other) if other else "",
            f"<= {GOAL_MS:.0f} ms",
            verdict(t_ours <= GOAL_MS / 1000),
            note=(
                f"median of {samples} fresh processes, -X importtime; wall (perf_counter) {ms(wall_ours)} vs "
                f"{ms(wall_other)}; `import airflow.sdk` itself: {ms(sdk)}"
                + (f"; modules not yet present: {missing}" if missing else "")
            ),
        ),
        Row("P5", "modules added over airflow.sdk", f"{n_ours:.0f}", f"{n_other:.0f}" if other else "", ""),
        Row(
            "P5",
            "HTTP clients imported at parse time",
            loaded,
            ", ".join(other[0].clients_added) if other else "",
            "",
            "no requests/httpx",
            verdict(no_client),
            note=f"already loaded by airflow.sdk itself: {already}" + (f"; importers: {blame}" if blame else ""),
        ),
    ]
    return rows


if __name__ == "__main__":
    from bench._table import markdown_table, notes

    result = run(samples=int(sys.argv[1]) if len(sys.argv) > 1 else SAMPLES)
    print(markdown_table(result))
    print(notes(result))
