"""Sentry's server-side paginators, ported line by line so the emulator's cursors are Sentry's cursors.

Sources: getsentry/sentry ``src/sentry/api/paginator.py`` (``SequencePaginator``, ``OffsetPaginator``,
``GenericOffsetPaginator``, ``DateTimePaginator``), ``src/sentry/utils/cursors.py`` (``Cursor``,
``build_cursor``) and ``src/sentry/api/base.py`` (``add_cursor_headers``). Deliberately independent of
``airflow_provider_sentry.core``: a server sharing the client's parser would hide the client's bugs.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

MAX_LIMIT = 100
MAX_HITS_LIMIT = 1000
T = TypeVar("T")
Score = int | float


class BadPaginationError(Exception):
    """``BadPaginationError``: the endpoint turns it into a 400 ``{"detail": <message>}``."""


@dataclass
class Cursor:
    """``sentry.utils.cursors.Cursor``: ``value:offset:is_prev`` plus the ``results`` flag of the Link header."""

    value: Score
    offset: int = 0
    is_prev: bool = False
    has_results: bool | None = None

    def __str__(self) -> str:
        return f"{self.value}:{self.offset}:{int(self.is_prev)}"

    def __bool__(self) -> bool:
        return bool(self.has_results)


def parse_cursor(text: str) -> Cursor:
    """``Cursor.from_string``: three parts, a float value only when it has a dot; ValueError otherwise."""
    bits = text.split(":")
    if len(bits) != 3:
        raise ValueError(text)
    raw_value, raw_offset, raw_prev = bits
    value: Score = float(raw_value) if "." in raw_value else int(raw_value)
    return Cursor(value, int(raw_offset), bool(int(raw_prev)))


@dataclass
class CursorResult(Generic[T]):
    """``sentry.utils.cursors.CursorResult``."""

    results: list[T]
    next: Cursor
    prev: Cursor
    hits: int | None = None
    max_hits: int | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)


def reverse_bisect_left(a: Sequence[Score], x: Score, lo: int = 0, hi: int | None = None) -> int:
    """Like ``bisect_left`` for a list sorted in descending order (Sentry's helper)."""
    if hi is None or hi > len(a):
        hi = len(a)
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] > x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def sequence_paginate(
    data: Sequence[tuple[Score, T]],
    limit: int,
    cursor: Cursor | None,
    *,
    reverse: bool = True,
    max_limit: int = MAX_LIMIT,
    known_hits: int | None = None,
    count_hits: bool = False,
    max_hits: int | None = None,
) -> CursorResult[T]:
    """``SequencePaginator(data, reverse).get_result(...)``: ``data`` is ``(score, value)`` pairs."""
    ordered = sorted(data, key=lambda pair: (pair[0], pair[1]), reverse=reverse)  # type: ignore[type-var]
    scores: list[Score] = [pair[0] for pair in ordered]
    values: list[T] = [pair[1] for pair in ordered]
    search: Callable[..., int] = functools.partial(reverse_bisect_left if reverse else bisect.bisect_left, scores)
    limit = min(limit, max_limit)
    if cursor is None:
        cursor = Cursor(0, 0, False)
    if cursor.offset < 0:
        raise AssertionError("cursor.offset > -1")  # Sentry asserts: an uncaught error, i.e. a 500
    position = (len(scores) if cursor.is_prev else 0) if cursor.value == 0 else search(cursor.value)
    position = position + cursor.offset
    if cursor.is_prev:
        hi = min(position, len(scores))
        lo = max(hi - limit, 0)
    else:
        lo = max(position, 0)
        hi = min(lo + limit, len(scores))
    if scores:
        prev_score = scores[min(lo, len(scores) - 1)]
        prev_cursor = Cursor(prev_score, lo - search(prev_score, hi=lo), True, lo > 0)
        next_score = scores[min(hi, len(scores) - 1)]
        next_cursor = Cursor(next_score, hi - search(next_score, hi=hi), False, hi < len(scores))
    else:
        prev_cursor = Cursor(cursor.value, cursor.offset, True, False)
        next_cursor = Cursor(cursor.value, cursor.offset, False, False)
    results = values[lo:hi]
    if max_hits is None:
        max_hits = MAX_HITS_LIMIT
    hits: int | None
    if known_hits is not None:
        hits = min(known_hits, max_hits)
    elif count_hits:
        hits = min(len(scores), max_hits)
    else:
        hits = None
    return CursorResult(results, next_cursor, prev_cursor, hits, max_hits if hits is not None else None)


def offset_paginate(
    items: Sequence[T], limit: int, cursor: Cursor | None, *, max_limit: int = MAX_LIMIT, max_offset: int | None = None
) -> CursorResult[T]:
    """``OffsetPaginator.get_result``: value is the page size, offset the page number."""
    if cursor is None:
        cursor = Cursor(0, 0, False)
    limit = min(limit, max_limit)
    page = cursor.offset
    value = int(cursor.value)
    offset = cursor.offset * value
    stop = offset + (value or limit) + 1
    if max_offset is not None and offset >= max_offset:
        raise BadPaginationError("Pagination offset too large")
    if offset < 0:
        raise BadPaginationError("Pagination offset cannot be negative")
    results = list(items[offset:stop])
    if value != limit:
        results = results[-(limit + 1) :]
    next_cursor = Cursor(limit, page + 1, False, len(results) > limit)
    prev_cursor = Cursor(limit, page - 1, True, page > 0)
    return CursorResult(results[:limit], next_cursor, prev_cursor)


def generic_offset_paginate(items: Sequence[T], limit: int, cursor: Cursor | None) -> CursorResult[T]:
    """``GenericOffsetPaginator.get_result``: value always 0, offset = absolute row offset."""
    offset = cursor.offset if cursor is not None else 0
    data = list(items[offset : offset + limit + 1]) if offset >= 0 else list(items[offset:])[: limit + 1]
    has_more = len(data) == limit + 1
    if has_more:
        data.pop()
    return CursorResult(
        data,
        next=Cursor(0, max(0, offset + limit), False, has_more),
        prev=Cursor(0, max(0, offset - limit), True, offset > 0),
    )


def _build_next_values(
    cursor: Cursor, results: Sequence[Any], key: Callable[..., Score], limit: int, is_desc: bool
) -> tuple[Score, int, bool]:
    value, offset, is_prev = cursor.value, cursor.offset, cursor.is_prev
    num_results = len(results)
    if not value and num_results:
        value = key(results[0])
    if is_prev:
        return (value, 0, True)
    if not num_results:
        return (value, offset, False)
    has_next = num_results > limit
    next_value = key(results[-1])
    if next_value == value:
        return (next_value, offset + limit, has_next)
    next_offset = 0
    result_iter = reversed(results)
    if has_next:
        next(result_iter)
    for result in result_iter:
        result_value = key(result)
        if (is_desc and result_value <= next_value) or (not is_desc and result_value >= next_value):
            next_offset += 1
        else:
            break
    return (next_value, next_offset, has_next)


def _build_prev_values(
    cursor: Cursor, results: Sequence[Any], key: Callable[..., Score], limit: int, is_desc: bool
) -> tuple[Score, int, bool]:
    value, offset, is_prev = cursor.value, cursor.offset, cursor.is_prev
    num_results = len(results)
    has_prev = num_results > limit if is_prev else bool(value or offset)
    first_prev_index = 1 if is_prev and has_prev else 0
    prev_value: Score = key(results[first_prev_index], for_prev=True) if results else 0
    prev_offset = offset if is_prev else 0
    if not (is_prev and num_results):
        return (prev_value, prev_offset, has_prev)
    if prev_value == value:
        return (prev_value, offset + limit, has_prev)
    prev_offset = 0
    result_iter = iter(results)
    if has_prev:
        next(result_iter)
    next(result_iter)
    for result in result_iter:
        result_value = key(result, for_prev=True)
        if (is_desc and result_value >= prev_value) or (not is_desc and result_value <= prev_value):
            prev_offset += 1
        else:
            break
    return (prev_value, prev_offset, has_prev)


def build_cursor(
    results: list[T],
    key: Callable[..., Score],
    limit: int,
    is_desc: bool,
    cursor: Cursor | None,
    hits: int | None = None,
    max_hits: int | None = None,
) -> CursorResult[T]:
    """``sentry.utils.cursors.build_cursor``."""
    if cursor is None:
        cursor = Cursor(0, 0, False)
    next_value, next_offset, has_next = _build_next_values(cursor, results, key, limit, is_desc)
    prev_value, prev_offset, has_prev = _build_prev_values(cursor, results, key, limit, is_desc)
    if cursor.is_prev and has_prev:
        results = results[1:]
    elif not cursor.is_prev:
        results = results[:limit]
    return CursorResult(
        results,
        next=Cursor(next_value or 0, next_offset, False, has_next),
        prev=Cursor(prev_value or 0, prev_offset, True, has_prev),
        hits=hits,
        max_hits=max_hits,
    )


def empty_result() -> CursorResult[Any]:
    """``Paginator(Group.objects.none()).get_result()``: the issue search executor's ``empty_result``."""
    return build_cursor([], key=lambda item, for_prev=False: 0, limit=100, is_desc=False, cursor=None)


def datetime_key(epoch_seconds: float, *, desc: bool) -> Callable[..., Score]:
    """``DateTimePaginator.get_item_key`` for one item: epoch ms, ceil/floor by direction."""

    def key(for_prev: bool = False) -> Score:
        value = epoch_seconds * 1000
        is_asc = (desc and for_prev) or not (desc or for_prev)
        return int(math.floor(value) if is_asc else math.ceil(value))

    return key


def datetime_paginate_desc(
    items: Sequence[T], epoch_of: Callable[[T], float], limit: int, *, max_limit: int = MAX_LIMIT
) -> CursorResult[T]:
    """``DateTimePaginator(qs, "-last_seen").get_result(limit, None, count_hits=True)`` for a first page.

    ``items`` must already be ordered newest first. Only the cursor-less first page is served this way.
    """
    limit = min(limit, max_limit)

    def key(item: T, for_prev: bool = False) -> Score:
        return datetime_key(epoch_of(item), desc=True)(for_prev)

    hits = min(len(items), MAX_HITS_LIMIT)
    results = list(items[0 : limit + 1])
    return build_cursor(results, key, limit, True, None, hits=hits, max_hits=MAX_HITS_LIMIT)


def link_header(base_url: str, query: Sequence[tuple[str, str]], prev: Cursor, next_: Cursor) -> str:
    """``add_cursor_headers``: both rels, previous first, the incoming query minus ``cursor``."""
    querystring = urlencode([(k, v) for k, v in query if k != "cursor"])
    uri = f"{base_url}?{querystring}"

    def link(name: str, cursor: Cursor) -> str:
        has_results = "true" if bool(cursor) else "false"
        return f'<{uri}&cursor={cursor}>; rel="{name}"; results="{has_results}"; cursor="{cursor}"'

    return ", ".join([link("previous", prev), link("next", next_)])


def cursor_headers(base_url: str, query: Sequence[tuple[str, str]], result: CursorResult[Any]) -> dict[str, str]:
    """The Link / X-Hits / X-Max-Hits headers of one paginated answer."""
    headers = {"Link": link_header(base_url, query, result.prev, result.next)}
    if result.hits is not None:
        headers["X-Hits"] = str(result.hits)
    if result.max_hits is not None:
        headers["X-Max-Hits"] = str(result.max_hits)
    headers.update(result.extra_headers)
    return headers
