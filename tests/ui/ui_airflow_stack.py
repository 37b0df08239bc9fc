"""A real Airflow 3 deployment for the UI test: api-server, scheduler, dag-processor and triggerer.

Every component runs from the venv's ``bin`` (which is also put on PATH, the components spawn
``airflow`` themselves) in its own session, so teardown can signal the whole process group: TERM,
up to ``grace`` seconds, then KILL (the scheduler sometimes ignores TERM while a LocalExecutor
worker lingers). Only the api-server listens, on 127.0.0.1; serve-logs is skipped everywhere.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

VENV_BIN = Path(sys.executable).parent
COMPONENTS: dict[str, list[str]] = {
    "api-server": ["api-server"],
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
}
HEALTHY_COMPONENTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")


def free_port() -> int:
    """An ephemeral loopback port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process_group(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """TERM the process's group, wait up to ``grace`` seconds, then KILL whatever is left of it."""
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        pgid = proc.pid  # the leader is gone; its group may still hold children
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if proc.poll() is not None and not _group_alive(pgid):
                return
            time.sleep(0.2)
    proc.poll()


def _group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs (zombies waiting for a reaper do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited while we looked
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


class ApiError(RuntimeError):
    """A non-2xx answer from the Airflow REST API (status and body kept for the assertion message)."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path} -> {status}: {body[:500]}")
        self.status = status
        self.body = body


@dataclass
class AirflowStack:
    """A throwaway AIRFLOW_HOME with SQLite and the four components on an ephemeral port."""

    home: Path
    dags_folder: Path
    port: int = field(default_factory=free_port)
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16), repr=False)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _token: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def build_env(self) -> dict[str, str]:
        """The parent's environment minus its Airflow settings (pytest's conftest sets some), plus ours."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__"))}
        env.update(
            {
                "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": self.url,
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
                "AIRFLOW__LOGGING__MIN_LENGTH_MASKED_SECRET": "5",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def __post_init__(self) -> None:
        self._env = self.build_env()  # built once: every component must share the one JWT secret

    # -- life cycle ------------------------------------------------------------------------
    def migrate(self) -> None:
        """Create the SQLite metadata DB and the admin's password file (the simple auth manager reads it)."""
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "simple_auth_manager_passwords.json.generated").write_text(json.dumps({"admin": self.password}))
        with self._log("db-migrate") as log:
            subprocess.run(
                [str(VENV_BIN / "airflow"), "db", "migrate"],
                env=self._env,
                check=True,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=120,
            )

    def start(self) -> None:
        for name, args in COMPONENTS.items():
            with self._log(name) as log:  # the child keeps its own copy of the descriptor
                self.processes[name] = subprocess.Popen(
                    [str(VENV_BIN / "airflow"), *args],
                    env=self._env,
                    cwd=self.home,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )

    def stop(self, grace: float = 10.0) -> None:
        for proc in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.processes.values():
            stop_process_group(proc, grace)

    def _log(self, name: str) -> BinaryIO:
        return (self.home / f"{name}.log").open("ab")

    def log_tail(self, lines: int = 30) -> str:
        """The end of every component's log, for failure messages."""
        out = []
        for path in sorted(self.home.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(out)

    def wait_healthy(self, timeout: float) -> float:
        """Seconds until ``/api/v2/monitor/health`` reports every component healthy."""
        started = time.monotonic()
        last: Any = None
        while time.monotonic() - started < timeout:
            for name, proc in self.processes.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}\n{self.log_tail()}")
            try:
                last = self.request("GET", "/api/v2/monitor/health", auth=False)
                if all((last.get(c) or {}).get("status") == "healthy" for c in HEALTHY_COMPONENTS):
                    return time.monotonic() - started
            except (OSError, ApiError) as exc:
                last = exc
            time.sleep(0.5)
        raise TimeoutError(f"Airflow not healthy after {timeout} s (last: {last})\n{self.log_tail()}")

    # -- REST API ----------------------------------------------------------------------------
    @property
    def token(self) -> str:
        """A JWT for the admin, also the UI's ``_token`` cookie."""
        if self._token is None:
            answer = self.request("POST", "/auth/token", {"username": "admin", "password": self.password}, auth=False)
            self._token = str(answer["access_token"])
        return self._token

    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None, *, auth: bool = True) -> Any:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=30) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise ApiError(method, path, exc.code, exc.read().decode(errors="replace")) from None
        return json.loads(raw) if raw else None
