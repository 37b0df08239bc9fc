"""Sentry's own ``/api/0/`` endpoints (organizations, projects, issues, releases): permission scopes,
parameter parsing and JSON answers. The app's whole route table is ``testing/routes.py``."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

from airflow_provider_sentry.testing.issues import (
    ALLOWED_FUTURE_DELTA,
    BULK_MUTATION_LIMIT,
    DEFAULT_QUERY,
    EMULATOR_USER,
    RETENTION,
    SORTS,
    ApiError,
    IssueSearch,
    search_issues,
    serialize_issue,
    update_groups,
)
from airflow_provider_sentry.testing.paginator import (
    BadPaginationError,
    Cursor,
    CursorResult,
    generic_offset_paginate,
    offset_paginate,
    parse_cursor,
)
from airflow_provider_sentry.testing.releases import (
    create_deploy,
    create_release,
    listed_deploys,
    serialize_commit,
    serialize_deploy,
    serialize_release,
    settle_commits,
    update_release,
)
from airflow_provider_sentry.testing.routing import NOT_FOUND, Answer, Ctx, Route, json_answer
from airflow_provider_sentry.testing.routing import route as _route
from airflow_provider_sentry.testing.search import QueryError, parse_query
from airflow_provider_sentry.testing.state import Issue, Project, Release, iso

EVENT_READ = ("event:read", "event:write", "event:admin")
EVENT_WRITE = ("event:write", "event:admin")
ORG_READ = ("org:read", "org:write", "org:admin")
PROJECT_READ = ("project:read", "project:write", "project:admin")
RELEASE_SCOPES = ("org:ci", "project:releases", "project:write", "project:admin")
RELEASE_READ = (*RELEASE_SCOPES, "project:read")
REPO_READ = ("org:read", "org:write", "org:admin", "org:integrations", "org:ci")
STATS_PERIOD_RE = re.compile(r"^(\d+)([smhdw]?)$")
UNITS = {"": 3600, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


# ---------------------------------------------------------------------------------------------------------------
# helpers


def _org(ctx: Ctx, org: str) -> None:
    state = ctx.app.state
    if org not in (state.organization_slug, str(state.organization_id)):
        raise ApiError(404, NOT_FOUND)


def _project(ctx: Ctx, org: str, project: str) -> Project:
    _org(ctx, org)
    found = ctx.app.state.project_by_id_or_slug(unquote(project))
    if found is None:
        raise ApiError(404, NOT_FOUND)
    return found


def _cursor(ctx: Ctx) -> Cursor | None:
    raw = ctx.get("cursor")
    if not raw:
        return None
    try:
        return parse_cursor(raw)
    except ValueError:
        raise ApiError(400, {"detail": "Invalid cursor parameter."}) from None


def _per_page(ctx: Ctx, default: int = 100, maximum: int = 100) -> int:
    raw = ctx.get("per_page")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, {"detail": "Invalid per_page parameter."}) from None
    if value < 1 or value > maximum:
        raise ApiError(400, {"detail": f"Invalid per_page value. Must be between 1 and {maximum}."})
    return value


def _offset_page(ctx: Ctx, items: Sequence[Any], serialize: Callable[[Any], Any]) -> Answer:
    try:
        result = offset_paginate(items, _per_page(ctx), _cursor(ctx))
    except BadPaginationError as exc:
        raise ApiError(400, {"detail": str(exc)}) from None
    return ctx.paginated(result, [serialize(item) for item in result.results])


def _issue_json(ctx: Ctx, issue: Issue, *, detailed: bool = False, with_stats: bool = True) -> dict[str, Any]:
    project = ctx.app.state.project_by_id(issue.project_id)
    assert project is not None
    return serialize_issue(
        issue,
        project,
        base_url=ctx.app.base_url,
        organization=ctx.app.state.organization_slug,
        now=ctx.now,
        detailed=detailed,
        with_stats=with_stats,
    )


def _parse_stats_period(raw: str) -> timedelta:
    match = STATS_PERIOD_RE.match(raw)
    if not match:
        raise ApiError(400, {"detail": f"Invalid statsPeriod: {raw!r}"})
    return timedelta(seconds=int(match.group(1)) * UNITS[match.group(2)])


def _date_window(ctx: Ctx, *, use_params: bool) -> tuple[datetime, datetime]:
    """``get_date_range_from_params`` then the executor's clipping to the 90-day retention."""
    now = ctx.now
    date_from: datetime | None = None
    date_to: datetime | None = None
    if use_params:
        period = ctx.get("statsPeriod")
        start, end = ctx.get("start"), ctx.get("end")
        if period:
            date_from, date_to = now - _parse_stats_period(period), now
        elif start or end:
            if not (start and end):
                raise ApiError(400, {"detail": "start and end are both required"})
            try:
                date_from = datetime.fromisoformat(start.replace("Z", "+00:00"))
                date_to = datetime.fromisoformat(end.replace("Z", "+00:00"))
            except ValueError:
                raise ApiError(400, {"detail": f"{start} is not a valid ISO8601 date query"}) from None
            date_from = date_from if date_from.tzinfo else date_from.replace(tzinfo=now.tzinfo)
            date_to = date_to if date_to.tzinfo else date_to.replace(tzinfo=now.tzinfo)
    retention = now - RETENTION
    end_value = date_to or now + ALLOWED_FUTURE_DELTA
    start_value = max(d for d in (date_from, retention) if d is not None)
    return start_value, max(retention, end_value)


def _selected_projects(ctx: Ctx) -> list[int]:
    """``project`` query values: integers only (a slug is a 400), -1 = all, none = the member projects."""
    raw = ctx.getlist("project")
    try:
        ids = {int(x) for x in raw}
    except ValueError:
        raise ApiError(400, {"detail": "Invalid project parameter. Values must be numbers."}) from None
    all_ids = [p.id for p in ctx.app.state.projects]
    if not ids:
        # get_projects: no ``project`` means the projects the user is a member of, not all it can see
        members = ctx.app.member_project_ids
        return all_ids if members is None else [pid for pid in all_ids if pid in members]
    if -1 in ids:
        return all_ids
    if not ids <= set(all_ids):
        raise ApiError(403, {"detail": "You do not have permission to perform this action."})
    return sorted(ids)


def _environments(ctx: Ctx) -> list[str]:
    names = [e for e in ctx.getlist("environment") if e != ""]
    known = ctx.app.known_environments()
    if any(name not in known for name in names):
        raise ApiError(404, NOT_FOUND)
    return names


def _issue_search(
    ctx: Ctx, project_ids: Sequence[int], *, project_endpoint: bool, limit: int, max_limit: int = 100
) -> CursorResult[Issue]:
    query_text = ctx.get("query")
    try:
        query = parse_query(DEFAULT_QUERY if query_text is None else query_text)
    except QueryError as exc:
        raise ApiError(400, {"detail": str(exc)}) from None
    sort = ctx.get("sort") or "date"
    if sort not in SORTS:
        raise ApiError(400, {"detail": f"Invalid sort: {sort}"})
    if sort in ("trends", "recommended", "inbox"):
        sort = "date"
    start, end = _date_window(ctx, use_params=not project_endpoint)
    search = IssueSearch(
        project_ids=project_ids,
        environments=_environments(ctx),
        query=query,
        sort=sort,
        start=start,
        end=end,
        limit=limit,
        cursor=_cursor(ctx),
        project_endpoint=project_endpoint,
        max_limit=max_limit,
        max_candidates=ctx.app.max_candidates,
        max_chunk_size=ctx.app.max_chunk_size,
    )
    try:
        return search_issues(ctx.app.state, search, now=ctx.now, empty_result_mode=ctx.app.empty_result_mode)
    except QueryError as exc:
        raise ApiError(400, {"detail": str(exc)}) from None
    except AssertionError:
        raise ApiError(500, {"detail": "Internal Error"}) from None


def _limit(ctx: Ctx) -> int:
    raw = ctx.get("limit")
    if not raw:
        return 100
    try:
        value = int(raw)
        if value <= 0:
            raise ValueError(raw)
    except ValueError:
        raise ApiError(400, {"detail": "invalid limit"}) from None
    return value


# ---------------------------------------------------------------------------------------------------------------
# index, organizations, projects


def index(ctx: Ctx) -> Answer:
    cred = ctx.credential
    auth = {"scopes": list(cred.scopes)} if cred is not None else None
    user = None
    if cred is not None and cred.kind == "user_token":
        user = {**EMULATOR_USER, "isActive": True, "isStaff": False, "isSuperuser": False}
    return json_answer(200, {"version": "0", "auth": auth, "user": user})


def _org_json(ctx: Ctx) -> dict[str, Any]:
    state = ctx.app.state
    return {
        "id": str(state.organization_id),
        "slug": state.organization_slug,
        "status": {"id": "active", "name": "active"},
        "name": state.organization_slug,
        "dateCreated": iso(state.date_created),
        "isEarlyAdopter": False,
        "require2FA": False,
        "avatar": {"avatarType": "letter_avatar", "avatarUuid": None, "avatarUrl": None},
        "links": {"organizationUrl": ctx.app.base_url, "regionUrl": ctx.app.base_url},
        "hasAuthProvider": False,
        "allowMemberInvite": True,
        "allowMemberProjectCreation": True,
        "allowSuperuserAccess": False,
        "features": [],
        "access": list(ctx.credential.scopes) if ctx.credential else [],
    }


def list_organizations(ctx: Ctx) -> Answer:
    return _offset_page(ctx, [ctx.app.state.organization_slug], lambda _: _org_json(ctx))


def get_organization(ctx: Ctx, org: str) -> Answer:
    _org(ctx, org)
    return json_answer(200, _org_json(ctx))


HAS_FLAGS = [
    "hasFeedbacks",
    "hasFlags",
    "hasInsightsAgentMonitoring",
    "hasInsightsAppStart",
    "hasInsightsAssets",
    "hasInsightsCaches",
    "hasInsightsDb",
    "hasInsightsHttp",
    "hasInsightsMCP",
    "hasInsightsQueues",
    "hasInsightsScreenLoad",
    "hasInsightsVitals",
    "hasLogs",
    "hasMinifiedStackTrace",
    "hasMonitors",
    "hasNewFeedbacks",
    "hasProfiles",
    "hasReplays",
    "hasSessions",
    "hasTraceMetrics",
    "hasUserReports",
]


def _project_summary(ctx: Ctx, project: Project) -> dict[str, Any]:
    state = ctx.app.state
    with state.lock:
        releases = [r for r in state.releases.values() if project.id in r.project_ids]
        latest = max(releases, key=lambda r: (r.date_created, r.id)) if releases else None
        envs = sorted({e for i in state.issues.values() if i.project_id == project.id for e in i.environments})
        first = min((i.first_seen for i in state.issues.values() if i.project_id == project.id), default=None)
    team = {"id": "1", "name": "backend-team", "slug": "backend-team"}
    data: dict[str, Any] = {
        "id": str(project.id),
        "slug": project.slug,
        "name": project.name,
        "platform": project.platform,
        "platforms": [project.platform] if project.platform else [],
        "dateCreated": iso(project.date_created),
        "isBookmarked": False,
        "isMember": True,
        "hasAccess": True,
        "access": list(ctx.credential.scopes) if ctx.credential else [],
        "features": [],
        "firstEvent": iso(first),
        "firstTransactionEvent": False,
        "environments": envs,
        "latestRelease": {"version": latest.version} if latest else None,
        "team": team,
        "teams": [team],
        "options": {},
    }
    data.update(dict.fromkeys(HAS_FLAGS, False))
    return data


def list_projects(ctx: Ctx, org: str) -> Answer:
    _org(ctx, org)
    projects = sorted(ctx.app.state.projects, key=lambda p: p.slug)
    return _offset_page(ctx, projects, lambda p: _project_summary(ctx, p))


def get_project(ctx: Ctx, org: str, project: str) -> Answer:
    found = _project(ctx, org, project)
    data = _project_summary(ctx, found)
    org_json = _org_json(ctx)
    data.update(
        {
            "allowedDomains": ["*"],
            "autofixAutomationTuning": "off",
            "avatar": {"avatarType": "letter_avatar", "avatarUuid": None, "avatarUrl": None},
            "builtinSymbolSources": [],
            "color": "#3f70bf",
            "dataScrubber": True,
            "dataScrubberDefaults": True,
            "debugFilesRole": None,
            "defaultEnvironment": None,
            "derivedGroupingEnhancements": "",
            "digestsMaxDelay": 1800,
            "digestsMinDelay": 300,
            "dynamicSamplingBiases": None,
            "enableAutoReleaseCreation": False,
            "fingerprintingRules": "",
            "groupingConfig": "newstyle:2023-01-11",
            "groupingEnhancements": "",
            "highlightContext": {},
            "highlightPreset": {"context": {}, "tags": []},
            "highlightTags": [],
            "isDynamicallySampled": False,
            "isInternal": False,
            "isPublic": False,
            "organization": org_json,
            "processingIssues": 0,
            "relayPiiConfig": None,
            "resolveAge": 0,
            "safeFields": [],
            "scmSourceContextEnabled": False,
            "scrapeJavaScript": True,
            "scrubIPAddresses": False,
            "secondaryGroupingConfig": None,
            "secondaryGroupingExpiry": 0,
            "securityToken": "0" * 32,
            "securityTokenHeader": None,
            "seerNightshiftTweaks": None,
            "seerScannerAutomation": False,
            "sensitiveFields": [],
            "status": "active",
            "storeCrashReports": None,
            "subjectPrefix": "",
            "subjectTemplate": "$shortID - $title",
            "symbolSources": "[]",
            "tempestFetchScreenshots": False,
            "verifySSL": False,
        }
    )
    return json_answer(200, data)


def repo_json(repo: Any) -> dict[str, Any]:
    """A repository as Sentry serializes it (in the repo list and inside a release's commits)."""
    return {
        "id": str(repo.id),
        "name": repo.name,
        "url": repo.url,
        "provider": {"id": repo.provider, "name": "GitHub"},
        "status": "active",
        "dateCreated": iso(repo.date_created),
        "integrationId": None,
        "externalSlug": repo.name,
        "externalId": None,
    }


def list_repos(ctx: Ctx, org: str) -> Answer:
    _org(ctx, org)
    return _offset_page(ctx, list(ctx.app.state.repos), repo_json)


# ---------------------------------------------------------------------------------------------------------------
# issues


def list_org_issues(ctx: Ctx, org: str) -> Answer:
    _org(ctx, org)
    limit = _limit(ctx)
    gsp = ctx.get("groupStatsPeriod")
    if gsp is not None and gsp not in ("", "14d", "24h", "auto"):
        raise ApiError(400, {"detail": "Invalid stats_period. Valid choices are '', '24h', '14d' and 'auto'"})
    project_ids = _selected_projects(ctx)
    if ctx.getlist("group"):
        # organization_group_index.get: "If group ids specified, just ignore any query components" (no Link)
        try:
            wanted = [int(value) for value in ctx.getlist("group")]
        except ValueError:
            raise ApiError(400, {"detail": "Group ids must be integers"}) from None
        found = _groups_by_id(ctx, wanted, project_ids)
        return json_answer(200, _stream_issues(ctx, found))
    result = _issue_search(ctx, project_ids, project_endpoint=False, limit=limit)
    return ctx.paginated(result, _stream_issues(ctx, result.results))


SEEN_STATS = ("count", "userCount", "firstSeen", "lastSeen")


def _stream_issues(ctx: Ctx, issues: Sequence[Issue]) -> list[dict[str, Any]]:
    """``StreamGroupSerializerSnuba.serialize``: ``collapse=base`` keeps only the id, the seen stats and
    isUnhandled; ``collapse=stats`` drops stats, lifetime and filtered; ``collapse=lifetime``/``filtered``
    drop one of them; ``groupStatsPeriod=""`` (no stats period) drops ``stats`` alone."""
    collapse = set(ctx.getlist("collapse"))
    gone = ["stats", "lifetime", "filtered"] if "stats" in collapse else []
    gone += [name for name in ("lifetime", "filtered") if name in collapse]
    if ctx.get("groupStatsPeriod") == "":
        gone.append("stats")
    out = []
    for issue in issues:
        data = _issue_json(ctx, issue, with_stats="stats" not in gone)
        if "base" in collapse:
            data = {key: data[key] for key in ("id", *SEEN_STATS, "isUnhandled", "stats", "lifetime", "filtered")}
        for key in gone:
            data.pop(key, None)
        out.append(data)
    return out


def list_project_issues(ctx: Ctx, org: str, project: str) -> Answer:
    found = _project(ctx, org, project)
    period = ctx.get("statsPeriod")
    if period not in (None, "", "24h", "14d"):
        raise ApiError(400, {"detail": "Invalid stats_period. Valid choices are '', '24h', and '14d'"})
    limit = _limit(ctx)
    result = _issue_search(ctx, [found.id], project_endpoint=True, limit=limit)
    return ctx.paginated(result, [_issue_json(ctx, issue) for issue in result.results])


def _groups_by_id(ctx: Ctx, ids: Sequence[int], project_ids: Sequence[int]) -> list[Issue]:
    """``get_group_list``: rows in the org and the selected projects (Postgres: late indexing does not hide them)."""
    issues, projects = ctx.app.state.issues, set(project_ids)
    with ctx.app.state.lock:
        found = (issues.get(issue_id) for issue_id in set(ids))
        return sorted((i for i in found if i is not None and i.project_id in projects), key=lambda i: i.id)


def _bulk(ctx: Ctx, ids: list[int], project_ids: list[int], *, project_endpoint: bool) -> Answer:
    groups = _groups_by_id(ctx, ids, project_ids) if ids else []
    if not groups:
        # update_groups_with_search_fn: no (valid) ids -> the request's query selects up to 1000 issues
        result = _issue_search(
            ctx,
            project_ids,
            project_endpoint=project_endpoint,
            limit=BULK_MUTATION_LIMIT,
            max_limit=BULK_MUTATION_LIMIT,
        )
        groups = list(result.results)
    if not groups:
        return json_answer(204, None)
    status, body = update_groups(ctx.app.state, groups, ctx.json_body(), now=ctx.now)
    return json_answer(status, body)


def bulk_update_org_issues(ctx: Ctx, org: str) -> Answer:
    _org(ctx, org)
    raw_ids = ctx.getlist("id")
    try:
        ids = [int(x) for x in raw_ids]
    except ValueError:
        raise ApiError(500, {"detail": "Internal Error"}) from None  # Sentry: uncaught int() ValueError
    return _bulk(ctx, ids, _selected_projects(ctx), project_endpoint=False)


def bulk_update_project_issues(ctx: Ctx, org: str, project: str) -> Answer:
    found = _project(ctx, org, project)
    raw_ids = ctx.getlist("id")
    ids = [int(x) for x in raw_ids if x.isdigit()]
    if raw_ids and not ids:
        with ctx.app.state.lock:
            ids = [i.id for i in ctx.app.state.issues.values() if i.short_id in raw_ids]
    return _bulk(ctx, ids, [found.id], project_endpoint=True)


def _issue_by_id(ctx: Ctx, issue_id: str) -> Issue:
    with ctx.app.state.lock:
        if issue_id.isdigit():
            issue = ctx.app.state.issues.get(int(issue_id))
        else:
            issue = next((i for i in ctx.app.state.issues.values() if i.short_id == issue_id.upper()), None)
    if issue is None:
        raise ApiError(404, NOT_FOUND)
    return issue


def get_issue(ctx: Ctx, issue_id: str, org: str | None = None) -> Answer:
    if org is not None:
        _org(ctx, org)
    return json_answer(200, _issue_json(ctx, _issue_by_id(ctx, issue_id), detailed=True))


def update_issue(ctx: Ctx, issue_id: str, org: str | None = None) -> Answer:
    if org is not None:
        _org(ctx, org)
    issue = _issue_by_id(ctx, issue_id)
    status, body = update_groups(ctx.app.state, [issue], ctx.json_body(), now=ctx.now)
    if status != 200 or (isinstance(body, dict) and body.get("discard")):
        return json_answer(status, body)
    data = _issue_json(ctx, issue, detailed=True)
    for key in ("activity", "participants", "seenBy", "userReportCount", "tags", "firstRelease", "lastRelease"):
        data.pop(key, None)
    data.pop("pluginActions", None)
    data.pop("pluginContexts", None)
    data.pop("pluginIssues", None)
    return json_answer(200, data)


def list_issue_events(ctx: Ctx, org: str, issue_id: str) -> Answer:
    _org(ctx, org)
    issue = _issue_by_id(ctx, issue_id)
    with ctx.app.state.lock:
        events = [e for e in ctx.app.state.events if e.issue_id == issue.id]
    events.sort(key=lambda e: (e.timestamp, e.event_id), reverse=True)
    cursor = _cursor(ctx)
    result = generic_offset_paginate(events, _per_page(ctx), cursor)
    items = [
        {
            "id": e.event_id,
            "eventID": e.event_id,
            "groupID": str(e.issue_id),
            "projectID": str(e.project_id),
            "title": e.title,
            "message": e.message,
            "culprit": e.culprit,
            "platform": e.platform,
            "dateCreated": iso(e.timestamp),
            "event.type": e.event_type,
            "tags": e.tags,
            "user": e.user,
            "location": None,
            "crashFile": None,
            "metadata": e.metadata,
        }
        for e in result.results
    ]
    return ctx.paginated(result, items)


# ---------------------------------------------------------------------------------------------------------------
# releases and deploys


def _release(ctx: Ctx, org: str, version: str) -> Release:
    _org(ctx, org)
    release = ctx.app.state.releases.get(unquote(version))
    if release is not None:
        settle_commits(release)
    if release is None:
        raise ApiError(404, NOT_FOUND)
    return release


def list_releases(ctx: Ctx, org: str) -> Answer:
    _org(ctx, org)
    state = ctx.app.state
    with state.lock:
        releases = list(state.releases.values())
    wanted = ctx.getlist("project")
    if wanted and "-1" not in wanted:
        try:
            ids = {int(x) for x in wanted}
        except ValueError:
            raise ApiError(400, {"detail": "Invalid project parameter. Values must be numbers."}) from None
        releases = [r for r in releases if ids & set(r.project_ids)]
    query = ctx.get("query")
    if query:
        releases = [r for r in releases if query in r.version]
    status = ctx.get("status") or "open"
    releases = [r for r in releases if r.status == status]
    releases.sort(key=lambda r: (r.date_created, r.id), reverse=True)
    return _offset_page(ctx, releases, lambda r: serialize_release(state, r))


def post_release(ctx: Ctx, org: str) -> Answer:
    _org(ctx, org)
    status, release = create_release(ctx.app.state, ctx.json_body(), user_agent=ctx.record.headers.get("user-agent"))
    return json_answer(status, serialize_release(ctx.app.state, release))


def get_release(ctx: Ctx, org: str, version: str) -> Answer:
    return json_answer(200, serialize_release(ctx.app.state, _release(ctx, org, version)))


def put_release(ctx: Ctx, org: str, version: str) -> Answer:
    release = _release(ctx, org, version)
    update_release(ctx.app.state, release, ctx.json_body())
    return json_answer(200, serialize_release(ctx.app.state, release))


def list_release_commits(ctx: Ctx, org: str, version: str) -> Answer:
    release = _release(ctx, org, version)
    repos = {repo.name: repo for repo in ctx.app.state.repos}

    def commit_json(commit: Any) -> dict[str, Any]:
        data = serialize_commit(release, commit)
        repo = repos.get(commit.repository)
        if repo is not None:
            data["repository"] = repo_json(repo)
        return data

    return _offset_page(ctx, list(release.commits), commit_json)


def post_deploy(ctx: Ctx, org: str, version: str) -> Answer:
    release = _release(ctx, org, version)
    deploy = create_deploy(ctx.app.state, release, ctx.json_body())
    return json_answer(201, serialize_deploy(deploy))


def list_deploys(ctx: Ctx, org: str, version: str) -> Answer:
    release = _release(ctx, org, version)
    return _offset_page(ctx, listed_deploys(ctx.app.state, release), serialize_deploy)


ROUTES: tuple[Route, ...] = (
    _route("GET", "", index, None),
    _route("GET", "organizations/", list_organizations, ORG_READ),
    _route("GET", "organizations/{org}/", get_organization, ORG_READ),
    _route("GET", "organizations/{org}/projects/", list_projects, ORG_READ),
    _route("GET", "organizations/{org}/repos/", list_repos, REPO_READ),
    _route("GET", "projects/{org}/{project}/", get_project, PROJECT_READ),
    _route("GET", "organizations/{org}/issues/", list_org_issues, EVENT_READ),
    _route("PUT", "organizations/{org}/issues/", bulk_update_org_issues, EVENT_WRITE),
    _route("GET", "projects/{org}/{project}/issues/", list_project_issues, EVENT_READ),
    _route("PUT", "projects/{org}/{project}/issues/", bulk_update_project_issues, EVENT_WRITE),
    _route("GET", "organizations/{org}/issues/{issue_id}/", get_issue, EVENT_READ),
    _route("PUT", "organizations/{org}/issues/{issue_id}/", update_issue, EVENT_WRITE),
    _route("GET", "issues/{issue_id}/", get_issue, EVENT_READ),
    _route("PUT", "issues/{issue_id}/", update_issue, EVENT_WRITE),
    _route("GET", "organizations/{org}/issues/{issue_id}/events/", list_issue_events, EVENT_READ),
    _route("GET", "organizations/{org}/releases/", list_releases, RELEASE_READ),
    _route("POST", "organizations/{org}/releases/", post_release, RELEASE_SCOPES),
    _route("GET", "organizations/{org}/releases/{version}/", get_release, RELEASE_READ),
    _route("PUT", "organizations/{org}/releases/{version}/", put_release, RELEASE_SCOPES),
    _route("GET", "organizations/{org}/releases/{version}/commits/", list_release_commits, RELEASE_READ),
    _route("GET", "organizations/{org}/releases/{version}/deploys/", list_deploys, RELEASE_READ),
    _route("POST", "organizations/{org}/releases/{version}/deploys/", post_deploy, RELEASE_SCOPES),
)
