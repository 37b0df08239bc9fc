"""Sentry web UI addresses for the operators' extra links (not API URLs).

SaaS serves the UI on the organization's own domain, ``https://<org>.sentry.io/``, whatever API
host the connection uses (``sentry.io``, ``us.sentry.io``, ``de.sentry.io``). Self-hosted Sentry
(and the emulator) serves it under ``<base>/organizations/<org>/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote, urlencode, urlsplit

SAAS_DOMAIN = "sentry.io"


def is_saas(base_url: str) -> bool:
    host = (urlsplit(base_url).hostname or "").lower()
    return host == SAAS_DOMAIN or host.endswith("." + SAAS_DOMAIN)


def organization_url(base_url: str, organization: str) -> str:
    """The organization's UI root, ending with ``/``."""
    if is_saas(base_url):
        return f"https://{quote(organization, safe='')}.{SAAS_DOMAIN}/"
    return f"{base_url.rstrip('/')}/organizations/{quote(organization, safe='')}/"


def release_url(base_url: str, organization: str, version: str) -> str:
    """The release page of ``version``."""
    return f"{organization_url(base_url, organization)}releases/{quote(version, safe='')}/"


def issues_url(
    base_url: str,
    organization: str,
    *,
    query: str | None = None,
    issue_ids: Sequence[str] = (),
    project_ids: Sequence[str] = (),
    environments: Sequence[str] = (),
) -> str:
    """The issue stream for a search, or for explicit ids (one id opens that issue's page)."""
    root = organization_url(base_url, organization)
    if issue_ids and len(issue_ids) == 1 and not query:
        return f"{root}issues/{quote(issue_ids[0], safe='')}/"
    search = query if query else ("issue.id:[" + ",".join(issue_ids) + "]" if issue_ids else "")
    pairs = [("query", search)]
    pairs += [("project", project_id) for project_id in project_ids]
    pairs += [("environment", env) for env in environments]
    return f"{root}issues/?{urlencode(pairs, quote_via=quote, safe=':,[]')}"
