"""Issue search: Sentry's query syntax (a practical subset) turned into predicates over emulator issues.

Filters are split the way Sentry's executor splits them: Postgres-side ones (``is:``, ``issue.priority:``,
``assigned:``, ``firstRelease:``, and ``firstSeen:`` which Snuba applies too) select candidates; the rest (free text, ``release:``, ``level:``, dates,
``times_seen``, environments) are applied "in Snuba" together with the date window and the cursor. The split
matters for which empty result comes back (see ``issues.search_issues``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from airflow_provider_sentry.testing.state import Issue, to_datetime

POSTGRES_KEYS = frozenset({"is", "issue.priority", "assigned", "assigned_to", "firstrelease", "first_release"})
# ``first_seen`` is a Postgres queryset condition (``ScalarCondition("first_seen")``, or on ``GroupEnvironment``
# with environments) AND a Snuba aggregate (``HAVING first_seen``): it narrows the candidates and the Snuba rows.
BOTH_KEYS = frozenset({"firstseen", "first_seen", "age"})
IS_STATUS = {"unresolved", "resolved", "ignored", "archived", "muted"}
IS_SUBSTATUS = {
    "new": "new",
    "ongoing": "ongoing",
    "regressed": "regressed",
    "escalating": "escalating",
    "archived_until_escalating": "archived_until_escalating",
}
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
TOKEN_RE = re.compile(r'(!?[\w.]+):((?:\[[^\]]*\])|(?:"(?:[^"\\]|\\.)*")|(?:\S+))|("(?:[^"\\]|\\.)*")|(\S+)')


class QueryError(ValueError):
    """An invalid search query: Sentry answers 400 ``{"detail": <message>}``."""


@dataclass(frozen=True)
class SearchFilter:
    key: str
    operator: str  # "=", "!=", ">", ">=", "<", "<="
    values: tuple[str, ...]

    @property
    def postgres_only(self) -> bool:
        return self.key.lower() in POSTGRES_KEYS


@dataclass(frozen=True)
class ParsedQuery:
    filters: tuple[SearchFilter, ...]
    text: str

    @property
    def postgres_filters(self) -> tuple[SearchFilter, ...]:
        return tuple(f for f in self.filters if f.postgres_only or f.key.lower() in BOTH_KEYS)

    @property
    def snuba_filters(self) -> tuple[SearchFilter, ...]:
        return tuple(f for f in self.filters if not f.postgres_only)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    return value


def parse_query(query: str) -> ParsedQuery:
    """Split ``query`` into key filters and free text."""
    filters: list[SearchFilter] = []
    words: list[str] = []
    for match in TOKEN_RE.finditer(query):
        key, raw, quoted, word = match.groups()
        if key is None:
            words.append(_unquote(quoted or word))
            continue
        negated = key.startswith("!")
        key = key.lstrip("!")
        operator = "!=" if negated else "="
        for op in (">=", "<=", ">", "<"):
            if raw.startswith(op) and not negated:
                operator, raw = op, raw[len(op) :]
                break
        if raw.startswith("[") and raw.endswith("]"):
            values = tuple(_unquote(v.strip()) for v in raw[1:-1].split(",") if v.strip())
        else:
            values = (_unquote(raw),)
        filters.append(SearchFilter(key, operator, values))
    return ParsedQuery(tuple(filters), " ".join(words).strip())


def parse_date(value: str, now: datetime, operator: str) -> tuple[str, datetime]:
    """Absolute ISO dates keep the operator; relative ``-24h`` means "newer than", ``+24h`` "older than"."""
    relative = re.fullmatch(r"([+-])(\d+)([smhdw])", value)
    if relative:
        sign, amount, unit = relative.groups()
        moment = now - timedelta(seconds=int(amount) * UNITS[unit])
        return (">=" if sign == "-" else "<=", moment)
    try:
        return (operator, to_datetime(value))
    except ValueError:
        raise QueryError(
            f"Invalid date: {value}. Expected +/-duration (e.g. +1h) or ISO 8601-like (e.g. {now.date()})."
        ) from None


def _compare(left: float, operator: str, right: float) -> bool:
    return {
        "=": left == right,
        "!=": left != right,
        ">": left > right,
        ">=": left >= right,
        "<": left < right,
        "<=": left <= right,
    }[operator]


def _is_match(issue: Issue, value: str) -> bool:
    value = value.lower()
    if value in IS_STATUS:
        wanted = "ignored" if value in ("archived", "muted") else value
        return issue.status == wanted
    if value in IS_SUBSTATUS:
        return issue.substatus == IS_SUBSTATUS[value]
    if value == "assigned":
        return issue.assigned_to is not None
    if value == "unassigned":
        return issue.assigned_to is None
    if value == "bookmarked":
        return issue.is_bookmarked
    if value in ("unlinked", "for_review"):
        return True
    if value == "linked":
        return False
    raise QueryError(f"Invalid value for 'is' search, valid values are {sorted(IS_STATUS | set(IS_SUBSTATUS))}")


def filter_predicate(
    search_filter: SearchFilter, now: datetime, latest_release: Callable[[], str | None]
) -> Callable[[Issue], bool]:
    """One filter as a predicate; unknown keys are tag searches, which no emulator issue carries."""
    key = search_filter.key.lower()
    op = search_filter.operator
    values = search_filter.values
    negate = op == "!="

    def with_negation(test: Callable[[Issue], bool]) -> Callable[[Issue], bool]:
        return (lambda issue: not test(issue)) if negate else test

    if key == "is":
        for value in values:
            _is_match_check = value  # validate eagerly so a bad value is a 400 even with no issues
            if value.lower() not in IS_STATUS | set(IS_SUBSTATUS) | {
                "assigned",
                "unassigned",
                "bookmarked",
                "unlinked",
                "linked",
                "for_review",
            }:
                raise QueryError(f"Invalid value for 'is' search: {_is_match_check}")
        return with_negation(lambda issue: any(_is_match(issue, v) for v in values))
    if key == "issue.priority":
        wanted = {v.lower() for v in values}
        return with_negation(lambda issue: (issue.priority or "") in wanted)
    if key in ("assigned", "assigned_to"):
        return with_negation(
            lambda issue: (
                issue.assigned_to is not None
                and any(v in ("me", str(issue.assigned_to.get("id")), issue.assigned_to.get("name")) for v in values)
            )
        )
    if key in ("release", "firstrelease", "first_release"):
        resolved = [latest_release() if v == "latest" else v for v in values]

        def release_test(issue: Issue) -> bool:
            pool = issue.releases[:1] if key != "release" else issue.releases
            return any(v is not None and v in pool for v in resolved)

        return with_negation(release_test)
    if key == "level":
        levels = {v.lower() for v in values}
        return with_negation(lambda issue: issue.level in levels)
    if key in ("environment",):
        envs = set(values)
        return with_negation(lambda issue: bool(envs & set(issue.environments)))
    if key in ("firstseen", "first_seen", "age", "lastseen", "last_seen"):
        op2, moment = parse_date(values[0], now, op if op != "!=" else "=")
        attribute = "first_seen" if key in ("firstseen", "first_seen", "age") else "last_seen"
        return lambda issue: _compare(getattr(issue, attribute).timestamp(), op2, moment.timestamp())
    if key in ("times_seen", "timesseen"):
        try:
            number = float(values[0])
        except ValueError:
            raise QueryError(f"Invalid number: {values[0]}") from None
        return lambda issue: _compare(issue.times_seen, op if op != "!=" else "!=", number)
    if key in ("message", "title"):
        needle = values[0].lower()
        return with_negation(lambda issue: needle in issue.title.lower())
    return with_negation(lambda issue: False)


def text_predicate(text: str) -> Callable[[Issue], bool]:
    needle = text.lower()
    return lambda issue: needle in issue.title.lower()
