"""Sentry's ``value:offset:is_prev`` cursor (``src/sentry/utils/cursors.py``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cursor:
    """A pagination cursor; ``value`` is a score (epoch ms for date sorts) or a page size."""

    value: int | float
    offset: int
    is_prev: bool

    @classmethod
    def parse(cls, text: str) -> Cursor:
        """Parse exactly as Sentry does: three ``:`` parts, a float value only if it has a ``.``."""
        parts = text.split(":")
        if len(parts) != 3:
            raise ValueError(f"invalid Sentry cursor {text!r}: expected value:offset:is_prev")
        raw_value, raw_offset, raw_prev = parts
        try:
            value: int | float = float(raw_value) if "." in raw_value else int(raw_value)
            offset = int(raw_offset)
            is_prev = int(raw_prev)
        except ValueError as exc:
            raise ValueError(f"invalid Sentry cursor {text!r}: {exc}") from None
        return cls(value, offset, bool(is_prev))

    def __str__(self) -> str:
        return f"{self.value}:{self.offset}:{int(self.is_prev)}"
