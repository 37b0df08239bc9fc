"""Resolve, ignore, unresolve or assign Sentry issues chosen by id or by a search query.

How it talks to Sentry (and why): the matching issues are LISTED first, then mutated BY ID in
pinned batches cut to fit an 8 KB request line (a default nginx's limit) and 1,000 ids.

* listing: ``GET organizations/{org}/issues/`` (``group=<id>`` for explicit ids, as many as fit the
  request line, unpaged; else the query sorted by first-seen, 100 per page, following the cursor) —
  this is what lets the task return the exact ids it changed, stop at ``max_issues``, and show a dry
  run that equals the real run;
* mutation: ``PUT organizations/{org}/issues/?id=..&project=..&query=issue.id:[0]`` — only ids
  just listed, pinned so Sentry's "no id matched -> fall back to the search" path finds nothing.

Cost: explicit ids, 2 GET + 2 PUT per 1,000 seven-digit ids (3 + 2 for ten-digit ids); a query,
one GET per 100 issues plus one PUT per ~730 ids (N=5,000: 51 GET + 7 PUT). A bare query PUT
loop would need ceil(N/1000)+1 requests but returns no ids, cannot stop at an exact limit and
mutates whatever matches at that moment; see docs/operators.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_sentry._compat import BaseOperator
from airflow_provider_sentry._lazy import lazy_module
from airflow_provider_sentry.defaults import DEFAULT_CONN_ID, DEFAULT_MAX_ISSUES
from airflow_provider_sentry.links import SentryIssuesLink

if TYPE_CHECKING:
    from airflow_provider_sentry._compat import Context
    from airflow_provider_sentry.core import api_urls, arguments, issue_updates, page, releases, ui_urls
    from airflow_provider_sentry.core.issue_updates import Batch, IssueChange, Selection
    from airflow_provider_sentry.hooks import sentry as sentry_hook
    from airflow_provider_sentry.hooks.sentry import SentryHook
else:  # runtime only: loaded when a task runs, not when the DAG is parsed
    api_urls = lazy_module("airflow_provider_sentry.core.api_urls")
    arguments = lazy_module("airflow_provider_sentry.core.arguments")
    issue_updates = lazy_module("airflow_provider_sentry.core.issue_updates")
    page = lazy_module("airflow_provider_sentry.core.page")
    releases = lazy_module("airflow_provider_sentry.core.releases")
    ui_urls = lazy_module("airflow_provider_sentry.core.ui_urls")
    sentry_hook = lazy_module("airflow_provider_sentry.hooks.sentry")


class UpdateIssuesOperator(BaseOperator):
    """Change the status or assignee of the Sentry issues chosen by ``issue_ids`` or ``query``.

    :param issue_ids: issue ids (ints or digit strings, or a JSON list string from XCom). (templated)
    :param query: a Sentry issue search, e.g. ``is:unresolved release:1.2.0 level:error``. (templated)
    :param projects: project slugs or ids to restrict to; slugs are resolved once. (templated)
    :param environments: environment names to restrict a query to. (templated)
    :param organization: organization slug; default: the connection's. (templated)
    :param status: ``resolved``, ``unresolved`` or ``ignored``. (templated)
    :param in_next_release: resolve in the next release of each issue's project. (templated)
    :param in_release: resolve in this release version (``latest`` = newest). (templated)
    :param in_commit: resolve in ``{"repository": ..., "commit": ...}``. (templated)
    :param ignore_duration: ignore for this many minutes. (templated)
    :param ignore_count: ignore until this many more events ... (templated)
    :param ignore_window: ... within this many minutes (at most 10080). (templated)
    :param ignore_user_count: ignore until this many more users are affected ... (templated)
    :param ignore_user_window: ... within this many minutes (at most 10080). (templated)
    :param ignore_until_escalating: archive until Sentry sees the issue escalate. (templated)
    :param assign_to: ``user:<id>``, ``team:<id>``, a user id, username or email. (templated)
    :param clear_assignee: remove the assignee. (templated)
    :param max_issues: never change more than this many issues (default 10,000). (templated)
    :param dry_run: list what would change and change nothing. (templated)
    :param sentry_conn_id: the Sentry connection. (templated)
    :return: (XCom) the ids (strings) of the issues changed, or that would be in a dry run.
    """

    template_fields: Sequence[str] = (
        "issue_ids",
        "query",
        "projects",
        "environments",
        "organization",
        "status",
        "in_next_release",
        "in_release",
        "in_commit",
        "ignore_duration",
        "ignore_count",
        "ignore_window",
        "ignore_user_count",
        "ignore_user_window",
        "ignore_until_escalating",
        "assign_to",
        "clear_assignee",
        "max_issues",
        "dry_run",
        "sentry_conn_id",
    )
    operator_extra_links = (SentryIssuesLink(),)
    ui_color = "#e1c7ff"

    def __init__(
        self,
        *,
        issue_ids: Any = None,
        query: str | None = None,
        projects: Any = None,
        environments: Any = None,
        organization: str | None = None,
        status: str | None = None,
        in_next_release: bool = False,
        in_release: str | None = None,
        in_commit: dict[str, str] | None = None,
        ignore_duration: int | None = None,
        ignore_count: int | None = None,
        ignore_window: int | None = None,
        ignore_user_count: int | None = None,
        ignore_user_window: int | None = None,
        ignore_until_escalating: bool = False,
        assign_to: str | int | None = None,
        clear_assignee: bool = False,
        max_issues: int = DEFAULT_MAX_ISSUES,
        dry_run: bool = False,
        sentry_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.issue_ids = issue_ids
        self.query = query
        self.projects = projects
        self.environments = environments
        self.organization = organization
        self.status = status
        self.in_next_release = in_next_release
        self.in_release = in_release
        self.in_commit = in_commit
        self.ignore_duration = ignore_duration
        self.ignore_count = ignore_count
        self.ignore_window = ignore_window
        self.ignore_user_count = ignore_user_count
        self.ignore_user_window = ignore_user_window
        self.ignore_until_escalating = ignore_until_escalating
        self.assign_to = assign_to
        self.clear_assignee = clear_assignee
        self.max_issues = max_issues
        # Shadows BaseOperator.dry_run(), a legacy helper that Airflow 3 itself never calls.
        self.dry_run = dry_run  # type: ignore[method-assign,assignment]
        self.sentry_conn_id = sentry_conn_id

    @cached_property
    def hook(self) -> SentryHook:
        return sentry_hook.SentryHook(sentry_conn_id=self.sentry_conn_id)

    def build_change(self) -> IssueChange:
        """The validated mutation; subclasses narrow what can be asked for."""
        return issue_updates.build_issue_change(
            status=self.status,
            in_next_release=self.in_next_release,
            in_release=self.in_release,
            in_commit=self.in_commit,
            ignore_duration=self.ignore_duration,
            ignore_count=self.ignore_count,
            ignore_window=self.ignore_window,
            ignore_user_count=self.ignore_user_count,
            ignore_user_window=self.ignore_user_window,
            ignore_until_escalating=self.ignore_until_escalating,
            assign_to=self.assign_to,
            clear_assignee=self.clear_assignee,
        )

    def execute(self, context: Context) -> list[str]:
        # Everything is validated before the first request.
        change = self.build_change()
        if _no_ids_to_act_on(self.issue_ids, self.query):
            self.log.info("Sentry: issue_ids is an empty list, so no issue is %s; no request sent", change.description)
            return []
        selection = issue_updates.build_selection(
            issue_ids=self.issue_ids,
            query=self.query,
            projects=self.projects,
            environments=self.environments,
            max_issues=self.max_issues,
        )
        _check_environments(selection.environments)
        dry_run = arguments.as_bool(self.dry_run, "dry_run")
        hook = self.hook
        organization = hook.resolve_organization(self.organization)
        first_request = hook.requests_sent

        project_ids = self._project_ids(organization, selection.projects)
        SentryIssuesLink.persist(
            context,
            ui_urls.issues_url(
                hook.settings.base_url,
                organization,
                query=selection.query,
                issue_ids=selection.issue_ids,
                project_ids=project_ids,
                environments=selection.environments,
            ),
        )
        issues, truncated = self._matching_issues(organization, selection, project_ids)
        budget = issue_updates.query_budget(
            hook.settings.base_url, api_urls.api_path("organizations", organization, "issues")
        )
        batches = issue_updates.plan_batches(issues, change, limit=selection.max_issues, budget=budget)
        planned = [issue_id for batch in batches for issue_id in batch.issue_ids]
        found_ids = {str(issue["id"]) for issue in issues}
        missing = [i for i in selection.issue_ids if i not in found_ids]
        if missing:
            self.log.warning("Sentry: %d issue id(s) not found, skipped: %s", len(missing), ", ".join(missing[:20]))
        if truncated:
            self.log.warning("Sentry: stopped at max_issues=%d; more issues may match", selection.max_issues)

        if dry_run:
            self.log.info(
                "Sentry dry run: %d matched, %d would be %s (%d PUT request(s)); nothing changed. Ids: %s",
                len(issues),
                len(planned),
                change.description,
                len(batches),
                ", ".join(planned[:50]) + (" ..." if len(planned) > 50 else ""),
            )
            return planned

        changed: list[str] = []
        for batch in batches:
            changed.extend(self._mutate(organization, batch, change))
        self.log.info(
            "Sentry: %d matched, %d %s, in %d request(s)",
            len(issues),
            len(changed),
            change.description,
            hook.requests_sent - first_request,
        )
        return changed

    # -- requests ------------------------------------------------------------------------------
    def _project_ids(self, organization: str, wanted: Sequence[str]) -> list[str]:
        """Integer ids for the ``projects`` argument: one listing when any slug is given."""
        if not wanted:
            return []
        if not issue_updates.needs_project_lookup(wanted):
            return list(wanted)
        listing = self.hook.paginate(api_urls.api_path("organizations", organization, "projects"))
        return issue_updates.project_ids_for(wanted, listing)

    def _matching_issues(
        self, organization: str, selection: Selection, project_ids: Sequence[str]
    ) -> tuple[list[dict[str, Any]], bool]:
        """The issues to act on (existing ones only), and whether ``max_issues`` cut the list."""
        path = api_urls.api_path("organizations", organization, "issues")
        if selection.issue_ids:
            found: list[dict[str, Any]] = []
            budget = issue_updates.query_budget(self.hook.settings.base_url, path, "GET")
            for chunk in issue_updates.lookup_chunks(selection.issue_ids, project_ids, budget=budget):
                data = self.hook.request(
                    "GET", path, params=issue_updates.lookup_params(chunk, project_ids), expect=list
                )
                wanted = set(chunk)
                found.extend(issue for issue in data or [] if str(page.item_field(issue, "id")) in wanted)
            return found, False
        seen: dict[str, dict[str, Any]] = {}
        for listed in self.hook.pages(path, params=issue_updates.search_params(selection, project_ids)):
            for issue in listed.items:
                seen.setdefault(str(page.item_field(issue, "id")), issue)
            if len(seen) >= selection.max_issues:
                return list(seen.values())[: selection.max_issues], listed.has_next or len(seen) > selection.max_issues
        return list(seen.values()), False

    def _mutate(self, organization: str, batch: Batch, change: IssueChange) -> list[str]:
        """One pinned PUT; the ids it changed (none when Sentry answers 204)."""
        response = self.hook.request(
            "PUT",
            api_urls.api_path("organizations", organization, "issues"),
            params=issue_updates.mutation_params(batch),
            json=change.body,
            raw=True,
        )
        if response.status == 204:
            self.log.warning("Sentry: none of %d issue(s) existed any more; nothing changed", len(batch.issue_ids))
            return []
        return list(batch.issue_ids)


def _no_ids_to_act_on(issue_ids: Any, query: Any) -> bool:
    """An explicitly empty id list (e.g. from an upstream task on a quiet day) and no query: a no-op."""
    return issue_ids is not None and query in (None, "") and issue_updates.normalize_issue_ids(issue_ids) == []


def _check_environments(environments: Sequence[str]) -> None:
    """Sentry's environment-name rules, before any request (the deploy operator's validator)."""
    for name in environments:
        releases.validate_environment(name, "environments")


class ResolveIssuesOperator(UpdateIssuesOperator):
    """Resolve Sentry issues chosen by ``issue_ids`` or a search ``query``.

    Plain ``resolved`` by default; or ``in_next_release=True``, ``in_release="<version>"`` or
    ``in_commit={"repository": ..., "commit": ...}`` (sent one project at a time, as Sentry
    requires). Issues already plainly resolved are skipped.

    :param issue_ids: issue ids (ints or digit strings). (templated)
    :param query: a Sentry issue search, e.g. ``is:unresolved release:1.2.0``. (templated)
    :param projects: project slugs or ids. (templated)
    :param environments: environment names. (templated)
    :param organization: organization slug; default: the connection's. (templated)
    :param in_next_release: resolve in the next release. (templated)
    :param in_release: resolve in this release version. (templated)
    :param in_commit: resolve in ``{"repository": ..., "commit": ...}``. (templated)
    :param max_issues: never resolve more than this many (default 10,000). (templated)
    :param dry_run: list what would be resolved and change nothing. (templated)
    :param sentry_conn_id: the Sentry connection. (templated)
    :return: (XCom) the ids (strings) of the resolved issues.
    """

    template_fields: Sequence[str] = (
        "issue_ids",
        "query",
        "projects",
        "environments",
        "organization",
        "in_next_release",
        "in_release",
        "in_commit",
        "max_issues",
        "dry_run",
        "sentry_conn_id",
    )

    def __init__(
        self,
        *,
        issue_ids: Any = None,
        query: str | None = None,
        projects: Any = None,
        environments: Any = None,
        organization: str | None = None,
        in_next_release: bool = False,
        in_release: str | None = None,
        in_commit: dict[str, str] | None = None,
        max_issues: int = DEFAULT_MAX_ISSUES,
        dry_run: bool = False,
        sentry_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            issue_ids=issue_ids,
            query=query,
            projects=projects,
            environments=environments,
            organization=organization,
            status="resolved",
            in_next_release=in_next_release,
            in_release=in_release,
            in_commit=in_commit,
            max_issues=max_issues,
            dry_run=dry_run,
            sentry_conn_id=sentry_conn_id,
            **kwargs,
        )


class ArchiveIssuesOperator(UpdateIssuesOperator):
    """Archive (ignore) Sentry issues chosen by ``issue_ids`` or a search ``query``.

    Forever by default; or until escalating, for ``duration`` minutes, or until ``count`` more events
    (within ``window`` minutes) or ``user_count`` more users (within ``user_window`` minutes).

    :param issue_ids: issue ids (ints or digit strings). (templated)
    :param query: a Sentry issue search, e.g. ``is:unresolved lastSeen:-30d``. (templated)
    :param projects: project slugs or ids. (templated)
    :param environments: environment names. (templated)
    :param organization: organization slug; default: the connection's. (templated)
    :param until_escalating: archive until Sentry sees the issue escalate. (templated)
    :param duration: archive for this many minutes. (templated)
    :param count: archive until this many more events ... (templated)
    :param window: ... within this many minutes (at most 10080). (templated)
    :param user_count: archive until this many more users are affected ... (templated)
    :param user_window: ... within this many minutes (at most 10080). (templated)
    :param max_issues: never archive more than this many (default 10,000). (templated)
    :param dry_run: list what would be archived and change nothing. (templated)
    :param sentry_conn_id: the Sentry connection. (templated)
    :return: (XCom) the ids (strings) of the archived issues.
    """

    template_fields: Sequence[str] = (
        "issue_ids",
        "query",
        "projects",
        "environments",
        "organization",
        "ignore_until_escalating",
        "ignore_duration",
        "ignore_count",
        "ignore_window",
        "ignore_user_count",
        "ignore_user_window",
        "max_issues",
        "dry_run",
        "sentry_conn_id",
    )

    def __init__(
        self,
        *,
        issue_ids: Any = None,
        query: str | None = None,
        projects: Any = None,
        environments: Any = None,
        organization: str | None = None,
        until_escalating: bool = False,
        duration: int | None = None,
        count: int | None = None,
        window: int | None = None,
        user_count: int | None = None,
        user_window: int | None = None,
        max_issues: int = DEFAULT_MAX_ISSUES,
        dry_run: bool = False,
        sentry_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            issue_ids=issue_ids,
            query=query,
            projects=projects,
            environments=environments,
            organization=organization,
            status="ignored",
            ignore_until_escalating=until_escalating,
            ignore_duration=duration,
            ignore_count=count,
            ignore_window=window,
            ignore_user_count=user_count,
            ignore_user_window=user_window,
            max_issues=max_issues,
            dry_run=dry_run,
            sentry_conn_id=sentry_conn_id,
            **kwargs,
        )


class AssignIssuesOperator(UpdateIssuesOperator):
    """Assign Sentry issues chosen by ``issue_ids`` or a search ``query`` to a user or team, or clear
    their assignee (``assign_to=None``).

    :param assign_to: ``user:<id>``, ``team:<id>``, a user id, username or email; ``None`` clears the
        assignee. (templated)
    :param issue_ids: issue ids (ints or digit strings). (templated)
    :param query: a Sentry issue search, e.g. ``is:unresolved is:unassigned``. (templated)
    :param projects: project slugs or ids. (templated)
    :param environments: environment names. (templated)
    :param organization: organization slug; default: the connection's. (templated)
    :param max_issues: never assign more than this many (default 10,000). (templated)
    :param dry_run: list what would be assigned and change nothing. (templated)
    :param sentry_conn_id: the Sentry connection. (templated)
    :return: (XCom) the ids (strings) of the issues changed.
    """

    template_fields: Sequence[str] = (
        "assign_to",
        "issue_ids",
        "query",
        "projects",
        "environments",
        "organization",
        "max_issues",
        "dry_run",
        "sentry_conn_id",
    )

    def __init__(
        self,
        *,
        assign_to: str | int | None,
        issue_ids: Any = None,
        query: str | None = None,
        projects: Any = None,
        environments: Any = None,
        organization: str | None = None,
        max_issues: int = DEFAULT_MAX_ISSUES,
        dry_run: bool = False,
        sentry_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            issue_ids=issue_ids,
            query=query,
            projects=projects,
            environments=environments,
            organization=organization,
            assign_to=assign_to,
            max_issues=max_issues,
            dry_run=dry_run,
            sentry_conn_id=sentry_conn_id,
            **kwargs,
        )

    def build_change(self) -> IssueChange:
        """``assign_to=None`` (or a template rendering to nothing) clears the assignee."""
        clear = self.assign_to in (None, "", "None")
        return issue_updates.build_issue_change(assign_to=None if clear else self.assign_to, clear_assignee=clear)
