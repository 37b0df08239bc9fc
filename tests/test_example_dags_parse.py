"""The example DAGs parse through Airflow's DagBag with no import errors (on 3.0 and 3.3)."""

from __future__ import annotations

from pathlib import Path

EXAMPLE_DAGS = Path(__file__).resolve().parent.parent / "example_dags"
EXPECTED = {"triage_new_issues", "release_after_deploy", "nightly_resolve_stale", "triage_new_issues_watcher"}


def load_dagbag() -> object:
    try:  # Airflow 3.1+
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.0
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]
    return DagBag(dag_folder=str(EXAMPLE_DAGS))


def test_example_dags_have_no_import_errors() -> None:
    bag = load_dagbag()
    assert bag.import_errors == {}  # type: ignore[attr-defined]
    assert set(bag.dag_ids) >= EXPECTED  # type: ignore[attr-defined]


def test_example_dags_do_no_io_at_parse_time(mocker: object) -> None:
    """Parsing must not open a connection or send a request."""
    import socket

    connect = mocker.spy(socket.socket, "connect")  # type: ignore[attr-defined]
    load_dagbag()
    assert connect.call_count == 0
