"""Cursor and Link-header parsing, exactly as Sentry formats them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_sentry.core.cursor import Cursor
from airflow_provider_sentry.core.link_header import parse_link_header

DOCS_EXAMPLE = (
    '<https://sentry.io/api/0/organizations/acme/issues/123456/events/?&cursor=0:0:1>; rel="previous"; '
    'results="false"; cursor="0:0:1", '
    '<https://sentry.io/api/0/organizations/acme/issues/123456/events/?&cursor=0:100:0>; rel="next"; '
    'results="true"; cursor="0:100:0"'
)


def test_parses_the_docs_example_both_rels_previous_first() -> None:
    links = parse_link_header(DOCS_EXAMPLE)
    assert list(links) == ["previous", "next"]
    assert links["previous"].cursor == Cursor(0, 0, True)
    assert links["previous"].results is False
    assert links["next"].cursor == Cursor(0, 100, False)
    assert links["next"].results is True
    assert links["next"].url.endswith("/events/?&cursor=0:100:0")


def test_cursor_taken_from_url_when_attribute_missing() -> None:
    header = '<https://x/api/0/o/?query=a%2Cb&cursor=1718000000000:2:1>; rel="previous"; results="true"'
    link = parse_link_header(header)["previous"]
    assert link.cursor == Cursor(1718000000000, 2, True)
    assert link.results


def test_float_cursor_values_from_the_datetime_paginator() -> None:
    header = (
        '<https://x/?&cursor=1718000000123.456:0:1>; rel="previous"; results="false"; cursor="1718000000123.456:0:1"'
    )
    cursor = parse_link_header(header)["previous"].cursor
    assert cursor is not None and cursor.value == pytest.approx(1718000000123.456)
    assert str(cursor) == "1718000000123.456:0:1"


def test_commas_and_semicolons_inside_urls_do_not_split_entries() -> None:
    header = (
        '<https://x/api/0/?query=a,b;c&cursor=5:0:1>; rel="previous"; results="false"; cursor="5:0:1", '
        '<https://x/api/0/?query=a,b;c&cursor=4:1:0>; rel="next"; results="true"; cursor="4:1:0"'
    )
    links = parse_link_header(header)
    assert links["previous"].url == "https://x/api/0/?query=a,b;c&cursor=5:0:1"
    assert links["next"].cursor == Cursor(4, 1, False)


@pytest.mark.parametrize("header", [None, "", "garbage", "<>; rel=", '<https://x/?&cursor=a:b:c>; rel="next"'])
def test_malformed_headers_give_no_links_instead_of_crashing(header: str | None) -> None:
    assert parse_link_header(header) == {}


@pytest.mark.parametrize("text", ["", "1:2", "1:2:3:4", "a:0:0", "1:x:0", "1:0:y", "1.2.3:0:0"])
def test_invalid_cursor_strings_are_rejected_like_sentry(text: str) -> None:
    with pytest.raises(ValueError, match="invalid Sentry cursor"):
        Cursor.parse(text)


def test_value_is_an_int_unless_it_has_a_dot() -> None:
    assert isinstance(Cursor.parse("1700000000000:0:1").value, int)
    assert isinstance(Cursor.parse("0.5:0:0").value, float)


values = st.one_of(
    st.integers(min_value=0, max_value=10**15),
    st.floats(min_value=0, max_value=1e15, allow_nan=False, allow_infinity=False).filter(lambda f: "e" not in repr(f)),
)


@given(value=values, offset=st.integers(min_value=0, max_value=10**6), is_prev=st.booleans())
def test_cursor_round_trips(value: int | float, offset: int, is_prev: bool) -> None:
    cursor = Cursor(value, offset, is_prev)
    assert Cursor.parse(str(cursor)) == cursor


@given(
    prev=st.builds(Cursor, values, st.integers(0, 1000), st.just(True)),
    nxt=st.builds(Cursor, values, st.integers(0, 1000), st.just(False)),
    prev_results=st.booleans(),
    next_results=st.booleans(),
    query=st.text(alphabet="abc:=,;% ", max_size=20),
)
def test_link_header_round_trips_for_any_sentry_formatted_header(
    prev: Cursor, nxt: Cursor, prev_results: bool, next_results: bool, query: str
) -> None:
    from urllib.parse import quote

    uri = "http://127.0.0.1:1/api/0/organizations/acme/issues/?" + (f"query={quote(query)}" if query else "")

    def entry(name: str, cursor: Cursor, results: bool) -> str:
        return f'<{uri}&cursor={cursor}>; rel="{name}"; results="{str(results).lower()}"; cursor="{cursor}"'

    header = ", ".join([entry("previous", prev, prev_results), entry("next", nxt, next_results)])
    links = parse_link_header(header)
    assert links["previous"].cursor == prev and links["previous"].results is prev_results
    assert links["next"].cursor == nxt and links["next"].results is next_results


@given(st.text(max_size=200))
def test_link_parser_never_raises(header: str) -> None:
    parse_link_header(header)
