"""Tally of what a sensor delivered against what should arrive: the no-loss / no-duplicate figures."""

from __future__ import annotations

from collections import Counter


def counts(got: list[str], expected: set[str]) -> dict[str, int]:
    """Expected, delivered, lost, duplicated and unexpected issue ids."""
    tally = Counter(got)
    return {
        "expected": len(expected),
        "deliveries": len(got),
        "lost": len(expected - set(tally)),
        "duplicated": sum(n - 1 for n in tally.values() if n > 1),
        "unexpected": len(set(tally) - expected),
    }
