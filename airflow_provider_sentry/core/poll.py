"""THE new-issues state machine: which request a poke sends next, and the state it leaves behind.

Every driver runs it the same way (the sensor in poke and reschedule mode with the sync hook,
the trigger with the async hook)::

    poll = IssuePoll(spec, stored_json, now=time.time(), run_key=...)
    while (request := poll.next_request()) is not None:
        poll.receive(get_page(request.path, params=request.params, cursor=request.cursor))
    outcome = poll.outcome()   # issues to deliver + the new state to commit

How it reads Sentry (``GET organizations/{org}/issues/?sort=new``; reference §2.4/§2.5):

- ``sort=new`` scores are first-seen epoch ms at one-second granularity. A *previous*
  cursor ``V:0:1`` returns the (up to) 100 rows with score ``> V`` just above ``V``, newest first,
  and its own ``rel="previous"`` cursor continues upwards. Sentry says ``results="true"``
  whenever rows came back, so following that flag always costs an extra empty call.
- So a poll sends ``cursor=<low_ms>:0:1``, where ``low_ms`` trails the newest delivered score by
  an overlap window: the re-read catches issues first seen in the same second as the watermark
  and issues indexed late; ids in ``state.seen`` are skipped. A short page means "nothing above":
  stop there. A full page: follow its previous cursor.
- The cursor is rebuilt from our own ``low_ms`` every poke; we never store Sentry's cursor,
  because an empty answer can carry ``0:0:1`` (``empty_result``), which would replay the
  oldest page.
- ``state.seen`` holds at most ``MAX_SEEN`` (99) ids, so the re-read of an idle poll fits in one
  page: an idle poke is 1 request, and N new issues cost at most ``ceil(N/100) + 1``.

Where the cursor advances: :meth:`IssuePoll._advance` (after a poll) and
:meth:`IssuePoll._baseline_state` (the first poke of a watch). Nowhere else.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airflow_provider_sentry.core.api_urls import api_path
from airflow_provider_sentry.core.issue_updates import needs_project_lookup, project_ids_for
from airflow_provider_sentry.core.page import Page, PageTrail, item_field
from airflow_provider_sentry.core.watch import DeliveredBatch, WatchSpec, WatchState, issue_order
from airflow_provider_sentry.defaults import DEFAULT_OVERLAP_MS as DEFAULT_OVERLAP_MS  # re-exported for drivers
from airflow_provider_sentry.defaults import MAX_ISSUES_LIMIT
from airflow_provider_sentry.exceptions import (
    SentryError,
    SentryInputError,
    SentryRateLimitError,
    SentryRetryBudgetExceeded,
    SentryServerError,
    SentryTransportError,
    SentryUnexpectedResponseError,
)

PAGE_SIZE = 100
MAX_SEEN = PAGE_SIZE - 1
# Drop the per-issue timeline stats and counters from the answer: a poll never reads them.
ISSUE_COLLAPSE = ("stats", "lifetime", "filtered", "unhandled")
# Failures worth trying again at the next poke: nothing was committed, so nothing is lost.
TRANSIENT_ERRORS: tuple[type[SentryError], ...] = (
    SentryServerError,
    SentryRateLimitError,
    SentryTransportError,
    SentryRetryBudgetExceeded,
)


@dataclass(frozen=True)
class PageRequest:
    """A GET to send (``get_page(path, params=params, cursor=cursor)``); ``purpose`` is ``projects``,
    ``baseline`` or ``poll`` (for logs)."""

    purpose: str
    path: str
    params: tuple[tuple[str, str], ...]
    cursor: str | None = None


@dataclass(frozen=True)
class PollOutcome:
    """What a poke found. Commit ``state`` (when ``changed``) only after handing ``issues`` over."""

    kind: str  # "replay" | "baseline" | "poll"
    issues: list[dict[str, Any]]
    state: WatchState
    changed: bool
    requests: int
    notes: tuple[str, ...] = field(default=())


def issue_score(issue: Mapping[str, Any]) -> int:
    """Sentry's ``sort=new`` score of an issue: ``firstSeen`` as epoch ms, floored to the second."""
    try:
        first_seen = datetime.fromisoformat(str(item_field(issue, "firstSeen")))
    except ValueError as exc:
        raise SentryUnexpectedResponseError(
            f"Sentry returned an issue without a usable firstSeen: {exc!r}", status=200
        ) from None
    return math.floor(first_seen.timestamp()) * 1000


def trim_issue(issue: Mapping[str, Any]) -> dict[str, Any]:
    """The small, JSON-safe part of an issue that goes to XCom."""
    project = issue.get("project") or {}
    return {
        "id": str(issue["id"]),
        "shortId": issue.get("shortId"),
        "title": issue.get("title"),
        "culprit": issue.get("culprit"),
        "level": issue.get("level"),
        "status": issue.get("status"),
        "firstSeen": issue.get("firstSeen"),
        "permalink": issue.get("permalink"),
        "project": project.get("slug") if isinstance(project, Mapping) else project,
        "projectId": str(project.get("id")) if isinstance(project, Mapping) and project.get("id") else None,
    }


class IssuePoll:
    """One poke of a new-issues watch, as a sans-I/O state machine.

    :param spec: the search being watched.
    :param stored: the JSON state from the store, or ``None`` for a first watch.
    :param now: the caller's clock (epoch seconds); used only for a baseline with no issue.
    :param since: epoch seconds; with no usable state, deliver issues first seen from then on
        instead of recording a baseline.
    :param run_key: identifies the task run receiving the batch; a state whose last batch went
        to the same run key is replayed (a retry after a kill post-commit).
    :param max_issues: deliver at most this many (oldest first); the rest wait for the next poke.
    :param overlap_ms: how far below the newest delivered score each poll re-reads.
    """

    def __init__(
        self,
        spec: WatchSpec,
        stored: Mapping[str, Any] | None,
        *,
        now: float,
        since: float | None = None,
        run_key: str | None = None,
        try_number: int | None = None,
        max_issues: int = 100,
        overlap_ms: int = DEFAULT_OVERLAP_MS,
    ) -> None:
        if not 1 <= max_issues <= MAX_ISSUES_LIMIT:
            raise SentryInputError("max_issues", f"must be between 1 and {MAX_ISSUES_LIMIT}, got {max_issues!r}")
        self.spec = spec
        self.now_ms = math.floor(now) * 1000
        self.since = since
        self.run_key = run_key
        self.try_number = try_number
        self.max_issues = max_issues
        self.overlap_ms = overlap_ms
        self.notes: list[str] = []
        self.requests = 0
        self._state = self._usable_state(stored)
        self._initial = self._state
        self._project_ids: tuple[str, ...] | None = self._state.project_ids if self._state else None
        self._projects_listed: list[Mapping[str, Any]] = []
        self._project_trail = PageTrail(f"the projects of {spec.organization!r}")
        self._pending: PageRequest | None = None
        self._outcome: PollOutcome | None = None
        # poll bookkeeping
        self._found: dict[str, tuple[int, dict[str, Any]]] = {}
        self._max_read: int | None = None
        self._pages = 0
        self._more = False
        self._start()

    # -- the driver's interface ------------------------------------------------------------
    def next_request(self) -> PageRequest | None:
        """The next GET to send, or ``None`` when :meth:`outcome` is ready."""
        if self._pending is not None:
            self.requests += 1
        return self._pending

    def receive(self, page: Page) -> None:
        """Feed the answer to the request :meth:`next_request` returned."""
        request, self._pending = self._pending, None
        if request is None:
            raise RuntimeError("receive() called with no request outstanding")
        if request.purpose == "projects":
            self._receive_projects(page)
        elif request.purpose == "baseline":
            self._finish(PollOutcome("baseline", [], self._baseline_state(page), True, self.requests))
        else:
            self._receive_poll(page)

    def outcome(self) -> PollOutcome:
        if self._outcome is None:
            raise RuntimeError("the poll is not finished; send next_request() first")
        return self._outcome

    # -- phases ----------------------------------------------------------------------------
    def _usable_state(self, stored: Mapping[str, Any] | None) -> WatchState | None:
        if stored is None:
            return None
        try:
            state = WatchState.from_json(stored)
        except ValueError as exc:
            self.notes.append(f"the stored state is unusable ({exc}); starting a new watch")
            return None
        if state.fingerprint != self.spec.fingerprint:
            self.notes.append(
                "the organization, projects, environments or query changed since the state was stored; "
                "starting a new watch (issues between the old and the new watch are not delivered)"
            )
            return None
        return state

    def _start(self) -> None:
        state = self._state
        if state is not None and state.batch is not None and self.run_key and state.batch.run_key == self.run_key:
            issues = [dict(item) for item in state.batch.issues]
            self._finish(PollOutcome("replay", issues, state, False, 0))
            return
        if self._project_ids is None:
            if needs_project_lookup(self.spec.projects):
                self._request_projects(None)
                return
            self._project_ids = self.spec.projects
        self._after_projects()

    def _after_projects(self) -> None:
        if self._state is None and self.since is None:
            self._pending = PageRequest("baseline", self._issues_path, self._issue_params())
            return
        if self._state is None:
            assert self.since is not None and self._project_ids is not None
            low = math.floor(self.since) * 1000 - 1
            self._state = WatchState(self.spec.fingerprint, low, low, self._project_ids)
        self._request_poll(f"{self._state.low_ms}:0:1")

    def _request_projects(self, cursor: str | None) -> None:
        path = api_path("organizations", self.spec.organization, "projects")
        self._pending = PageRequest("projects", path, (("per_page", str(PAGE_SIZE)),), cursor)

    def _receive_projects(self, page: Page) -> None:
        self._projects_listed.extend(item for item in page.items if isinstance(item, Mapping))
        cursor = self._project_trail.next_cursor(page)  # raises if the listing never ends
        if cursor is not None:
            self._request_projects(str(cursor))
            return
        self._project_ids = tuple(project_ids_for(self.spec.projects, self._projects_listed))
        self._after_projects()

    @property
    def _issues_path(self) -> str:
        return api_path("organizations", self.spec.organization, "issues")

    def _issue_params(self) -> tuple[tuple[str, str], ...]:
        params = [("query", self.spec.query), ("sort", "new"), ("limit", str(PAGE_SIZE))]
        params += [("collapse", value) for value in ISSUE_COLLAPSE]
        params += [("project", pid) for pid in self._project_ids or ()]
        params += [("environment", env) for env in self.spec.environments]
        return tuple(params)

    def _request_poll(self, cursor: str) -> None:
        self._pages += 1
        self._pending = PageRequest("poll", self._issues_path, self._issue_params(), cursor)

    def _receive_poll(self, page: Page) -> None:
        assert self._state is not None
        seen = self._state.seen
        for item in page.items:
            issue_id = str(item_field(item, "id"))
            score = issue_score(item)
            self._max_read = score if self._max_read is None else max(self._max_read, score)
            if issue_id not in seen and issue_id not in self._found:
                self._found[issue_id] = (score, trim_issue(item))
        full = len(page.items) >= PAGE_SIZE
        if full and len(self._found) < self.max_issues and self._pages < self._page_cap():
            cursor = page.previous_cursor
            if cursor is not None and cursor.is_prev and cursor.value > self._state.low_ms:
                self._request_poll(str(cursor))
                return
        self._more = full  # a full last page: rows above it may not have been read
        self._advance()

    def _page_cap(self) -> int:
        assert self._state is not None
        return 2 + math.ceil((self.max_issues + len(self._state.seen)) / PAGE_SIZE)

    # -- the two places the cursor moves -----------------------------------------------------
    def _advance(self) -> None:
        """After a poll: deliver the oldest new issues and move ``low_ms`` / ``seen`` past them."""
        state = self._state
        assert state is not None
        found = sorted(self._found.items(), key=lambda kv: issue_order(kv[1][0], kv[0]))
        delivered, rest = found[: self.max_issues], found[self.max_issues :]
        if not delivered:
            self._finish(PollOutcome("poll", [], state, state is not self._initial, self.requests))
            return
        # The lowest score that may still hold an undelivered issue: low_ms must stay below it.
        unsettled = [score for _, (score, _) in rest]
        if self._more and self._max_read is not None:
            unsettled.append(self._max_read)
        ceiling = min(unsettled) - 1 if unsettled else None
        watermark = max(state.watermark_ms, delivered[-1][1][0])
        target = watermark - self.overlap_ms
        low = max(state.low_ms, target if ceiling is None else min(target, ceiling))
        seen = dict(state.seen)
        seen.update((issue_id, score) for issue_id, (score, _) in delivered)
        low, seen = _bounded(low, seen, ceiling)
        issues = [issue for _, (_, issue) in delivered]
        batch = DeliveredBatch(self.run_key, tuple(issues), self.try_number) if self.run_key else None
        new_state = WatchState(state.fingerprint, low, watermark, state.project_ids, seen, batch)
        self._finish(PollOutcome("poll", issues, new_state, True, self.requests))

    def _baseline_state(self, page: Page) -> WatchState:
        """The first poke: remember what exists so only issues arriving from now on are delivered."""
        assert self._project_ids is not None
        scored = [(str(item_field(item, "id")), issue_score(item)) for item in page.items]
        newest = max((score for _, score in scored), default=0)
        watermark = max(newest, self.now_ms)
        low = watermark - self.overlap_ms
        if len(page.items) >= PAGE_SIZE:  # older rows in the window were not read: settle them
            low = max(low, min(score for _, score in scored))
        low, seen = _bounded(low, dict(scored), None)
        return WatchState(self.spec.fingerprint, low, watermark, self._project_ids, seen)

    def _finish(self, outcome: PollOutcome) -> None:
        self._pending = None
        self._outcome = PollOutcome(
            outcome.kind, outcome.issues, outcome.state, outcome.changed, outcome.requests, tuple(self.notes)
        )


def _bounded(low: int, seen: dict[str, int], ceiling: int | None) -> tuple[int, dict[str, int]]:
    """Keep ids above ``low``, at most ``MAX_SEEN`` of them, raising ``low`` (never past ``ceiling``)."""
    kept = {issue_id: score for issue_id, score in seen.items() if score > low}
    if len(kept) > MAX_SEEN:
        ordered = sorted(kept.items(), key=lambda kv: issue_order(kv[1], kv[0]))
        cut = ordered[len(ordered) - MAX_SEEN - 1][1]
        if ceiling is not None:
            cut = min(cut, ceiling)
        if cut > low:
            low = cut
            kept = {issue_id: score for issue_id, score in kept.items() if score > low}
    return low, kept
