"""A tiny pure model of Sentry's ``GET organizations/{org}/issues/?sort=new`` for core unit tests.

Implements what the poller relies on (reference §2.4 + Corrections): rows ordered by (score, id)
descending, ``SequencePaginator(reverse=True)`` cursors, the executor's ``prev.has_results``
override, and ``empty_result`` (``0:0:1``) when no row at or above a previous cursor matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from airflow_provider_sentry.core.cursor import Cursor
from airflow_provider_sentry.core.headers import Headers
from airflow_provider_sentry.core.link_header import PageLink
from airflow_provider_sentry.core.page import Page

LIMIT = 100


@dataclass
class ModelIssue:
    id: str
    first_seen: int  # epoch seconds
    visible: bool = True

    @property
    def score(self) -> int:
        return self.first_seen * 1000

    def as_json(self) -> dict[str, Any]:
        iso = datetime.fromtimestamp(self.first_seen, UTC).isoformat().replace("+00:00", "Z")
        return {
            "id": self.id,
            "shortId": f"BACKEND-{self.id}",
            "title": f"Error {self.id}",
            "culprit": "app.main",
            "level": "error",
            "status": "unresolved",
            "firstSeen": iso,
            "permalink": f"https://sentry.example/issues/{self.id}/",
            "project": {"id": "2", "slug": "backend"},
            "stats": {"24h": [[0, 1]] * 24},
        }


@dataclass
class SentryModel:
    issues: list[ModelIssue] = field(default_factory=list)
    requests: list[tuple[tuple[str, str], ...]] = field(default_factory=list)
    next_id: int = 1000

    def add(self, first_seen: int, *, visible: bool = True) -> ModelIssue:
        self.next_id += 1
        issue = ModelIssue(str(self.next_id), first_seen, visible)
        self.issues.append(issue)
        return issue

    def answer(self, path: str, params: tuple[tuple[str, str], ...], cursor: str | None = None) -> Page:
        assert "cursor" not in dict(params)
        if cursor is not None:
            params = (*params, ("cursor", cursor))
        self.requests.append(params)
        assert path.endswith("/issues/"), path
        wanted = [value for key, value in params if key == "group"]
        if wanted:  # ``group=<id>``: exactly those issues (Postgres: indexing lag does not hide them), no Link
            found = [i.as_json() for i in self.issues if i.id in wanted]
            return Page(items=found, previous=None, next=None, headers=Headers())
        query = dict(params)
        assert query["sort"] == "new" and query["query"]
        rows = sorted((i for i in self.issues if i.visible), key=lambda i: (i.score, int(i.id)), reverse=True)
        floor = re.search(r"firstSeen:>=(\S+)", query["query"])
        if floor:  # a Postgres pre-filter in Sentry: rows first seen before it do not exist for this search
            since = datetime.fromisoformat(floor.group(1)).replace(tzinfo=UTC).timestamp()
            rows = [r for r in rows if r.first_seen >= since]
        cursor = Cursor.parse(query["cursor"]) if "cursor" in query else None
        if cursor is not None and cursor.is_prev:
            rows = [r for r in rows if r.score >= cursor.value]
            if not rows:  # empty_result
                return _page([], Cursor(0, 0, True), False, Cursor(0, 0, False), False)
        scores = [r.score for r in rows]

        def search(value: float, hi: int | None = None) -> int:
            lo, hi = 0, len(scores) if hi is None else hi
            while lo < hi:
                mid = (lo + hi) // 2
                if scores[mid] > value:
                    lo = mid + 1
                else:
                    hi = mid
            return lo

        if cursor is None:
            cursor = Cursor(0, 0, False)
        position = (len(scores) if cursor.is_prev else 0) if cursor.value == 0 else search(cursor.value)
        position += cursor.offset
        if cursor.is_prev:
            hi = min(position, len(scores))
            lo = max(hi - LIMIT, 0)
        else:
            lo = max(position, 0)
            hi = min(lo + LIMIT, len(scores))
        if not scores:
            return _page([], Cursor(cursor.value, cursor.offset, True), False, cursor, False)
        prev_score = scores[min(lo, len(scores) - 1)]
        prev = Cursor(prev_score, lo - search(prev_score, hi=lo), True)
        prev_results = lo > 0
        next_score = scores[min(hi, len(scores) - 1)]
        nxt = Cursor(next_score, hi - search(next_score, hi=hi), False)
        results = rows[lo:hi]
        if "cursor" in query and (not cursor.is_prev or results):
            prev_results = True  # the executor's override
        return _page([r.as_json() for r in results], prev, prev_results, nxt, hi < len(scores))


def _page(items: list[Any], prev: Cursor, prev_results: bool, nxt: Cursor, next_results: bool) -> Page:
    return Page(
        items=items,
        previous=PageLink("previous", "", prev, prev_results),
        next=PageLink("next", "", nxt, next_results),
        headers=Headers(),
    )
