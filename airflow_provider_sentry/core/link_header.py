"""Sentry's ``Link`` header.

Sentry sends both rels, previous first, each as
``<URI&cursor=C>; rel="previous"; results="true|false"; cursor="C"``
(``src/sentry/api/base.py``), where the URI can end in ``?&cursor=``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from airflow_provider_sentry.core.cursor import Cursor


@dataclass(frozen=True)
class PageLink:
    """One rel of a Link header: where it points and whether Sentry says rows are there."""

    rel: str
    url: str
    cursor: Cursor | None
    results: bool


def _split_entries(header: str) -> list[str]:
    """Split on the commas that separate entries, not those inside ``<...>`` or quotes."""
    entries: list[str] = []
    current: list[str] = []
    in_url = in_quote = False
    for char in header:
        if char == "<" and not in_quote:
            in_url = True
        elif char == ">" and not in_quote:
            in_url = False
        elif char == '"' and not in_url:
            in_quote = not in_quote
        if char == "," and not in_url and not in_quote:
            entries.append("".join(current))
            current = []
        else:
            current.append(char)
    entries.append("".join(current))
    return [entry.strip() for entry in entries if entry.strip()]


def _parse_entry(entry: str) -> PageLink | None:
    if not entry.startswith("<") or ">" not in entry:
        return None
    url, _, rest = entry[1:].partition(">")
    attrs: dict[str, str] = {}
    for param in rest.split(";"):
        name, sep, value = param.strip().partition("=")
        if sep:
            attrs[name.strip().lower()] = value.strip().strip('"')
    rel = attrs.get("rel")
    if not rel:
        return None
    cursor_text = attrs.get("cursor")
    if cursor_text is None:
        query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
        cursor_text = query.get("cursor")
    cursor = Cursor.parse(cursor_text) if cursor_text else None
    return PageLink(rel=rel, url=url, cursor=cursor, results=attrs.get("results", "").lower() == "true")


def parse_link_header(header: str | None) -> dict[str, PageLink]:
    """Return the links by rel (``previous``, ``next``); malformed entries are skipped."""
    return parse_link_header_checked(header)[0]


def parse_link_header_checked(header: str | None) -> tuple[dict[str, PageLink], list[str]]:
    """The links by rel, and what was wrong with the header (each problem ends paging early)."""
    links: dict[str, PageLink] = {}
    problems: list[str] = []
    if not header:
        return links, problems
    for entry in _split_entries(header):
        try:
            link = _parse_entry(entry)
        except ValueError as exc:
            problems.append(f"unreadable cursor in {_short(entry)} ({exc})")
            continue
        if link is None:
            problems.append(f"unreadable entry {_short(entry)}")
            continue
        links[link.rel] = link
    if "next" not in links:
        problems.append('no rel="next" entry')
    return links, problems


def _short(text: str, limit: int = 120) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")
