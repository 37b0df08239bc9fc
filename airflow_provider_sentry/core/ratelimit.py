"""Sentry's ``X-Sentry-Rate-Limit-*`` headers and the waits they imply.

Sentry sends no ``Retry-After``: the wait comes from ``X-Sentry-Rate-Limit-Reset`` (epoch
seconds of the next window). ``Retry-After`` is honoured when a proxy adds one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:  # Sentry can send the literal "None" for ConcurrentRemaining
        return None


@dataclass(frozen=True)
class RateLimitInfo:
    """The five rate-limit headers; any of them may be absent (self-hosted sends none)."""

    limit: float | None = None
    remaining: float | None = None
    reset: float | None = None
    concurrent_limit: float | None = None
    concurrent_remaining: float | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitInfo:
        prefix = "X-Sentry-Rate-Limit-"
        return cls(
            limit=_number(headers.get(prefix + "Limit")),
            remaining=_number(headers.get(prefix + "Remaining")),
            reset=_number(headers.get(prefix + "Reset")),
            concurrent_limit=_number(headers.get(prefix + "ConcurrentLimit")),
            concurrent_remaining=_number(headers.get(prefix + "ConcurrentRemaining")),
        )

    @property
    def exhausted(self) -> bool:
        return self.remaining is not None and self.remaining <= 0 and self.reset is not None


def retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """``Retry-After`` as seconds (delta or HTTP date), or None."""
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


class RateLimitBook:
    """The last rate-limit state seen per (method, path), so a client waits *before* a 429."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], RateLimitInfo] = {}

    def record(self, method: str, path: str, info: RateLimitInfo) -> None:
        if info.remaining is not None or info.reset is not None:
            self._by_key[(method, path)] = info

    def wait_needed(self, method: str, path: str, now: float) -> float:
        """Seconds to wait before sending, when the window's remaining count is 0."""
        info = self._by_key.get((method, path))
        if info is None or not info.exhausted or info.reset is None:
            return 0.0
        wait = info.reset - now
        if wait <= 0:
            del self._by_key[(method, path)]
            return 0.0
        return wait
