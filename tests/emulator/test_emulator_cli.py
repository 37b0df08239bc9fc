"""``python -m airflow_provider_sentry.testing serve``: first line is the URL, seed file applied, SIGTERM stops it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import requests


def test_serve_with_seed_and_port_0(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "organization": "initech",
                "projects": ["api", {"slug": "web", "platform": "javascript"}],
                "repos": ["initech/api"],
                "issues": [{"title": "KeyError: 'x'", "project": "api", "first_seen": -3600, "times_seen": 4}],
                "releases": [{"version": "api@1.0", "projects": ["api"], "deploys": [{"environment": "production"}]}],
            }
        )
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_sentry.testing",
            "serve",
            "--port",
            "0",
            "--token",
            "t0k",
            "--seed",
            str(seed),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first.startswith("Sentry emulator listening on http://127.0.0.1:")
        url = first.rsplit(" ", 1)[1]
        rest = [proc.stdout.readline().strip() for _ in range(5)]
        assert rest[0] == "token: t0k" and rest[1].startswith("org token: sntrys_")
        assert rest[2].startswith("dsn api: http://") and rest[4].startswith("AIRFLOW_CONN_SENTRY_DEFAULT=")
        headers = {"Authorization": "Bearer t0k"}
        issues = requests.get(f"{url}/api/0/organizations/initech/issues/", headers=headers, timeout=10).json()
        assert [(i["title"], i["count"]) for i in issues] == [("KeyError: 'x'", "4")]
        release = requests.get(f"{url}/api/0/organizations/initech/releases/api@1.0/", headers=headers, timeout=10)
        assert release.json()["deployCount"] == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_emulator_imports_neither_airflow_nor_the_client() -> None:
    """A server sharing the client's parser would hide its bugs; importing Airflow would slow the CLI down."""
    code = (
        "import sys, airflow_provider_sentry.testing, airflow_provider_sentry.testing.pytest_plugin;"
        "bad = [m for m in sys.modules if m == 'airflow' or m.startswith(('airflow.', 'airflow_provider_sentry.core',"
        " 'airflow_provider_sentry.hooks'))];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False, timeout=60).returncode == 0
