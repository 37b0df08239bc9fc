"""Send envelopes (check-ins, error events) to a DSN's ingestion endpoint over ``requests``.

A thin transport over ``core/dsn.py`` and ``core/envelope.py``: one POST, a short timeout, no retry (the
callers decide: the crons sender keeps its queue, the notifier logs). The key travels in ``X-Sentry-Auth``,
never in the URL, so no URL in a log or an exception contains it. Redirects are not followed.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from airflow_provider_sentry._lazy import lazy_module
from airflow_provider_sentry.core.dsn import DsnTarget, connection_dsn
from airflow_provider_sentry.core.envelope import CLIENT
from airflow_provider_sentry.exceptions import (
    SentryApiError,
    SentryRateLimitError,
    SentryRedirectError,
    SentryTransportError,
)

if TYPE_CHECKING:
    import requests
else:  # loaded at the first send: the listener plugin is imported by every Airflow process
    requests = lazy_module("requests")

log = logging.getLogger(__name__)


def target_from_connection(conn: Any, *, max_timeout: float = 5.0) -> DsnTarget:
    """The DSN target of an Airflow ``Connection`` object (any version's)."""
    return connection_dsn(str(conn.conn_id), password=conn.password, extra=conn.extra_dejson, max_timeout=max_timeout)


class IngestClient:
    """POSTs envelopes to one DSN. ``requests_sent`` counts attempts (for tests and the bench)."""

    def __init__(self, target: DsnTarget, *, session: requests.Session | None = None) -> None:
        self.target = target
        self._session = session
        self.requests_sent = 0

    def __repr__(self) -> str:
        return f"IngestClient(dsn={self.target.dsn!s})"

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            self._session = requests.Session()
        return self._session

    def send_envelope(self, body: bytes) -> int:
        """Deliver one envelope; return the HTTP status, or raise a typed ``SentryError``."""
        dsn = self.target.dsn
        headers = {
            "X-Sentry-Auth": dsn.auth_header(CLIENT),
            "Content-Type": "application/x-sentry-envelope",
            "User-Agent": CLIENT,
        }
        self.requests_sent += 1
        try:
            response = self.session.post(
                dsn.envelope_url,
                data=body,
                headers=headers,
                timeout=self.target.timeout,
                verify=self.target.verify,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise SentryTransportError(f"POST {dsn.envelope_url}: {type(exc).__name__}") from None
        status = response.status_code
        if status in (200, 202):
            return status
        path = dsn.envelope_url
        if 300 <= status < 400:
            raise SentryRedirectError(f"POST {path}: redirected ({status}); not followed")
        if status == 429:
            retry_after = response.headers.get("Retry-After")
            try:
                reset = time.time() + float(retry_after) if retry_after else None
            except ValueError:
                reset = None
            raise SentryRateLimitError(
                f"POST {path}: 429 rate limited", reset_at=reset, status=429, method="POST", path=path
            )
        raise SentryApiError(f"POST {path}: {status} {response.text[:200]!r}", status=status, method="POST", path=path)
