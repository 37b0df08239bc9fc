"""The example DAGs run end to end with dag.test() against the emulator."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("airflow_provider_sentry.testing", reason="emulator")
EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stored_links(dag_id: str, run_id: str) -> dict[tuple[str, str], Any]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(XComModel.task_id, XComModel.key, XComModel.value).where(
                XComModel.dag_id == dag_id, XComModel.run_id == run_id, XComModel.key.startswith("_link_")
            )
        ).all()
    return {(task_id, key): value for task_id, key, value in rows}


def test_release_after_deploy(airflow_db: None, sentry_emulator: Any) -> None:
    emu = sentry_emulator
    emu.add_repo("acme/backend")
    open_issues = [i["id"] for i in emu.add_issues(3, project="backend", first_seen=datetime.now(UTC) - timedelta(1))]
    from tests.release_health.gate_runner import sessions_once_deployed

    emu.before_request(sessions_once_deployed(emu, "backend@9.9.9", healthy=200))  # the release health gate
    run = load("release_after_deploy").dag.test(run_conf={"version": "backend@9.9.9"})
    assert run.state == "success"
    (release,) = [r for r in emu.releases if r["version"] == "backend@9.9.9"]
    assert release["dateReleased"] and release["commitCount"] >= 1
    assert [d["environment"] for d in emu.deploys] == ["production"]
    for issue_id in open_issues:
        issue = emu.get_issue(issue_id)
        assert issue["status"] == "resolved" and issue["statusDetails"]["inRelease"] == "backend@9.9.9"
    # Airflow 3 resolved the extra links on the worker at task end, from what execute() stored.
    links = stored_links("release_after_deploy", run.run_id)
    assert links[("finalize", "_link_SentryReleaseLink")] == f"{emu.url}/organizations/acme/releases/backend%409.9.9/"
    assert links[("resolve_in_release", "_link_SentryIssuesLink")].startswith(f"{emu.url}/organizations/acme/issues/?")


def test_nightly_resolve_stale(airflow_db: None, sentry_emulator: Any) -> None:
    emu = sentry_emulator
    now = datetime.now(UTC)
    stale = [
        i["id"]
        for i in emu.add_issues(4, project="backend", first_seen=now - timedelta(40), last_seen=now - timedelta(20))
    ]
    fresh = [i["id"] for i in emu.add_issues(2, project="backend", first_seen=now - timedelta(40), last_seen=now)]
    run = load("nightly_resolve_stale").dag.test()
    assert run.state == "success"
    assert all(emu.get_issue(i)["status"] == "resolved" for i in stale)
    assert all(emu.get_issue(i)["status"] == "unresolved" for i in fresh)
    puts = [r for r in emu.requests if r.method == "PUT"]
    assert len(puts) == 1  # the dry run sent none
