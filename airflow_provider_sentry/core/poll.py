"""THE new-issues state machine: which request a poke sends next, and the state it leaves behind.

Every driver runs it the same way (the sensor in poke and reschedule mode with the sync hook,
the trigger with the async hook, an asset watcher)::

    poll = IssuePoll(spec, stored_json, now=time.time(), run_key=...)
    while (request := poll.next_request()) is not None:
        poll.receive(get_page(request.path, params=request.params, cursor=request.cursor))
    outcome = poll.outcome()   # issues to deliver + the new state to commit (core/commit.py)

How it reads Sentry (``GET organizations/{org}/issues/?sort=new&project=...``; reference §11-§13):

- ``sort=new`` scores are first-seen epoch ms at one-second granularity, rows newest first.
- A poll walks DOWN with *next* cursors, from the top (no cursor) or from a score of its own
  (``V:0:0`` = the rows with score ``<= V``), until it reads a row at or below ``low_ms`` or the
  last page. Next cursors are exact in every organisation. *Previous* cursors are not: past
  ``snuba.search.max-pre-snuba-candidates`` (5,000 issues) Sentry post-filters chunks sorted from
  the top, so a previous cursor far below the newest rows returns the bottom of the newest chunk
  and skips the rows just above the cursor.
- ``low_ms`` trails the newest delivered score by the overlap window (``overlap_ms``, 5 min):
  the re-read catches same-second ties and issues indexed late; ids in ``state.seen`` are
  skipped. The whole window is kept: ``seen`` holds every delivered id above ``low_ms``, up to
  ``MAX_SEEN`` (1,000). So an idle poke costs ``ceil((k + 1) / 100)`` requests for ``k``
  delivered issues inside the window: 1 request in steady state (``k < 100``).
- A backlog larger than ``max_issues`` is delivered oldest first, ``max_issues`` per poke; the
  first walk records ``hints`` (the score where each next slice ends), so later pokes read only
  their slice instead of the whole backlog.
- Without ``projects`` the poll sends ``project=-1`` (all projects the token can see): with no
  ``project`` Sentry searches only the projects the token's user is a member of.

Where the cursor advances: :meth:`IssuePoll._advance` (after a poll) and
:meth:`IssuePoll._baseline_state` (the first poke of a watch). Nowhere else. The state is
committed by ``core/commit.py``, which also reconciles runs that polled the same watch at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
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
    SentryQueryTimeoutError,
    SentryRateLimitError,
    SentryRetryBudgetExceeded,
    SentryServerError,
    SentryTransportError,
    SentryUnexpectedResponseError,
)

PAGE_SIZE = 100
#: the most delivered ids kept inside the overlap window (bounds the state: about 30 KB).
MAX_SEEN = 1000
#: the most batches kept for re-delivery to a retried task run (ids only).
MAX_BATCHES = 8
#: the most slice boundaries kept for a backlog.
MAX_HINTS = 100
#: a walk longer than this many pages means the server does not move forward: a typed error, not a loop.
MAX_POLL_PAGES = 2000
#: ids per ``group=`` request when a batch is re-read for a retried run (keeps the URL short).
REPLAY_CHUNK = 100
# Drop the per-issue timeline stats and counters from the answer: a poll never reads them.
ISSUE_COLLAPSE = ("stats", "lifetime", "filtered", "unhandled")
# Failures worth trying again at the next poke: nothing was committed, so nothing is lost.
# A Snuba timeout (a 400 with Sentry's "Query timeout" message) is one of them.
TRANSIENT_ERRORS: tuple[type[SentryError], ...] = (
    SentryServerError,
    SentryQueryTimeoutError,
    SentryRateLimitError,
    SentryTransportError,
    SentryRetryBudgetExceeded,
)


@dataclass(frozen=True)
class PageRequest:
    """A GET to send (``get_page(path, params=params, cursor=cursor)``); ``purpose`` is ``projects``,
    ``baseline``, ``poll`` or ``replay`` (for logs)."""

    purpose: str
    path: str
    params: tuple[tuple[str, str], ...]
    cursor: str | None = None


@dataclass(frozen=True)
class PollOutcome:
    """What a poke found: the ``issues`` to hand over and the ``state`` to commit first (when
    ``changed``), through ``core/commit.py`` so that overlapping runs do not deliver twice."""

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


def first_seen_query(query: str, above_ms: int) -> str:
    """``query`` restricted to issues whose ``sort=new`` score is above ``above_ms``.

    ``firstSeen`` is a Postgres pre-filter in Sentry's search (``ScalarCondition("first_seen")``), so
    the candidates are the recent issues only: a few, far below the 5,000 past which Sentry pages in
    post-filtered chunks, even in a large organisation.
    """
    second = above_ms // 1000 + 1  # score > above_ms  <=>  first seen at or after this whole second
    moment = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{query} firstSeen:>={moment}".strip()


class IssuePoll:
    """One poke of a new-issues watch, as a sans-I/O state machine.

    :param spec: the search being watched.
    :param stored: the JSON state from the store, or ``None`` for a first watch.
    :param now: the caller's clock (epoch seconds); used only for a baseline with no issue.
    :param since: epoch seconds; with no usable state, deliver issues first seen from then on
        instead of recording a baseline.
    :param run_key: identifies the task run receiving the batch; a state that already holds a
        batch for the same run key re-delivers it (a retry after a kill post-commit).
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
        max_issues: int = 100,
        overlap_ms: int = DEFAULT_OVERLAP_MS,
    ) -> None:
        if not 1 <= max_issues <= MAX_ISSUES_LIMIT:
            raise SentryInputError("max_issues", f"must be between 1 and {MAX_ISSUES_LIMIT}, got {max_issues!r}")
        if isinstance(overlap_ms, bool) or not isinstance(overlap_ms, int) or overlap_ms < 0:
            raise SentryInputError("overlap", f"must be a non-negative number of milliseconds, got {overlap_ms!r}")
        self.spec = spec
        self.now_ms = math.floor(now) * 1000
        self.since = since
        self.run_key = run_key
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
        self._top: int | None = None
        self._pages = 0
        self._cursors: set[str] = set()
        self._replay_ids: list[str] = []
        self._replay_pending: list[str] = []
        self._replayed: dict[str, dict[str, Any]] = {}
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
        elif request.purpose == "replay":
            self._receive_replay(page)
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
        batch = state.batch_for(self.run_key) if state is not None else None
        if batch is not None:
            self._replay_ids = list(batch.ids)
            if not self._replay_ids:
                self._finish_replay()
                return
        if self._project_ids is None:
            if needs_project_lookup(self.spec.projects):
                self._request_projects(None)
                return
            self._project_ids = self.spec.projects
        self._after_projects()

    def _after_projects(self) -> None:
        if self._replay_ids:
            self._request_replay()
            return
        if self._state is None and self.since is None:
            above = self.now_ms - self.overlap_ms - 1  # the window a baseline remembers; nothing older matters
            self._pending = PageRequest("baseline", self._issues_path, self._issue_params(above))
            return
        if self._state is None:
            assert self.since is not None and self._project_ids is not None
            low = math.floor(self.since) * 1000 - 1
            self._state = WatchState(self.spec.fingerprint, low, low, self._project_ids)
        self._top = self._state.hints[0] if self._state.hints else None
        self._request_poll(None if self._top is None else f"{self._top}:0:0")

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

    def _project_params(self) -> list[tuple[str, str]]:
        # No ``project`` would mean "the projects the token's user is a member of"; -1 means all it can see.
        return [("project", pid) for pid in self._project_ids or ()] or [("project", "-1")]

    def _issue_params(self, above_ms: int) -> tuple[tuple[str, str], ...]:
        params = [("query", first_seen_query(self.spec.query, above_ms)), ("sort", "new"), ("limit", str(PAGE_SIZE))]
        params += [("collapse", value) for value in ISSUE_COLLAPSE]
        params += self._project_params()
        params += [("environment", env) for env in self.spec.environments]
        return tuple(params)

    # -- replay: a retried task run gets its own batch again -------------------------------
    def _request_replay(self) -> None:
        chunk = [i for i in self._replay_ids if i not in self._replayed][:REPLAY_CHUNK]
        params = [("group", issue_id) for issue_id in chunk]
        params += [("collapse", value) for value in ISSUE_COLLAPSE]
        params += self._project_params()
        self._replay_pending = chunk
        self._pending = PageRequest("replay", self._issues_path, tuple(params))

    def _receive_replay(self, page: Page) -> None:
        for item in page.items:
            if isinstance(item, Mapping) and "id" in item:
                self._replayed[str(item["id"])] = trim_issue(item)
        for issue_id in self._replay_pending:  # deleted since: nothing to re-deliver for it
            self._replayed.setdefault(issue_id, {})
        if any(i not in self._replayed for i in self._replay_ids):
            self._request_replay()
            return
        self._finish_replay()

    def _finish_replay(self) -> None:
        assert self._state is not None
        issues = [self._replayed[i] for i in self._replay_ids if self._replayed.get(i)]
        if len(issues) < len(self._replay_ids):
            self.notes.append(f"{len(self._replay_ids) - len(issues)} issue(s) of the batch no longer exist")
        self._finish(PollOutcome("replay", issues, self._state, False, self.requests))

    # -- poll: walk down from the top (or a hint) to low_ms -------------------------------------
    def _request_poll(self, cursor: str | None) -> None:
        self._pages += 1
        if cursor is not None:
            self._cursors.add(cursor)
        assert self._state is not None
        self._pending = PageRequest("poll", self._issues_path, self._issue_params(self._state.low_ms), cursor)

    def _receive_poll(self, page: Page) -> None:
        assert self._state is not None
        low, seen = self._state.low_ms, self._state.seen
        reached_low = False
        for item in page.items:
            issue_id = str(item_field(item, "id"))
            score = issue_score(item)
            if score <= low:
                reached_low = True
                continue
            if self._top is not None and score > self._top:
                continue  # a server that ignores the cursor: never deliver outside the slice we read
            if issue_id not in seen and issue_id not in self._found:
                self._found[issue_id] = (score, trim_issue(item))
        cursor = page.next_cursor
        if reached_low or not page.items or not page.has_next or cursor is None:
            self._advance()
            return
        text = str(cursor)
        if cursor.is_prev or text in self._cursors or self._pages >= MAX_POLL_PAGES:
            raise SentryError(
                f"Sentry's issue search did not move forward (next cursor {text!r} after {self._pages} page(s)); "
                "nothing was committed"
            )
        self._request_poll(text)

    # -- the two places the cursor moves -----------------------------------------------------
    def _advance(self) -> None:
        """After a poll: deliver the oldest new issues and move ``low_ms`` / ``seen`` past them.

        Everything in ``(low_ms, top]`` was read, so ``low_ms`` may rise to just below the oldest
        issue not delivered (or to ``top``), and no further than the overlap window allows.
        """
        state = self._state
        assert state is not None
        old_hints = state.hints[1:] if self._top is not None else state.hints
        found = sorted(self._found.items(), key=lambda kv: issue_order(kv[1][0], kv[0]))
        delivered, rest = found[: self.max_issues], found[self.max_issues :]
        if not delivered:
            if self._top is not None:  # the slice is empty now: read above it next time
                new_state = replace(state, hints=old_hints)
                self._finish(PollOutcome("poll", [], new_state, True, self.requests))
                return
            self._finish(PollOutcome("poll", [], state, state is not self._initial, self.requests))
            return
        ceiling: int | None = rest[0][1][0] - 1 if rest else self._top
        watermark = max(state.watermark_ms, delivered[-1][1][0])
        target = watermark - self.overlap_ms
        low = max(state.low_ms, target if ceiling is None else min(target, ceiling))
        seen = dict(state.seen)
        seen.update((issue_id, score) for issue_id, (score, _) in delivered)
        low, seen = self._bounded(low, seen, ceiling)
        step = max(self.max_issues, PAGE_SIZE)  # a slice is at least a page: cheap for any later max_issues
        boundaries = [rest[i][1][0] for i in range(step - 1, len(rest), step)]
        hints = tuple(sorted({h for h in (*boundaries, *old_hints) if h > low}))[:MAX_HINTS]
        issues = [issue for _, (_, issue) in delivered]
        batches = state.batches
        if self.run_key:
            mine = DeliveredBatch(self.run_key, tuple(issue_id for issue_id, _ in delivered))
            batches = (*[b for b in batches if b.run_key != self.run_key], mine)[-MAX_BATCHES:]
        new_state = replace(state, low_ms=low, watermark_ms=watermark, seen=seen, batches=batches, hints=hints)
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
        low, seen = self._bounded(low, dict(scored), None)
        return WatchState(self.spec.fingerprint, low, watermark, self._project_ids, seen)

    def _bounded(self, low: int, seen: dict[str, int], ceiling: int | None) -> tuple[int, dict[str, int]]:
        """Keep ids above ``low``, at most ``MAX_SEEN`` of them, raising ``low`` (never past ``ceiling``)."""
        kept = {issue_id: score for issue_id, score in seen.items() if score > low}
        if len(kept) > MAX_SEEN:
            ordered = sorted(kept.items(), key=lambda kv: issue_order(kv[1], kv[0]))
            cut = ordered[len(ordered) - MAX_SEEN - 1][1]
            if ceiling is not None:
                cut = min(cut, ceiling)
            if cut > low:
                self.notes.append(
                    f"more than {MAX_SEEN} issues were delivered inside the overlap window; it now re-reads "
                    f"only {max(0, self._state_watermark(seen) - cut) // 1000}s (issues indexed later than that "
                    "behind the newest delivered one are not delivered)"
                )
                low = cut
                kept = {issue_id: score for issue_id, score in kept.items() if score > low}
        return low, kept

    @staticmethod
    def _state_watermark(seen: Mapping[str, int]) -> int:
        return max(seen.values(), default=0)

    def _finish(self, outcome: PollOutcome) -> None:
        self._pending = None
        self._outcome = PollOutcome(
            outcome.kind, outcome.issues, outcome.state, outcome.changed, outcome.requests, tuple(self.notes)
        )
