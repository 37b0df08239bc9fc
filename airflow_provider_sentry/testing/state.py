"""The emulator's in-memory world: one organization, its projects, issues, events, releases and deploys.

Every read and write goes through ``EmulatorState.lock`` (an RLock), so the HTTP threads and the test
thread that seeds or inspects the state never see half an update.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from airflow_provider_sentry.testing.monitors import CronBook
from airflow_provider_sentry.testing.session_store import SessionStore

CROCKFORD32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def base32_encode(number: int) -> str:
    """Sentry's ``base32_encode`` (Crockford alphabet), used for short ids like ``BACKEND-1A``."""
    if number == 0:
        return "0"
    digits = []
    while number:
        number, rest = divmod(number, 32)
        digits.append(CROCKFORD32[rest])
    return "".join(reversed(digits))


def to_datetime(value: datetime | float | int | str) -> datetime:
    """Accept an aware/naive datetime (naive = UTC), epoch seconds, or an ISO-8601 string."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        return to_datetime(datetime.fromisoformat(value.replace("Z", "+00:00")))
    return datetime.fromtimestamp(float(value), tz=UTC)


def iso(value: datetime | None) -> str | None:
    """Sentry's timestamp format: ISO-8601 UTC with ``Z`` (microseconds when present)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def now_utc() -> datetime:
    return datetime.now(tz=UTC)


@dataclass
class Project:
    id: int
    slug: str
    name: str
    platform: str | None
    public_key: str
    date_created: datetime
    next_short_id: int = 1


@dataclass
class Issue:
    """A Sentry group. Scores for sorting come from ``first_seen``/``last_seen``/``times_seen``."""

    id: int
    project_id: int
    short_id: str
    title: str
    culprit: str | None
    level: str
    status: str
    substatus: str | None
    priority: str | None
    first_seen: datetime
    last_seen: datetime
    times_seen: int
    user_count: int
    platform: str | None
    type: str
    metadata: dict[str, Any]
    logger: str | None = None
    status_details: dict[str, Any] = field(default_factory=dict)
    releases: list[str] = field(default_factory=list)
    environments: list[str] = field(default_factory=list)
    assigned_to: dict[str, Any] | None = None
    is_bookmarked: bool = False
    has_seen: bool = False
    is_public: bool = False
    share_id: str | None = None
    indexed: bool = True
    visible_at: float | None = None  # wall-clock epoch seconds
    fingerprint: tuple[str, ...] = ()
    users: set[str] = field(default_factory=set)
    is_unhandled: bool = False

    def visible(self, now: float | None = None) -> bool:
        """Late indexing: invisible to lists, search and mutations until indexed and past ``visible_at``."""
        if not self.indexed:
            return False
        return self.visible_at is None or (now if now is not None else time.time()) >= self.visible_at


@dataclass
class Event:
    event_id: str
    issue_id: int
    project_id: int
    timestamp: datetime
    title: str
    message: str
    culprit: str | None
    platform: str | None
    level: str
    metadata: dict[str, Any]
    tags: list[dict[str, str]]
    user: dict[str, Any] | None
    event_type: str


@dataclass
class Repo:
    id: int
    name: str
    provider: str
    url: str | None
    date_created: datetime


@dataclass
class Commit:
    id: str
    repository: str
    message: str | None
    author_name: str | None
    author_email: str | None
    date_created: datetime


@dataclass
class Deploy:
    id: int
    release_version: str
    environment: str
    name: str | None
    url: str | None
    date_started: datetime | None
    date_finished: datetime
    project_ids: list[int]


@dataclass
class Release:
    id: int
    version: str
    project_ids: list[int]
    date_created: datetime
    ref: str | None = None
    url: str | None = None
    date_released: datetime | None = None
    date_started: datetime | None = None
    status: str = "open"
    owner: str | None = None
    commits: list[Commit] = field(default_factory=list)
    refs: list[dict[str, Any]] = field(default_factory=list)
    user_agent: str | None = None
    # commit fetch in progress (Sentry's set_commits lock): what lands, and when (time.time())
    pending_commits: list[Commit] | None = None
    pending_refs: list[dict[str, Any]] = field(default_factory=list)
    processing_until: float = 0.0


@dataclass
class EmulatorState:
    """All mutable emulator data, guarded by ``lock``."""

    organization_slug: str
    organization_id: int = 1
    lock: threading.RLock = field(default_factory=threading.RLock)
    projects: list[Project] = field(default_factory=list)
    issues: dict[int, Issue] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    releases: dict[str, Release] = field(default_factory=dict)
    deploys: list[Deploy] = field(default_factory=list)
    repos: list[Repo] = field(default_factory=list)
    crons: CronBook = field(default_factory=CronBook)  # monitors and check-ins (testing/monitors.py)
    sessions: SessionStore = field(default_factory=SessionStore)  # release health (testing/session_store.py)
    date_created: datetime = field(default_factory=now_utc)
    commit_processing_seconds: float = 0.0  # how long a refs fetch holds the release's commit lock
    _next_issue_id: int = 1000001
    _next_release_id: int = 1
    _next_deploy_id: int = 1
    _next_repo_id: int = 1

    def add_project(self, slug: str, *, name: str | None = None, platform: str | None = "python") -> Project:
        with self.lock:
            project = Project(
                id=len(self.projects) + 2,
                slug=slug,
                name=name or slug,
                platform=platform,
                public_key=secrets.token_hex(16),
                date_created=self.date_created,
            )
            self.projects.append(project)
            return project

    def add_repo(self, name: str, *, provider: str = "integrations:github", url: str | None = None) -> Repo:
        with self.lock:
            repo = Repo(self._next_repo_id, name, provider, url or f"https://github.com/{name}", now_utc())
            self._next_repo_id += 1
            self.repos.append(repo)
            return repo

    def project_by_slug(self, slug: str) -> Project | None:
        return next((p for p in self.projects if p.slug == slug), None)

    def project_by_id(self, project_id: int) -> Project | None:
        return next((p for p in self.projects if p.id == project_id), None)

    def project_by_id_or_slug(self, value: str | int) -> Project | None:
        text = str(value)
        if text.isdigit():
            found = self.project_by_id(int(text))
            if found is not None:
                return found
        return self.project_by_slug(text)

    def new_issue_id(self) -> int:
        with self.lock:
            issue_id = self._next_issue_id
            self._next_issue_id += 1
            return issue_id

    def new_short_id(self, project: Project) -> str:
        with self.lock:
            number = project.next_short_id
            project.next_short_id += 1
            return f"{project.slug.upper()}-{base32_encode(number)}"

    def new_release_id(self) -> int:
        with self.lock:
            value = self._next_release_id
            self._next_release_id += 1
            return value

    def new_deploy_id(self) -> int:
        with self.lock:
            value = self._next_deploy_id
            self._next_deploy_id += 1
            return value

    def visible_issues(self) -> list[Issue]:
        now = time.time()
        with self.lock:
            return [issue for issue in self.issues.values() if issue.visible(now)]
