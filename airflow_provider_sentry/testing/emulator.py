"""``SentryEmulator``: start/stop the offline Sentry, seed it, and inspect what clients did to it."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from types import TracebackType
from typing import Any

from airflow_provider_sentry.testing.auth import (
    ALL_SCOPES,
    ORG_TOKEN_SCOPES,
    Credential,
    make_org_token,
    make_user_token,
)
from airflow_provider_sentry.testing.faults import Fault
from airflow_provider_sentry.testing.issues import PRIORITY_BY_LEVEL, serialize_issue
from airflow_provider_sentry.testing.monitors import CronBook, serialize_checkin, serialize_monitor, validate_config
from airflow_provider_sentry.testing.releases import (
    create_deploy,
    create_release,
    finish_processing,
    serialize_deploy,
    serialize_release,
    settle_commits,
)
from airflow_provider_sentry.testing.routing import RequestRecord
from airflow_provider_sentry.testing.server import EmulatorApp, EmulatorHTTPServer
from airflow_provider_sentry.testing.session_store import SessionStore
from airflow_provider_sentry.testing.state import EmulatorState, Issue, Project, iso, now_utc, to_datetime

ProjectSpec = str | Mapping[str, Any]


class SentryEmulator:
    """An offline Sentry on ``127.0.0.1`` (ephemeral port by default), served from a daemon thread.

    :param organization: the one organization's slug.
    :param projects: project slugs, or dicts with ``slug`` and optional ``name``/``platform``.
    :param token: the full-scope user token to accept (generated ``sntryu_...`` by default).
    :param port: 0 picks a free port.
    :param empty_result_mode: ``"empty_result"`` (Sentry's usual path) or ``"echo"`` (the post-filter path of
        large organizations, where an empty page echoes the incoming cursor).
    :param repos: repository names accepted in release ``refs`` (sentry-cli ``set-commits``).
    :param control_api: also serve the HTTP control API under ``/_emulator/`` (docs/emulator.md).
    :param max_candidates: Sentry's ``snuba.search.max-pre-snuba-candidates`` (5,000): an issue search whose
        Postgres filters match more issues takes the chunked post-filter path (see ``testing/issues.py``).
    :param member_projects: slugs of the projects the token's user is a member of; an issue list without
        ``project`` covers only these (``project=-1`` covers all). ``None``: member of every project.
    """

    def __init__(
        self,
        organization: str = "acme",
        projects: Sequence[ProjectSpec] = ("backend", "frontend"),
        *,
        token: str | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        empty_result_mode: str = "empty_result",
        repos: Sequence[str] = ("acme/backend", "acme/frontend"),
        control_api: bool = False,
        max_candidates: int = 5000,
        member_projects: Sequence[str] | None = None,
    ) -> None:
        self.organization = organization
        self._state = EmulatorState(organization_slug=organization)
        self._app = EmulatorApp(self._state, empty_result_mode=empty_result_mode)
        if control_api:  # the HTTP control API under /_emulator/ (testing/control.py)
            self._app.control = self._control
        for spec in projects:
            if isinstance(spec, str):
                self._state.add_project(spec)
            else:
                self._state.add_project(
                    str(spec["slug"]), name=spec.get("name"), platform=spec.get("platform", "python")
                )
        for repo in repos:
            self._state.add_repo(repo)
        self._app.max_candidates = max_candidates
        self.member_projects = member_projects
        self.token = token or make_user_token()
        self._app.tokens.add(Credential("user_token", self.token, ALL_SCOPES))
        self._host = host
        self._port = port
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self.org_token = ""
        self.api_key = ""

    # -- lifecycle ------------------------------------------------------------------------------------------------

    def start(self) -> SentryEmulator:
        if self._server is not None:
            return self
        server = EmulatorHTTPServer((self._host, self._port), self._app)
        self._server = server
        self.url = f"http://{self._host}:{server.server_address[1]}"
        self._app.base_url = self.url
        self.org_token = make_org_token(self.url, self.organization)
        self._app.tokens.add(Credential("org_token", self.org_token, ORG_TOKEN_SCOPES, user_id=None))
        self.api_key = self.add_api_key()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="sentry-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SentryEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SentryEmulator(url={self.url!r}, organization={self.organization!r})"

    @property
    def empty_result_mode(self) -> str:
        return self._app.empty_result_mode

    @empty_result_mode.setter
    def empty_result_mode(self, value: str) -> None:
        if value not in ("empty_result", "echo"):
            raise ValueError("empty_result_mode must be 'empty_result' or 'echo'")
        self._app.empty_result_mode = value

    @property
    def max_candidates(self) -> int:
        return self._app.max_candidates

    @max_candidates.setter
    def max_candidates(self, value: int) -> None:
        self._app.max_candidates = value

    @property
    def member_projects(self) -> list[str] | None:
        ids = self._app.member_project_ids
        return None if ids is None else [p.slug for p in self._state.projects if p.id in ids]

    @member_projects.setter
    def member_projects(self, slugs: Sequence[str] | None) -> None:
        self._app.member_project_ids = None if slugs is None else {self._project(s).id for s in slugs}

    # -- credentials ----------------------------------------------------------------------------------------------

    def add_token(self, scopes: Iterable[str], *, token: str | None = None) -> str:
        """Accept another user token with exactly ``scopes``; returns it."""
        secret = token or make_user_token()
        self._app.tokens.add(Credential("user_token", secret, tuple(scopes), user_id=1))
        return secret

    def add_api_key(self, scopes: Iterable[str] = ALL_SCOPES, *, key: str | None = None) -> str:
        """Accept a legacy API key (HTTP Basic, key as user, empty password)."""
        secret = key or secrets.token_hex(16)
        self._app.tokens.add(Credential("api_key", secret, tuple(scopes), user_id=None))
        return secret

    def revoke(self, secret: str) -> None:
        self._app.tokens.revoke(secret)

    def dsn(self, project: str) -> str:
        found = self._project(project)
        host = self.url.split("://", 1)[1]
        return f"http://{found.public_key}@{host}/{found.id}"

    def connection_json(self, *, token: str | None = None, organization: str | None = None) -> str:
        """The ``AIRFLOW_CONN_SENTRY_DEFAULT`` value pointing at this emulator."""
        return json.dumps(
            {
                "conn_type": "sentry",
                "host": self.url,
                "password": token or self.token,
                "extra": {"organization": organization or self.organization},
            }
        )

    # -- seeding --------------------------------------------------------------------------------------------------

    def _project(self, project: str | int) -> Project:
        found = self._state.project_by_id_or_slug(project)
        if found is None:
            raise KeyError(f"unknown project {project!r}")
        return found

    def add_issue(
        self,
        title: str = "ZeroDivisionError: division by zero",
        project: str | int = "backend",
        first_seen: datetime | float | str | None = None,
        last_seen: datetime | float | str | None = None,
        *,
        level: str = "error",
        status: str = "unresolved",
        substatus: str | None = None,
        priority: str | None = None,
        indexed: bool = True,
        visible_after: float | None = None,
        times_seen: int = 1,
        user_count: int = 0,
        culprit: str = "",
        release: str | Sequence[str] | None = None,
        environment: str | Sequence[str] = "production",
        platform: str | None = None,
        type: str = "error",
    ) -> dict[str, Any]:
        """Seed one issue with explicit timestamps; returns its JSON (``id`` is a string).

        ``indexed=False`` or ``visible_after`` (seconds from now, wall clock) models Snuba's indexing lag:
        lists, search and search-based mutations skip the issue until ``index()``/the delay passes.
        """
        proj = self._project(project)
        first = to_datetime(first_seen) if first_seen is not None else now_utc()
        last = to_datetime(last_seen) if last_seen is not None else first
        if last < first:
            raise ValueError("last_seen must not be before first_seen")
        exc_type, _, value = title.partition(": ")
        metadata: dict[str, Any] = (
            {"type": exc_type, "value": value, "filename": ""} if type == "error" else {"title": title}
        )
        if status not in ("unresolved", "resolved", "ignored"):
            raise ValueError(f"status must be unresolved, resolved or ignored, not {status!r}")
        releases = [release] if isinstance(release, str) else list(release or [])
        environments = [environment] if isinstance(environment, str) else list(environment)
        with self._state.lock:
            issue = Issue(
                id=self._state.new_issue_id(),
                project_id=proj.id,
                short_id=self._state.new_short_id(proj),
                title=title,
                culprit=culprit,
                level=level,
                status=status,
                substatus=substatus
                or {"unresolved": "ongoing", "ignored": "archived_forever", "resolved": None}[status],
                priority=priority or PRIORITY_BY_LEVEL.get(level, "high"),
                first_seen=first,
                last_seen=last,
                times_seen=times_seen,
                user_count=user_count,
                platform=platform or proj.platform,
                type=type,
                metadata=metadata,
                releases=releases,
                environments=environments,
                indexed=indexed,
                visible_at=time.time() + visible_after if visible_after is not None else None,
                fingerprint=("seeded", str(time.monotonic_ns())),
            )
            self._state.issues[issue.id] = issue
            return self._issue_json(issue)

    def add_issues(self, count: int, **kwargs: Any) -> list[dict[str, Any]]:
        """Seed ``count`` issues with the same keyword arguments (titles get a ``#n`` suffix)."""
        title = kwargs.pop("title", "Error")
        return [self.add_issue(title=f"{title} #{n}", **kwargs) for n in range(1, count + 1)]

    def index(self, issue_id: str | int) -> None:
        with self._state.lock:
            issue = self._state.issues[int(issue_id)]
            issue.indexed = True
            issue.visible_at = None

    def index_all(self) -> None:
        with self._state.lock:
            for issue in self._state.issues.values():
                issue.indexed = True
                issue.visible_at = None

    def update_issue(self, issue_id: str | int, **changes: Any) -> dict[str, Any]:
        """Change seeded fields directly (``status``, ``last_seen``, ``times_seen``...), bypassing the API."""
        with self._state.lock:
            issue = self._state.issues[int(issue_id)]
            for key, value in changes.items():
                if key in ("first_seen", "last_seen"):
                    value = to_datetime(value)
                if not hasattr(issue, key):
                    raise AttributeError(key)
                setattr(issue, key, value)
            return self._issue_json(issue)

    def delete_issue(self, issue_id: str | int) -> None:
        with self._state.lock:
            self._state.issues.pop(int(issue_id), None)

    def add_release(
        self, version: str, projects: Sequence[str] = ("backend",), *, date_released: datetime | str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"version": version, "projects": list(projects)}
        if date_released is not None:
            body["dateReleased"] = iso(to_datetime(date_released))
        _, release = create_release(self._state, body, user_agent=None)
        return serialize_release(self._state, release)

    def add_deploy(self, version: str, environment: str, **fields: Any) -> dict[str, Any]:
        release = self._state.releases[version]
        return serialize_deploy(create_deploy(self._state, release, {"environment": environment, **fields}))

    def add_sessions(
        self,
        release: str,
        environment: str = "production",
        *,
        project: str | int = "backend",
        healthy: int = 0,
        errored: int = 0,
        crashed: int = 0,
        abnormal: int = 0,
        users: int = 0,
        crashed_users: int | None = None,
        started: datetime | float | str | None = None,
    ) -> None:
        """Record release-health sessions by final status (``errored``: handled errors only), as if an SDK
        had sent them; ``users`` distinct users, ``crashed_users`` of them crashed (default: one per crash).
        ``started`` defaults to now. See ``testing/sessions.py`` for how the sessions API counts them."""
        proj = self._project(project)
        when = to_datetime(started).timestamp() if started is not None else time.time()
        with self._state.lock:
            self._state.sessions.add(
                proj.id,
                release,
                environment,
                when,
                healthy=healthy,
                errored=errored,
                crashed=crashed,
                abnormal=abnormal,
                users=users,
                crashed_users=crashed_users,
            )
        self._app.environments.add(environment)

    def add_repo(self, name: str) -> None:
        self._state.add_repo(name)

    def add_environment(self, name: str) -> None:
        self._app.environments.add(name)

    # -- release commit processing and the proxy's request-line limit ---------------------------------------------

    def set_commit_processing(self, seconds: float) -> None:
        """Make a refs fetch hold the release's commit lock this long (0 = instant, the default); meanwhile a
        POST/PUT with commits or refs answers 409 "Release commits are currently being processed"."""
        with self._state.lock:
            self._state.commit_processing_seconds = max(0.0, float(seconds))

    def finish_commit_processing(self, version: str | None = None) -> None:
        """End the commit fetch of one release (or all) now: its commits land, the lock is released."""
        with self._state.lock:
            for release in self._state.releases.values():
                if version is None or release.version == version:
                    finish_processing(release)

    def limit_request_line(self, max_bytes: int | None = 8192) -> None:
        """Answer 414 to a request line longer than ``max_bytes``, as a default nginx in front of self-hosted
        Sentry does (``large_client_header_buffers 4 8k``); None turns the limit off (the default)."""
        self._app.max_request_line = max_bytes

    # -- inspection -----------------------------------------------------------------------------------------------

    def _issue_json(self, issue: Issue) -> dict[str, Any]:
        project = self._state.project_by_id(issue.project_id)
        assert project is not None
        data = serialize_issue(issue, project, base_url=self.url, organization=self.organization, now=now_utc())
        data["indexed"] = issue.visible()
        return data

    @property
    def projects(self) -> list[dict[str, Any]]:
        return [{"id": str(p.id), "slug": p.slug, "name": p.name, "platform": p.platform} for p in self._state.projects]

    @property
    def issues(self) -> list[dict[str, Any]]:
        with self._state.lock:
            return [self._issue_json(i) for i in sorted(self._state.issues.values(), key=lambda i: i.id)]

    def get_issue(self, issue_id: str | int) -> dict[str, Any]:
        with self._state.lock:
            return self._issue_json(self._state.issues[int(issue_id)])

    @property
    def releases(self) -> list[dict[str, Any]]:
        with self._state.lock:
            for release in self._state.releases.values():
                settle_commits(release)
            return [
                {**serialize_release(self._state, r), "commits": [asdict(c) for c in r.commits], "refs": list(r.refs)}
                for r in sorted(self._state.releases.values(), key=lambda r: r.id)
            ]

    @property
    def deploys(self) -> list[dict[str, Any]]:
        with self._state.lock:
            return [
                {**serialize_deploy(d), "release": d.release_version, "projects": list(d.project_ids)}
                for d in self._state.deploys
            ]

    @property
    def events(self) -> list[dict[str, Any]]:
        with self._state.lock:
            return [{**asdict(e), "timestamp": iso(e.timestamp)} for e in self._state.events]

    @property
    def requests(self) -> list[RequestRecord]:
        return self._app.log.snapshot()

    def clear_requests(self) -> None:
        self._app.log.clear()

    def before_request(self, callback: Callable[[RequestRecord], None]) -> None:
        self._app.callbacks.append(callback)

    # -- faults and limits ----------------------------------------------------------------------------------------

    def inject(
        self,
        kind: str,
        *,
        status: int | None = None,
        path: str | None = None,
        method: str | None = None,
        times: int = 1,
        on_request: int | None = None,
        delay: float = 0.0,
        when: str = "before",
    ) -> Fault:
        """Schedule a fault; ``on_request=N`` is the Nth request from now (1 = the next one)."""
        absolute = self._app.log.count + on_request if on_request is not None else None
        return self._app.faults.add(Fault(kind, status, path, method, times, absolute, delay, when))

    def clear_faults(self) -> None:
        self._app.faults.clear()

    def set_rate_limit(
        self, limit: int, window_seconds: int, *, token: str | None = None, concurrent_limit: int = 25
    ) -> None:
        """Enforce ``limit`` requests per fixed ``window_seconds`` (all callers, or one token)."""
        self._app.limiter.configure(limit, window_seconds, token=token, concurrent_limit=concurrent_limit)

    def clear_rate_limits(self) -> None:
        self._app.limiter.disable()

    # -- crons (testing/monitors.py) --------------------------------------------------------------------------

    @property
    def monitors(self) -> list[dict[str, Any]]:
        """Every monitor as the Web API shows it."""
        crons = self._state.crons
        with crons.lock:
            projects = {int(p["id"]): p for p in self.projects}
            return [
                serialize_monitor(m, projects[m.project_id])
                for m in sorted(crons.monitors.values(), key=lambda m: m.slug)
            ]

    def checkins(self, monitor_slug: str | None = None) -> list[dict[str, Any]]:
        """Check-ins in arrival order (oldest first), each with ``monitorSlug``; one monitor's when given."""
        crons = self._state.crons
        with crons.lock:
            slugs = {m.id: m.slug for m in crons.monitors.values()}
            return [
                {**serialize_checkin(c), "monitorSlug": slugs.get(c.monitor_id), "updates": c.updates}
                for c in crons.checkins
                if monitor_slug is None or slugs.get(c.monitor_id) == monitor_slug
            ]

    @property
    def dropped_checkins(self) -> list[dict[str, Any]]:
        """Check-ins answered 202 but dropped while processing, with the reason (``monitor_not_found``...)."""
        crons = self._state.crons
        with crons.lock:
            return [{**asdict(d), "when": iso(d.when)} for d in crons.dropped]

    def add_monitor(
        self, slug: str, schedule: str = "* * * * *", project: str | int = "backend", **config: Any
    ) -> dict[str, Any]:
        """Create a monitor directly (as the UI would), e.g. for check-ins sent without ``monitor_config``."""
        proj = self._project(project)
        monitor = self._state.crons.upsert(
            proj.id, slug, validate_config({"schedule": {"type": "crontab", "value": schedule}, **config})
        )
        return serialize_monitor(monitor, {"id": str(proj.id), "slug": proj.slug, "name": proj.name})

    # -- reset and control API --------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget issues, events, releases, deploys, monitors and check-ins, sessions, faults, rate limits and
        the request log. Projects, repositories and credentials stay; issue ids keep counting up, so they never
        repeat."""
        with self._state.lock:
            self._state.issues.clear()
            self._state.events.clear()
            self._state.releases.clear()
            self._state.deploys.clear()
            self._state.crons = CronBook()
            self._state.sessions = SessionStore()
        self.clear_faults()
        self.clear_rate_limits()
        self.clear_requests()

    def _control(self, method: str, path: str, query: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        # control.py types its handlers with SentryEmulator: imported here, the two form no import circle
        from airflow_provider_sentry.testing.control import handle_control

        return handle_control(self, method, path, query, body)
