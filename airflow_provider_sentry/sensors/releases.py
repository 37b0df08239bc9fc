"""ReleaseHealthSensor: after a deploy, wait for enough sessions, then pass or fail on the crash-free rate.

The decisions (requests, window, verdict) live in ``core/release_health.py``; this module only drives
them with the sync hook, and hands the verdict to Airflow: a pass returns the figures, a fail raises
one message (or skips with ``soft_fail``), waiting pokes again. See docs/release-health.md.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from airflow_provider_sentry._compat import AirflowSkipException, BaseSensorOperator, PokeReturnValue, conf
from airflow_provider_sentry._lazy import lazy_module
from airflow_provider_sentry.defaults import DEFAULT_CONN_ID

if TYPE_CHECKING:
    from airflow_provider_sentry import exceptions
    from airflow_provider_sentry._compat import Context
    from airflow_provider_sentry.core import release_health, releases
    from airflow_provider_sentry.core.release_health import HealthCheck, HealthSpec, Verdict
    from airflow_provider_sentry.hooks import sentry as sentry_hook
    from airflow_provider_sentry.hooks.sentry import SentryHook
    from airflow_provider_sentry.sensors import release_failure
    from airflow_provider_sentry.triggers import issues as issue_triggers
    from airflow_provider_sentry.triggers import releases as release_triggers
else:  # runtime only: loaded when a task runs, not when the DAG is parsed
    release_health = lazy_module("airflow_provider_sentry.core.release_health")
    releases = lazy_module("airflow_provider_sentry.core.releases")
    exceptions = lazy_module("airflow_provider_sentry.exceptions")
    sentry_hook = lazy_module("airflow_provider_sentry.hooks.sentry")
    release_failure = lazy_module("airflow_provider_sentry.sensors.release_failure")
    issue_triggers = lazy_module("airflow_provider_sentry.triggers.issues")
    release_triggers = lazy_module("airflow_provider_sentry.triggers.releases")


def run_check(hook: SentryHook, check: HealthCheck) -> Verdict:
    """Drive one check's state machine with the sync transport."""
    while (request := check.next_request()) is not None:
        check.receive(hook.get_page(request.path, params=request.params, cursor=request.cursor))
    return check.verdict()


class ReleaseHealthSensor(BaseSensorOperator):
    """Gate a release on Sentry's release health: wait for ``min_sessions`` sessions of the release in
    ``environment``, then succeed if the crash-free session rate is at least ``min_crash_free_rate``
    (and the optional rules hold), else fail with one message naming the release, the environment,
    the rate, the threshold and the session count. Wire a rollback with ``trigger_rule="one_failed"``.

    :param version: the release version. (templated)
    :param environment: the environment deployed to; only its sessions count. (templated)
    :param projects: project slugs or ids; default: all projects of the release. (templated)
    :param min_crash_free_rate: the lowest acceptable crash-free *session* rate, a fraction (0.995). (templated)
    :param min_sessions: judge only once the window holds this many sessions; keep waiting until then.
        (templated)
    :param min_crash_free_user_rate: optionally, the lowest acceptable crash-free *user* rate.
    :param max_drop: optionally, fail when the rate is lower than the previous release's (over a window of
        the same length just before this one) by more than this fraction (0.005 = half a point).
    :param previous_version: the release to compare with; default: the newest release created before
        this one in the same projects. (templated)
    :param max_new_issues: optionally, fail when more issues than this were first seen in the release.
    :param window_start: count sessions from this datetime or ISO-8601 string; default: the release's
        latest deploy to ``environment``, else its creation. (templated)
    :param organization: organization slug; default: the connection's. (templated)
    :param sentry_conn_id: the Sentry connection (scopes ``org:read`` and ``project:releases``; plus
        ``event:read`` for ``max_new_issues``).
    :param deferrable: wait on the triggerer instead of a worker slot.
    :return: (XCom) ``{"crash_free_rate", "sessions", "crash_free_user_rate", "users", "window",
        "thresholds", "baseline", "new_issues", "release", "environment", "status"}``.
    """

    template_fields: Sequence[str] = (
        "version",
        "projects",
        "environment",
        "min_crash_free_rate",
        "min_sessions",
        "organization",
        "previous_version",
        "window_start",
    )
    ui_color = "#e1567c"

    def __init__(
        self,
        *,
        version: str,
        environment: str,
        min_crash_free_rate: float,
        min_sessions: int = 100,
        projects: str | int | Sequence[str | int] | None = None,
        min_crash_free_user_rate: float | None = None,
        max_drop: float | None = None,
        previous_version: str | None = None,
        max_new_issues: int | None = None,
        window_start: datetime | str | None = None,
        organization: str | None = None,
        sentry_conn_id: str = DEFAULT_CONN_ID,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.version = version
        self.environment = environment
        self.projects = projects
        self.min_crash_free_rate = min_crash_free_rate
        self.min_sessions = min_sessions
        self.min_crash_free_user_rate = min_crash_free_user_rate
        self.max_drop = max_drop
        self.previous_version = previous_version
        self.max_new_issues = max_new_issues
        self.window_start = window_start
        self.organization = organization
        self.sentry_conn_id = sentry_conn_id
        self.deferrable = deferrable
        self._gate_context: dict[str, Any] | None = None  # look-ups kept between pokes of one process

    @cached_property
    def hook(self) -> SentryHook:
        return sentry_hook.SentryHook(sentry_conn_id=self.sentry_conn_id)

    # -- Airflow entry points ----------------------------------------------------------------
    def execute(self, context: Context) -> Any:
        spec = self.spec()
        if not self.deferrable:
            return super().execute(context)
        result = self.poke(context)
        if isinstance(result, PokeReturnValue) and result.is_done:
            return result.xcom_value
        self.defer(
            trigger=release_triggers.ReleaseHealthTrigger(
                spec=spec.to_json(),
                context=self._gate_context,
                sentry_conn_id=self.sentry_conn_id,
                poll_interval=float(self.poke_interval),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout)),
        )

    def poke(self, context: Context) -> PokeReturnValue | bool:
        """One check. A 429, a 5xx, a transport error or Snuba's timeout 400 says nothing about the
        release: it is logged and the next poke asks again."""
        check = release_health.HealthCheck(self.spec(), self._gate_context, now=time.time())
        try:
            verdict = run_check(self.hook, check)
        except Exception as exc:
            if not release_health.retry_at_next_check(exc):
                raise
            self.log.warning("Sentry release health check failed; asking again at the next poke: %s", exc)
            return False
        finally:
            if check.context is not None:
                self._gate_context = check.context.to_json()
        self.log.info("%s (%s request(s))", verdict.message, check.requests)
        if verdict.status == release_health.WAITING:
            return False
        if verdict.status == release_health.PASS:
            return PokeReturnValue(is_done=True, xcom_value=verdict.result)
        self._fail(verdict.message)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger judged the release (or failed)."""
        event = event or {}
        if event.get("status") == release_health.PASS:
            self.log.info("%s", event.get("message"))
            return event.get("result")
        if event.get("status") == release_health.FAIL:
            self._fail(str(event.get("message")))
        raise issue_triggers.error_from_event(event)

    # -- helpers -----------------------------------------------------------------------------
    def spec(self) -> HealthSpec:
        """The validated settings; raises ``SentryInputError`` naming the argument, before any request."""
        if self.organization is not None and (not isinstance(self.organization, str) or not self.organization.strip()):
            raise exceptions.SentryInputError("organization", "must be a non-empty slug")
        window_start = None
        if self.window_start is not None and str(self.window_start).strip() not in ("", "None"):
            parsed = releases.parse_timestamp(releases.iso_timestamp(self.window_start, "window_start"))
            window_start = parsed.timestamp() if parsed else None
        projects = releases.validate_projects(self.projects, "projects", required=False)
        spec = release_health.HealthSpec.create(
            organization="-",  # checked first without I/O; the connection's slug is read below
            version=self.version,
            environment=self.environment,
            projects=projects,
            min_crash_free_rate=self.min_crash_free_rate,
            min_sessions=self.min_sessions,
            min_crash_free_user_rate=self.min_crash_free_user_rate,
            max_drop=self.max_drop,
            previous_version=self.previous_version,
            max_new_issues=self.max_new_issues,
            window_start=window_start,
        )
        return replace(spec, organization=self.hook.resolve_organization(self.organization))

    def _fail(self, message: str) -> NoReturn:
        if self.soft_fail:
            raise AirflowSkipException(message)
        raise release_failure.ReleaseUnhealthyFailure(message)
