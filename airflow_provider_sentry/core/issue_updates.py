"""Issue mutations: the PUT body, the combinations Sentry rejects, id batches and the fallback guard.

Sentry's bulk endpoint (``PUT organizations/{org}/issues/``) mutates the given ``id`` s, but when
NONE of them exists it falls back to the request's search and mutates up to 1000 other issues.
Every id batch built here is therefore (1) made only of ids just seen in a listing and (2) pinned
with a ``project`` filter and a search that matches no issue at all, so that even an issue deleted
between listing and PUT cannot widen the mutation.

Sizes: a bulk PUT takes up to 1,000 ids and a ``group=`` lookup returns every issue asked for, so
what bounds a batch is the request line. A default nginx in front of self-hosted Sentry refuses
lines over 8 KB (414): about 475 ten-digit ids per ``group=`` lookup, 575 per PUT. Batches are cut to
fit that, not to a fixed count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from airflow_provider_sentry.core.arguments import as_bool, as_list, as_name_strings, as_positive_int
from airflow_provider_sentry.core.releases import validate_version
from airflow_provider_sentry.defaults import DEFAULT_MAX_ISSUES
from airflow_provider_sentry.exceptions import SentryInputError

MAX_IDS_PER_REQUEST = 1000  # Sentry's BULK_MUTATION_LIMIT; the request line usually binds first
REQUEST_LINE_LIMIT = 8192  # nginx large_client_header_buffers 4 8k: the whole "PUT /path?query HTTP/1.1"
REQUEST_LINE_MARGIN = 64
GUARD_QUERY = "issue.id:[0]"  # no issue has id 0
MAX_IGNORE_WINDOW_MINUTES = 7 * 24 * 60  # Sentry's StatusDetailsValidator max_value
STATUSES = ("resolved", "unresolved", "ignored")
STATUS_ALIASES = {"resolvedInNextRelease": "resolved", "muted": "ignored", "archived": "ignored"}
LIST_PAGE_SIZE = 100


def normalize_issue_ids(value: Any, field: str = "issue_ids") -> list[str]:
    """Issue ids (ints or digit strings) as unique strings in the given order.

    Sentry's org endpoint calls ``int()`` on each id; a non-numeric one (e.g. a short id like
    ``BACKEND-1A``) would be a 500 there, so it is refused here instead.
    """
    ids: dict[str, None] = {}
    for item in as_list(value, field):
        if isinstance(item, bool) or not isinstance(item, int | str):
            raise SentryInputError(field, f"each issue id must be an integer or a digit string, got {item!r}")
        text = str(item).strip()
        if not text.isdigit() or int(text) < 1:
            raise SentryInputError(field, f"{item!r} is not a numeric issue id (short ids like PROJ-1A are not)")
        ids.setdefault(str(int(text)))
    return list(ids)


@dataclass(frozen=True)
class Selection:
    """Which issues: explicit ids, or a search query with optional project/environment filters."""

    issue_ids: tuple[str, ...] = ()
    query: str | None = None
    projects: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    max_issues: int = DEFAULT_MAX_ISSUES


def build_selection(*, issue_ids: Any, query: Any, projects: Any, environments: Any, max_issues: Any) -> Selection:
    """Exactly one of ``issue_ids`` or ``query``; an empty query would mean "every issue"."""
    ids = normalize_issue_ids(issue_ids) if issue_ids not in (None, "", []) else []
    has_query = query is not None and query != ""
    if ids and has_query:
        raise SentryInputError("query", "give either issue_ids or query, not both")
    if issue_ids not in (None, "", []) and not ids:
        raise SentryInputError("issue_ids", "is empty")
    if not ids and not has_query:
        raise SentryInputError("query", "give issue_ids or a non-empty Sentry search query")
    if has_query and (not isinstance(query, str) or not query.strip()):
        raise SentryInputError("query", "must be a non-empty Sentry search string (e.g. 'is:unresolved release:1.2.0')")
    limit = as_positive_int(max_issues, "max_issues") if max_issues is not None else DEFAULT_MAX_ISSUES
    return Selection(
        issue_ids=tuple(ids),
        query=query.strip() if has_query else None,
        projects=as_name_strings(projects, "projects"),
        environments=as_name_strings(environments, "environments", allow_ints=False, split=False),
        max_issues=limit,
    )


@dataclass(frozen=True)
class IssueChange:
    """A validated mutation: the PUT body, and whether Sentry needs it one project at a time."""

    body: dict[str, Any]
    per_project: bool
    description: str
    status: str | None = None
    plain: bool = False  # a bare status change that is a no-op on issues already in that status


def _ignore_details(
    *,
    ignore_duration: Any,
    ignore_count: Any,
    ignore_window: Any,
    ignore_user_count: Any,
    ignore_user_window: Any,
) -> tuple[dict[str, int], str]:
    details: dict[str, int] = {}
    kinds = []
    if ignore_duration is not None:
        details["ignoreDuration"] = as_positive_int(ignore_duration, "ignore_duration")
        kinds.append(f"for {details['ignoreDuration']} min")
    if ignore_window is not None and ignore_count is None:
        raise SentryInputError("ignore_window", "needs ignore_count (the number of events within the window)")
    if ignore_count is not None:
        details["ignoreCount"] = as_positive_int(ignore_count, "ignore_count")
        text = f"until {details['ignoreCount']} more events"
        if ignore_window is not None:
            details["ignoreWindow"] = as_positive_int(ignore_window, "ignore_window", maximum=MAX_IGNORE_WINDOW_MINUTES)
            text += f" within {details['ignoreWindow']} min"
        kinds.append(text)
    if ignore_user_window is not None and ignore_user_count is None:
        raise SentryInputError("ignore_user_window", "needs ignore_user_count (users affected within the window)")
    if ignore_user_count is not None:
        details["ignoreUserCount"] = as_positive_int(ignore_user_count, "ignore_user_count")
        text = f"until {details['ignoreUserCount']} more users"
        if ignore_user_window is not None:
            details["ignoreUserWindow"] = as_positive_int(
                ignore_user_window, "ignore_user_window", maximum=MAX_IGNORE_WINDOW_MINUTES
            )
            text += f" within {details['ignoreUserWindow']} min"
        kinds.append(text)
    if len(kinds) > 1:
        raise SentryInputError(
            "ignore_duration",
            "choose one ignore condition (a duration, an event count or a user count), as Sentry's UI does",
        )
    return details, (kinds[0] if kinds else "")


def _in_commit(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise SentryInputError("in_commit", 'must be {"repository": "<repo name>", "commit": "<sha>"}')
    unknown = set(value) - {"repository", "commit"}
    if unknown:
        raise SentryInputError("in_commit", f"unknown keys {sorted(unknown)}; allowed: commit, repository")
    clean = {}
    for key in ("commit", "repository"):
        if not isinstance(value.get(key), str) or not value[key].strip():
            raise SentryInputError("in_commit", f"needs a non-empty {key!r}")
        clean[key] = value[key].strip()
    return clean


def _assignee(value: Any) -> str:
    """``user:<id>``, ``team:<id>``, a user id, a username or an email (Sentry's ActorField)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise SentryInputError("assign_to", "must be 'user:<id>', 'team:<id>', a user id, a username or an email")
    text = value.strip()
    kind, colon, ident = text.partition(":")
    if colon and kind in ("user", "team") and not ident.isdigit():
        raise SentryInputError("assign_to", f"{text!r}: the id after '{kind}:' must be numeric")
    return text


def build_issue_change(
    *,
    status: Any = None,
    in_next_release: Any = False,
    in_release: Any = None,
    in_commit: Any = None,
    ignore_duration: Any = None,
    ignore_count: Any = None,
    ignore_window: Any = None,
    ignore_user_count: Any = None,
    ignore_user_window: Any = None,
    ignore_until_escalating: Any = False,
    assign_to: Any = None,
    clear_assignee: Any = False,
) -> IssueChange:
    """Validate one mutation and build its body; refuses what Sentry would reject or misread."""
    if status is not None and status != "":
        if not isinstance(status, str) or STATUS_ALIASES.get(status, status) not in STATUSES:
            raise SentryInputError("status", f"must be one of {', '.join(STATUSES)}, got {status!r}")
        if status == "resolvedInNextRelease":
            in_next_release = True
        status = STATUS_ALIASES.get(status, status)
    else:
        status = None
    next_release = as_bool(in_next_release, "in_next_release")
    until_escalating = as_bool(ignore_until_escalating, "ignore_until_escalating")
    do_clear_assignee = as_bool(clear_assignee, "clear_assignee")

    resolve_modes = [
        name
        for name, given in (
            ("in_next_release", next_release),
            ("in_release", in_release not in (None, "")),
            ("in_commit", in_commit not in (None, {})),
        )
        if given
    ]
    if len(resolve_modes) > 1:
        raise SentryInputError(resolve_modes[1], f"conflicts with {resolve_modes[0]}: choose one way to resolve")
    ignore_details, ignore_text = _ignore_details(
        ignore_duration=ignore_duration,
        ignore_count=ignore_count,
        ignore_window=ignore_window,
        ignore_user_count=ignore_user_count,
        ignore_user_window=ignore_user_window,
    )
    if until_escalating and ignore_details:
        raise SentryInputError("ignore_until_escalating", "conflicts with the other ignore conditions")
    wants_ignore = bool(ignore_details) or until_escalating
    if resolve_modes and wants_ignore:
        raise SentryInputError(resolve_modes[0], "conflicts with the ignore conditions: resolve or ignore, not both")
    if resolve_modes:
        if status not in (None, "resolved"):
            raise SentryInputError(resolve_modes[0], f"only applies to status='resolved', not {status!r}")
        status = "resolved"
    if wants_ignore:
        if status not in (None, "ignored"):
            raise SentryInputError("status", f"ignore conditions only apply to status='ignored', not {status!r}")
        status = "ignored"
    if assign_to not in (None, "") and do_clear_assignee:
        raise SentryInputError("clear_assignee", "conflicts with assign_to")

    body: dict[str, Any] = {}
    per_project = False
    description = ""
    if status == "resolved":
        body["status"] = "resolved"
        if next_release:
            body["statusDetails"] = {"inNextRelease": True}
            description = "resolved in the next release"
        elif in_release not in (None, ""):
            version = in_release if in_release == "latest" else validate_version(in_release, "in_release")
            body["statusDetails"] = {"inRelease": version}
            description = f"resolved in release {version}"
        elif in_commit not in (None, {}):
            commit = _in_commit(in_commit)
            body["statusDetails"] = {"inCommit": commit}
            description = f"resolved in commit {commit['repository']}@{commit['commit']}"
        else:
            body["statusDetails"] = {}
            description = "resolved"
        per_project = bool(resolve_modes)
    elif status == "ignored":
        body["status"] = "ignored"
        body["statusDetails"] = ignore_details
        if until_escalating:
            body["substatus"] = "archived_until_escalating"
            description = "archived until escalating"
        elif ignore_details:
            body["substatus"] = "archived_until_condition_met"
            description = f"ignored {ignore_text}"
        else:
            body["substatus"] = "archived_forever"
            description = "archived forever"
    elif status == "unresolved":
        body["status"] = "unresolved"
        body["statusDetails"] = {}
        description = "unresolved"
    if assign_to not in (None, ""):
        body["assignedTo"] = _assignee(assign_to)
        description = ", ".join(filter(None, [description, f"assigned to {body['assignedTo']}"]))
    elif do_clear_assignee:
        body["assignedTo"] = ""
        description = ", ".join(filter(None, [description, "unassigned"]))
    if not body:
        raise SentryInputError("status", "nothing to change: give a status, a resolve/ignore mode or an assignee")
    plain = status in ("resolved", "unresolved") and not resolve_modes and "assignedTo" not in body
    return IssueChange(body=body, per_project=per_project, description=description, status=status, plain=plain)


def already_applied(issue: Mapping[str, Any], change: IssueChange) -> bool:
    """True when a bare resolve/unresolve would not change this issue (it is already in that status)."""
    if not change.plain:
        return False
    if change.status == "resolved":
        return issue.get("status") == "resolved" and not (issue.get("statusDetails") or {})
    return issue.get("status") == change.status


@dataclass(frozen=True)
class Batch:
    """One PUT: the ids (at most 1,000, within the request line) and the projects they belong to."""

    issue_ids: tuple[str, ...]
    project_ids: tuple[str, ...] = field(default=())


def _project_of(issue: Mapping[str, Any]) -> str:
    project = issue.get("project")
    if isinstance(project, Mapping) and project.get("id") is not None:
        return str(project["id"])
    return ""


def _param_length(key: str, value: str) -> int:
    """Bytes of ``&key=value`` in the query string, encoded as ``core.api_urls.build_url`` does."""
    return len(key) + len(quote(value, safe=":,")) + 2


def query_budget(base_url: str, path: str, method: str = "PUT") -> int:
    """Bytes left for the query string of ``METHOD <base path>/api/0/<path>?<query> HTTP/1.1``."""
    fixed = len(method) + 1 + len(urlsplit(base_url).path) + len("/api/0/") + len(path) + 1 + len(" HTTP/1.1")
    return REQUEST_LINE_LIMIT - REQUEST_LINE_MARGIN - fixed


def plan_batches(
    issues: Sequence[Mapping[str, Any]], change: IssueChange, *, limit: int, budget: int = 7 * 1024
) -> list[Batch]:
    """Batches of ids whose pinned PUT (``mutation_params``) fits ``budget`` query bytes and 1,000 ids;
    one project per batch when Sentry refuses multi-project releases."""
    selected = [issue for issue in issues if not already_applied(issue, change)][:limit]
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for issue in selected:
        key = _project_of(issue) if change.per_project else ""
        groups.setdefault(key, []).append(issue)
    fixed = _param_length("query", GUARD_QUERY)
    batches = []
    for members in groups.values():
        ids: list[str] = []
        projects: set[str] = set()
        used = fixed
        for issue in members:
            issue_id, project = str(issue["id"]), _project_of(issue)
            cost = _param_length("id", issue_id)
            if project and project not in projects:
                cost += _param_length("project", project)
            if ids and (used + cost > budget or len(ids) >= MAX_IDS_PER_REQUEST):
                batches.append(Batch(tuple(ids), tuple(sorted(projects, key=int))))
                ids, projects, used = [], set(), fixed
                cost = _param_length("id", issue_id) + (_param_length("project", project) if project else 0)
            ids.append(issue_id)
            if project:
                projects.add(project)
            used += cost
        if ids:
            batches.append(Batch(tuple(ids), tuple(sorted(projects, key=int))))
    return batches


def guard_query(issue_ids: Sequence[str] = ()) -> str:
    """A search that matches no issue: if Sentry falls back to the search (none of the ids exists
    any more), it finds nothing instead of up to 1000 unrelated issues.

    ``id:`` is not an issue search key (Sentry would read it as a tag); ``issue.id`` is the
    group-id field of Sentry's search, and group ids start at 1. It does not repeat the ids: the
    fallback only runs when none of them exists, and a short guard leaves the request line to the ids.
    """
    return GUARD_QUERY


def mutation_params(batch: Batch) -> list[tuple[str, str]]:
    """Query parameters of one pinned PUT: the ids, their projects, and the guard search."""
    params = [("id", issue_id) for issue_id in batch.issue_ids]
    params += [("project", project_id) for project_id in batch.project_ids]
    params.append(("query", guard_query()))
    return params


def lookup_chunks(issue_ids: Sequence[str], project_ids: Sequence[str], *, budget: int = 7 * 1024) -> list[list[str]]:
    """The ids cut into ``group=`` lookups whose query (``lookup_params``) fits ``budget`` bytes."""
    fixed = sum(_param_length(key, value) for key, value in project_filter(project_ids) + LEAN_LISTING)
    chunks: list[list[str]] = []
    current: list[str] = []
    used = fixed
    for issue_id in issue_ids:
        cost = _param_length("group", issue_id)
        if current and (used + cost > budget or len(current) >= MAX_IDS_PER_REQUEST):
            chunks.append(current)
            current, used = [], fixed
        current.append(issue_id)
        used += cost
    if current:
        chunks.append(current)
    return chunks


def project_filter(project_ids: Sequence[str]) -> list[tuple[str, str]]:
    """The ``project`` params of a listing; ``-1`` (all accessible projects) when none was chosen,
    because without it Sentry only searches the projects the token's user is a member of."""
    return [("project", project_id) for project_id in project_ids] or [("project", "-1")]


LEAN_LISTING = [("collapse", "stats")]  # no timeline stats, lifetime or filtered counts (StreamGroupSerializerSnuba)


def lookup_params(issue_ids: Sequence[str], project_ids: Sequence[str]) -> list[tuple[str, str]]:
    """``GET organizations/{org}/issues/?group=..``: Sentry returns exactly those issues, without the
    timeline stats and counters the operator does not read (``collapse``, about a third of the bytes)."""
    return [("group", issue_id) for issue_id in issue_ids] + project_filter(project_ids) + LEAN_LISTING


def search_params(selection: Selection, project_ids: Sequence[str]) -> list[tuple[str, str]]:
    """``GET organizations/{org}/issues/`` for a query, sorted by first-seen (stable while paging)."""
    params: list[tuple[str, str]] = [("query", selection.query or ""), ("sort", "new"), ("limit", str(LIST_PAGE_SIZE))]
    params += project_filter(project_ids)
    params += [("environment", env) for env in selection.environments]
    return params + LEAN_LISTING


def project_ids_for(wanted: Sequence[str], projects: Iterable[Mapping[str, Any]]) -> list[str]:
    """Integer project ids for slugs or ids (the issue endpoints take ids only); unknown -> error."""
    by_slug = {}
    known_ids = set()
    for project in projects:
        by_slug[str(project.get("slug"))] = str(project.get("id"))
        known_ids.add(str(project.get("id")))
    ids = []
    missing = []
    for name in wanted:
        if name in by_slug:
            ids.append(by_slug[name])
        elif name.isdigit() and name in known_ids:
            ids.append(name)
        else:
            missing.append(name)
    if missing:
        raise SentryInputError("projects", f"unknown project(s) {missing}; known: {sorted(by_slug)}")
    return list(dict.fromkeys(ids))


def needs_project_lookup(wanted: Sequence[str]) -> bool:
    """Slugs need one ``GET organizations/{org}/projects/``; all-numeric ids do not."""
    return any(not name.isdigit() for name in wanted)
