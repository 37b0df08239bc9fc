"""Real clients against the emulator's Crons: sentry-sdk (``capture_checkin``, ``@monitor``) and
``sentry-cli monitors run``. Each runs in a subprocess so no SDK state leaks into the test process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_sentry.testing import SentryEmulator

CLI = shutil.which("sentry-cli", path=str(Path(sys.executable).parent)) or shutil.which("sentry-cli")


@pytest.fixture
def emu() -> Iterator[SentryEmulator]:
    with SentryEmulator() as emulator:
        yield emulator


SDK_SCRIPT = textwrap.dedent(
    """
    import sys
    import sentry_sdk
    from sentry_sdk.crons import capture_checkin, monitor

    sentry_sdk.init(dsn=sys.argv[1], environment="staging", default_integrations=False)
    config = {"schedule": {"type": "crontab", "value": "*/10 * * * *"}, "checkin_margin": 2, "max_runtime": 3,
              "timezone": "Europe/Vienna", "failure_issue_threshold": 2, "recovery_threshold": 1}
    check_in_id = capture_checkin(monitor_slug="sdk-job", status="in_progress", monitor_config=config)
    capture_checkin(monitor_slug="sdk-job", check_in_id=check_in_id, status="ok", duration=1.25)

    @monitor(monitor_slug="sdk-decorated", monitor_config={"schedule": {"type": "interval", "value": 1, "unit": "hour"}})
    def job(fail):
        if fail:
            raise RuntimeError("boom")

    job(False)
    try:
        job(True)
    except RuntimeError:
        pass
    sentry_sdk.flush(5)
    print(check_in_id)
    """
)


def test_sentry_sdk_capture_checkin_and_monitor_decorator(emu: SentryEmulator, tmp_path: Path) -> None:
    script = tmp_path / "sdk_crons.py"
    script.write_text(SDK_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), emu.dsn("backend")], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    (checkin,) = emu.checkins("sdk-job")
    assert checkin["id"].replace("-", "") == done.stdout.strip()
    assert (checkin["status"], checkin["duration"], checkin["environment"]) == ("ok", 1250, "staging")
    monitors = {m["slug"]: m for m in emu.monitors}
    assert monitors["sdk-job"]["config"]["failure_issue_threshold"] == 2
    assert monitors["sdk-job"]["config"]["timezone"] == "Europe/Vienna"
    assert [c["status"] for c in emu.checkins("sdk-decorated")] == ["ok", "error"]
    assert monitors["sdk-decorated"]["config"]["schedule"] == [1, "hour"]
    assert emu.dropped_checkins == []


@pytest.mark.skipif(CLI is None, reason="sentry-cli not installed")
def test_sentry_cli_monitors_run(emu: SentryEmulator, tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "SENTRY_DSN": emu.dsn("backend"),
        "SENTRY_DISABLE_UPDATE_CHECK": "1",
        "SENTRY_LOAD_DOTENV": "0",
    }
    assert CLI is not None

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=60, check=False)

    ok = run(
        "monitors", "run", "-s", "*/5 * * * *", "--check-in-margin", "3", "--timezone", "UTC", "cli-job", "--", "true"
    )
    assert ok.returncode == 0, ok.stderr
    failed = run("monitors", "run", "cli-job", "--", "false")
    assert failed.returncode != 0
    assert [c["status"] for c in emu.checkins("cli-job")] == ["ok", "error"]
    (monitor,) = emu.monitors
    assert (monitor["config"]["schedule"], monitor["config"]["checkin_margin"]) == ("*/5 * * * *", 3)
    unknown = run("monitors", "run", "cli-unknown", "--", "true")
    assert unknown.returncode == 0
    assert [d["reason"] for d in emu.dropped_checkins] == ["monitor_not_found", "monitor_not_found"]  # in_progress, ok
