"""Release rules and bodies: version/environment names, ``repo@from..to`` refs, commits, deploys.

Sentry rejects bad names with a 400 after the request is sent; checking them here first means a
typo fails the task before any request, with an error that names the field and the rule.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from airflow_provider_sentry.core.arguments import as_list, as_names, parse_rendered_list
from airflow_provider_sentry.exceptions import SentryInputError

MAX_VERSION_LENGTH = 200
MAX_ENVIRONMENT_LENGTH = 64
MAX_DEPLOY_NAME_LENGTH = 64
MAX_REF_REPOSITORY_LENGTH = 200
MAX_COMMIT_ID_LENGTH = 64
BAD_VERSION_CHARS = {"\r": "CR", "\n": "LF", "\f": "FF", "\t": "TAB", "/": "/", "\\": "\\"}
BAD_ENVIRONMENT_CHARS = {"\r": "CR", "\n": "LF", "\f": "FF", "/": "/"}
RESERVED_VERSIONS = (".", "..", "latest")
REF_KEYS = frozenset({"repository", "commit", "previousCommit"})
COMMIT_KEYS = frozenset({"id", "repository", "message", "author_name", "author_email", "timestamp", "patch_set"})
DEPLOY_KEYS = frozenset({"environment", "name", "url", "started", "finished", "projects"})


def validate_version(value: Any, field: str = "version") -> str:
    """Sentry's ``Release.is_valid_version`` plus the API's 200-character limit."""
    if not isinstance(value, str):
        raise SentryInputError(field, f"must be a string, got {type(value).__name__}")
    for char, label in BAD_VERSION_CHARS.items():
        if char in value:
            raise SentryInputError(field, f"must not contain {label} (Sentry forbids CR, LF, FF, TAB, / and \\)")
    stripped = value.strip()
    if not stripped:
        raise SentryInputError(field, "must not be empty or only whitespace")
    if stripped.lower() in RESERVED_VERSIONS:
        raise SentryInputError(field, f"{stripped!r} is reserved by Sentry ('.', '..' and 'latest' are not allowed)")
    if len(value) > MAX_VERSION_LENGTH:
        raise SentryInputError(field, f"must be at most {MAX_VERSION_LENGTH} characters, got {len(value)}")
    return value


def validate_environment(value: Any, field: str = "environment") -> str:
    """Sentry's ``ENVIRONMENT_NAME_PATTERN`` (no CR, LF, FF or /) and 64-character limit."""
    if not isinstance(value, str):
        raise SentryInputError(field, f"must be a string, got {type(value).__name__}")
    if not value.strip():
        raise SentryInputError(field, "must not be empty")
    for char, label in BAD_ENVIRONMENT_CHARS.items():
        if char in value:
            raise SentryInputError(field, f"must not contain {label} (Sentry forbids CR, LF, FF and / in environments)")
    if len(value) > MAX_ENVIRONMENT_LENGTH:
        raise SentryInputError(field, f"must be at most {MAX_ENVIRONMENT_LENGTH} characters, got {len(value)}")
    return value


def validate_projects(value: Any, field: str = "projects", *, required: bool = True) -> list[str]:
    """One slug or id, or a list of them, as strings (for filters and deploys, which take both)."""
    return [str(item) for item in validate_release_projects(value, field, required=required)]


def validate_release_projects(value: Any, field: str = "projects", *, required: bool = True) -> list[str | int]:
    """One slug or id, or a list of them, sent as given: the release POST reads a JSON integer as a
    project id and a string as a slug (``"3"`` is the slug "3", not project 3)."""
    projects = as_names(value, field)
    if required and not projects:
        raise SentryInputError(field, "at least one project slug or id is required")
    return projects


def parse_ref(spec: str, field: str = "refs") -> dict[str, str]:
    """``repo@to`` or ``repo@from..to`` as sentry-cli's ``--commit`` takes it, as a Sentry ref dict."""
    repository, at, revision = spec.strip().partition("@")
    if not at or not repository or not revision:
        raise SentryInputError(field, f"{spec!r} is not 'repo@commit' or 'repo@from..to'")
    previous, dots, current = revision.partition("..")
    ref = {"repository": repository, "commit": current if dots else previous}
    if dots:
        if not previous or not current:
            raise SentryInputError(field, f"{spec!r}: both ends of 'from..to' are required")
        ref["previousCommit"] = previous
    return validate_ref(ref, field)


def validate_ref(ref: Mapping[str, Any], field: str = "refs") -> dict[str, str]:
    """A structured ref ``{"repository", "commit", "previousCommit"?}`` within Sentry's limits."""
    unknown = set(ref) - REF_KEYS
    if unknown:
        raise SentryInputError(field, f"unknown ref keys {sorted(unknown)}; allowed: {sorted(REF_KEYS)}")
    clean: dict[str, str] = {}
    for key in ("repository", "commit", "previousCommit"):
        if key not in ref or ref[key] is None:
            if key == "previousCommit":
                continue
            raise SentryInputError(field, f"each ref needs {key!r}")
        if not isinstance(ref[key], str) or not ref[key].strip():
            raise SentryInputError(field, f"ref {key!r} must be a non-empty string")
        clean[key] = ref[key].strip()
    if len(clean["repository"]) > MAX_REF_REPOSITORY_LENGTH:
        raise SentryInputError(field, f"ref repository must be at most {MAX_REF_REPOSITORY_LENGTH} characters")
    if len(clean.get("previousCommit", "")) > MAX_COMMIT_ID_LENGTH:
        raise SentryInputError(field, f"ref previousCommit must be at most {MAX_COMMIT_ID_LENGTH} characters")
    return clean


def normalize_refs(value: Any, field: str = "refs") -> list[dict[str, str]]:
    """Refs given as ``"repo@from..to"``, a list of such strings, dicts, or a mix."""
    items = as_list(value, field, split=False)
    refs = []
    for item in items:
        if isinstance(item, str):
            refs.append(parse_ref(item, field))
        elif isinstance(item, Mapping):
            refs.append(validate_ref(item, field))
        else:
            raise SentryInputError(field, f"each ref must be 'repo@from..to' or a dict, got {item!r}")
    return refs


def normalize_commits(value: Any, field: str = "commits") -> list[dict[str, Any]]:
    """Explicit commit dicts (``id`` required) as Sentry's release body takes them."""
    if isinstance(value, str) and not value.strip().startswith("["):
        raise SentryInputError(field, "must be a list of commit dicts")
    items = as_list(value, field, split=False)
    commits = []
    for item in items:
        if not isinstance(item, Mapping):
            raise SentryInputError(field, f"each commit must be a dict with at least 'id', got {item!r}")
        unknown = set(item) - COMMIT_KEYS
        if unknown:
            raise SentryInputError(field, f"unknown commit keys {sorted(unknown)}; allowed: {sorted(COMMIT_KEYS)}")
        commit_id = item.get("id")
        if not isinstance(commit_id, str) or not commit_id.strip():
            raise SentryInputError(field, "each commit needs a non-empty 'id'")
        if len(commit_id) > MAX_COMMIT_ID_LENGTH:
            raise SentryInputError(field, f"commit id must be at most {MAX_COMMIT_ID_LENGTH} characters")
        commits.append(dict(item))
    return commits


def iso_timestamp(value: Any, field: str) -> str:
    """A datetime (naive means UTC) or ISO-8601 string, as the ``...Z`` form Sentry returns."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise SentryInputError(field, f"{value!r} is not an ISO-8601 date-time") from None
    elif isinstance(value, datetime):
        parsed = value
    else:
        raise SentryInputError(field, f"must be a datetime or an ISO-8601 string, got {type(value).__name__}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(value: Any) -> datetime | None:
    """Sentry's ISO timestamps back to aware datetimes; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def release_date(finalize: Any, date_released: Any, now: datetime) -> str | None:
    """``dateReleased`` from ``finalize`` (bool or datetime) and ``date_released``; None = not finalized."""
    if date_released is not None and isinstance(finalize, datetime | str) and not isinstance(finalize, bool):
        raise SentryInputError("finalize", "give either finalize=<datetime> or date_released, not both")
    if date_released is not None:
        return iso_timestamp(date_released, "date_released")
    if finalize is None or finalize is False:
        return None
    if finalize is True:
        return iso_timestamp(now, "finalize")
    if isinstance(finalize, datetime):
        return iso_timestamp(finalize, "finalize")
    if isinstance(finalize, str) and finalize.strip().lower() in ("true", "false", ""):
        return iso_timestamp(now, "finalize") if finalize.strip().lower() == "true" else None
    return iso_timestamp(finalize, "finalize")


def build_release_body(
    *,
    version: str,
    projects: Sequence[str | int],
    refs: list[dict[str, str]],
    commits: list[dict[str, Any]],
    url: str | None,
    date_released: str | None,
) -> dict[str, Any]:
    """The POST body of ``organizations/{org}/releases/``; empty optional parts are left out."""
    body: dict[str, Any] = {"version": version, "projects": list(projects)}
    if refs:
        body["refs"] = refs
    if commits:
        body["commits"] = commits
    if url:
        body["url"] = url
    if date_released:
        body["dateReleased"] = date_released
    return body


def followup_update(release: Mapping[str, Any], *, url: str | None, date_released: str | None) -> dict[str, Any]:
    """What the POST did not apply, judged from the release it returned; {} when nothing is missing.

    Sentry's POST is ``get_or_create``: ``url`` and ``dateReleased`` are creation defaults, ignored
    for a release that already existed, whether the answer is 208 or 201 (the release gained a
    project). Commits and refs, on the other hand, are applied by every POST, so they are not resent.
    """
    body: dict[str, Any] = {}
    if url and release.get("url") != url:
        body["url"] = url
    if date_released and not release.get("dateReleased"):
        body["dateReleased"] = date_released
    return body


def is_commits_processing(error: BaseException) -> bool:
    """A 409 "Release commits are currently being processed": another POST's commit fetch holds the lock."""
    detail = getattr(error, "detail", None)
    return getattr(error, "status", None) == 409 and "currently being processed" in str(detail or "")


def invalid_repositories(error: BaseException) -> str | None:
    """Sentry's InvalidRepository text (a 400 ``{"refs": ["Invalid repository names: ..."]}``), or None.

    Sentry raises it after the release was created and its projects attached: only the commits are missing.
    """
    body = getattr(error, "body", None)
    if getattr(error, "status", None) != 400 or not isinstance(body, Mapping):
        return None
    messages = body.get("refs")
    if isinstance(messages, list) and messages and isinstance(messages[0], str):
        return "; ".join(str(m) for m in messages)
    return None


@dataclass(frozen=True)
class DeploySpec:
    """A validated deploy: the environment is required, the rest optional."""

    environment: str
    name: str | None = None
    url: str | None = None
    started: str | None = None
    finished: str | None = None
    projects: tuple[str, ...] = ()

    def body(self, *, name: str | None = None) -> dict[str, Any]:
        """The POST body of ``releases/{version}/deploys/``."""
        body: dict[str, Any] = {"environment": self.environment}
        final_name = name or self.name
        if final_name:
            body["name"] = final_name
        if self.url:
            body["url"] = self.url
        if self.started:
            body["dateStarted"] = self.started
        if self.finished:
            body["dateFinished"] = self.finished
        if self.projects:
            body["projects"] = list(self.projects)
        return body


def validate_deploy(value: Any, field: str = "deploy") -> DeploySpec:
    """``{"environment": ..., "name"?, "url"?, "started"?, "finished"?, "projects"?}``.

    Errors name ``<field>.<key>`` (``deploy.environment``), or just the key when ``field`` is "".
    """

    def name_of(key: str) -> str:
        return f"{field}.{key}" if field else key

    if not isinstance(value, Mapping):
        raise SentryInputError(
            field or "deploy", f"must be a dict with at least 'environment', got {type(value).__name__}"
        )
    unknown = set(value) - DEPLOY_KEYS
    if unknown:
        raise SentryInputError(field or "deploy", f"unknown keys {sorted(unknown)}; allowed: {sorted(DEPLOY_KEYS)}")
    if value.get("environment") is None:
        raise SentryInputError(name_of("environment"), "is required")
    environment = validate_environment(value["environment"], name_of("environment"))
    name = value.get("name") or None
    if name is not None:
        if not isinstance(name, str):
            raise SentryInputError(name_of("name"), "must be a string")
        if len(name) > MAX_DEPLOY_NAME_LENGTH:
            raise SentryInputError(name_of("name"), f"must be at most {MAX_DEPLOY_NAME_LENGTH} characters")
    url = value.get("url") or None
    if url is not None and not isinstance(url, str):
        raise SentryInputError(name_of("url"), "must be a string")
    started = iso_timestamp(value["started"], name_of("started")) if value.get("started") else None
    finished = iso_timestamp(value["finished"], name_of("finished")) if value.get("finished") else None
    if started and finished and started > finished:
        raise SentryInputError(name_of("finished"), "must not be before started")
    projects = validate_projects(value.get("projects"), name_of("projects"), required=False)
    return DeploySpec(environment, name, url, started, finished, tuple(projects))


def validate_deploys(value: Any, field: str = "deploy") -> list[DeploySpec]:
    """One deploy dict or a list of them (one per environment, as getsentry/action-release's
    ``environment`` list); each environment at most once, so each deploy's retry marker is unique."""
    if isinstance(value, str) and value.strip().startswith("{"):
        value = parse_rendered_list(f"[{value.strip()}]", field)[0]  # a rendered dict
    elif isinstance(value, str) and value.strip().startswith("["):
        value = parse_rendered_list(value.strip(), field)  # a rendered list of dicts
    if value in (None, "", [], {}):
        return []
    items = [value] if isinstance(value, Mapping) else value
    if not isinstance(items, list | tuple):
        raise SentryInputError(field, f"must be a dict or a list of dicts, got {type(value).__name__}")
    specs: list[DeploySpec] = []
    for index, item in enumerate(items):
        spec = validate_deploy(item, field if isinstance(value, Mapping) else f"{field}[{index}]")
        if any(other.environment == spec.environment for other in specs):
            raise SentryInputError(f"{field}[{index}].environment", f"{spec.environment!r} is listed twice")
        specs.append(spec)
    return specs


def deploy_marker(dag_id: str, task_id: str, run_id: str, map_index: int = -1) -> str:
    """A deploy name that is the same for every try of one task instance and unique across runs.

    Tries of the same task instance find the deploy an earlier (crashed or timed-out) try posted
    and do not post a second one.
    """
    digest = hashlib.sha256(f"{dag_id}\x00{task_id}\x00{run_id}\x00{map_index}".encode()).hexdigest()
    return f"airflow-{digest[:16]}"


def find_matching_deploy(
    deploys: Sequence[Mapping[str, Any]],
    *,
    environment: str,
    name: str,
    started: str | None = None,
    not_before: datetime | None = None,
) -> Mapping[str, Any] | None:
    """The deploy an earlier attempt already posted: same environment and name, and the same
    ``dateStarted`` when one was given, else one that started after ``not_before`` (this run)."""
    wanted_start = parse_timestamp(started) if started else None
    for deploy in deploys:
        if deploy.get("environment") != environment or deploy.get("name") != name:
            continue
        deploy_start = parse_timestamp(deploy.get("dateStarted"))
        if wanted_start is not None:
            if deploy_start == wanted_start:
                return deploy
            continue
        if not_before is not None and (deploy_start is None or deploy_start < not_before):
            continue
        return deploy
    return None


def superseding_deploy(
    deploys: Sequence[Mapping[str, Any]], *, environment: str, name: str, since: datetime | None
) -> Mapping[str, Any] | None:
    """Another deploy of this release and environment that finished at or after ``since``.

    Sentry's deploy list holds only the LAST deploy per project and environment, so such a deploy
    can hide ours: when it exists, "ours is not listed" no longer proves "ours was not stored".
    Without ``since`` any other deploy to the environment counts.
    """
    for deploy in deploys:
        if deploy.get("environment") != environment or deploy.get("name") == name:
            continue
        finished = parse_timestamp(deploy.get("dateFinished"))
        if since is None or finished is None or finished >= since:
            return deploy
    return None
