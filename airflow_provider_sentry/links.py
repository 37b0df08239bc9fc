"""Extra links "Sentry release" and "Sentry issues" on the task page.

In Airflow 3 ``get_link`` runs on the worker when the task finishes, so the operators store the
finished URL in XCom during ``execute`` (no connection lookup, no I/O in ``get_link``) and the
link only reads it back. A task that failed before storing it shows no link.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_sentry import _compat
from airflow_provider_sentry._compat import BaseOperatorLink

if TYPE_CHECKING:
    from airflow_provider_sentry._compat import BaseOperator, Context


class _StoredUrlLink(BaseOperatorLink):
    """A link whose URL the operator computed and pushed to XCom under ``key``."""

    name: ClassVar[str]
    key: ClassVar[str]

    def get_link(self, operator: BaseOperator, *, ti_key: Any) -> str:
        """The stored URL, or "" when the task never got far enough to store one."""
        try:
            value = _compat.XCom.get_value(ti_key=ti_key, key=self.key)
        except Exception:  # a missing XCom backend row must not break the task page
            return ""
        return value if isinstance(value, str) else ""

    @classmethod
    def persist(cls, context: Context, url: str) -> None:
        """Store the URL for ``get_link``; called from ``execute``."""
        context["ti"].xcom_push(key=cls.key, value=url)


class SentryReleaseLink(_StoredUrlLink):
    """The release page of the version the task created, deployed or finalized."""

    name = "Sentry release"
    key = "sentry_release_url"


class SentryIssuesLink(_StoredUrlLink):
    """The issue stream for the query or ids the task resolved or updated."""

    name = "Sentry issues"
    key = "sentry_issues_url"
