"""Releases, commits and deploys with Sentry's validation rules and response shapes.

Sources: getsentry/sentry ``src/sentry/releases/endpoints/organization_releases.py`` (201 vs 208),
``organization_release_details.py`` (PUT: truthy fields only, ``refs: []`` clears commits),
``release_deploys.py`` and ``src/sentry/models/release.py`` ``Release.is_valid_version``.

* POST is ``get_or_create``: ``ref``/``url``/``dateReleased``/``status`` are creation defaults, ignored for an
  existing release; new projects are attached (201) and commits/refs are applied on every POST, 208 included.
* A refs fetch holds the release's commit lock for ``state.commit_processing_seconds`` (0 = instant). A POST or
  PUT carrying commits/refs meanwhile is a 409 "Release commits are currently being processed", after the
  release was created and its projects attached (those writes are not rolled back).
* The deploy list holds each project/environment's LAST deploy (``ReleaseProjectEnvironment.last_deploy_id``),
  not every deploy; ``deployCount`` counts them all.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from airflow_provider_sentry.testing.issues import ApiError
from airflow_provider_sentry.testing.state import Commit, Deploy, EmulatorState, Release, iso, now_utc, to_datetime

BAD_RELEASE_CHARS = "\r\n\f\x0c\t/\\"
MAX_VERSION_LENGTH = 200
ENVIRONMENT_NAME_PATTERN = re.compile(r"^[^\n\r\f\/]*$")
ENVIRONMENT_NAME_MAX_LENGTH = 64
COMMITS_PROCESSING = "Release commits are currently being processed"


def is_valid_version(value: str | None) -> bool:
    """``Release.is_valid_version``."""
    if value is None:
        return False
    if any(c in value for c in BAD_RELEASE_CHARS):
        return False
    stripped = value.strip()
    return stripped not in ("", ".", "..") and stripped.lower() != "latest"


def _parse_dt(field: str, value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return to_datetime(str(value))
    except ValueError:
        raise ApiError(
            400,
            {
                field: [
                    "Datetime has wrong format. Use one of these formats instead: "
                    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
                ]
            },
        ) from None


def _validate_version(data: Mapping[str, Any]) -> str:
    version = data.get("version")
    if version is None or version == "":
        raise ApiError(
            400, {"version": ["This field is required." if version is None else "This field may not be blank."]}
        )
    if not isinstance(version, str):
        raise ApiError(400, {"version": ["Not a valid string."]})
    if len(version) > MAX_VERSION_LENGTH:
        raise ApiError(400, {"version": [f"Ensure this field has no more than {MAX_VERSION_LENGTH} characters."]})
    if not is_valid_version(version):
        raise ApiError(400, {"version": [f"Release with name {version} is not allowed"]})
    return version


def _commits_from(data: Mapping[str, Any]) -> list[Commit]:
    commits = []
    for raw in data.get("commits") or []:
        if not isinstance(raw, Mapping) or not raw.get("id"):
            raise ApiError(400, {"commits": ["Invalid commit: each commit needs an id."]})
        commits.append(
            Commit(
                id=str(raw["id"]),
                repository=str(raw.get("repository") or ""),
                message=raw.get("message"),
                author_name=raw.get("author_name"),
                author_email=raw.get("author_email"),
                date_created=_parse_dt("commits", raw.get("timestamp")) or now_utc(),
            )
        )
    return commits


def _check_ref_shapes(refs: Any) -> None:
    """The serializer part of refs: a list of ``{repository, commit}`` (checked before anything is written)."""
    if not isinstance(refs, list):
        raise ApiError(400, {"refs": ['Expected a list of items but got type "dict".']})
    for ref in refs:
        if not isinstance(ref, Mapping) or not ref.get("commit"):
            raise ApiError(400, {"refs": [{"commit": ["This field is required."]}]})


def _commits_from_refs(state: EmulatorState, refs: Any) -> list[Commit]:
    """``set_refs``: refs name a known repository (else InvalidRepository, a 400 raised AFTER the release was
    created and its projects attached) and a head commit (``prev..cur`` ranges allowed): the head is recorded."""
    _check_ref_shapes(refs)
    known = {repo.name for repo in state.repos}
    unknown = sorted({str(r.get("repository")) for r in refs} - known)
    if unknown:
        raise ApiError(400, {"refs": [f"Invalid repository names: {','.join(unknown)}"]})
    return [
        Commit(str(ref["commit"]).split("..")[-1], str(ref["repository"]), None, None, None, now_utc()) for ref in refs
    ]


def _release_project(state: EmulatorState, value: Any) -> Any:
    """A JSON integer is a project id, a string a slug (``"3"`` is the slug "3", not project 3)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return state.project_by_id(value)
    return state.project_by_slug(value) if isinstance(value, str) else None


def settle_commits(release: Release, now: float | None = None) -> None:
    """Land the commits of a finished fetch (called before every read or write of the release)."""
    if release.pending_commits is not None and (now or time.time()) >= release.processing_until:
        release.commits, release.refs = release.pending_commits, release.pending_refs
        release.pending_commits, release.pending_refs = None, []


def is_processing(release: Release) -> bool:
    settle_commits(release)
    return release.pending_commits is not None


def finish_processing(release: Release) -> None:
    release.processing_until = 0.0
    settle_commits(release)


def _apply_commits(
    state: EmulatorState, release: Release, commits: list[Commit], ref_commits: list[Commit], refs: Any
) -> None:
    """Explicit commits apply at once; refs start a fetch that holds the lock for the processing window."""
    if commits:
        release.commits = commits
    elif ref_commits:
        if state.commit_processing_seconds > 0:
            release.pending_commits, release.pending_refs = ref_commits, list(refs)
            release.processing_until = time.time() + state.commit_processing_seconds
        else:
            release.commits, release.refs = ref_commits, list(refs)


def create_release(state: EmulatorState, data: Any, *, user_agent: str | None) -> tuple[int, Release]:
    """POST: 201 when created or a project was attached, 208 when nothing new happened."""
    if not isinstance(data, Mapping):
        raise ApiError(400, {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
    version = _validate_version(data)
    projects_in = data.get("projects")
    if not isinstance(projects_in, list) or not projects_in:
        raise ApiError(
            400, {"projects": ["This field is required." if projects_in is None else "This list may not be empty."]}
        )
    with state.lock:
        projects = [_release_project(state, p) for p in projects_in]
        if any(p is None for p in projects):
            raise ApiError(400, {"projects": ["Invalid project ids or slugs"]})
        project_ids = [p.id for p in projects if p is not None]
        commits = _commits_from(data)
        if data.get("refs"):
            _check_ref_shapes(data["refs"])
        date_released = _parse_dt("dateReleased", data.get("dateReleased"))
        release = state.releases.get(version)
        created = release is None
        if release is None:
            release = Release(
                id=state.new_release_id(),
                version=version,
                project_ids=[],
                date_created=now_utc(),
                ref=data.get("ref"),
                url=data.get("url"),
                date_released=date_released,
                date_started=_parse_dt("dateStarted", data.get("dateStarted")),
                owner=data.get("owner"),
                user_agent=user_agent,
                status=str(data.get("status") or "open"),
            )
            state.releases[version] = release
        new_projects = [pid for pid in dict.fromkeys(project_ids) if pid not in release.project_ids]
        release.project_ids.extend(new_projects)
        if (commits or data.get("refs")) and is_processing(release):
            raise ApiError(409, {"detail": COMMITS_PROCESSING})
        ref_commits = _commits_from_refs(state, data["refs"]) if data.get("refs") and not commits else []
        _apply_commits(state, release, commits, ref_commits, data.get("refs"))
        status = 208 if not created and not new_projects else 201
        return status, release


def update_release(state: EmulatorState, release: Release, data: Any) -> Release:
    """PUT: only truthy ``ref``/``url``/``dateReleased``/``status`` apply; ``refs: []`` clears the commits."""
    if not isinstance(data, Mapping):
        raise ApiError(400, {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
    date_released = _parse_dt("dateReleased", data.get("dateReleased"))
    if data.get("status") and data["status"] not in ("open", "archived"):
        raise ApiError(400, {"status": [f'"{data["status"]}" is not a valid choice.']})
    with state.lock:
        commits = _commits_from(data) if data.get("commits") else None
        refs = data.get("refs")
        if refs:
            _check_ref_shapes(refs)
        if data.get("ref"):
            release.ref = str(data["ref"])
        if data.get("url"):
            release.url = str(data["url"])
        if date_released is not None:
            release.date_released = date_released
        if data.get("status"):
            release.status = str(data["status"])
        if (commits or refs) and is_processing(release):
            raise ApiError(409, {"detail": COMMITS_PROCESSING})
        ref_commits = _commits_from_refs(state, refs) if refs and commits is None else None
        if commits is not None or ref_commits is not None:
            _apply_commits(state, release, commits or [], ref_commits or [], refs or [])
        elif refs == [] and not data.get("headCommits"):
            release.commits = []
            release.refs = []
    return release


def create_deploy(state: EmulatorState, release: Release, data: Any) -> Deploy:
    """POST deploys: environment rules, projects a subset of the release's, dateFinished defaults to now."""
    if not isinstance(data, Mapping):
        raise ApiError(400, {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
    environment = data.get("environment")
    if environment is None:
        raise ApiError(400, {"environment": ["This field is required."]})
    if not isinstance(environment, str) or not environment:
        raise ApiError(400, {"environment": ["This field may not be blank."]})
    if len(environment) > ENVIRONMENT_NAME_MAX_LENGTH:
        raise ApiError(
            400, {"environment": [f"Ensure this field has no more than {ENVIRONMENT_NAME_MAX_LENGTH} characters."]}
        )
    if not ENVIRONMENT_NAME_PATTERN.match(environment):
        raise ApiError(400, {"environment": ["Invalid value for environment"]})
    name = data.get("name")
    if name is not None and len(str(name)) > 64:
        raise ApiError(400, {"name": ["Ensure this field has no more than 64 characters."]})
    with state.lock:
        project_ids = list(release.project_ids)
        if data.get("projects") is not None:
            wanted = data["projects"]
            found = [state.project_by_id_or_slug(p) for p in wanted] if isinstance(wanted, list) else []
            bad = [
                str(p)
                for p, f in zip(wanted or [], found, strict=False)
                if f is None or f.id not in release.project_ids
            ]
            if not wanted or bad:
                raise ApiError(
                    400, {"projects": [f"Invalid projects ({', '.join(bad)}) for release {release.version}"]}
                )
            project_ids = [f.id for f in found if f is not None]
        deploy = Deploy(
            id=state.new_deploy_id(),
            release_version=release.version,
            environment=environment,
            name=name,
            url=data.get("url"),
            date_started=_parse_dt("dateStarted", data.get("dateStarted")),
            date_finished=_parse_dt("dateFinished", data.get("dateFinished")) or now_utc(),
            project_ids=project_ids,
        )
        state.deploys.append(deploy)
        return deploy


def listed_deploys(state: EmulatorState, release: Release) -> list[Deploy]:
    """``release_deploys.get``: the last deploy of each project/environment, newest ``dateFinished`` first."""
    last: dict[tuple[int, str], Deploy] = {}
    with state.lock:
        for deploy in state.deploys:
            if deploy.release_version != release.version:
                continue
            for project_id in deploy.project_ids:
                key = (project_id, deploy.environment)
                if key not in last or deploy.id > last[key].id:
                    last[key] = deploy
    unique = {deploy.id: deploy for deploy in last.values()}
    return sorted(unique.values(), key=lambda d: (d.date_finished, d.id), reverse=True)


def serialize_deploy(deploy: Deploy) -> dict[str, Any]:
    return {
        "id": str(deploy.id),
        "environment": deploy.environment,
        "dateStarted": iso(deploy.date_started),
        "dateFinished": iso(deploy.date_finished),
        "name": deploy.name,
        "url": deploy.url,
    }


def _version_info(version: str) -> dict[str, Any] | None:
    package, _, raw = version.rpartition("@")
    _raw_version, _, build = raw.partition("+")
    return {
        "package": package or None,
        "version": {"raw": raw},
        "description": raw,
        "buildHash": build or (raw if re.fullmatch(r"[0-9a-f]{40}", raw) else None),
    }


def _short_version(version: str) -> str:
    _, _, raw = version.rpartition("@")
    return raw[:12] if re.fullmatch(r"[0-9a-f]{40}", raw) else raw


def serialize_release(state: EmulatorState, release: Release) -> dict[str, Any]:
    """Release JSON per the OpenAPI schema: ``id`` is an int, project ids are ints, deploy id a string."""
    with state.lock:
        settle_commits(release)
        deploys = [d for d in state.deploys if d.release_version == release.version]
        last_deploy = max(deploys, key=lambda d: (d.date_finished, d.id)) if deploys else None
        projects = []
        for pid in release.project_ids:
            project = state.project_by_id(pid)
            if project is None:
                continue
            new_groups = sum(
                1 for i in state.issues.values() if i.project_id == pid and i.releases[:1] == [release.version]
            )
            projects.append(
                {
                    "id": project.id,
                    "slug": project.slug,
                    "name": project.name,
                    "newGroups": new_groups,
                    "platform": project.platform,
                    "platforms": [project.platform] if project.platform else [],
                    "hasHealthData": False,
                }
            )
        last_commit = release.commits[0] if release.commits else None
        return {
            "id": release.id,
            "version": release.version,
            "shortVersion": _short_version(release.version),
            "status": release.status,
            "versionInfo": _version_info(release.version),
            "data": {},
            "newGroups": sum(p["newGroups"] for p in projects),
            "commitCount": len(release.commits),
            "deployCount": len(deploys),
            "authors": [],
            "projects": projects,
            "ref": release.ref,
            "url": release.url,
            "dateReleased": iso(release.date_released),
            "dateCreated": iso(release.date_created),
            "dateStarted": iso(release.date_started),
            "owner": None,
            "lastCommit": serialize_commit(release, last_commit) if last_commit else None,
            "lastDeploy": serialize_deploy(last_deploy) if last_deploy else None,
            "firstEvent": None,
            "lastEvent": None,
            "currentProjectMeta": {},
            "userAgent": release.user_agent,
        }


def serialize_commit(release: Release, commit: Commit) -> dict[str, Any]:
    return {
        "id": commit.id,
        "message": commit.message,
        "dateCreated": iso(commit.date_created),
        "pullRequest": None,
        "suspectCommitType": "",
        "author": ({"name": commit.author_name, "email": commit.author_email or ""} if commit.author_email else {}),
        "releases": [
            {
                "version": release.version,
                "shortVersion": _short_version(release.version),
                "ref": release.ref,
                "url": release.url,
                "dateReleased": iso(release.date_released),
                "dateCreated": iso(release.date_created),
            }
        ],
    }
