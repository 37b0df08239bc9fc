"""NewIssuesSensor: wait for Sentry issues first seen since the watch began, never losing or repeating one.

The decisions (which request, how the cursor moves) live in ``core/poll.py``; this module only
loads the state, drives the state machine with the sync hook, commits the state and hands the
issues over. See docs/sensor.md for the semantics and guarantees.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from airflow_provider_sentry._compat import AirflowSkipException, BaseSensorOperator, PokeReturnValue, conf
from airflow_provider_sentry._lazy import lazy_module
from airflow_provider_sentry.defaults import DEFAULT_CONN_ID, DEFAULT_OVERLAP_MS, MAX_ISSUES_LIMIT

if TYPE_CHECKING:
    from airflow_provider_sentry import exceptions
    from airflow_provider_sentry._compat import Context
    from airflow_provider_sentry.core import arguments, releases
    from airflow_provider_sentry.core import poll as issue_poll
    from airflow_provider_sentry.core import since as since_arg
    from airflow_provider_sentry.core import watch as watch_state
    from airflow_provider_sentry.core.poll import IssuePoll, PollOutcome
    from airflow_provider_sentry.core.watch import WatchSpec
    from airflow_provider_sentry.hooks import sentry as sentry_hook
    from airflow_provider_sentry.hooks.sentry import SentryHook
    from airflow_provider_sentry.sensors import state_store as state_stores
    from airflow_provider_sentry.sensors.state_store import StateStore
    from airflow_provider_sentry.triggers import issues as issue_triggers
else:  # runtime only: loaded when a task runs, not when the DAG is parsed
    arguments = lazy_module("airflow_provider_sentry.core.arguments")
    issue_poll = lazy_module("airflow_provider_sentry.core.poll")
    releases = lazy_module("airflow_provider_sentry.core.releases")
    since_arg = lazy_module("airflow_provider_sentry.core.since")
    watch_state = lazy_module("airflow_provider_sentry.core.watch")
    exceptions = lazy_module("airflow_provider_sentry.exceptions")
    sentry_hook = lazy_module("airflow_provider_sentry.hooks.sentry")
    state_stores = lazy_module("airflow_provider_sentry.sensors.state_store")
    issue_triggers = lazy_module("airflow_provider_sentry.triggers.issues")

MAX_STATE_KEY_LENGTH = 200


def run_poll(hook: SentryHook, poll: IssuePoll) -> PollOutcome:
    """Drive one poke's state machine with the sync transport."""
    while (request := poll.next_request()) is not None:
        poll.receive(hook.get_page(request.path, params=request.params, cursor=request.cursor, listing=True))
    return poll.outcome()


class _Watch(NamedTuple):
    spec: WatchSpec
    key: str
    run_key: str
    since: float | None


class NewIssuesSensor(BaseSensorOperator):
    """Succeed when Sentry has issues first seen after the watch began; return them, oldest first.

    The first run with no stored state records a baseline and delivers nothing (unless ``since``
    asks for a backfill). Every later poke delivers the issues that appeared since the last
    delivery, exactly once, whatever happens between pokes (reschedule, retry, new DAG run,
    another worker). The state lives in the Variable ``sentry_sensor_state.<state_key>``.

    :param organization: organization slug; default: the connection's. (templated)
    :param projects: project slugs or ids to watch; default: all the token can see. (templated)
    :param query: Sentry search; default ``is:unresolved`` (always sent: Sentry's own default
        hides low-priority issues). (templated)
    :param environments: environment names to restrict to. (templated)
    :param state_key: where the cursor lives; default ``<dag_id>.<task_id>``, plus ``.<map_index>``
        for a mapped task (each map index is its own watch). Sensors with the same key share one
        watch; deleting the Variable resets it. (templated)
    :param max_issues: the most issues one run returns (bounds the XCom); the rest wait for the
        next run. Between 1 and 1000, default 100.
    :param since: on a first watch, deliver issues first seen from this datetime, or this far
        back (``"1h"``, ``"30m"``, ``"7d"``, a timedelta), instead of recording a baseline. (templated)
    :param overlap: how far behind the newest delivered issue each poll re-reads, to catch issues
        Sentry indexes late (a timedelta or seconds; default 5 minutes).
    :param sentry_conn_id: the Sentry connection.
    :param deferrable: wait on the triggerer instead of a worker slot.
    :return: (XCom) a JSON list of trimmed issues (``id``, ``shortId``, ``title``, ``culprit``,
        ``level``, ``status``, ``firstSeen``, ``permalink``, ``project``, ``projectId``), oldest first.
    """

    template_fields: Sequence[str] = ("organization", "projects", "query", "environments", "state_key", "since")
    ui_color = "#e1567c"

    #: transient failures in a row after which the trigger gives up (deferrable mode).
    max_consecutive_failures: int = 5
    #: seconds a commit waits before reading the state back (overlapping runs; see docs/sensor.md).
    commit_settle_seconds: float = 1.0

    def __init__(
        self,
        *,
        organization: str | None = None,
        projects: str | int | Sequence[str | int] | None = None,
        query: str = "is:unresolved",
        environments: str | Sequence[str] | None = None,
        state_key: str | None = None,
        max_issues: int = 100,
        since: datetime | timedelta | str | None = None,
        overlap: timedelta | float = timedelta(milliseconds=DEFAULT_OVERLAP_MS),
        sentry_conn_id: str = DEFAULT_CONN_ID,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.organization = organization
        self.projects = projects
        self.query = query
        self.environments = environments
        self.state_key = state_key
        self.max_issues = max_issues
        self.since = since
        self.overlap = overlap
        self.sentry_conn_id = sentry_conn_id
        self.deferrable = deferrable
        if deferrable and self.mode == "reschedule":
            _warn_reschedule_ignored(self.task_id)

    @cached_property
    def hook(self) -> SentryHook:
        return sentry_hook.SentryHook(sentry_conn_id=self.sentry_conn_id)

    def state_store(self) -> StateStore:
        """The durable store of the watch (an Airflow Variable per ``state_key``)."""
        return state_stores.VariableStateStore()

    # -- Airflow entry points ----------------------------------------------------------------
    @property
    def overlap_ms(self) -> int:
        """The overlap window in milliseconds (validated by ``_validate``)."""
        seconds = self.overlap.total_seconds() if isinstance(self.overlap, timedelta) else float(self.overlap)
        return int(seconds * 1000)

    def execute(self, context: Context) -> Any:
        self._validate()
        if not self.deferrable:
            return super().execute(context)
        result = self.poke(context)
        if isinstance(result, PokeReturnValue) and result.is_done:
            return result.xcom_value
        self._defer(context)

    def _defer(self, context: Context) -> None:
        watch = self._watch(context)
        self.defer(
            trigger=issue_triggers.NewIssuesTrigger(
                spec=watch.spec.to_json(),
                state=self._state_json,
                sentry_conn_id=self.sentry_conn_id,
                run_key=watch.run_key,
                since=watch.since,
                max_issues=self.max_issues,
                poll_interval=float(self.poke_interval),
                overlap_ms=self.overlap_ms,
                max_consecutive_failures=self.max_consecutive_failures,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout)),
        )

    def poke(self, context: Context) -> PokeReturnValue | bool:
        """One look at Sentry. The state is committed before the issues are returned, and it
        records the batch with the task run, so a retry after a kill re-delivers that batch."""
        self._validate()
        watch = self._watch(context)
        stored = self.state_store().load(watch.key)
        self._state_json = stored
        try:
            poll = issue_poll.IssuePoll(
                watch.spec,
                stored,
                now=time.time(),
                since=watch.since,
                run_key=watch.run_key,
                max_issues=self.max_issues,
                overlap_ms=self.overlap_ms,
            )
            outcome = run_poll(self.hook, poll)
        except issue_poll.TRANSIENT_ERRORS as exc:
            self.log.warning("Sentry poll failed; nothing was committed, trying again at the next poke: %s", exc)
            return False
        for note in outcome.notes:
            self.log.warning("Sentry watch %r: %s", watch.key, note)
        return self._commit(watch, outcome)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger fired: commit the state it carried (re-filtered against what
        other runs committed meanwhile), then return its issues, or wait again if none are left."""
        sentry_hook.register_secret(self.hook)  # this worker may never have loaded the connection (issue 11)

        if not event or event.get("status") != "success":
            raise issue_triggers.error_from_event(event or {})
        watch = self._watch(context)
        issues = list(event.get("issues") or [])
        outcome = issue_poll.PollOutcome("poll", issues, watch_state.WatchState.from_json(event["state"]), True, 0)
        result = self._commit(watch, outcome)
        if isinstance(result, PokeReturnValue) and result.is_done:
            return result.xcom_value
        self._defer(context)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """``soft_fail`` means what it means in poke mode: skip on a timeout, fail on a Sentry error.

        (``BaseSensorOperator`` would skip on any error the trigger reported.)
        """
        if next_method != "execute_complete":
            return super().resume_execution(next_method, next_kwargs, context)
        try:
            return self.execute_complete(context, **(next_kwargs or {}))
        except Exception as exc:
            if getattr(self, "never_fail", False):
                raise AirflowSkipException("Skipping due to never_fail is set to True.") from exc
            raise

    # -- the commit ----------------------------------------------------------------------------
    def _commit(self, watch: _Watch, outcome: PollOutcome) -> PokeReturnValue | bool:
        committed = state_stores.commit_outcome(
            self.state_store(),
            watch.key,
            outcome,
            run_key=watch.run_key,
            settle_seconds=self.commit_settle_seconds,
        )
        for note in committed.notes:
            self.log.warning("Sentry watch %r: %s", watch.key, note)
        if committed.state is not None:
            self._state_json = committed.state
        elif outcome.changed and outcome.kind != "replay":  # a stale baseline was dropped: wait on the stored state
            self._state_json = self.state_store().load(watch.key)
        elif outcome.kind != "replay":
            self._state_json = outcome.state.to_json()
        return self._report(watch, outcome, committed.issues)

    # -- helpers -----------------------------------------------------------------------------
    _state_json: dict[str, Any] | None = None

    def _report(self, watch: _Watch, outcome: PollOutcome, issues: list[dict[str, Any]]) -> PokeReturnValue | bool:
        if outcome.kind == "baseline":
            self.log.info(
                "Recorded a baseline for watch %r (Variable %s); issues first seen from now on will be delivered",
                watch.key,
                state_stores.variable_name(watch.key),
            )
            return False
        if not issues:
            self.log.info("No new Sentry issues (%s request(s))", outcome.requests)
            return False
        what = "Re-delivering the batch of this task run" if outcome.kind == "replay" else "Delivering"
        self.log.info(
            "%s: %s new Sentry issue(s) for watch %r (%s request(s))",
            what,
            len(issues),
            watch.key,
            outcome.requests,
        )
        return PokeReturnValue(is_done=True, xcom_value=issues)

    def _watch(self, context: Context) -> _Watch:
        ti = context["ti"]
        organization = self.hook.resolve_organization(self.organization)
        spec = watch_state.WatchSpec(
            organization=organization,
            query=self.query,
            projects=arguments.as_name_strings(self.projects, "projects"),
            environments=arguments.as_name_strings(self.environments, "environments", allow_ints=False, split=False),
        )
        map_index = getattr(ti, "map_index", -1)
        map_index = map_index if isinstance(map_index, int) else -1
        # A mapped sensor's map indexes watch different things: each is its own watch by default.
        default_key = f"{ti.dag_id}.{ti.task_id}" + (f".{map_index}" if map_index >= 0 else "")
        key = self.state_key or default_key
        run_key = f"{ti.dag_id}/{ti.run_id}/{ti.task_id}/{map_index}"
        since = since_arg.since_epoch_seconds(self.since, time.time()) if self.since is not None else None
        return _Watch(spec, key, run_key, since)

    def _validate(self) -> None:
        """Reject bad arguments before any request (errors name the argument)."""
        if isinstance(self.max_issues, bool) or not isinstance(self.max_issues, int):
            raise exceptions.SentryInputError("max_issues", f"must be an integer, got {self.max_issues!r}")
        if not 1 <= self.max_issues <= MAX_ISSUES_LIMIT:
            raise exceptions.SentryInputError(
                "max_issues", f"must be between 1 and {MAX_ISSUES_LIMIT}, got {self.max_issues}"
            )
        if not isinstance(self.query, str):
            raise exceptions.SentryInputError("query", f"must be a string, got {type(self.query).__name__}")
        if self.organization is not None and (not isinstance(self.organization, str) or not self.organization.strip()):
            raise exceptions.SentryInputError("organization", "must be a non-empty slug")
        # Templated values arrive as rendered strings ("['backend']"); as_list reads them back.
        arguments.as_names(self.projects, "projects")
        _check_environments(arguments.as_names(self.environments, "environments", allow_ints=False, split=False))
        if self.state_key is not None and (
            not isinstance(self.state_key, str)
            or not self.state_key.strip()
            or len(self.state_key) > MAX_STATE_KEY_LENGTH
        ):
            raise exceptions.SentryInputError(
                "state_key", f"must be a non-empty string of at most {MAX_STATE_KEY_LENGTH} characters"
            )
        if self.since is not None:
            now = time.time()
            if since_arg.since_epoch_seconds(self.since, now) > now:
                self.log.warning(
                    "since=%r lies in the future: a first watch delivers nothing until then "
                    "(did you mean a duration back from now, such as '1h'?)",
                    self.since,
                )
        overlap = self.overlap.total_seconds() if isinstance(self.overlap, timedelta) else self.overlap
        if isinstance(overlap, bool) or not isinstance(overlap, int | float) or not 0 <= overlap <= 86400:
            raise exceptions.SentryInputError(
                "overlap", f"must be a timedelta or seconds between 0 and 86400, got {self.overlap!r}"
            )


def _check_environments(value: Any) -> None:
    """Sentry's environment-name rules (no ``/``, CR, LF, FF; 64 characters), before any request."""
    for name in [value] if isinstance(value, str) else value or ():
        releases.validate_environment(name, "environments")


def _warn_reschedule_ignored(task_id: str) -> None:
    warnings.warn(
        f"NewIssuesSensor {task_id!r}: mode='reschedule' has no effect with deferrable=True "
        "(the sensor waits on the triggerer, freeing the worker slot); drop one of them",
        UserWarning,
        stacklevel=3,
    )
