"""Provider-specific exceptions.

Every error from Sentry carries the HTTP status, Sentry's ``detail`` and ``errorId`` so a
failed task log says what Sentry said. None of them ever contains the secret.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_sentry._compat import AirflowException


class SentryError(AirflowException):
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


class SentryQueryTimeoutError(SentryServerError):
    """400 "Query timeout...": Snuba timed out or was overloaded (``handle_query_errors``). Transient, like a 5xx,
    although Sentry sends it as a 400."""
