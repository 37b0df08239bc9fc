"""A decoded answer, and the page view of a paginated listing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airflow_provider_sentry.core.cursor import Cursor
from airflow_provider_sentry.core.headers import Headers
from airflow_provider_sentry.core.links import PageLink, parse_link_header


@dataclass(frozen=True)
class SentryResponse:
    """Status, headers and decoded JSON of one successful answer (lets callers tell 201 from 208)."""

    status: int
    headers: Headers
    data: Any
    url: str = ""


def _int_header(headers: Headers, name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None


@dataclass(frozen=True)
class Page:
    """One page of a listing with both cursors and their ``results`` flags, and ``X-Hits``."""

    items: list[Any]
    previous: PageLink | None
    next: PageLink | None
    hits: int | None = None
    max_hits: int | None = None
    headers: Headers = field(default_factory=Headers, repr=False)

    @classmethod
    def from_response(cls, response: SentryResponse) -> Page:
        links = parse_link_header(response.headers.get("Link"))
        data = response.data
        items = data if isinstance(data, list) else ([] if data is None else [data])
        return cls(
            items=items,
            previous=links.get("previous"),
            next=links.get("next"),
            hits=_int_header(response.headers, "X-Hits"),
            max_hits=_int_header(response.headers, "X-Max-Hits"),
            headers=response.headers,
        )

    @property
    def has_next(self) -> bool:
        return self.next is not None and self.next.results and self.next.cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous is not None and self.previous.results and self.previous.cursor is not None

    @property
    def next_cursor(self) -> Cursor | None:
        return self.next.cursor if self.next else None

    @property
    def previous_cursor(self) -> Cursor | None:
        return self.previous.cursor if self.previous else None
