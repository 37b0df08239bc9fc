"""The real sentry-cli 3.x runs against the emulator with the exit codes and effects a real Sentry gives."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_sentry.testing import SentryEmulator

CLI = shutil.which("sentry-cli", path=str(Path(sys.executable).parent)) or shutil.which("sentry-cli")
pytestmark = pytest.mark.skipif(CLI is None, reason="sentry-cli not installed")


@pytest.fixture
def emu() -> Any:
    with SentryEmulator() as emulator:
        yield emulator


def run(emu: SentryEmulator, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "SENTRY_URL": emu.url,
        "SENTRY_AUTH_TOKEN": emu.token,
        "SENTRY_ORG": "acme",
        "SENTRY_DISABLE_UPDATE_CHECK": "1",
        "SENTRY_LOAD_DOTENV": "0",
    }
    assert CLI is not None
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def test_release_lifecycle(emu: SentryEmulator, tmp_path: Path) -> None:
    assert run(emu, tmp_path, "releases", "new", "-p", "backend", "2.0.0").returncode == 0
    again = run(emu, tmp_path, "releases", "new", "-p", "backend", "2.0.0")
    assert again.returncode == 0
    assert [r.status for r in emu.requests if r.method == "POST"] == [201, 208]
    commits = run(emu, tmp_path, "releases", "set-commits", "2.0.0", "--commit", "acme/backend@aaaa..bbbb")
    assert commits.returncode == 0, commits.stderr
    assert emu.releases[0]["commitCount"] == 1
    assert run(emu, tmp_path, "releases", "finalize", "2.0.0").returncode == 0
    assert emu.releases[0]["dateReleased"] is not None
    deploy = run(emu, tmp_path, "deploys", "new", "-r", "2.0.0", "-e", "prod")
    assert deploy.returncode == 0, deploy.stderr
    assert [d["environment"] for d in emu.deploys] == ["prod"]
    bad = run(emu, tmp_path, "releases", "new", "-p", "backend", "a/b")
    assert bad.returncode != 0


def test_issues_list_and_resolve(emu: SentryEmulator, tmp_path: Path) -> None:
    issue = emu.add_issue(title="KeyError: 'x'", first_seen=time.time() - 60)
    listed = run(emu, tmp_path, "issues", "list", "-p", "backend")
    assert listed.returncode == 0 and "BACKEND-1" in listed.stdout
    resolved = run(emu, tmp_path, "issues", "resolve", "-p", "backend", "-i", issue["id"])
    assert resolved.returncode == 0, resolved.stderr
    assert emu.get_issue(issue["id"])["status"] == "resolved"
