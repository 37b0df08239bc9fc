"""CLI: ``python -m airflow_provider_sentry.testing serve --port N [--token T] [--seed FILE]``.

The first stdout line is ``Sentry emulator listening on <url>`` (flushed), followed by the token, the org
token, one DSN per project, the ``AIRFLOW_CONN_SENTRY_DEFAULT`` value and the control API URL
(``<url>/_emulator/``, see docs/emulator.md; ``--no-control-api`` turns it off). Runs until SIGTERM/SIGINT.
A bad seed file or a port in use is one line on stderr and exit status 2, not a traceback.

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
import errno
import json
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from airflow_provider_sentry.testing.emulator import SentryEmulator


class CliError(Exception):
    """A user error worth one line on stderr (no traceback)."""


def load_seed(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise CliError(f"seed file {path}: not found") from None
    except OSError as exc:
        raise CliError(f"seed file {path}: cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise CliError(f"seed file {path}: not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise CliError(f"seed file {path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise CliError(f"seed file {path}: expected a JSON object, got {type(data).__name__}")
    for key in ("projects", "repos", "issues", "releases", "sessions"):
        if key in data and not isinstance(data[key], list):
            raise CliError(f"seed file {path}: {key!r} must be a list, got {type(data[key]).__name__}")
    return data


def _when(value: Any) -> Any:
    if isinstance(value, int | float) and value <= 0:
        return time.time() + value
    return value


def apply_seed(emulator: SentryEmulator, seed: dict[str, Any], source: str = "") -> None:
    """Add the seed's issues and releases; a bad entry is a :class:`CliError` naming it."""
    for index, issue in enumerate(seed.get("issues", [])):
        try:
            if not isinstance(issue, dict):
                raise TypeError(f"expected an object, got {type(issue).__name__}")
            fields = dict(issue)
            for key in ("first_seen", "last_seen"):
                if fields.get(key) is not None:
                    fields[key] = _when(fields[key])
            emulator.add_issue(**fields)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise CliError(f"seed file {source}: issues[{index}]: {_reason(exc)}") from None
    for index, release in enumerate(seed.get("releases", [])):
        try:
            if not isinstance(release, dict):
                raise TypeError(f"expected an object, got {type(release).__name__}")
            emulator.add_release(
                release["version"], release.get("projects", ["backend"]), date_released=release.get("date_released")
            )
            for deploy in release.get("deploys", []):
                emulator.add_deploy(release["version"], **deploy)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise CliError(f"seed file {source}: releases[{index}]: {_reason(exc)}") from None
    for index, sessions in enumerate(seed.get("sessions", [])):  # SentryEmulator.add_sessions keyword arguments
        try:
            if not isinstance(sessions, dict):
                raise TypeError(f"expected an object, got {type(sessions).__name__}")
            emulator.add_sessions(**{**sessions, "started": _when(sessions.get("started", 0))})
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise CliError(f"seed file {source}: sessions[{index}]: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        key = exc.args[0] if exc.args else ""
        return str(key) if isinstance(key, str) and " " in key else f"missing key {key!r}"
    return str(exc).replace("SentryEmulator.", "").replace("add_issue()", "issue").replace("add_deploy()", "deploy")


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
    serve.add_argument(
        "--no-control-api", action="store_true", help="do not serve the HTTP control API under /_emulator/"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return serve(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2


def _emulator(args: argparse.Namespace, seed: dict[str, Any]) -> SentryEmulator:
    try:
        return SentryEmulator(
            organization=seed.get("organization", "acme"),
            projects=seed.get("projects", ("backend", "frontend")),
            repos=seed.get("repos", ("acme/backend", "acme/frontend")),
            token=args.token,
            port=args.port,
            host=args.host,
            empty_result_mode=args.empty_result_mode,
            control_api=not args.no_control_api,
        )
    except (TypeError, ValueError, KeyError) as exc:
        raise CliError(f"seed file {args.seed}: organization, projects or repos: {_reason(exc)}") from None


def _start(emulator: SentryEmulator, host: str, port: int) -> None:
    try:
        emulator.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CliError(
                f"port {port} on {host} is already in use; pick another --port (0 = any free port)"
            ) from None
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def serve(args: argparse.Namespace) -> int:
    seed = load_seed(args.seed)
    emulator = _emulator(args, seed)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    _start(emulator, args.host, args.port)
    try:
        apply_seed(emulator, seed, args.seed or "")
        print(f"Sentry emulator listening on {emulator.url}", flush=True)
        print(f"token: {emulator.token}")
        print(f"org token: {emulator.org_token}")
        for project in emulator.projects:
            print(f"dsn {project['slug']}: {emulator.dsn(project['slug'])}")
        print(f"AIRFLOW_CONN_SENTRY_DEFAULT='{emulator.connection_json()}'", flush=True)
        if not args.no_control_api:
            print(f"control API: {emulator.url}/_emulator/", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
