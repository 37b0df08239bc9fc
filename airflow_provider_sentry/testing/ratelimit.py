"""Sentry's fixed-window rate limiter and its five ``X-Sentry-Rate-Limit-*`` headers.

Source: getsentry/sentry ``src/sentry/middleware/ratelimit.py`` and ``src/sentry/ratelimits/redis.py``: the window
is ``int(now / window)``, Reset is the start of the next window (epoch seconds), a 429 carries a JSON *string*
body with ``Content-Type: text/html`` and no ``Retry-After``. Buckets are per caller (user for user tokens, IP
for org tokens and API keys), per endpoint and per method.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimitConfig:
    limit: int
    window: int
    concurrent_limit: int = 25


@dataclass
class RateDecision:
    limited: bool
    headers: dict[str, str]


class RateLimiter:
    """Counts requests per (caller, endpoint, method) bucket in fixed windows."""

    def __init__(self, clock: object = time.time) -> None:
        self._lock = threading.Lock()
        self._configs: dict[str | None, RateLimitConfig] = {}
        self._counts: dict[tuple[str, str, str, int], int] = {}
        self._in_flight: dict[str, int] = {}
        self._clock = clock

    def configure(self, limit: int, window: int, *, token: str | None = None, concurrent_limit: int = 25) -> None:
        """Enable limits for one secret, or for every caller when ``token`` is None."""
        if limit < 1 or window < 1:
            raise ValueError("limit and window_seconds must be >= 1")
        with self._lock:
            self._configs[token] = RateLimitConfig(limit, window, concurrent_limit)

    def disable(self) -> None:
        with self._lock:
            self._configs.clear()
            self._counts.clear()

    def config_for(self, token: str | None) -> RateLimitConfig | None:
        with self._lock:
            if token is not None and token in self._configs:
                return self._configs[token]
            return self._configs.get(None)

    def enter(self, token: str | None, caller: str, endpoint: str, method: str) -> RateDecision | None:
        """Count one request; None when rate limiting is off for this caller."""
        config = self.config_for(token)
        if config is None:
            return None
        now = float(self._clock())  # type: ignore[operator]
        bucket = int(now / config.window)
        key = (caller, endpoint, method, bucket)
        with self._lock:
            current = self._counts.get(key, 0) + 1
            self._counts[key] = current
            in_flight = self._in_flight.get(caller, 0) + 1
            self._in_flight[caller] = in_flight
        limited = current > config.limit
        headers = {
            "X-Sentry-Rate-Limit-Remaining": str(0 if limited else config.limit - current),
            "X-Sentry-Rate-Limit-Limit": str(config.limit),
            "X-Sentry-Rate-Limit-Reset": str((bucket + 1) * config.window),
            "X-Sentry-Rate-Limit-ConcurrentRemaining": str(max(config.concurrent_limit - in_flight, 0)),
            "X-Sentry-Rate-Limit-ConcurrentLimit": str(config.concurrent_limit),
        }
        return RateDecision(limited, headers)

    def leave(self, caller: str) -> None:
        with self._lock:
            if self._in_flight.get(caller, 0) > 0:
                self._in_flight[caller] -= 1


def too_many_requests_body(limit: int, window: int) -> bytes:
    message = f"You are attempting to use this endpoint too frequently. Limit is {limit} requests in {window} seconds"
    return json.dumps(message).encode()
