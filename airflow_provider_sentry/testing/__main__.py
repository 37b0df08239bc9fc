"""CLI: ``python -m airflow_provider_sentry.testing serve --port N [--token T] [--seed FILE]``.

The first stdout line is ``Sentry emulator listening on <url>`` (flushed), followed by the token, the org
token, one DSN per project and the ``AIRFLOW_CONN_SENTRY_DEFAULT`` value. Runs until SIGTERM/SIGINT.

Seed file (JSON)::

    {"organization": "acme",
     "projects": ["backend", {"slug": "frontend", "platform": "javascript"}],
     "repos": ["acme/backend"],
     "issues": [{"title": "KeyError: 'x'", "project": "backend", "first_seen": "2026-01-01T00:00:00Z",
                 "last_seen": null, "level": "error", "status": "unresolved", "times_seen": 3}],
     "releases": [{"version": "backend@1.0.0", "projects": ["backend"], "date_released": null,
                   "deploys": [{"environment": "production"}]}],
     "sessions": [{"release": "backend@1.0.0", "environment": "production", "healthy": 990, "crashed": 10}]}

Issue keys are ``SentryEmulator.add_issue`` keyword arguments; ``first_seen`` may also be negative seconds
relative to now (``-3600`` = an hour ago).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from airflow_provider_sentry.testing.emulator import SentryEmulator


def load_seed(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict):
        raise SystemExit(f"seed file {path}: expected a JSON object")
    return data


def _when(value: Any) -> Any:
    if isinstance(value, int | float) and value <= 0:
        return time.time() + value
    return value


def apply_seed(emulator: SentryEmulator, seed: dict[str, Any]) -> None:
    for issue in seed.get("issues", []):
        fields = dict(issue)
        for key in ("first_seen", "last_seen"):
            if fields.get(key) is not None:
                fields[key] = _when(fields[key])
        emulator.add_issue(**fields)
    for release in seed.get("releases", []):
        emulator.add_release(
            release["version"], release.get("projects", ["backend"]), date_released=release.get("date_released")
        )
        for deploy in release.get("deploys", []):
            emulator.add_deploy(release["version"], **deploy)
    for sessions in seed.get("sessions", []):  # release health: SentryEmulator.add_sessions keyword arguments
        emulator.add_sessions(**{**sessions, "started": _when(sessions.get("started", 0))})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_sentry.testing", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the emulator until SIGTERM/SIGINT")
    serve.add_argument("--port", type=int, default=8000, help="TCP port on 127.0.0.1 (0 = any free port)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--token", default=None, help="full-scope user token to accept (default: generated)")
    serve.add_argument("--seed", default=None, help="JSON seed file (organization, projects, repos, issues, releases)")
    serve.add_argument("--empty-result-mode", choices=("empty_result", "echo"), default="empty_result")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    seed = load_seed(args.seed)
    emulator = SentryEmulator(
        organization=seed.get("organization", "acme"),
        projects=seed.get("projects", ("backend", "frontend")),
        repos=seed.get("repos", ("acme/backend", "acme/frontend")),
        token=args.token,
        port=args.port,
        host=args.host,
        empty_result_mode=args.empty_result_mode,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with emulator:
        apply_seed(emulator, seed)
        print(f"Sentry emulator listening on {emulator.url}", flush=True)
        print(f"token: {emulator.token}")
        print(f"org token: {emulator.org_token}")
        for project in emulator.projects:
            print(f"dsn {project['slug']}: {emulator.dsn(project['slug'])}")
        print(f"AIRFLOW_CONN_SENTRY_DEFAULT='{emulator.connection_json()}'", flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
