"""One API call as a state machine: build the request, then decide send / sleep / done / raise.

Transports drive it::

    call = Call(settings, "GET", path, params=..., book=book)
    while True:
        action = call.next_action(now)
        if isinstance(action, Done): return action.response
        if isinstance(action, Sleep): sleep(action.seconds); continue
        try: answer = send(action)               # action is a Send
        except <timeout / connection error> as exc: call.receive_error(exc, now)
        else: call.receive_response(status, headers, body, now)

Retries: 429, 502, 503, 504 and transport errors, only for requests that are safe to repeat
(GET, HEAD, PUT, or any method marked idempotent). Waits use exponential backoff with jitter,
bounded by ``max_retries`` and the settings' ``retry_budget`` (total seconds slept). A 429 waits
at least ``MIN_RATE_LIMIT_DELAY`` (with jitter) even when its reset lies in the past.

``Send.timeout`` is a deadline for the WHOLE request (connect, headers and body), which the
transports enforce; so a call takes at most ``timeout * (max_retries + 1) + retry_budget`` seconds.

A 2xx whose body is not JSON (a login page, a broken body), or JSON of the wrong shape when the
caller says what is due (``expect=list``), and a 3xx without a usable ``Location`` are
:class:`SentryUnexpectedResponseError` (a ``SentryServerError``): never a raw TypeError, never a
silent success. Server text copied into any error is scrubbed of the secret and cut short.
"""

from __future__ import annotations

import json as jsonlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from airflow_provider_sentry.core.api_urls import QueryParams, build_url, check_relative_path, same_origin
from airflow_provider_sentry.core.errors import (
    clip,
    decode_body,
    error_for_response,
    parse_json,
    scrub,
    shape_of,
    unexpected_response,
)
from airflow_provider_sentry.core.headers import Headers
from airflow_provider_sentry.core.page import SentryResponse
from airflow_provider_sentry.core.ratelimit import RateLimitBook, RateLimitInfo, retry_after_seconds
from airflow_provider_sentry.core.settings import SentrySettings
from airflow_provider_sentry.exceptions import (
    SentryApiError,
    SentryRedirectError,
    SentryRetryBudgetExceeded,
    SentryTransportError,
)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
SAFE_METHODS = frozenset({"GET", "HEAD", "PUT"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
BASE_DELAY = 1.0
MAX_DELAY = 60.0
#: the shortest wait after a 429 (doubling per retry, plus up to as much again of jitter), used when
#: the reset header is absent, garbage or already past (a worker clock ahead of Sentry's).
MIN_RATE_LIMIT_DELAY = 1.0
USER_AGENT = "airflow-provider-sentry"


@dataclass(frozen=True)
class Send:
    """Send this request within ``timeout`` seconds in all (a deadline, not a per-read limit).

    ``headers`` holds the Authorization value: it is left out of ``repr`` (an XCom or a log line
    of this object must never hold the token)."""

    method: str
    url: str
    headers: dict[str, str] = field(repr=False)
    body: bytes | None = field(repr=False)
    timeout: float
    verify: bool | str

    def __repr__(self) -> str:
        return (
            f"Send(method={self.method!r}, url={self.url!r}, headers=<{len(self.headers)} incl. Authorization>, "
            f"body=<{len(self.body or b'')} bytes>, timeout={self.timeout!r}, verify={self.verify!r})"
        )


@dataclass(frozen=True)
class Sleep:
    """Wait this long before the next action; ``reason`` is safe to log."""

    seconds: float
    reason: str


@dataclass(frozen=True)
class Done:
    response: SentryResponse


Action = Send | Sleep | Done


def backoff_delay(attempt: int, rand: float) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, capped at MAX_DELAY."""
    ceiling = min(MAX_DELAY, BASE_DELAY * 2.0**attempt)
    return ceiling / 2 + ceiling / 2 * rand


def rate_limit_floor(attempt: int, rand: float) -> float:
    """The least a 429 waits: ``MIN_RATE_LIMIT_DELAY`` doubling per retry, plus up to as much jitter,
    so workers that were refused together do not all come back in the same millisecond."""
    base = min(MAX_DELAY, MIN_RATE_LIMIT_DELAY * 2.0 ** max(0, attempt))
    return min(MAX_DELAY, base * (1.0 + rand))


class Call:
    """The decisions for one logical API call, across retries, waits and redirects."""

    def __init__(
        self,
        settings: SentrySettings,
        method: str,
        path: str,
        *,
        params: QueryParams | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        book: RateLimitBook | None = None,
        rand: Callable[[], float] = random.random,
        expect: type | None = None,
    ) -> None:
        self.settings = settings
        self.method = method.upper()
        self.path = check_relative_path(path)
        self.url = build_url(settings.base_url, self.path, params)
        self.body = None if json is None else jsonlib.dumps(json, separators=(",", ":")).encode()
        self.retryable = self.method in SAFE_METHODS if idempotent is None else idempotent
        self.book = book if book is not None else RateLimitBook()
        self.rand = rand
        self.expect = expect
        self.secrets = tuple(settings.secrets_to_mask())
        self.attempts = 0  # requests sent
        self.redirects = 0
        self.waited = 0.0
        self._pending: Action | None = None
        self._error: BaseException | None = None
        self._checked_rate_limit = False

    # -- what to do next -------------------------------------------------------------------
    def next_action(self, now: float) -> Action:
        if self._error is not None:
            raise self._error
        if self._pending is not None:
            action, self._pending = self._pending, None
            if isinstance(action, Sleep):
                self.waited += action.seconds
            return action
        if not self._checked_rate_limit:
            self._checked_rate_limit = True
            wait = self.book.wait_needed(self.method, self.path, now)
            if wait > 0:
                self._check_budget(wait, None)
                self.waited += wait
                return Sleep(wait, f"rate limit window exhausted (remaining 0); waiting {wait:.1f}s for reset")
        self.attempts += 1
        headers = {
            "Authorization": self.settings.authorization,
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if self.body is not None:
            headers["Content-Type"] = "application/json"
        return Send(self.method, self.url, headers, self.body, self.settings.timeout, self.settings.verify)

    # -- what came back --------------------------------------------------------------------
    def receive_response(self, status: int, headers: Headers | dict[str, str], body: bytes, now: float) -> None:
        hdrs = headers if isinstance(headers, Headers) else Headers(headers)
        info = RateLimitInfo.from_headers(hdrs)
        self.book.record(self.method, self.path, info)
        if 300 <= status < 400:
            location = hdrs.get("Location", "").strip()
            if status in REDIRECT_STATUSES and location:
                self._follow_redirect(status, location)
            else:
                self._error = unexpected_response(status, self.method, self.path, "a redirect without a Location")
            return
        if status < 300:
            self._receive_success(status, hdrs, body)
            return
        data = decode_body(body, hdrs.get("Content-Type"), self.secrets)
        error = error_for_response(
            status,
            data,
            conn_id=self.settings.conn_id,
            method=self.method,
            path=self.path,
            reset_at=info.reset,
            waited=self.waited,
        )
        if status not in RETRY_STATUSES or (not self.retryable and status != 429):  # a 429 applied nothing
            self._error = error
            return
        if status == 429:
            told = retry_after_seconds(hdrs, now)
            if told is None and info.reset is not None:
                told = info.reset - now
            floor = rate_limit_floor(self.attempts - 1, self.rand())
            delay = floor if told is None or told < floor else told
            why = "until the window resets" if told is not None and told >= floor else "(no usable reset time)"
            reason = f"Sentry rate limit (429); waiting {delay:.1f}s {why}"
        else:
            delay = backoff_delay(self.attempts - 1, self.rand())
            reason = f"Sentry answered {status}; retry {self.attempts}/{self.settings.max_retries} in {delay:.1f}s"
        self._schedule_retry(delay, reason, error)

    def receive_undecodable(self, status: int, exc: BaseException) -> None:
        """The answer came but its body cannot be decoded (e.g. a broken gzip stream)."""
        what = f"a body that cannot be decoded ({type(exc).__name__})"
        self._error = unexpected_response(status, self.method, self.path, what)

    def receive_error(self, exc: BaseException, now: float, *, deadline: bool = False) -> None:
        """A transport failure (connection refused/reset, timeout, truncated body).

        ``deadline``: the transport cut the request at ``Send.timeout`` seconds in all."""
        kind = f"no complete answer within the {self.settings.timeout:g}s timeout" if deadline else type(exc).__name__
        error = SentryTransportError(
            f"{self.method} /api/0/{self.path} failed without an HTTP answer ({kind}) after {self.attempts} attempt(s)"
        )
        error.__cause__ = None
        if not self.retryable:
            self._error = SentryTransportError(
                f"{self.method} /api/0/{self.path} failed without an HTTP answer ({kind}); "
                "not retried because the request is not idempotent"
            )
            return
        delay = backoff_delay(self.attempts - 1, self.rand())
        self._schedule_retry(delay, f"{kind} on {self.method} /api/0/{self.path}; retry in {delay:.1f}s", error)

    # -- helpers ---------------------------------------------------------------------------
    def _receive_success(self, status: int, hdrs: Headers, body: bytes) -> None:
        data: Any = None
        if body:
            text = body.decode("utf-8", errors="replace")
            try:
                data = parse_json(text)
            except ValueError as exc:
                what = "JSON nested too deeply to decode" if "nested" in str(exc) else "a body that is not JSON"
                self._error = unexpected_response(status, self.method, self.path, what, text=scrub(text, self.secrets))
                return
        if self.expect is not None and not isinstance(data, self.expect) and not (data is None and status == 204):
            due = "a list" if self.expect is list else "an object" if self.expect is dict else self.expect.__name__
            self._error = unexpected_response(status, self.method, self.path, f"{shape_of(data)} where {due} is due")
            return
        self._pending = Done(SentryResponse(status=status, headers=hdrs, data=data, url=self.url))

    def _schedule_retry(self, delay: float, reason: str, error: BaseException) -> None:
        if self.attempts > self.settings.max_retries:
            self._error = error
            return
        try:
            self._check_budget(delay, error)
        except SentryRetryBudgetExceeded as exc:
            self._error = exc
            return
        self._pending = Sleep(delay, reason)

    def _check_budget(self, delay: float, error: BaseException | None) -> None:
        if self.waited + delay > self.settings.retry_budget:
            what = f" Last error: {error}" if error else ""
            if isinstance(error, SentryApiError) and error.status == 429:
                what = f" Rate limited: {error.detail}"
            raise SentryRetryBudgetExceeded(
                f"{self.method} /api/0/{self.path}: waited {self.waited:.1f}s; the next wait of {delay:.1f}s "
                f"would exceed the retry budget of {self.settings.retry_budget:.0f}s.{what}",
                waited=self.waited,
                last_error=error,
            )

    def _follow_redirect(self, status: int, location: str) -> None:
        try:
            target = urljoin(self.url, location)
            parts = urlsplit(target)
            parts.port  # noqa: B018 - raises ValueError for a port out of range
            if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
                raise ValueError("not an http(s) URL")
        except ValueError as exc:
            shown = clip(scrub(location, self.secrets), 120)
            self._error = unexpected_response(status, self.method, self.path, f"an invalid Location {shown!r} ({exc})")
            return
        if not same_origin(self.url, target):
            host = urlsplit(target).hostname
            self._error = SentryRedirectError(
                f"{self.method} /api/0/{self.path} was redirected ({status}) to another host {host!r}; "
                "the token is not sent there. Point the connection's host at that server instead."
            )
            return
        self.redirects += 1
        if self.redirects > MAX_REDIRECTS:
            self._error = SentryRedirectError(f"{self.method} /api/0/{self.path}: more than {MAX_REDIRECTS} redirects")
            return
        if status in (301, 302, 303) and self.method not in ("GET", "HEAD"):
            self._error = SentryRedirectError(
                f"{self.method} /api/0/{self.path} was redirected ({status}); refusing to turn it into a GET"
            )
            return
        self.url = target
        self.attempts -= 1  # a redirect is not a retry
