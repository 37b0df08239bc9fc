"""Create, set commits on, deploy and finalize Sentry releases; safe to retry.

* Create is ``get_or_create`` on Sentry's side: 201 when the release was created OR gained a project,
  208 when nothing new happened. ``url`` and ``dateReleased`` apply only on creation, so what the
  returned release lacks is sent as a PUT, whatever the status. Commits/refs apply on every POST.
* A POST or PUT that carries commits while Sentry still fetches the commits of an earlier one gets a
  409 "Release commits are currently being processed": the operator waits (bounded) and sends again;
  on a retry (the earlier POST was ours) it accepts the 409 with a log line instead of failing.
* A deploy POST is NOT idempotent. Each deploy carries a name that identifies this task instance
  (or the caller's name); before posting, and again after a timeout or 5xx, the release's deploys
  are listed and an existing one is reused. Sentry lists only the LAST deploy per project and
  environment, so when the list may hide ours (another deploy of the same release and environment
  since, and ``deployCount`` larger than the list) the operator does not post a possible duplicate.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_sentry._compat import BaseOperator
from airflow_provider_sentry._lazy import lazy_module
from airflow_provider_sentry.defaults import DEFAULT_CONN_ID
from airflow_provider_sentry.links import SentryReleaseLink

if TYPE_CHECKING:
    from airflow_provider_sentry import exceptions
    from airflow_provider_sentry._compat import Context
    from airflow_provider_sentry.core import api_urls, arguments, releases, ui_urls
    from airflow_provider_sentry.core.releases import DeploySpec
    from airflow_provider_sentry.hooks import sentry as sentry_hook
    from airflow_provider_sentry.hooks.sentry import SentryHook
else:  # runtime only: loaded when a task runs, not when the DAG is parsed
    api_urls = lazy_module("airflow_provider_sentry.core.api_urls")
    arguments = lazy_module("airflow_provider_sentry.core.arguments")
    releases = lazy_module("airflow_provider_sentry.core.releases")
    ui_urls = lazy_module("airflow_provider_sentry.core.ui_urls")
    exceptions = lazy_module("airflow_provider_sentry.exceptions")
    sentry_hook = lazy_module("airflow_provider_sentry.hooks.sentry")

DEPLOY_POST_ATTEMPTS = 3
COMMIT_PROCESSING_WAITS = (1.0, 2.0, 4.0, 8.0, 15.0)  # seconds between sends while Sentry answers 409
CLOCK_SKEW = timedelta(seconds=30)  # between this worker and Sentry, when comparing deploy times


def _now() -> datetime:
    return datetime.now(UTC)


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


class _ReleaseOperator(BaseOperator):
    """Shared plumbing: the hook, the organization, the release link, commits and deploys."""

    operator_extra_links = (SentryReleaseLink(),)
    ui_color = "#c9b4f9"
    version: Any
    organization: str | None
    sentry_conn_id: str

    @cached_property
    def hook(self) -> SentryHook:
        return sentry_hook.SentryHook(sentry_conn_id=self.sentry_conn_id)

    def _start(self, context: Context, version: str) -> str:
        """Resolve the organization and store the release link; returns the organization."""
        organization = self.hook.resolve_organization(self.organization)
        SentryReleaseLink.persist(context, ui_urls.release_url(self.hook.settings.base_url, organization, version))
        return organization

    def _release_path(self, organization: str, version: str, *rest: str) -> str:
        return api_urls.api_path("organizations", organization, "releases", version, *rest)

    def _send_commits(
        self, context: Context, method: str, path: str, body: dict[str, Any], *, ignore_missing_repos: bool
    ) -> tuple[Any, int | None]:
        """POST or PUT a body that may carry commits/refs; returns (data, status).

        409 "commits are being processed": wait and send again (bounded by COMMIT_PROCESSING_WAITS);
        when still 409 and an earlier request of ours may be what is processing (a task retry, or the
        hook resent the request), accept it: status None, data None. An unknown repository (400
        InvalidRepository) fails with Sentry's text, or with ``ignore_missing_repos`` is logged and the
        body is sent again without ``refs`` (status None, data None when nothing else is left to send).
        """
        waits = list(COMMIT_PROCESSING_WAITS)
        body = dict(body)
        resent: bool | None = None  # did the hook resend our first request (an answer was lost)?
        while True:
            sent_before = self.hook.requests_sent
            try:
                response = self.hook.request(method, path, json=body, raw=True, idempotent=True)
                return response.data, response.status
            except exceptions.SentryApiError as exc:
                if resent is None:
                    resent = self.hook.requests_sent - sent_before > 1
                missing = releases.invalid_repositories(exc)
                if missing is not None and "refs" in body:
                    if not ignore_missing_repos:
                        self.log.error(
                            "Sentry does not know a repository of refs: %s. Connect the repository integration "
                            "in Sentry (Settings > Integrations), fix the name, or set ignore_missing_repos=True",
                            missing,
                        )
                        raise
                    self.log.warning("Sentry: %s; ignore_missing_repos=True: going on without these refs", missing)
                    body.pop("refs")
                    if method == "PUT" and not body:
                        return None, None
                    continue
                if not releases.is_commits_processing(exc):
                    raise
                ours = _try_number(context) > 1 or resent
                if waits:
                    wait = waits.pop(0)
                    self.log.info("Sentry: release commits are being processed (409); sending again in %.0fs", wait)
                    _sleep(wait)
                    continue
                if not ours:
                    raise
                self.log.warning(
                    "Sentry: release commits are still being processed (409) after %.0fs; this is a retry, so "
                    "the commits being applied are the ones an earlier attempt sent: accepted",
                    sum(COMMIT_PROCESSING_WAITS),
                )
                return None, None

    def _ensure_deploy(self, context: Context, organization: str, version: str, spec: DeploySpec) -> dict[str, Any]:
        """Post the deploy unless an earlier attempt of this task instance already did."""
        name = spec.name or _task_marker(context, self.task_id)
        started = spec.started or releases.iso_timestamp(_now(), "deploy.started")
        pinned_start = spec.started  # the caller's own start identifies the deploy exactly
        run_start = _run_start(context)
        not_before = None if pinned_start else run_start
        path = self._release_path(organization, version, "deploys")
        body = {**spec.body(name=name), "dateStarted": started}

        def listed() -> list[dict[str, Any]]:
            return [dict(d) for d in self.hook.paginate(path)]

        def mine(deploys: list[dict[str, Any]]) -> dict[str, Any] | None:
            match = releases.find_matching_deploy(
                deploys, environment=spec.environment, name=name, started=pinned_start, not_before=not_before
            )
            return dict(match) if match is not None else None

        def hidden_by(deploys: list[dict[str, Any]], since: datetime | None) -> dict[str, Any] | None:
            """A later deploy that may hide ours in Sentry's last-deploy-per-environment list."""
            other = releases.superseding_deploy(deploys, environment=spec.environment, name=name, since=since)
            if other is None:
                return None
            release = self.hook.request("GET", self._release_path(organization, version)) or {}
            if int(release.get("deployCount") or 0) <= len(deploys):
                return None  # every deploy of the release is listed: ours is not hidden, it was not stored
            self.log.warning(
                "Sentry: deploy %r of %s to %s is not listed, but Sentry lists only the last deploy per project "
                "and environment and deploy %s (%r) came since; ours may be hidden behind it, so no second "
                "deploy is posted",
                name,
                version,
                spec.environment,
                other.get("id"),
                other.get("name"),
            )
            return dict(other)

        deploys = listed()
        found = mine(deploys)
        if found is not None:
            self.log.info(
                "Sentry: deploy %r to %s already exists (id %s); not posting another",
                name,
                spec.environment,
                found.get("id"),
            )
            return {"deploy": found, "created": False}
        if _try_number(context) > 1:
            other = hidden_by(deploys, run_start - CLOCK_SKEW if run_start else None)
            if other is not None:
                return {"deploy": None, "created": False, "superseded_by": other}
        last_error: Exception | None = None
        for attempt in range(1, DEPLOY_POST_ATTEMPTS + 1):
            posted_at = _now()
            try:
                deploy = self.hook.request("POST", path, json=body)
            except (exceptions.SentryTransportError, exceptions.SentryServerError) as exc:
                last_error = exc
                self.log.warning(
                    "Sentry: deploy POST attempt %d failed (%s); checking whether it was stored", attempt, exc
                )
                deploys = listed()
                found = mine(deploys)
                if found is not None:
                    self.log.info("Sentry: the deploy was stored despite the error (id %s)", found.get("id"))
                    return {"deploy": found, "created": True}
                other = hidden_by(deploys, posted_at - CLOCK_SKEW)
                if other is not None:
                    return {"deploy": None, "created": False, "superseded_by": other}
                continue
            self.log.info(
                "Sentry: deploy %r of %s to %s created (id %s)", name, version, spec.environment, deploy.get("id")
            )
            return {"deploy": deploy, "created": True}
        assert last_error is not None
        raise last_error


def _try_number(context: Context) -> int:
    number = getattr(context.get("ti"), "try_number", 1)
    return number if isinstance(number, int) else 1


def _task_marker(context: Context, task_id: str) -> str:
    ti = context.get("ti")
    dag_id = getattr(ti, "dag_id", "") or ""
    run_id = getattr(ti, "run_id", "") or str(context.get("run_id") or "")
    map_index = getattr(ti, "map_index", -1)
    return releases.deploy_marker(dag_id, task_id, run_id, map_index if isinstance(map_index, int) else -1)


def _run_start(context: Context) -> datetime | None:
    """The DAG run's start: deploys of this run started after it, earlier runs' deploys before."""
    dag_run = context.get("dag_run")
    start = getattr(dag_run, "start_date", None)
    if isinstance(start, datetime):
        return start if start.tzinfo else start.replace(tzinfo=UTC)
    return None


class CreateReleaseOperator(_ReleaseOperator):
    """Create a release (or accept the existing one), optionally with commits, finalize and deploys.

    :param version: the release version, any string Sentry allows. (templated)
    :param projects: one or more project slugs or integer ids (sent as given: Sentry reads a string as
        a slug); missing ones are added on retry. (templated)
    :param refs: ``"repo@from..to"`` / ``"repo@sha"`` strings as sentry-cli takes them, or
        ``{"repository", "commit", "previousCommit"}`` dicts. Without a previous commit Sentry starts
        from the previous release's commit itself. (templated)
    :param commits: explicit commit dicts (``id`` required). (templated)
    :param url: a URL for the release (e.g. the CI build). (templated)
    :param date_released: when it was released (finalizes it). (templated)
    :param finalize: ``True`` to finalize now, or a datetime. (templated)
    :param deploy: ``{"environment", "name"?, "url"?, "started"?, "finished"?, "projects"?}``, or a list
        of them, one per environment. (templated)
    :param ignore_missing_repos: when Sentry does not know a repository of ``refs`` (400 "Invalid
        repository names"), log a warning and go on without those commits instead of failing. (templated)
    :param organization: organization slug; default: the connection's. (templated)
    :param sentry_conn_id: the Sentry connection. (templated)
    :return: (XCom) ``{"release": <release JSON>, "created": bool, "deploy": <deploy result>}``: ``created``
        is Sentry's 201 (created, or a project was added); ``deploy`` is None, the deploy JSON for a dict, or
        a list of ``{"environment", "deploy", "created"}`` for a list.
    """

    template_fields: Sequence[str] = (
        "version",
        "projects",
        "refs",
        "commits",
        "url",
        "date_released",
        "finalize",
        "deploy",
        "ignore_missing_repos",
        "organization",
        "sentry_conn_id",
    )

    def __init__(
        self,
        *,
        version: str,
        projects: Any,
        refs: Any = None,
        commits: Any = None,
        url: str | None = None,
        date_released: Any = None,
        finalize: bool | datetime = False,
        deploy: dict[str, Any] | list[dict[str, Any]] | None = None,
        ignore_missing_repos: bool = False,
        organization: str | None = None,
        sentry_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.version = version
        self.projects = projects
        self.refs = refs
        self.commits = commits
        self.url = url
        self.date_released = date_released
        self.finalize = finalize
        self.deploy = deploy
        self.ignore_missing_repos = ignore_missing_repos
        self.organization = organization
        self.sentry_conn_id = sentry_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        version = releases.validate_version(self.version)
        projects = releases.validate_release_projects(self.projects)
        refs = releases.normalize_refs(self.refs)
        commits = releases.normalize_commits(self.commits)
        if self.url is not None and not isinstance(self.url, str):
            raise exceptions.SentryInputError("url", "must be a string")
        date_released = releases.release_date(self.finalize, self.date_released, _now())
        deploys = releases.validate_deploys(self.deploy)
        ignore_missing = arguments.as_bool(self.ignore_missing_repos, "ignore_missing_repos")
        organization = self._start(context, version)

        body = releases.build_release_body(
            version=version,
            projects=projects,
            refs=refs,
            commits=commits,
            url=self.url or None,
            date_released=date_released,
        )
        data, status = self._send_commits(
            context,
            "POST",
            api_urls.api_path("organizations", organization, "releases"),
            body,
            ignore_missing_repos=ignore_missing,
        )
        release: dict[str, Any] = data if isinstance(data, dict) else {}
        if status is None:  # accepted a 409: read the release as it is
            release = self.hook.request("GET", self._release_path(organization, version)) or {}
        if status == 208:
            self.log.info("Sentry: release %s already exists (208); treating as success", version)
        elif status == 201:
            self.log.info("Sentry: release %s created or extended (201) for %s", version, projects)
        # Decided from the release itself: a 201 for an existing release that gained a project
        # ignored url and dateReleased just like a 208.
        update = releases.followup_update(release, url=self.url or None, date_released=date_released)
        if update:
            self.log.info("Sentry: release %s lacks %s after the POST; sending them as a PUT", version, sorted(update))
            release = self.hook.request("PUT", self._release_path(organization, version), json=update) or release
        results = [self._ensure_deploy(context, organization, version, spec) for spec in deploys]
        deployed: Any = None
        if isinstance(self.deploy, dict):
            deployed = results[0]["deploy"]
        elif results:
            deployed = [
                {"environment": spec.environment, **result} for spec, result in zip(deploys, results, strict=True)
            ]
        return {"release": release, "created": status == 201, "deploy": deployed}


class SetCommitsOperator(_ReleaseOperator):
    """Associate commits with an existing release (``PUT releases/{version}/``), like
    ``sentry-cli releases set-commits --commit repo@from..to``. Replaces earlier commits.

    :param version: the release version. (templated)
    :param refs: ``"repo@from..to"`` strings or ref dicts (Sentry fetches the commits). (templated)
    :param commits: explicit commit dicts instead of refs. (templated)
    :param ignore_missing_repos: warn and go on when Sentry does not know a repository. (templated)
    :param organization: organization slug; default: the connection's. (templated)
    :param sentry_conn_id: the Sentry connection. (templated)
    :return: (XCom) the release JSON.
    """

    template_fields: Sequence[str] = (
        "version",
        "refs",
        "commits",
        "ignore_missing_repos",
        "organization",
        "sentry_conn_id",
    )

    def __init__(
        self,
        *,
        version: str,
        refs: Any = None,
        commits: Any = None,
        ignore_missing_repos: bool = False,
        organization: str | None = None,
        sentry_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.version = version
        self.refs = refs
        self.commits = commits
        self.ignore_missing_repos = ignore_missing_repos
        self.organization = organization
        self.sentry_conn_id = sentry_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        version = releases.validate_version(self.version)
        refs = releases.normalize_refs(self.refs)
        commits = releases.normalize_commits(self.commits)
        if not refs and not commits:
            raise exceptions.SentryInputError("refs", "give refs ('repo@from..to') or commits")
        ignore_missing = arguments.as_bool(self.ignore_missing_repos, "ignore_missing_repos")
        organization = self._start(context, version)
        body: dict[str, Any] = {}
        if refs:
            body["refs"] = refs
        if commits:
            body["commits"] = commits
        path = self._release_path(organization, version)
        data, status = self._send_commits(context, "PUT", path, body, ignore_missing_repos=ignore_missing)
        release: dict[str, Any] = data if status is not None and isinstance(data, dict) else {}
        if status is None:
            release = self.hook.request("GET", path) or {}
        self.log.info("Sentry: set %d ref(s), %d commit(s) on release %s", len(refs), len(commits), version)
        return release


class FinalizeReleaseOperator(_ReleaseOperator):
    """Finalize an existing release: set ``dateReleased`` (now by default), like
    ``sentry-cli releases finalize``. Repeating it is harmless.

    :param version: the release version. (templated)
    :param date_released: when it was released; default: now. (templated)
    :param url: optionally set the release URL too. (templated)
    :param organization: organization slug; default: the connection's. (templated)
    :param sentry_conn_id: the Sentry connection. (templated)
    :return: (XCom) the release JSON.
    """

    template_fields: Sequence[str] = ("version", "date_released", "url", "organization", "sentry_conn_id")

    def __init__(
        self,
        *,
        version: str,
        date_released: Any = None,
        url: str | None = None,
        organization: str | None = None,
        sentry_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.version = version
        self.date_released = date_released
        self.url = url
        self.organization = organization
        self.sentry_conn_id = sentry_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        version = releases.validate_version(self.version)
        date_released = releases.release_date(True, self.date_released, _now())
        if self.url is not None and not isinstance(self.url, str):
            raise exceptions.SentryInputError("url", "must be a string")
        organization = self._start(context, version)
        body: dict[str, Any] = {"dateReleased": date_released}
        if self.url:
            body["url"] = self.url
        release: dict[str, Any] = self.hook.request("PUT", self._release_path(organization, version), json=body)
        self.log.info("Sentry: release %s finalized at %s", version, date_released)
        return release


class CreateDeployOperator(_ReleaseOperator):
    """Record a deploy of an existing release, exactly once per task instance.

    :param version: the release version. (templated)
    :param environment: the environment deployed to (required; at most 64 characters). (templated)
    :param name: a deploy name; default: one derived from the DAG/task/run, which is what makes
        retries find the deploy an earlier try posted. A custom name should be unique per run. (templated)
    :param url: a URL for the deploy. (templated)
    :param started: when the deploy started; default: now. (templated)
    :param finished: when it finished; default: now (Sentry's default). (templated)
    :param projects: restrict the deploy to some of the release's projects. (templated)
    :param organization: organization slug; default: the connection's. (templated)
    :param sentry_conn_id: the Sentry connection. (templated)
    :return: (XCom) ``{"deploy": <deploy JSON>, "created": bool}`` (False when a retry found it).
    """

    template_fields: Sequence[str] = (
        "version",
        "environment",
        "name",
        "url",
        "started",
        "finished",
        "projects",
        "organization",
        "sentry_conn_id",
    )

    def __init__(
        self,
        *,
        version: str,
        environment: str,
        name: str | None = None,
        url: str | None = None,
        started: Any = None,
        finished: Any = None,
        projects: Any = None,
        organization: str | None = None,
        sentry_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.version = version
        self.environment = environment
        self.name = name
        self.url = url
        self.started = started
        self.finished = finished
        self.projects = projects
        self.organization = organization
        self.sentry_conn_id = sentry_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        version = releases.validate_version(self.version)
        spec = releases.validate_deploy(
            {
                "environment": self.environment,
                "name": self.name,
                "url": self.url,
                "started": self.started,
                "finished": self.finished,
                "projects": self.projects,
            },
            field="",
        )
        organization = self._start(context, version)
        return self._ensure_deploy(context, organization, version, spec)
