"""THE release health gate: which requests a check sends, and the one verdict every mode uses.

Every driver runs it the same way (the sensor's poke with the sync hook, the trigger's loop with the
async hook)::

    check = HealthCheck(spec, context_json, now=time.time())
    while (request := check.next_request()) is not None:
        check.receive(get_page(request.path, params=request.params, cursor=request.cursor))
    verdict = check.verdict()        # waiting / pass / fail, with the figures
    context_json = check.context.to_json()   # keep it: later checks skip the look-ups

A first check looks up the release (its projects and creation date) and its deploys (the window starts
at the latest deploy to the environment, else at the release's creation), unless the caller set the
window. Every check then reads the release's session totals over ``[window start, now]``; once there
are ``min_sessions`` sessions it may also count the issues first seen in the release
(``max_new_issues``) and read the previous release over a window of the same length just before this
one (``max_drop``). Only then is the release judged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_sentry.core.api_urls import api_path
from airflow_provider_sentry.core.arguments import as_fraction, as_non_negative_int, as_positive_int
from airflow_provider_sentry.core.issue_updates import project_ids_for
from airflow_provider_sentry.core.page import Page
from airflow_provider_sentry.core.poll import TRANSIENT_ERRORS, PageRequest
from airflow_provider_sentry.core.releases import parse_timestamp, validate_environment, validate_version
from airflow_provider_sentry.core.sessions import SessionsQuery, SessionTotals, iso_z, parse_sessions
from airflow_provider_sentry.exceptions import SentryInputError, SentryResponseError

PAGE_SIZE = 100
WAITING, PASS, FAIL = "waiting", "pass", "fail"


def retry_at_next_check(exc: BaseException) -> bool:
    """Failures that say nothing about the release: 429, 5xx, transport errors, exhausted retry budget,
    and Snuba's timeout 400 (``SentryQueryTimeoutError``). The check is asked again at the next poke
    instead of being judged."""
    return isinstance(exc, TRANSIENT_ERRORS)


# -- arguments -------------------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    """Not given, also as a rendered template ("" or "None")."""
    return value is None or (isinstance(value, str) and value.strip() in ("", "None"))


@dataclass(frozen=True)
class HealthSpec:
    """The validated gate settings (JSON-serialisable: the trigger carries them)."""

    organization: str
    version: str
    environment: str
    projects: tuple[str, ...]
    min_crash_free_rate: float
    min_sessions: int
    min_crash_free_user_rate: float | None = None
    max_drop: float | None = None
    previous_version: str | None = None
    max_new_issues: int | None = None
    window_start: float | None = None

    @classmethod
    def create(
        cls,
        *,
        organization: str,
        version: Any,
        environment: Any,
        projects: Sequence[str] = (),
        min_crash_free_rate: Any,
        min_sessions: Any,
        min_crash_free_user_rate: Any = None,
        max_drop: Any = None,
        previous_version: Any = None,
        max_new_issues: Any = None,
        window_start: float | None = None,
    ) -> HealthSpec:
        """Check every argument before any request; errors name the argument."""
        if not isinstance(organization, str) or not organization.strip():
            raise SentryInputError("organization", "must be a non-empty slug")
        previous = None
        if previous_version is not None and str(previous_version).strip():
            previous = validate_version(previous_version, "previous_version")
        version = validate_version(version)
        if previous == version:
            raise SentryInputError("previous_version", "must differ from version")
        return cls(
            organization=organization,
            version=version,
            environment=validate_environment(environment),
            projects=tuple(projects),
            min_crash_free_rate=as_fraction(min_crash_free_rate, "min_crash_free_rate") or 0.0,
            min_sessions=as_positive_int(min_sessions, "min_sessions"),
            min_crash_free_user_rate=as_fraction(min_crash_free_user_rate, "min_crash_free_user_rate", required=False),
            max_drop=as_fraction(max_drop, "max_drop", required=False),
            previous_version=previous,
            max_new_issues=None if _missing(max_new_issues) else as_non_negative_int(max_new_issues, "max_new_issues"),
            window_start=window_start,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "organization": self.organization,
            "version": self.version,
            "environment": self.environment,
            "projects": list(self.projects),
            "min_crash_free_rate": self.min_crash_free_rate,
            "min_sessions": self.min_sessions,
            "min_crash_free_user_rate": self.min_crash_free_user_rate,
            "max_drop": self.max_drop,
            "previous_version": self.previous_version,
            "max_new_issues": self.max_new_issues,
            "window_start": self.window_start,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HealthSpec:
        return cls(**{**data, "projects": tuple(data.get("projects") or ())})

    def thresholds(self) -> dict[str, Any]:
        return {
            "min_crash_free_rate": self.min_crash_free_rate,
            "min_crash_free_user_rate": self.min_crash_free_user_rate,
            "min_sessions": self.min_sessions,
            "max_drop": self.max_drop,
            "max_new_issues": self.max_new_issues,
        }


# -- what the look-ups found -----------------------------------------------------------------------


@dataclass(frozen=True)
class GateContext:
    """Facts that stay put while the gate waits: project ids, the window start and where it came from,
    and the previous release (``None``: no comparison)."""

    project_ids: tuple[str, ...]
    window_start: float
    window_source: str  # "deploy", "release" or "argument"
    previous_version: str | None = None
    deploy_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "project_ids": list(self.project_ids),
            "window_start": self.window_start,
            "window_source": self.window_source,
            "previous_version": self.previous_version,
            "deploy_id": self.deploy_id,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GateContext:
        return cls(
            project_ids=tuple(str(p) for p in data["project_ids"]),
            window_start=float(data["window_start"]),
            window_source=str(data["window_source"]),
            previous_version=data.get("previous_version"),
            deploy_id=data.get("deploy_id"),
        )


def latest_deploy(deploys: Sequence[Any], environment: str) -> Mapping[str, Any] | None:
    """The release's latest deploy to ``environment`` (by finish time, then start time)."""
    best: tuple[float, Mapping[str, Any]] | None = None
    for deploy in deploys:
        if not isinstance(deploy, Mapping) or deploy.get("environment") != environment:
            continue
        when = parse_timestamp(deploy.get("dateFinished")) or parse_timestamp(deploy.get("dateStarted"))
        if when is None:
            continue
        if best is None or when.timestamp() > best[0]:
            best = (when.timestamp(), deploy)
    return best[1] if best else None


def previous_release(releases: Sequence[Any], version: str, created: float) -> str | None:
    """The newest other release created before this one (Sentry lists releases newest first)."""
    best: tuple[float, str] | None = None
    for release in releases:
        if not isinstance(release, Mapping) or release.get("version") in (None, version):
            continue
        when = parse_timestamp(release.get("dateCreated"))
        if when is None or when.timestamp() >= created:
            continue
        if best is None or when.timestamp() > best[0]:
            best = (when.timestamp(), str(release["version"]))
    return best[1] if best else None


# -- the verdict -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """``status`` is waiting, pass or fail; ``message`` is the one line to log or fail with;
    ``result`` is the JSON returned to XCom on a pass."""

    status: str
    message: str
    result: dict[str, Any] = field(default_factory=dict)


def percent(value: float, digits: int = 2) -> str:
    return f"{value * 100:.{digits}f}%"


def _pair(value: float, threshold: float) -> tuple[str, str]:
    """Two percentages with enough digits that a value that differs never prints equal to its threshold."""
    for digits in (2, 3, 4):
        if value == threshold or percent(value, digits) != percent(threshold, digits):
            return percent(value, digits), percent(threshold, digits)
    return percent(value, 6), percent(threshold, 6)


def judge(
    spec: HealthSpec,
    current: SessionTotals,
    *,
    window: Mapping[str, Any],
    baseline: SessionTotals | None = None,
    baseline_version: str | None = None,
    new_issues: int | None = None,
) -> Verdict:
    """The one verdict of every mode. Waiting until ``min_sessions`` sessions (a null rate is no data,
    never 100 %); then fail on the first of: crash-free sessions below the threshold, crash-free users
    below theirs, a drop from the previous release larger than ``max_drop``, more new issues than the
    budget. Every failed rule is named in the message."""
    where = f"release {spec.version!r} in environment {spec.environment!r}"
    result: dict[str, Any] = {
        "release": spec.version,
        "environment": spec.environment,
        "status": WAITING,
        "crash_free_rate": current.crash_free_rate,
        "sessions": current.sessions,
        "crash_free_user_rate": current.crash_free_user_rate,
        "users": current.users,
        "window": dict(window),
        "thresholds": spec.thresholds(),
        "baseline": None,
        "new_issues": new_issues,
    }
    if current.sessions < spec.min_sessions or current.crash_free_rate is None:
        return Verdict(
            WAITING,
            f"Waiting: {where} has {current.sessions} of the {spec.min_sessions} sessions needed "
            f"since {window.get('start')}",
            result,
        )
    rate = current.crash_free_rate
    value, threshold = _pair(rate, spec.min_crash_free_rate)
    headline = f"crash-free sessions {value} (threshold {threshold}) over {current.sessions} sessions"
    problems: list[str] = []
    if rate < spec.min_crash_free_rate:
        problems.append("crash-free sessions below the threshold")
    if spec.min_crash_free_user_rate is not None and current.crash_free_user_rate is not None:
        users, user_threshold = _pair(current.crash_free_user_rate, spec.min_crash_free_user_rate)
        headline += f", crash-free users {users} (threshold {user_threshold}) over {current.users} users"
        if current.crash_free_user_rate < spec.min_crash_free_user_rate:
            problems.append("crash-free users below the threshold")
    if baseline is not None and baseline_version is not None:
        usable = baseline.sessions >= spec.min_sessions and baseline.crash_free_rate is not None
        drop = (baseline.crash_free_rate - rate) if usable and baseline.crash_free_rate is not None else None
        result["baseline"] = {**baseline.to_json(), "release": baseline_version, "drop": drop, "used": usable}
        if (
            drop is not None
            and spec.max_drop is not None
            and baseline.crash_free_rate is not None
            and drop > spec.max_drop
        ):
            problems.append(
                f"crash-free sessions dropped by {drop * 100:.2f} points from {percent(baseline.crash_free_rate)} "
                f"(previous release {baseline_version!r}), more than max_drop {spec.max_drop * 100:.2f} points"
            )
    if new_issues is not None and spec.max_new_issues is not None and new_issues > spec.max_new_issues:
        problems.append(f"{new_issues} new issue(s) first seen in this release, budget {spec.max_new_issues}")
    if problems:
        result["status"] = FAIL
        return Verdict(FAIL, f"Sentry release health gate failed: {where}: {headline}: " + "; ".join(problems), result)
    result["status"] = PASS
    return Verdict(PASS, f"Sentry release health gate passed: {where}: {headline}", result)


# -- the state machine -----------------------------------------------------------------------------


class HealthCheck:
    """One check of the gate: the requests to send, in order, then the verdict."""

    def __init__(self, spec: HealthSpec, context: Mapping[str, Any] | None, *, now: float) -> None:
        self.spec = spec
        self.now = now
        self.requests = 0
        self.context: GateContext | None = GateContext.from_json(context) if context else None
        self._release: Mapping[str, Any] | None = None
        self._current: SessionTotals | None = None
        self._baseline: SessionTotals | None = None
        self._new_issues: int | None = None
        self._verdict: Verdict | None = None
        self._pending: PageRequest | None = None
        self._project_ids: tuple[str, ...] = ()
        if self.context is None:
            self._pending = PageRequest(
                "release", api_path("organizations", spec.organization, "releases", spec.version), ()
            )
        else:
            self._request_sessions()

    # -- driver interface --------------------------------------------------------------------------
    def next_request(self) -> PageRequest | None:
        request = self._pending
        if request is not None:
            self.requests += 1
        return request

    def receive(self, page: Page) -> None:
        request = self._pending
        if request is None:
            raise RuntimeError("receive() without a pending request")
        self._pending = None
        handler = getattr(self, f"_receive_{request.purpose}")
        handler(page)

    def verdict(self) -> Verdict:
        if self._verdict is None:
            raise RuntimeError("the check has requests left to send")
        return self._verdict

    # -- look-ups ------------------------------------------------------------------------------
    def _org_path(self, *parts: object) -> str:
        return api_path("organizations", self.spec.organization, *parts)

    def _receive_release(self, page: Page) -> None:
        release = page.items[0] if page.items and isinstance(page.items[0], Mapping) else None
        if release is None or release.get("version") != self.spec.version:
            raise SentryResponseError(f"release {self.spec.version!r}: unexpected answer {str(page.items)[:200]}")
        self._release = release
        listed = [p for p in release.get("projects") or [] if isinstance(p, Mapping)]
        wanted = list(self.spec.projects) or [str(p.get("id")) for p in listed]
        try:
            ids = project_ids_for(wanted, listed)
        except SentryInputError:
            slugs = sorted(str(p.get("slug")) for p in listed)
            raise SentryInputError(
                "projects", f"release {self.spec.version!r} is not in project(s) {wanted}; its projects: {slugs}"
            ) from None
        if not ids:
            raise SentryInputError("projects", f"release {self.spec.version!r} belongs to no project")
        self._project_ids = tuple(ids)
        if self.spec.window_start is not None:
            self._resolved(self.spec.window_start, "argument", None)
        else:
            self._pending = PageRequest(
                "deploys", self._org_path("releases", self.spec.version, "deploys"), (("per_page", str(PAGE_SIZE)),)
            )

    def _release_created(self) -> float:
        assert self._release is not None
        created = parse_timestamp(self._release.get("dateCreated"))
        if created is None:
            raise SentryResponseError(f"release {self.spec.version!r} has no readable dateCreated")
        return created.timestamp()

    def _receive_deploys(self, page: Page) -> None:
        deploy = latest_deploy(page.items, self.spec.environment)
        if deploy is not None:
            when = parse_timestamp(deploy.get("dateFinished")) or parse_timestamp(deploy.get("dateStarted"))
            assert when is not None
            self._resolved(when.timestamp(), "deploy", str(deploy.get("id")) if deploy.get("id") else None)
        else:
            self._resolved(self._release_created(), "release", None)

    def _resolved(self, start: float, source: str, deploy_id: str | None) -> None:
        self.context = GateContext(self._project_ids, start, source, self.spec.previous_version, deploy_id)
        if self.spec.max_drop is not None and self.spec.previous_version is None:
            params = [("project", pid) for pid in self._project_ids] + [("per_page", str(PAGE_SIZE))]
            self._pending = PageRequest("releases", self._org_path("releases"), tuple(params))
            return
        self._request_sessions()

    def _receive_releases(self, page: Page) -> None:
        assert self.context is not None
        previous = previous_release(page.items, self.spec.version, self._release_created())
        self.context = GateContext(
            self.context.project_ids,
            self.context.window_start,
            self.context.window_source,
            previous,
            self.context.deploy_id,
        )
        self._request_sessions()

    # -- the figures -------------------------------------------------------------------------------
    def _query(self, version: str, start: float, end: float) -> SessionsQuery:
        assert self.context is not None
        users = self.spec.min_crash_free_user_rate is not None
        return SessionsQuery(
            self.spec.organization, version, self.spec.environment, self.context.project_ids, start, end, users
        )

    def _current_query(self) -> SessionsQuery:
        assert self.context is not None
        return self._query(self.spec.version, self.context.window_start, max(self.now, self.context.window_start))

    def _request_sessions(self) -> None:
        query = self._current_query()
        self._pending = PageRequest("sessions", query.path(), query.params())

    def _receive_sessions(self, page: Page) -> None:
        self._current = parse_sessions(_answer(page), self._current_query())
        if self._current.sessions < self.spec.min_sessions or self._current.crash_free_rate is None:
            self._finish()
            return
        self._next_extra(after="sessions")

    def _next_extra(self, *, after: str) -> None:
        assert self.context is not None
        order = ("sessions", "issues", "baseline")
        for purpose in order[order.index(after) + 1 :]:
            if purpose == "issues" and self.spec.max_new_issues is not None:
                self._new_issues = 0
                self._request_issues(None)
                return
            if purpose == "baseline" and self.spec.max_drop is not None and self.context.previous_version:
                query = self._baseline_query()
                self._pending = PageRequest("baseline", query.path(), query.params())
                return
        self._finish()

    def _request_issues(self, cursor: str | None) -> None:
        assert self.context is not None
        query = 'firstRelease:"' + self.spec.version.replace('"', '\\"') + '"'
        params = [("project", pid) for pid in self.context.project_ids]
        params += [("environment", self.spec.environment), ("query", query), ("limit", str(PAGE_SIZE))]
        self._pending = PageRequest("issues", self._org_path("issues"), tuple(params), cursor)

    def _receive_issues(self, page: Page) -> None:
        assert self._new_issues is not None and self.spec.max_new_issues is not None
        self._new_issues += len(page.items)
        if self._new_issues <= self.spec.max_new_issues and page.has_next:
            self._request_issues(str(page.next_cursor))
            return
        self._next_extra(after="issues")

    def _baseline_query(self) -> SessionsQuery:
        """The previous release over a window as long as the current one, ending where it starts."""
        assert self.context is not None and self.context.previous_version is not None
        start = self.context.window_start
        length = max(self.now - start, 3600.0)
        return self._query(self.context.previous_version, start - length, start)

    def _receive_baseline(self, page: Page) -> None:
        self._baseline = parse_sessions(_answer(page), self._baseline_query())
        self._finish()

    def _finish(self) -> None:
        assert self._current is not None and self.context is not None
        query = self._current_query()
        counted_start, counted_end = query.counted_window()
        window = {
            "start": iso_z(query.start),
            "end": iso_z(query.end),
            "counted_start": iso_z(counted_start),
            "counted_end": iso_z(counted_end),
            "source": self.context.window_source,
            "deploy_id": self.context.deploy_id,
        }
        self._verdict = judge(
            self.spec,
            self._current,
            window=window,
            baseline=self._baseline,
            baseline_version=self.context.previous_version if self._baseline is not None else None,
            new_issues=self._new_issues,
        )


def _answer(page: Page) -> Any:
    """A non-list JSON answer comes back as a one-item page."""
    return page.items[0] if len(page.items) == 1 else {"groups": None}
