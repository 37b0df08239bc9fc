"""`make demo`: the three uses of the provider end to end, against the bundled emulator.

1. an "app" (real sentry-sdk) crashes in two ways;
2. `triage_new_issues` delivers exactly those new issues;
3. `release_after_deploy` creates the fixing release, sets commits, records a deploy, finalizes it
   and resolves the triaged issues in that release;
4. `nightly_resolve_stale` resolves stale issues by query, dry run first.

Everything runs in a throwaway AIRFLOW_HOME (SQLite) with real `airflow dags test`; the emulator
listens on 127.0.0.1 and is stopped at the end. Exit status: 0 only if every step did what it should.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DAY = 86400
BAD_RELEASE = "backend@1.0.0"
FIX_RELEASE = "backend@1.0.1"


def say(message: str) -> None:
    print(f"\n==> {message}", flush=True)


class Demo:
    def __init__(self) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="sentry-demo-"))
        self.env = dict(os.environ)
        self.env.update(
            {
                "AIRFLOW_HOME": str(self.work / "airflow"),
                "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                "NO_PROXY": "127.0.0.1,localhost",
            }
        )
        self.emulator: subprocess.Popen[str] | None = None
        self.url = self.token = self.dsn = ""

    # -- processes -------------------------------------------------------------------------
    def start_emulator(self) -> None:
        now = time.time()
        seed = {
            "issues": [  # three issues nobody has seen for weeks, for the nightly clean-up
                {
                    "title": f"TimeoutError: legacy job {n}",
                    "project": "backend",
                    "level": "warning",
                    "first_seen": now - (60 + n) * DAY,
                    "last_seen": now - (20 + n) * DAY,
                }
                for n in range(3)
            ]
        }
        seed_file = self.work / "seed.json"
        seed_file.write_text(json.dumps(seed))
        self.emulator = subprocess.Popen(
            [sys.executable, "-m", "airflow_provider_sentry.testing", "serve", "--port", "0", "--seed", str(seed_file)],
            stdout=subprocess.PIPE,
            text=True,
            env=self.env,
        )
        assert self.emulator.stdout is not None
        lines: dict[str, str] = {}
        while len(lines) < 4:
            line = self.emulator.stdout.readline()
            if not line:
                raise RuntimeError("the emulator exited before it was ready")
            if line.startswith("Sentry emulator listening on "):
                lines["url"] = line.split()[-1]
            elif line.startswith("token: "):
                lines["token"] = line.split()[-1]
            elif line.startswith("dsn backend: "):
                lines["dsn"] = line.split()[-1]
            elif line.startswith("AIRFLOW_CONN_SENTRY_DEFAULT="):
                lines["conn"] = line.split("=", 1)[1].strip().strip("'")
        self.url, self.token, self.dsn = lines["url"], lines["token"], lines["dsn"]
        self.env["AIRFLOW_CONN_SENTRY_DEFAULT"] = lines["conn"]
        print(f"emulator at {self.url} (organization acme, projects backend and frontend)")

    def stop(self) -> None:
        if self.emulator and self.emulator.poll() is None:
            self.emulator.terminate()
            try:
                self.emulator.wait(10)
            except subprocess.TimeoutExpired:
                self.emulator.kill()
        shutil.rmtree(self.work, ignore_errors=True)

    def run(self, *args: str, capture: bool = False) -> str:
        """Run a command; stream its output (or capture it) and fail the demo on a non-zero exit."""
        started = time.monotonic()
        proc = subprocess.run(args, env=self.env, cwd=ROOT, text=True, capture_output=True)
        output = proc.stdout + proc.stderr
        if proc.returncode != 0:
            print(output[-6000:])
            raise RuntimeError(f"{' '.join(args[:4])} exited {proc.returncode}")
        if not capture:
            keep = [
                ln
                for ln in output.splitlines()
                if re.search(
                    r"Sentry|Delivering|\[(error|warning|info)\]|DagRun Finished|dry run|would|Resolved|resolved", ln
                )
            ]
            print("\n".join(f"    {ln.strip()[:200]}" for ln in keep[-25:]))
        print(f"    ({time.monotonic() - started:.1f} s)")
        return output

    def dags_test(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        args = [str(BIN / "airflow"), "dags", "test", dag_id]
        if conf:
            args += ["-c", json.dumps(conf)]
        return self.run(*args)

    # -- the emulator's API, to check and summarise ------------------------------------------
    def api(self, path: str) -> Any:
        request = urllib.request.Request(f"{self.url}/api/0/{path}", headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read() or b"null")

    def issues(self, query: str) -> list[dict[str, Any]]:
        return list(self.api(f"organizations/acme/issues/?project=-1&statsPeriod=90d&query={quote(query)}"))

    # -- release health (issue 16) ----------------------------------------------------------------
    def serve_healthy_traffic(self, release: str, sessions: int = 120) -> dict[str, Any]:
        """The fixed release serves healthy sessions (real sentry-sdk); returns the gate's settings for
        release_after_deploy. The window is set to start just before this traffic, because
        `airflow dags test` blocks: the sessions cannot arrive after the deploy it records."""
        start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
        self.run(sys.executable, str(ROOT / "scripts" / "demo_sessions.py"), self.dsn, release, str(sessions))
        print(f"    {release} served {sessions} sessions, none crashed (the gate counts from {start})")
        return {"health_window_start": start, "min_sessions": 100, "min_crash_free_rate": 0.99}

    @staticmethod
    def check_gate_passed(output: str) -> str:
        """The gate's verdict line from the task log; the demo fails unless the gate passed."""
        found = re.search(r"Sentry release health gate passed: ([^(]*\(threshold [^)]*\)[^(\[]*)", output)
        if not found:
            raise RuntimeError("the release health gate did not pass")
        return found.group(1).strip()

    # -- the story ------------------------------------------------------------------------------
    def main(self) -> None:
        started = time.monotonic()
        say("starting the Sentry emulator on loopback")
        self.start_emulator()
        say("airflow db migrate (throwaway AIRFLOW_HOME, SQLite)")
        self.run(str(BIN / "airflow"), "db", "migrate", capture=True)

        say(f"1. the app ({BAD_RELEASE}) crashes: real sentry-sdk events to the emulator's DSN")
        self.run(sys.executable, str(ROOT / "scripts" / "demo_app.py"), self.dsn, BAD_RELEASE)
        crashes = self.issues(f"is:unresolved release:{BAD_RELEASE}")
        print(
            f"    Sentry grouped them into {len(crashes)} issues: "
            + ", ".join(f"{i['title']} (x{i['count']})" for i in crashes)
        )
        if len(crashes) != 2:
            raise RuntimeError(f"expected 2 issues from the app, got {len(crashes)}")

        say("2. triage_new_issues: NewIssuesSensor delivers the new issues")
        output = self.dags_test("triage_new_issues")
        delivered = sorted(set(re.findall(r"\] ([A-Z]+-[0-9A-Z]+) ", output)))
        expected = sorted(issue["shortId"] for issue in crashes)
        if delivered != expected:
            raise RuntimeError(f"triage delivered {delivered}, expected exactly {expected}")

        say(f"3. release_after_deploy: release {FIX_RELEASE}, commits, deploy, finalize, health gate, resolve")
        gate_conf = self.serve_healthy_traffic(FIX_RELEASE)
        output = self.dags_test(
            "release_after_deploy",
            {
                "version": FIX_RELEASE,
                "resolve_query": f"is:unresolved release:{BAD_RELEASE}",
                "environment": "production",
                **gate_conf,
            },
        )
        gate = self.check_gate_passed(output)
        release = self.api(f"organizations/acme/releases/{quote(FIX_RELEASE, safe='')}/")
        deploys = self.api(f"organizations/acme/releases/{quote(FIX_RELEASE, safe='')}/deploys/")
        fixed = [self.api(f"organizations/acme/issues/{issue['id']}/") for issue in crashes]
        if not release.get("dateReleased") or len(deploys) != 1:
            raise RuntimeError(f"release not finalized or deploys != 1: {release.get('dateReleased')}, {len(deploys)}")
        if any(issue["status"] != "resolved" for issue in fixed):
            raise RuntimeError("the triaged issues were not resolved in the release")

        say("4. nightly_resolve_stale: resolve issues unseen for 14 days (dry run first)")
        self.dags_test("nightly_resolve_stale")
        stale_left = self.issues("is:unresolved lastSeen:+14d")
        stale_resolved = [i for i in self.issues("is:resolved") if i["id"] not in {c["id"] for c in crashes}]
        if stale_left or len(stale_resolved) != 3:
            raise RuntimeError(f"stale issues left: {len(stale_left)}, resolved: {len(stale_resolved)}")

        org = f"{self.url}/organizations/acme"
        say(f"summary ({time.monotonic() - started:.0f} s)")
        print(f"  issues found by the sensor : {len(delivered)}")
        for issue in fixed:
            details = issue.get("statusDetails") or {}
            print(
                f"    {issue['shortId']:<12} {issue['title']:<45} {issue['status']} in {details.get('inRelease', '?')}"
            )
            print(f"    {'':<12} {org}/issues/{issue['id']}/")
        print(
            f"  release                    : {FIX_RELEASE}, {release.get('commitCount')} commit(s), finalized {release['dateReleased']}"
        )
        print(f"    {org}/releases/{quote(FIX_RELEASE, safe='')}/")
        print(f"  release health gate        : passed, {gate}")
        print(f"  deploy                     : {deploys[0]['environment']} ({deploys[0].get('name')})")
        print(
            f"  stale issues resolved      : {len(stale_resolved)} ("
            + ", ".join(i["shortId"] for i in stale_resolved)
            + ")"
        )


def show_crons_check_in(demo: Demo) -> None:
    """5. Sentry Crons: a run of ``monitored_nightly_export`` checks in (in_progress, then ok, one id).

    ``airflow dags test`` makes a manual run, so the demo opts manual runs in (``run_types``); scheduled runs
    check in by default. The check-ins go through a connection whose extra holds the emulator's DSN.
    """
    say("5. Sentry Crons: monitored_nightly_export checks in to its monitor")
    demo.env.update(
        {
            "AIRFLOW__SENTRY_CRONS__DAGS": "monitored_*",
            "AIRFLOW__SENTRY_CRONS__CONN_ID": "sentry_crons",
            "AIRFLOW__SENTRY_CRONS__RUN_TYPES": "scheduled,manual",
            "AIRFLOW_CONN_SENTRY_CRONS": json.dumps({"conn_type": "sentry", "extra": {"dsn": demo.dsn}}),
        }
    )
    demo.dags_test("monitored_nightly_export")
    monitors = demo.api("organizations/acme/monitors/")
    checkins = demo.api("organizations/acme/monitors/monitored_nightly_export/checkins/")
    if len(checkins) != 1 or checkins[0]["status"] != "ok":
        raise RuntimeError(f"expected one ok check-in, got {[c['status'] for c in checkins]}")
    config = monitors[0]["config"]
    print(
        f"  monitor    : {monitors[0]['slug']} ({config['schedule_type']} {config['schedule']!r}, {config['timezone']})"
    )
    print(f"  check-in   : {checkins[0]['id']} {checkins[0]['status']} in {checkins[0]['duration']} ms")
    print(f"    {demo.url}/organizations/acme/crons/backend/{monitors[0]['slug']}/")


if __name__ == "__main__":
    demo = Demo()
    try:
        demo.main()
        show_crons_check_in(demo)
        print("demo OK")
    except Exception as exc:
        print(f"\ndemo FAILED: {exc}", file=sys.stderr)
        sys.exit(1)
    finally:
        demo.stop()
