"""The one list normaliser (``core.arguments.as_names``): what the sensor, the watcher, the issue operators
and the release operators all accept for projects and environments."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_sentry.core.arguments import as_name_strings, as_names
from airflow_provider_sentry.exceptions import SentryInputError

NAME = st.text(st.characters(blacklist_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=12).filter(
    lambda t: t.strip() == t and not t.startswith("[")
)
ENTRY = NAME | st.integers(min_value=1, max_value=10**9)


@given(st.lists(ENTRY, max_size=8), st.sampled_from(["", " ", "  \t"]))
def test_unique_in_first_seen_order_and_stripped(entries: list[str | int], pad: str) -> None:
    padded = [pad + e + pad if isinstance(e, str) else e for e in entries]
    expected = list(dict.fromkeys(entries))
    assert as_names(padded, "projects") == expected
    assert as_name_strings(padded, "projects") == tuple(str(e) for e in expected)


@given(st.lists(ENTRY, min_size=1, max_size=8))
def test_a_rendered_list_string_reads_back_as_the_list(entries: list[str | int]) -> None:
    assert as_names(json.dumps(entries), "projects") == list(dict.fromkeys(entries))
    assert as_names(str(entries), "projects") == list(dict.fromkeys(entries))


def test_words_split_only_where_asked() -> None:
    assert as_names("backend, frontend web", "projects") == ["backend", "frontend", "web"]
    assert as_names("prod eu", "environments", split=False) == ["prod eu"]
    assert as_names(None, "projects") == [] and as_names(7, "projects") == [7]
    assert as_names([-1], "projects") == [-1]


@pytest.mark.parametrize("bad", [[""], ["  "], [True], [0], [-2], [None], [1.5], [{"a": 1}]])
def test_a_bad_entry_names_the_field(bad: list[object]) -> None:
    with pytest.raises(SentryInputError) as raised:
        as_names(bad, "projects")
    assert raised.value.field == "projects"


def test_environments_take_no_ids_and_required_lists_need_one() -> None:
    with pytest.raises(SentryInputError, match="environments: each entry must be a non-empty name, got 3"):
        as_names([3], "environments", allow_ints=False)
    with pytest.raises(SentryInputError, match="projects: at least one value is required"):
        as_names([], "projects", required=True)
