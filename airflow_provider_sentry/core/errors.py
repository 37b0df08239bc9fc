"""Map an HTTP error answer to a typed exception carrying ``status``, ``detail`` and ``errorId``.

Sentry's error bodies come in three shapes: a JSON object (``{"detail": ..., "errorId": ...}``
or DRF field errors), a JSON *string* (the 429 body) and HTML from a proxy (502/503).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from airflow_provider_sentry.core import json_codec
from airflow_provider_sentry.exceptions import (
    SentryApiError,
    SentryAuthError,
    SentryBadRequestError,
    SentryConflictError,
    SentryNotFoundError,
    SentryQueryTimeoutError,
    SentryRateLimitError,
    SentryServerError,
    SentryUnexpectedResponseError,
)

#: the most characters of server text (an error detail, an HTML page) copied into an exception.
MAX_SERVER_TEXT = 500
SCRUBBED = "***"
#: ``handle_query_errors``: Snuba timeouts, rate limits and memory limits become a 400 with this message.
QUERY_TIMEOUT_PREFIX = "Query timeout."

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace every secret (a proxy may echo the Authorization header) with ``***``."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, SCRUBBED)
    return text


def clip(text: str, limit: int = MAX_SERVER_TEXT) -> str:
    """Server text cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} more characters]"


def parse_json(text: str) -> Any:
    """``json.loads`` that raises only ValueError (deep nesting is a RecursionError otherwise)."""
    try:
        return json_codec.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply to decode") from None


def decode_body(body: bytes, content_type: str | None, secrets: Iterable[str] = ()) -> Any:
    """Decode JSON whatever the Content-Type says (Sentry's 429 is JSON served as text/html).

    Used for error answers: the text is scrubbed of ``secrets`` first, so nothing copied from
    it into an exception can hold the token."""
    if not body:
        return None
    text = scrub(body.decode("utf-8", errors="replace"), secrets)
    try:
        return parse_json(text)
    except ValueError:
        return text


def shape_of(data: Any) -> str:
    """What a decoded body is, for messages (``a JSON string``, ``an HTML page``...)."""
    if isinstance(data, str):
        return "an HTML page" if "<html" in data[:2000].lower() or "<!doctype" in data[:200].lower() else "text"
    return {
        dict: "a JSON object",
        list: "a JSON list",
        bool: "a JSON boolean",
        int: "a JSON number",
        float: "a JSON number",
    }.get(type(data), "nothing" if data is None else type(data).__name__)


def unexpected_response(
    status: int, method: str, path: str, what: str, *, text: str | None = None
) -> SentryUnexpectedResponseError:
    """The typed error for an answer the endpoint never gives (``text`` is already scrubbed)."""
    message = f"{method} /api/0/{path}: Sentry answered {status} with {what}"
    if text:
        message += f": {_summarize_text(text)}"
    message += " (a proxy, login page or load balancer in front of Sentry?)"
    return SentryUnexpectedResponseError(
        message, status=status, detail=clip(text) if text else None, method=method, path=path
    )


def _summarize_text(text: str, limit: int = 200) -> str:
    """Reduce an HTML or text body to one readable line (e.g. ``502 Bad Gateway``)."""
    title = re.search(r"<title>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    plain = title.group(1) if title else _TAG.sub(" ", text)
    plain = _SPACE.sub(" ", plain).strip()
    return plain[:limit] + ("..." if len(plain) > limit else "")


def describe(body: Any) -> tuple[Any, str | None]:
    """Return ``(detail, errorId)`` from any of Sentry's error body shapes."""
    if isinstance(body, dict):
        detail = body.get("detail", body if body else None)
        if isinstance(detail, dict) and "message" in detail:  # {"detail": {"code", "message", "extra"}}
            detail = detail["message"]
        error_id = body.get("errorId")
        return detail, str(error_id) if error_id else None
    if isinstance(body, str):
        return _summarize_text(body), None
    if body is None:
        return None, None
    return body, None


def _bounded_detail(detail: Any) -> Any:
    """Keep a short detail as it is (DRF field errors stay a dict); cut a long one to text."""
    if detail is None:
        return None
    text = detail if isinstance(detail, str) else json.dumps(detail, default=str)
    if len(text) <= MAX_SERVER_TEXT:
        return detail
    return clip(text)


def error_for_response(
    status: int,
    body: Any,
    *,
    conn_id: str,
    method: str,
    path: str,
    reset_at: float | None = None,
    waited: float = 0.0,
) -> SentryApiError:
    """Build the typed error for an error status; the message never contains the secret."""
    detail, error_id = describe(body)
    detail = _bounded_detail(detail)
    where = f"{method} /api/0/{path}"
    message = f"Sentry answered {status} to {where}"
    if detail:
        message += f": {detail}"
    if error_id:
        message += f" (errorId {error_id})"
    kwargs: dict[str, Any] = {
        "status": status,
        "detail": detail,
        "error_id": error_id,
        "method": method,
        "path": path,
        "body": body,
    }
    if status in (401, 403):
        hint = "is invalid or expired" if status == 401 else "lacks the scope this call needs"
        return SentryAuthError(f"{message}. The token of connection {conn_id!r} {hint}.", **kwargs)
    if status == 429:
        if waited:
            message += f" after waiting {waited:.1f}s in total"
        return SentryRateLimitError(message, reset_at=reset_at, **kwargs)
    if status == 400:
        if isinstance(detail, str) and detail.startswith(QUERY_TIMEOUT_PREFIX):
            return SentryQueryTimeoutError(message, **kwargs)
        return SentryBadRequestError(message, **kwargs)
    if status == 404:
        return SentryNotFoundError(message, **kwargs)
    if status == 409:
        return SentryConflictError(message, **kwargs)
    if status >= 500:
        return SentryServerError(message, **kwargs)
    return SentryApiError(message, **kwargs)
