"""The demo's healthy traffic: real sentry-sdk sessions of one release (request mode, so the SDK sends them
pre-aggregated in a ``sessions`` envelope item, as a web server does).

Usage: python scripts/demo_sessions.py <DSN> <release> <count>
"""

from __future__ import annotations

import sys

import sentry_sdk


def main(dsn: str, release: str, count: int) -> None:
    sentry_sdk.init(dsn=dsn, release=release, environment="production", default_integrations=False)
    scope = sentry_sdk.get_isolation_scope()
    for _ in range(count):  # one session per request served, none of them crashed
        scope.start_session(session_mode="request")
        scope.end_session()
    sentry_sdk.flush(timeout=10)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
