"""Create, set commits on, deploy and finalize Sentry releases; safe to retry.

* Create is idempotent on Sentry's side (201 created / 208 already there); a 208 is success, and
  what a POST does not apply to an existing release (finalize, url, refs) is sent as a PUT.
* A deploy POST is NOT idempotent. Each deploy carries a name that identifies this task instance
  (or the caller's name); before posting, and again after a timeout or 5xx, the release's deploys
  are listed and an existing one is reused: one deploy per task instance, across retries.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_sentry._compat import BaseOperator
from airflow_provider_sentry.defaults import DEFAULT_CONN_ID
from airflow_provider_sentry.links import SentryReleaseLink

if TYPE_CHECKING:
    from airflow_provider_sentry._compat import Context
    from airflow_provider_sentry.core.page import SentryResponse
    from airflow_provider_sentry.core.releases import DeploySpec
    from airflow_provider_sentry.hooks.sentry import SentryHook

DEPLOY_POST_ATTEMPTS = 3


def _now() -> datetime:
    return datetime.now(UTC)


class _ReleaseOperator(BaseOperator):
    """Shared plumbing: the hook, the organization, and the release link."""

    operator_extra_links = (SentryReleaseLink(),)
    ui_color = "#c9b4f9"
    version: Any
    organization: str | None
    sentry_conn_id: str

    @cached_property
    def hook(self) -> SentryHook:
        # runtime-only: keeps DAG parsing cheap (so do the imports inside the functions below)
        from airflow_provider_sentry.hooks.sentry import SentryHook

        return SentryHook(sentry_conn_id=self.sentry_conn_id)

    def _start(self, context: Context, version: str) -> str:
        """Resolve the organization and store the release link; returns the organization."""
        from airflow_provider_sentry.core.web_urls import release_url

        organization = self.hook.resolve_organization(self.organization)
        SentryReleaseLink.persist(context, release_url(self.hook.settings.base_url, organization, version))
        return organization

    def _release_path(self, organization: str, version: str, *rest: str) -> str:
        from airflow_provider_sentry.core.urls import api_path

        return api_path("organizations", organization, "releases", version, *rest)

    def _ensure_deploy(self, context: Context, organization: str, version: str, spec: DeploySpec) -> dict[str, Any]:
        """Post the deploy unless an earlier attempt of this task instance already did."""
        from airflow_provider_sentry.core.releases import find_matching_deploy, iso_timestamp
        from airflow_provider_sentry.exceptions import SentryServerError, SentryTransportError

        name = spec.name or _task_marker(context, self.task_id)
        started = spec.started or iso_timestamp(_now(), "deploy.started")
        pinned_start = spec.started  # the caller's own start identifies the deploy exactly
        not_before = None if pinned_start else _run_start(context)
        path = self._release_path(organization, version, "deploys")
        body = {**spec.body(name=name), "dateStarted": started}

        def existing() -> dict[str, Any] | None:
            deploys = list(self.hook.paginate(path))
            match = find_matching_deploy(
                deploys, environment=spec.environment, name=name, started=pinned_start, not_before=not_before
            )
            return dict(match) if match is not None else None

        found = existing()
        if found is not None:
            self.log.info(
                "Sentry: deploy %r to %s already exists (id %s); not posting another",
                name,
                spec.environment,
                found.get("id"),
            )
            return {"deploy": found, "created": False}
        last_error: Exception | None = None
        for attempt in range(1, DEPLOY_POST_ATTEMPTS + 1):
            try:
                deploy = self.hook.request("POST", path, json=body)
            except (SentryTransportError, SentryServerError) as exc:
                last_error = exc
                self.log.warning(
                    "Sentry: deploy POST attempt %d failed (%s); checking whether it was stored", attempt, exc
                )
                found = existing()
                if found is not None:
                    self.log.info("Sentry: the deploy was stored despite the error (id %s)", found.get("id"))
                    return {"deploy": found, "created": True}
                continue
            self.log.info(
                "Sentry: deploy %r of %s to %s created (id %s)", name, version, spec.environment, deploy.get("id")
            )
            return {"deploy": deploy, "created": True}
        assert last_error is not None
        raise last_error


def _task_marker(context: Context, task_id: str) -> str:
    from airflow_provider_sentry.core.releases import deploy_marker

    ti = context.get("ti")
    dag_id = getattr(ti, "dag_id", "") or ""
    run_id = getattr(ti, "run_id", "") or str(context.get("run_id") or "")
    map_index = getattr(ti, "map_index", -1)
    return deploy_marker(dag_id, task_id, run_id, map_index if isinstance(map_index, int) else -1)


def _run_start(context: Context) -> datetime | None:
    """The DAG run's start: deploys of this run started after it, earlier runs' deploys before."""
    dag_run = context.get("dag_run")
    start = getattr(dag_run, "start_date", None)
    if isinstance(start, datetime):
        return start if start.tzinfo else start.replace(tzinfo=UTC)
    return None


class CreateReleaseOperator(_ReleaseOperator):
    """Create a release (or accept the existing one), optionally with commits, finalize and a deploy.

    :param version: the release version, any string Sentry allows. (templated)
    :param projects: one or more project slugs (or ids); missing ones are added on retry. (templated)
    :param refs: ``"repo@from..to"`` / ``"repo@sha"`` strings as sentry-cli takes them, or
        ``{"repository", "commit", "previousCommit"}`` dicts. (templated)
    :param commits: explicit commit dicts (``id`` required). (templated)
    :param url: a URL for the release (e.g. the CI build). (templated)
    :param date_released: when it was released (finalizes it). (templated)
    :param finalize: ``True`` to finalize now, or a datetime. (templated)
    :param deploy: ``{"environment", "name"?, "url"?, "started"?, "finished"?, "projects"?}``. (templated)
    :param organization: organization slug; default: the connection's. (templated)
    :param sentry_conn_id: the Sentry connection. (templated)
    :return: (XCom) ``{"release": <release JSON>, "created": bool, "deploy": <deploy JSON> | None}``.
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
        deploy: dict[str, Any] | None = None,
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
        self.organization = organization
        self.sentry_conn_id = sentry_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_sentry.core.releases import (
            build_release_body,
            followup_update,
            normalize_commits,
            normalize_refs,
            release_date,
            validate_deploy,
            validate_projects,
            validate_version,
        )
        from airflow_provider_sentry.core.urls import api_path
        from airflow_provider_sentry.exceptions import SentryInputError

        version = validate_version(self.version)
        projects = validate_projects(self.projects)
        refs = normalize_refs(self.refs)
        commits = normalize_commits(self.commits)
        if self.url is not None and not isinstance(self.url, str):
            raise SentryInputError("url", "must be a string")
        date_released = release_date(self.finalize, self.date_released, _now())
        deploy = validate_deploy(self.deploy) if self.deploy else None
        organization = self._start(context, version)

        body = build_release_body(
            version=version,
            projects=projects,
            refs=refs,
            commits=commits,
            url=self.url or None,
            date_released=date_released,
        )
        response: SentryResponse = self.hook.request(
            "POST", api_path("organizations", organization, "releases"), json=body, raw=True, idempotent=True
        )
        release = response.data if isinstance(response.data, dict) else {}
        created = response.status == 201
        if response.status == 208:
            self.log.info("Sentry: release %s already exists (208); treating as success", version)
            update = followup_update(
                release, refs=refs, commits=commits, url=self.url or None, date_released=date_released
            )
            if update:
                release = self.hook.request("PUT", self._release_path(organization, version), json=update) or release
        else:
            self.log.info("Sentry: release %s created or extended (201) for %s", version, ", ".join(projects))
        deployed = self._ensure_deploy(context, organization, version, deploy)["deploy"] if deploy else None
        return {"release": release, "created": created, "deploy": deployed}


class SetCommitsOperator(_ReleaseOperator):
    """Associate commits with an existing release (``PUT releases/{version}/``), like
    ``sentry-cli releases set-commits --commit repo@from..to``. Replaces earlier commits.

    :param version: the release version. (templated)
    :param refs: ``"repo@from..to"`` strings or ref dicts (Sentry fetches the commits). (templated)
    :param commits: explicit commit dicts instead of refs. (templated)
    :param organization: organization slug; default: the connection's. (templated)
    :param sentry_conn_id: the Sentry connection. (templated)
    :return: (XCom) the release JSON.
    """

    template_fields: Sequence[str] = ("version", "refs", "commits", "organization", "sentry_conn_id")

    def __init__(
        self,
        *,
        version: str,
        refs: Any = None,
        commits: Any = None,
        organization: str | None = None,
        sentry_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.version = version
        self.refs = refs
        self.commits = commits
        self.organization = organization
        self.sentry_conn_id = sentry_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_sentry.core.releases import normalize_commits, normalize_refs, validate_version
        from airflow_provider_sentry.exceptions import SentryInputError

        version = validate_version(self.version)
        refs = normalize_refs(self.refs)
        commits = normalize_commits(self.commits)
        if not refs and not commits:
            raise SentryInputError("refs", "give refs ('repo@from..to') or commits")
        organization = self._start(context, version)
        body: dict[str, Any] = {}
        if refs:
            body["refs"] = refs
        if commits:
            body["commits"] = commits
        release: dict[str, Any] = self.hook.request("PUT", self._release_path(organization, version), json=body)
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
        from airflow_provider_sentry.core.releases import release_date, validate_version
        from airflow_provider_sentry.exceptions import SentryInputError

        version = validate_version(self.version)
        date_released = release_date(True, self.date_released, _now())
        if self.url is not None and not isinstance(self.url, str):
            raise SentryInputError("url", "must be a string")
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
        from airflow_provider_sentry.core.releases import validate_deploy, validate_version

        version = validate_version(self.version)
        spec = validate_deploy(
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
