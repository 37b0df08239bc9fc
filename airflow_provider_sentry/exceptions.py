"""Provider-specific exceptions.

Every error from Sentry carries the HTTP status, Sentry's ``detail`` and ``errorId`` so a
failed task log says what Sentry said. None of them ever contains the secret.

This module imports nothing from Airflow: the sans-I/O core raises these, and the core must load
without Airflow (as h11 loads without any framework). Airflow fails a task on any exception, so
the base is ``Exception``; where Airflow must treat one specially (no retries), the operator that
raises it adds the Airflow base class (see ``sensors/releases.py``).
"""

from __future__ import annotations

from typing import Any


class SentryError(Exception):
    """Base class of every error this provider raises."""


class SentryConfigError(SentryError, ValueError):
    """The connection is unusable (bad URL, unknown auth type, plain http to a remote host...)."""


class SentryInputError(SentryError, ValueError):
    """An argument is invalid; raised before any request is sent. ``field`` names the argument."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class SentryTransportError(SentryError):
    """The request never got an HTTP answer (connection refused, reset, timeout), after retries."""


class SentryRetryBudgetExceeded(SentryError):
    """Retries or rate-limit waits would exceed the time budget; says how long was waited."""

    def __init__(self, message: str, *, waited: float, last_error: BaseException | None = None) -> None:
        self.waited = waited
        self.last_error = last_error
        super().__init__(message)


class SentryRedirectError(SentryError):
    """Sentry redirected to another host; the token is not forwarded there."""


class SentryApiError(SentryError):
    """Sentry answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        detail: Any = None,
        error_id: str | None = None,
        method: str = "",
        path: str = "",
        body: Any = None,
    ) -> None:
        self.status = status
        self.detail = detail
        self.error_id = error_id
        self.method = method
        self.path = path
        self.body = body
        super().__init__(message)


class SentryBadRequestError(SentryApiError):
    """400: Sentry rejected the request (validation, bad cursor, bad query)."""


class SentryAuthError(SentryApiError):
    """401 or 403: the token is missing, invalid, or lacks a scope."""


class SentryNotFoundError(SentryApiError):
    """404: the organization, project, issue or release does not exist (or is not visible)."""


class SentryConflictError(SentryApiError):
    """409: Sentry reports a conflicting state (e.g. release commits still processing)."""


class SentryRateLimitError(SentryApiError):
    """429: the rate limit is exhausted. ``reset_at`` is the epoch second the window resets."""

    def __init__(self, message: str, *, reset_at: float | None = None, **kwargs: Any) -> None:
        self.reset_at = reset_at
        super().__init__(message, **kwargs)


class SentryServerError(SentryApiError):
    """5xx: Sentry failed. ``error_id`` is the id to quote to Sentry support."""


class SentryResponseError(SentryError):
    """Sentry answered with a success status but a body this provider cannot read (a proxy, a changed API)."""


class SentryReleaseUnhealthyError(SentryError):
    """The release health gate judged the release unhealthy. ``ReleaseHealthSensor`` raises it as an
    ``AirflowFailException`` too, so the task fails without retries and a ``trigger_rule="one_failed"``
    rollback runs at once."""


class SentryUnexpectedResponseError(SentryServerError, SentryResponseError):
    """Sentry, or a proxy or login page in front of it, answered with something the endpoint never
    returns (HTML or a bare string for JSON, an object for a list, a broken body, a 3xx without a
    usable ``Location``). A subclass of :class:`SentryServerError`, so sensors retry it at the next poke."""


class SentryPaginationError(SentryUnexpectedResponseError):
    """A listing did not end: the server repeated a cursor, or paging passed the page cap."""


class SentryQueryTimeoutError(SentryServerError):
    """400 "Query timeout...": Snuba timed out or was overloaded (``handle_query_errors``). Transient, like a 5xx,
    although Sentry sends it as a 400."""
