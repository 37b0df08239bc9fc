"""Issues: search like Sentry's ``PostgresSnubaQueryExecutor.query``, serialization, and bulk mutation.

Sources: getsentry/sentry ``src/sentry/search/snuba/executors.py`` (candidate/empty-result/has_results rules),
``src/sentry/api/helpers/group_index/update.py`` (``update_groups``, ``update_groups_with_search_fn``),
``src/sentry/api/serializers/models/group.py`` and the OpenAPI issue schema (field names and types).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from airflow_provider_sentry.testing.paginator import (
    Cursor,
    CursorResult,
    datetime_paginate_desc,
    empty_result,
    sequence_paginate,
)
from airflow_provider_sentry.testing.search import ParsedQuery, filter_predicate, text_predicate
from airflow_provider_sentry.testing.state import EmulatorState, Issue, Project, iso

DEFAULT_QUERY = "is:unresolved issue.priority:[high, medium]"
SORTS = ("date", "new", "freq", "user", "trends", "recommended", "inbox")
ALLOWED_FUTURE_DELTA = timedelta(minutes=1)
RETENTION = timedelta(days=90)
BULK_MUTATION_LIMIT = 1000
STATUS_UPDATE_CHOICES = ("resolved", "unresolved", "ignored", "resolvedInNextRelease", "muted")
SUBSTATUS_UPDATE_CHOICES = {
    "archived_until_escalating": "archived_until_escalating",
    "until_escalating": "archived_until_escalating",
    "escalating": "escalating",
    "ongoing": "ongoing",
    "regressed": "regressed",
    "new": "new",
    "forever": "archived_forever",
    "archived_forever": "archived_forever",
    "until_condition_met": "archived_until_condition_met",
    "archived_until_condition_met": "archived_until_condition_met",
}
PRIORITY_BY_LEVEL = {"fatal": "high", "error": "high", "warning": "medium", "info": "low", "debug": "low"}
EMULATOR_USER: dict[str, Any] = {
    "id": "1",
    "name": "Emulator User",
    "username": "emulator",
    "email": "emulator@example.com",
}
EMULATOR_TEAM: dict[str, Any] = {"id": "1", "name": "backend-team", "slug": "backend-team"}


class ApiError(Exception):
    """An HTTP error answer: ``status`` and the JSON ``body`` Sentry sends."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


def score_of(issue: Issue, sort: str) -> int:
    """Snuba's sort aggregates: epoch ms at one-second granularity for dates, counts otherwise."""
    if sort == "new":
        return int(issue.first_seen.timestamp()) * 1000
    if sort == "freq":
        return issue.times_seen
    if sort == "user":
        return issue.user_count
    return int(issue.last_seen.timestamp()) * 1000


@dataclass
class IssueSearch:
    """One issue-list request, already validated.

    ``max_candidates`` is ``snuba.search.max-pre-snuba-candidates`` (5,000), ``chunk_growth`` and
    ``max_chunk_size`` are ``snuba.search.chunk-growth-rate`` (1.5) and ``snuba.search.max-chunk-size`` (2,000).
    """

    project_ids: Sequence[int]
    environments: Sequence[str]
    query: ParsedQuery
    sort: str
    start: datetime
    end: datetime
    limit: int
    cursor: Cursor | None
    project_endpoint: bool = False
    max_limit: int = 100
    max_candidates: int = 5000
    chunk_growth: float = 1.5
    max_chunk_size: int = 2000


def search_issues(
    state: EmulatorState, search: IssueSearch, *, now: datetime, empty_result_mode: str = "empty_result"
) -> CursorResult[Issue]:
    """Reproduce ``PostgresSnubaQueryExecutor.query`` over the emulator's issues.

    Above ``max_candidates`` Postgres matches (or in ``echo`` mode) no candidates go to Snuba: Snuba sorts every
    group of the projects that passes its own filters and the cursor's ``HAVING``, ``ORDER BY -score, group_id``,
    in chunks of ``limit * 1.5`` growing by 1.5 up to ``max_chunk_size``; each chunk is post-filtered by the
    Postgres predicates and the ``SequencePaginator`` runs over the rows gathered so far, stopping at the first
    full page. A previous cursor far below the newest rows therefore pages inside the newest chunk.
    """
    if search.start >= search.end:
        return empty_result()
    latest = latest_release_getter(state)
    pg_preds = [filter_predicate(f, now, latest) for f in search.query.postgres_filters]
    snuba_preds = [filter_predicate(f, now, latest) for f in search.query.snuba_filters]
    if search.query.text:
        snuba_preds.append(text_predicate(search.query.text))
    with state.lock:
        in_projects = [i for i in state.visible_issues() if i.project_id in search.project_ids]

    def postgres_ok(issue: Issue) -> bool:
        return all(pred(issue) for pred in pg_preds)

    def snuba_ok(issue: Issue) -> bool:
        if issue.last_seen < search.start or issue.first_seen > search.end:
            return False
        if search.environments and not set(search.environments) & set(issue.environments):
            return False
        return all(pred(issue) for pred in snuba_preds)

    cursor = search.cursor

    def having(issue: Issue) -> bool:
        if cursor is None:
            return True
        score = score_of(issue, search.sort)
        return score >= cursor.value if cursor.is_prev else score <= cursor.value

    # group_queryset.values_list("id")[: max_candidates + 1]
    candidates = sorted((i for i in in_projects if postgres_ok(i)), key=lambda i: i.id)[: search.max_candidates + 1]
    if not candidates:
        return empty_result()
    too_many_candidates = len(candidates) > search.max_candidates

    if (
        search.project_endpoint
        and cursor is None
        and search.sort == "date"
        and not snuba_preds
        and not search.environments
    ):
        # Postgres-only first page: DateTimePaginator(-last_seen), sub-second ms cursors, counted hits.
        rows = [i for i in in_projects if postgres_ok(i) and search.start <= i.last_seen <= search.end]
        rows.sort(key=lambda i: (i.last_seen, i.id), reverse=True)
        return datetime_paginate_desc(rows, lambda i: i.last_seen.timestamp(), search.limit, max_limit=search.max_limit)

    # calculate_hits samples the whole query, without the cursor (exact below the sample size).
    hits: int | None = None
    if cursor is not None or too_many_candidates:
        hits = sum(1 for i in in_projects if snuba_ok(i) and postgres_ok(i))
        if hits == 0:
            return empty_result()
    post_filter = too_many_candidates or empty_result_mode == "echo"
    pool = in_projects if post_filter else candidates
    # Snuba: HAVING <cursor>, ORDER BY -score, group_id
    snuba_rows = sorted((i for i in pool if snuba_ok(i) and having(i)), key=lambda i: (-score_of(i, search.sort), i.id))
    total = len(snuba_rows)
    limit = min(search.limit, search.max_limit)
    result: CursorResult[Any] = empty_result()
    more_results = False
    if not post_filter:
        # candidates went to Snuba: one query, exact
        more_results = total >= limit and limit < total
        if snuba_rows:
            result = sequence_paginate(
                [(score_of(i, search.sort), i.id) for i in snuba_rows],
                search.limit,
                cursor,
                max_limit=search.max_limit,
                known_hits=hits if hits is not None else len(snuba_rows),
            )
    else:
        gathered: list[Issue] = []
        chunk_limit = limit
        offset = 0
        while True:
            chunk_limit = min(int(chunk_limit * search.chunk_growth), search.max_chunk_size)
            chunk = snuba_rows[offset : offset + chunk_limit]
            more_results = len(chunk) >= limit and (offset + limit) < total
            offset += len(chunk)
            if not chunk:
                break
            gathered.extend(i for i in chunk if postgres_ok(i))
            result = sequence_paginate(
                [(score_of(i, search.sort), i.id) for i in gathered],
                search.limit,
                cursor,
                max_limit=search.max_limit,
                known_hits=hits,
            )
            if len(result.results) >= limit or not more_results:
                break
    if len(result.results) == limit and more_results:
        result.next.has_results = True
    if cursor is not None and (not cursor.is_prev or len(result.results) > 0):
        result.prev.has_results = True
    by_id: dict[int, Issue] = {i.id: i for i in in_projects}
    result.results = [by_id[i] for i in result.results if i in by_id]
    return result


def latest_release_getter(state: EmulatorState) -> Callable[[], str | None]:
    def latest() -> str | None:
        with state.lock:
            releases = sorted(state.releases.values(), key=lambda r: (r.date_released or r.date_created, r.id))
            return releases[-1].version if releases else None

    return latest


# ---------------------------------------------------------------------------------------------------------------
# Serialization


def _stats(issue: Issue, now: datetime) -> list[list[int]]:
    hour = int(now.timestamp()) // 3600 * 3600
    points = []
    for n in range(23, -1, -1):
        start = hour - n * 3600
        count = issue.times_seen if int(issue.last_seen.timestamp()) // 3600 * 3600 == start else 0
        points.append([start, count])
    return points


def project_ref(project: Project) -> dict[str, Any]:
    return {"id": str(project.id), "name": project.name, "slug": project.slug, "platform": project.platform}


def serialize_issue(
    issue: Issue,
    project: Project,
    *,
    base_url: str,
    organization: str,
    now: datetime,
    detailed: bool = False,
    with_stats: bool = True,
) -> dict[str, Any]:
    """The issue object: every key the OpenAPI issue schema requires, with Sentry's types (count is a string).

    ``with_stats=False`` (the request collapses them) skips computing the timeline, which is most of the cost.
    """
    data: dict[str, Any] = {
        "annotations": [],
        "assignedTo": issue.assigned_to,
        "count": str(issue.times_seen),
        "culprit": issue.culprit,
        "derivedData": {
            "blocker": "",
            "hasOpenFixPr": False,
            "hasRootCause": False,
            "isAssigned": issue.assigned_to is not None,
            "lastCompletedAutofixStep": "",
            "lastProgressedAt": None,
            "progress": "",
            "status": "",
            "viewCount": 0,
        },
        "filtered": None,
        "firstSeen": iso(issue.first_seen),
        "hasSeen": issue.has_seen,
        "id": str(issue.id),
        "inbox": {"date_added": iso(issue.first_seen), "reason": 0, "reason_details": None},
        "integrationIssues": [],
        "isBookmarked": issue.is_bookmarked,
        "isPublic": issue.is_public,
        "isSubscribed": False,
        "isUnhandled": issue.is_unhandled,
        "issueCategory": "error",
        "issueType": "error",
        "lastSeen": iso(issue.last_seen),
        "latestEventHasAttachments": False,
        "level": issue.level,
        "lifetime": {
            "count": str(issue.times_seen),
            "userCount": issue.user_count,
            "firstSeen": iso(issue.first_seen),
            "lastSeen": iso(issue.last_seen),
            "stats": None,
        },
        "logger": issue.logger,
        "matchingEventEnvironment": None,
        "matchingEventId": None,
        "metadata": dict(issue.metadata),
        "numComments": 0,
        "owners": {"date_added": iso(issue.first_seen), "owner": "", "type": "ownershipRule"},
        "permalink": f"{base_url}/organizations/{organization}/issues/{issue.id}/",
        "platform": issue.platform,
        "priority": issue.priority,
        "priorityLockedAt": None,
        "project": project_ref(project),
        "seerAutofixLastTriggered": None,
        "seerExplorerAutofixLastTriggered": None,
        "seerFixabilityScore": None,
        "sentryAppIssues": [],
        "sessionCount": 0,
        "shareId": issue.share_id,
        "shortId": issue.short_id,
        "stats": {"24h": _stats(issue, now) if with_stats else []},
        "status": issue.status,
        "statusDetails": dict(issue.status_details),
        "subscriptionDetails": None,
        "substatus": issue.substatus,
        "title": issue.title,
        "type": issue.type,
        "userCount": issue.user_count,
    }
    if detailed:
        data.update(
            {
                "activity": [],
                "participants": [],
                "seenBy": [],
                "userReportCount": 0,
                "tags": [],
                "firstRelease": None,
                "lastRelease": None,
                "owners": None,
                "pluginActions": [],
                "pluginContexts": [],
                "pluginIssues": [],
            }
        )
    return data


# ---------------------------------------------------------------------------------------------------------------
# Bulk mutation (update_groups)


def _validation_error(field: str, message: str | dict[str, Any]) -> ApiError:
    return ApiError(400, {field: message if isinstance(message, dict) else [message]})


def resolve_actor(value: Any) -> dict[str, Any] | None:
    """``assignedTo`` input: ``user:<id>``, ``<id>``, username, email, ``team:<id>``; empty unassigns."""
    if value in (None, ""):
        return None
    text = str(value)
    user_ids = {"1", "user:1", EMULATOR_USER["username"], EMULATOR_USER["email"]}
    if text in user_ids:
        return {"type": "user", "id": "1", "name": EMULATOR_USER["name"], "email": EMULATOR_USER["email"]}
    if text in ("team:1", "#backend-team"):
        return {"type": "team", "id": "1", "name": EMULATOR_TEAM["name"]}
    raise _validation_error("assignedTo", "Unknown actor input")


def _release_for(state: EmulatorState, project_id: int, version: str) -> str | None:
    if version == "latest":
        candidates = [r for r in state.releases.values() if project_id in r.project_ids]
        candidates.sort(key=lambda r: (r.date_released or r.date_created, r.id))
        return candidates[-1].version if candidates else None
    release = state.releases.get(version)
    return release.version if release is not None and project_id in release.project_ids else None


def validate_update(state: EmulatorState, groups: Sequence[Issue], data: Any) -> dict[str, Any]:
    """``GroupValidator(partial=True)`` for each project of the selected issues."""
    if not isinstance(data, Mapping):
        raise ApiError(400, {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
    result: dict[str, Any] = {}
    project_ids = sorted({g.project_id for g in groups})
    if "status" in data:
        if data["status"] not in STATUS_UPDATE_CHOICES:
            raise _validation_error("status", f'"{data["status"]}" is not a valid choice.')
        result["status"] = data["status"]
    if "substatus" in data and data["substatus"] is not None:
        if data["substatus"] not in SUBSTATUS_UPDATE_CHOICES:
            raise _validation_error("substatus", f'"{data["substatus"]}" is not a valid choice.')
        result["substatus"] = data["substatus"]
    if "statusDetails" in data:
        details = data["statusDetails"]
        if not isinstance(details, Mapping):
            raise _validation_error("statusDetails", {"non_field_errors": ["Invalid data."]})
        clean: dict[str, Any] = {}
        for key in ("ignoreDuration", "ignoreCount", "ignoreWindow", "ignoreUserCount", "ignoreUserWindow"):
            if key in details and details[key] is not None:
                value = details[key]
                if not isinstance(value, int) or isinstance(value, bool):
                    raise _validation_error("statusDetails", {key: ["A valid integer is required."]})
                if key in ("ignoreWindow", "ignoreUserWindow") and value > 10080:
                    raise _validation_error(
                        "statusDetails", {key: ["Ensure this value is less than or equal to 10080."]}
                    )
                clean[key] = value
        if details.get("inRelease"):
            for pid in project_ids:
                found = _release_for(state, pid, str(details["inRelease"]))
                if found is None:
                    raise _validation_error(
                        "statusDetails", {"inRelease": ["Unable to find a release with the given version."]}
                    )
                clean["inRelease"] = found
        if details.get("inNextRelease"):
            for pid in project_ids:
                if _release_for(state, pid, "latest") is None:
                    raise _validation_error(
                        "statusDetails",
                        {"inNextRelease": ["No release data present in the system to form a basis for 'Next Release'"]},
                    )
            clean["inNextRelease"] = True
        if details.get("inCommit"):
            commit = details["inCommit"]
            if not isinstance(commit, Mapping) or not commit.get("commit") or not commit.get("repository"):
                raise _validation_error("statusDetails", {"inCommit": ["Invalid commit."]})
            clean["inCommit"] = {"commit": str(commit["commit"]), "repository": str(commit["repository"])}
        result["statusDetails"] = clean
    if "assignedTo" in data:
        result["assignedTo"] = resolve_actor(data["assignedTo"])
    for key in ("hasSeen", "isBookmarked", "isPublic", "isSubscribed", "discard", "merge"):
        if key in data:
            if not isinstance(data[key], bool):
                raise _validation_error(key, "Must be a valid boolean.")
            result[key] = data[key]
    if "priority" in data:
        if data["priority"] not in ("low", "medium", "high"):
            raise _validation_error("priority", f'"{data["priority"]}" is not a valid choice.')
        result["priority"] = data["priority"]
    if result.get("status") == "resolvedInNextRelease":
        for pid in project_ids:
            if _release_for(state, pid, "latest") is None:
                raise _validation_error(
                    "statusDetails",
                    {"inNextRelease": ["No release data present in the system to form a basis for 'Next Release'"]},
                )
    return result


def _ignore_details(details: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    duration = details.get("ignoreDuration")
    count = details.get("ignoreCount")
    user_count = details.get("ignoreUserCount")
    if not (duration or count or user_count):
        return {}
    until = iso(now + timedelta(minutes=duration)) if duration else None
    return {
        "ignoreCount": count,
        "ignoreUntil": until,
        "ignoreUserCount": user_count,
        "ignoreUserWindow": details.get("ignoreUserWindow") if user_count else None,
        "ignoreWindow": details.get("ignoreWindow") if count else None,
        "actor": dict(EMULATOR_USER),
    }


def update_groups(state: EmulatorState, groups: Sequence[Issue], data: Any, *, now: datetime) -> tuple[int, Any]:
    """Apply a validated bulk update; return (status, body) where body is the delta Sentry answers."""
    if not groups:
        return 204, {"detail": "No groups found"}
    result = validate_update(state, groups, data)
    with state.lock:
        if result.get("discard"):
            for group in groups:
                state.issues.pop(group.id, None)
            return 204, None
        status_details = result.pop("statusDetails", {})
        status = result.get("status")
        if "priority" in result:
            for group in groups:
                group.priority = result["priority"]
        if status in ("resolved", "resolvedInNextRelease"):
            release_based = status == "resolvedInNextRelease" or any(
                status_details.get(k) for k in ("inNextRelease", "inRelease", "inCommit")
            )
            if release_based and len({g.project_id for g in groups}) > 1:
                return 400, {"detail": "Cannot set resolved for multiple projects."}
            if status == "resolvedInNextRelease" or status_details.get("inNextRelease"):
                new_details: dict[str, Any] = {"inNextRelease": True, "actor": dict(EMULATOR_USER)}
            elif status_details.get("inRelease"):
                new_details = {"inRelease": status_details["inRelease"], "actor": dict(EMULATOR_USER)}
            elif status_details.get("inCommit"):
                commit = status_details["inCommit"]
                new_details = {
                    "inCommit": {"id": commit["commit"], "repository": {"name": commit["repository"]}},
                    "actor": dict(EMULATOR_USER),
                }
            else:
                new_details = {}
            for group in groups:
                if group.status == "resolved":
                    continue
                group.status = "resolved"
                group.substatus = None
                group.status_details = dict(new_details)
                result["inbox"] = None
            result.update({"status": "resolved", "statusDetails": new_details})
        elif status:
            new_status = "ignored" if status == "muted" else status
            substatus = SUBSTATUS_UPDATE_CHOICES.get(result.get("substatus") or "")
            if new_status == "ignored":
                if substatus is None:
                    has_condition = any(
                        status_details.get(k) for k in ("ignoreDuration", "ignoreCount", "ignoreUserCount")
                    )
                    substatus = "archived_until_condition_met" if has_condition else "archived_forever"
                if substatus == "archived_until_escalating":
                    details: dict[str, Any] = {"ignoreUntilEscalating": True}
                else:
                    details = _ignore_details(status_details, now)
                result["statusDetails"] = details
                result["inbox"] = None
            else:
                substatus = substatus or "ongoing"
                details = {}
                result["statusDetails"] = {}
            for group in groups:
                if group.status != new_status:
                    group.status = new_status
                    group.substatus = substatus
                group.status_details = {k: v for k, v in details.items() if v is not None}
        if "assignedTo" in result:
            for group in groups:
                group.assigned_to = result["assignedTo"]
        if "hasSeen" in result:
            for group in groups:
                group.has_seen = result["hasSeen"]
        if "isBookmarked" in result:
            for group in groups:
                group.is_bookmarked = result["isBookmarked"]
        if result.get("isSubscribed") in (True, False):
            result["subscriptionDetails"] = {"reason": "unknown"}
        if "isPublic" in result:
            share_id = None
            for group in groups:
                group.is_public = result["isPublic"]
                group.share_id = secrets.token_hex(16) if result["isPublic"] else None
                share_id = group.share_id
            result["shareId"] = share_id
        if result.get("merge") and len(groups) > 1 and len({g.project_id for g in groups}) > 1:
            return 400, {"detail": "Merging across multiple projects is not supported"}
    return 200, result
