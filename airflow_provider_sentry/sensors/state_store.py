"""Where a new-issues watch keeps its state between pokes, tries, workers and DAG runs.

An Airflow Variable per watch (``sentry_sensor_state.<state_key>``, JSON). Why a Variable:

- reschedule mode rebuilds the sensor and wipes the task's XCom before every poke, and a retry
  clears the XCom of the failed try, so neither instance attributes nor XCom survive;
- ``task_state_store`` (3.3+) is scoped to one DAG run, so it cannot carry the cursor to the
  next run, and it does not exist on 3.0-3.2; ``asset_state_store`` needs an asset;
- a Variable works on every supported Airflow version, in tasks and in ``dag.test()``, across
  runs and workers; it can be shared by key and reset with ``airflow variables delete``.

The sensor writes it only when a poke changed the state (a baseline or a delivery), never on
an idle poke. A Variable has no compare-and-set, so :func:`commit_outcome` compares the stored
``(seq, writer)`` with the one the poll started from, re-filters a stale batch, and reads the
state back after a settle delay (``core/commit.py``); a pool with one slot serialises commits.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from airflow_provider_sentry import _compat
from airflow_provider_sentry.core.commit import confirm, new_writer, plan_commit
from airflow_provider_sentry.core.poll import PollOutcome
from airflow_provider_sentry.exceptions import SentryError

VARIABLE_PREFIX = "sentry_sensor_state."


class StateStore(Protocol):
    """Load, save and delete the JSON state of a watch by key."""

    def load(self, key: str) -> dict[str, Any] | None: ...

    def save(self, key: str, state: dict[str, Any]) -> None: ...

    def delete(self, key: str) -> None: ...


class VariableBackend(Protocol):
    """The part of Airflow's ``Variable`` the store uses (task-sdk and ``airflow.models`` agree on it)."""

    def get(self, key: str, default: Any = ...) -> Any: ...

    def set(self, key: str, value: Any, description: str | None = None) -> None: ...

    def delete(self, key: str) -> Any: ...


def variable_name(state_key: str) -> str:
    """The Variable holding a watch: ``sentry_sensor_state.<state_key>``."""
    return VARIABLE_PREFIX + state_key


class VariableStateStore:
    """The durable store: one Airflow Variable per watch, JSON text.

    :param backend: ``Variable``-like object; the task-sdk ``Variable`` by default.
    """

    def __init__(self, backend: VariableBackend | None = None) -> None:
        self._backend = backend

    @property
    def backend(self) -> VariableBackend:
        if self._backend is None:
            self._backend = _compat.Variable
        return self._backend

    def load(self, key: str) -> dict[str, Any] | None:
        raw = self.backend.get(variable_name(key), None)
        if raw is None or raw == "":
            return None
        value = json.loads(raw) if isinstance(raw, str) else raw
        return value if isinstance(value, dict) else {"malformed": value}

    def save(self, key: str, state: dict[str, Any]) -> None:
        text = json.dumps(state, separators=(",", ":"), sort_keys=True)
        description = f"NewIssuesSensor watch {key!r}; delete this Variable to reset the watch"
        self.backend.set(variable_name(key), text, description)

    def delete(self, key: str) -> None:
        self.backend.delete(variable_name(key))


class InMemoryStateStore:
    """A dict-backed store for unit tests and for code outside Airflow tasks."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.saves = 0

    def load(self, key: str) -> dict[str, Any] | None:
        raw = self.data.get(key)
        return None if raw is None else dict(json.loads(raw))

    def save(self, key: str, state: dict[str, Any]) -> None:
        self.data[key] = json.dumps(state)
        self.saves += 1

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


#: how many times a commit re-plans after another run wrote over it before giving up (a typed error).
MAX_COMMIT_ATTEMPTS = 5


def commit_outcome(
    store: StateStore,
    key: str,
    outcome: PollOutcome,
    *,
    run_key: str | None,
    settle_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> Committed:
    """Save a poll's outcome and return what to hand over (see ``core/commit.py``).

    Load, compare, save; then, when issues are about to be handed over (or a baseline was
    saved), wait ``settle_seconds`` and read the state back, so a run that wrote over ours in
    between is noticed and our batch re-filtered against it.
    """
    writer = new_writer()
    notes: list[str] = []
    for _ in range(MAX_COMMIT_ATTEMPTS):
        plan = plan_commit(store.load(key), outcome, run_key=run_key, writer=writer)
        notes.extend(plan.notes)
        if plan.state is None:
            return Committed(plan.issues, None, tuple(notes))
        saved = plan.state.to_json()
        store.save(key, saved)
        if not plan.issues and outcome.kind != "baseline":
            return Committed([], saved, tuple(notes))
        if settle_seconds > 0:
            sleep(settle_seconds)
        kept, issues = confirm(store.load(key), plan, run_key=run_key)
        if kept:
            return Committed(issues, saved, tuple(notes))
        outcome = PollOutcome(outcome.kind, plan.issues, plan.state, True, outcome.requests)
    raise SentryError(
        f"the state of watch {key!r} kept changing under this run ({MAX_COMMIT_ATTEMPTS} commits overwritten); "
        "nothing was handed over"
    )


class Committed(NamedTuple):
    """The issues to hand over, the state JSON now stored (``None``: unchanged) and notes for the log."""

    issues: list[dict[str, Any]]
    state: dict[str, Any] | None
    notes: tuple[str, ...]
