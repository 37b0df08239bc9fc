"""A decoded answer, and the page view of a paginated listing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_sentry.core.cursor import Cursor
from airflow_provider_sentry.core.errors import clip, shape_of, unexpected_response
from airflow_provider_sentry.core.headers import Headers
from airflow_provider_sentry.core.link_header import PageLink, parse_link_header_checked
from airflow_provider_sentry.exceptions import SentryPaginationError, SentryUnexpectedResponseError

#: the most pages one listing follows (100,000 rows at Sentry's 100 per page) unless told otherwise.
DEFAULT_MAX_PAGES = 1000


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
    #: what was wrong with the ``Link`` header (paging stops there): worth a warning.
    link_problems: tuple[str, ...] = ()

    @classmethod
    def from_response(
        cls, response: SentryResponse, *, method: str = "GET", path: str = "", listing: bool = False
    ) -> Page:
        """The page view of an answer. ``listing``: the endpoint returns a list of objects, and
        anything else is a typed error; otherwise a single object becomes a one-item page."""
        data = response.data
        if listing:
            if not isinstance(data, list):
                raise unexpected_response(response.status, method, path, f"{shape_of(data)} where a list is due")
            for item in data:
                if not isinstance(item, dict):
                    raise unexpected_response(
                        response.status, method, path, f"a list holding {shape_of(item)} where objects are due"
                    )
        elif not isinstance(data, list):
            data = [] if data is None else [data]
        header = response.headers.get("Link")
        links, problems = parse_link_header_checked(header)
        return cls(
            items=data,
            previous=links.get("previous"),
            next=links.get("next"),
            hits=_int_header(response.headers, "X-Hits"),
            max_hits=_int_header(response.headers, "X-Max-Hits"),
            headers=response.headers,
            link_problems=tuple(problems) if header and len(data) > 0 else (),
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


class PageTrail:
    """The cursors one listing has followed, so a server that never ends it is stopped.

    A server that repeats a cursor (a caching proxy, a bug) or never says ``results="false"``
    would keep a client paging forever; :meth:`next_cursor` raises
    :class:`SentryPaginationError` instead, after at most ``max_pages`` pages.
    """

    def __init__(self, what: str, *, max_pages: int = DEFAULT_MAX_PAGES, first: Cursor | str | None = None) -> None:
        if max_pages < 1:
            raise ValueError(f"max_pages must be at least 1, got {max_pages}")
        self.what = what
        self.max_pages = max_pages
        self.pages = 0
        self._seen: set[str] = {str(first)} if first is not None else set()

    def next_cursor(self, page: Page) -> Cursor | None:
        """The cursor of the next page, ``None`` at the end; raises if the listing loops."""
        self.pages += 1
        if not page.has_next or page.next_cursor is None:
            return None
        cursor = page.next_cursor
        key = str(cursor)
        if key in self._seen:
            raise SentryPaginationError(
                f"{self.what}: the server sent the cursor {key!r} again after {self.pages} page(s); "
                "stopped instead of reading the same page forever",
                status=200,
                detail=f"repeated cursor {key}",
            )
        if self.pages >= self.max_pages:
            raise SentryPaginationError(
                f"{self.what}: still more pages after the cap of {self.max_pages} page(s); stopped "
                "(pass max_pages= to read further)",
                status=200,
                detail=f"page cap {self.max_pages}",
            )
        self._seen.add(key)
        return cursor


def item_field(item: Mapping[str, Any], name: str, what: str = "issue") -> Any:
    """``item[name]``, or a typed (transient) error saying the server sent a ``what`` without it."""
    value = item.get(name) if isinstance(item, Mapping) else None
    if value is None or value == "":
        shown = clip(repr(item.get("id") if isinstance(item, Mapping) else item), 60)
        raise SentryUnexpectedResponseError(
            f"Sentry returned {what} {shown} without {name!r}", status=200, detail=f"{what} without {name}"
        )
    return value
