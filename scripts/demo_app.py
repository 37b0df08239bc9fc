"""The demo's "app": real sentry-sdk code that crashes twice in two different ways.

Usage: python scripts/demo_app.py <DSN> [release]
"""

from __future__ import annotations

import sys

import sentry_sdk


def load_price(prices: dict[str, float], sku: str) -> float:
    return prices[sku]


def average(values: list[float]) -> float:
    return sum(values) / len(values)


def main(dsn: str, release: str) -> None:
    sentry_sdk.init(dsn=dsn, release=release, environment="production", default_integrations=False)
    for crash in (lambda: average([]), lambda: load_price({}, "sku-42"), lambda: average([])):
        try:
            crash()
        except Exception as exc:  # a real app would let the SDK's excepthook do this
            sentry_sdk.capture_exception(exc)
    sentry_sdk.flush(timeout=10)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "backend@1.0.0")
