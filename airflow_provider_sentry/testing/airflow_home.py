"""A throwaway, migrated Airflow metadata DB for running a DAG defined in a test against the emulator.

Why: ``dag.test()`` needs a migrated database, and on Airflow 3.3 it also needs the DAG to be
serialized in it ("the dag is not serialized"), which only the DAG processor does for files in the
DAGs folder. And sensor state kept in Variables must not outlive a test: the next emulator numbers
its issues from the start again. :class:`ThrowawayAirflow` gives a fresh SQLite DB and an empty
DAGs folder in a temp dir, :meth:`ThrowawayAirflow.run_dag` registers a DAG object and runs it, and
:meth:`ThrowawayAirflow.clear_sensor_state` forgets every sensor watch.

This module imports Airflow; the ``sentry_airflow`` fixture imports it only when a test asks for it (the
emulator itself never imports Airflow).
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from airflow import settings
from airflow.configuration import conf
from airflow.dag_processing import collection
from airflow.dag_processing.bundles.manager import DagBundlesManager
from airflow.models import Variable
from airflow.models.xcom import XComModel
from airflow.serialization.serialized_objects import LazyDeserializedDAG
from airflow.utils import db
from airflow.utils.session import create_session
from sqlalchemy import select

SENSOR_STATE_PREFIX = "sentry_sensor_state."


class ThrowawayAirflow:
    """A migrated SQLite metadata DB and an empty DAGs folder under ``home``, used until :meth:`close`.

    Create it with :meth:`start` (the ``sentry_airflow`` pytest fixture does, once per session).
    The previous database settings are restored by :meth:`close`.
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        self.dags_folder = home / "dags"
        self.database_url = f"sqlite:///{home / 'airflow.db'}"
        self._saved_env: dict[str, str | None] = {}
        self._saved_conn: str | None = None

    @classmethod
    def start(cls) -> ThrowawayAirflow:
        """Point Airflow at a new temp DB and migrate it (takes a few seconds)."""
        airflow = cls(Path(tempfile.mkdtemp(prefix="sentry-airflow-home-")))
        airflow.dags_folder.mkdir()
        airflow._switch()
        return airflow

    def _switch(self) -> None:
        self._saved_env = _set_env({"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.database_url})
        self._saved_conn = settings.SQL_ALCHEMY_CONN
        conf.set("database", "sql_alchemy_conn", self.database_url)
        settings.SQL_ALCHEMY_CONN = self.database_url
        settings.dispose_orm(**_quiet(settings.dispose_orm))
        settings.configure_orm()  # type: ignore[no-untyped-call]
        db.resetdb()

    def close(self) -> None:
        """Restore the previous database settings and delete the temp home."""
        settings.dispose_orm(**_quiet(settings.dispose_orm))
        _set_env(self._saved_env)
        if self._saved_conn:
            conf.set("database", "sql_alchemy_conn", self._saved_conn)
            settings.SQL_ALCHEMY_CONN = self._saved_conn
            settings.configure_orm()  # type: ignore[no-untyped-call]
        shutil.rmtree(self.home, ignore_errors=True)

    # -- for tests --------------------------------------------------------------------------------
    def run_dag(self, dag: Any, **test_kwargs: Any) -> Any:
        """Register ``dag`` (a DAG object defined anywhere, e.g. in the test) and run ``dag.test()``.

        Returns the DagRun (check ``.state``); ``test_kwargs`` go to ``dag.test``. While it runs, the
        DAGs folder is an empty one, so ``dag.test()`` does not parse (or clash with) your real DAGs."""
        saved_env = _set_env({"AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder)})
        saved_folder = conf.get("core", "dags_folder")
        conf.set("core", "dags_folder", str(self.dags_folder))
        try:
            register_dag(dag)
            return dag.test(**test_kwargs)
        finally:
            conf.set("core", "dags_folder", saved_folder)
            _set_env(saved_env)

    def xcom(self, dag_run: Any, task_id: str, key: str = "return_value") -> Any:
        """What ``task_id`` pushed in ``dag_run`` (decoded JSON), or None."""
        with create_session() as session:
            value = session.execute(
                select(XComModel.value).where(
                    XComModel.dag_id == dag_run.dag_id,
                    XComModel.run_id == dag_run.run_id,
                    XComModel.task_id == task_id,
                    XComModel.key == key,
                )
            ).scalar_one_or_none()
        return json.loads(value) if isinstance(value, str) else value

    def clear_sensor_state(self) -> list[str]:
        """Delete every ``NewIssuesSensor`` watch (Variables ``sentry_sensor_state.*``); returns their keys."""
        with create_session() as session:
            keys = list(session.scalars(select(Variable.key).where(Variable.key.startswith(SENSOR_STATE_PREFIX))))
        for key in keys:
            Variable.delete(key)
        return keys


def _set_env(values: dict[str, str | None]) -> dict[str, str | None]:
    """Set (or, for None, unset) environment variables; returns the previous values."""
    previous = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    return previous


def _quiet(function: Any) -> dict[str, Any]:
    return {"do_log": False} if "do_log" in inspect.signature(function).parameters else {}


def register_dag(dag: Any) -> None:
    """Write ``dag`` to the metadata DB as the DAG processor would (Airflow 3.1+ needs it for
    ``dag.test()``; on 3.0 ``dag.test()`` does it itself, so this does nothing there)."""
    from_dag = getattr(LazyDeserializedDAG, "from_dag", None)
    update = collection.update_dag_parsing_results_in_db
    if from_dag is None or "parse_duration" not in inspect.signature(update).parameters:
        return  # Airflow 3.0: dag.test() serializes the DAG itself
    manager = DagBundlesManager()  # type: ignore[no-untyped-call]
    with create_session() as session:
        manager.sync_bundles_to_db(session=session)
    bundle = next(iter(manager.get_all_dag_bundles())).name
    with create_session() as session:
        update(bundle, None, [from_dag(dag)], {}, None, set(), session=session)
