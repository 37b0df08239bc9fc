"""Issue lists: params, default query, Link/X-Hits headers and Sentry's SequencePaginator cursors."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import requests

from airflow_provider_sentry.testing import SentryEmulator

LINK_RE = re.compile(
    r'<(?P<url>[^>]*)>; rel="(?P<rel>\w+)"; results="(?P<results>true|false)"; cursor="(?P<cursor>[^"]*)"'
)
BASE = time.time() // 1 - 3600  # a whole second, an hour ago


def get(emu: SentryEmulator, path: str, params: Any = None, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or emu.token}"}
    return requests.get(emu.url + "/api/0/" + path, params=params, headers=headers, timeout=10)


def links(response: requests.Response) -> dict[str, dict[str, str]]:
    return {m["rel"]: m.groupdict() for m in LINK_RE.finditer(response.headers["Link"])}


def ids(response: requests.Response) -> list[str]:
    return [item["id"] for item in response.json()]


@pytest.fixture
def emu() -> Any:
    with SentryEmulator() as emulator:
        yield emulator


def test_link_header_format_both_rels_previous_first(emu: SentryEmulator) -> None:
    emu.add_issue(first_seen=BASE)
    response = get(emu, "organizations/acme/issues/")
    link = response.headers["Link"]
    assert link.startswith(f"<{emu.url}/api/0/organizations/acme/issues/?&cursor=")
    assert link.index('rel="previous"') < link.index('rel="next"')
    assert response.headers["X-Hits"] == "1"
    assert response.headers["X-Max-Hits"] == "1000"
    with_params = get(emu, "organizations/acme/issues/", {"query": "is:unresolved", "sort": "new"})
    assert links(with_params)["next"]["url"].startswith(
        f"{emu.url}/api/0/organizations/acme/issues/?query=is%3Aunresolved&sort=new&cursor="
    )


def test_sort_new_pages_by_first_seen_ms_then_id_descending(emu: SentryEmulator) -> None:
    a = emu.add_issue(first_seen=BASE)
    b = emu.add_issue(first_seen=BASE + 0.4)  # same second as a: tie, broken by id descending
    c = emu.add_issue(first_seen=BASE + 10)
    first = get(emu, "organizations/acme/issues/", {"query": "", "sort": "new", "limit": 2})
    assert ids(first) == [c["id"], b["id"]]
    rels = links(first)
    assert rels["previous"]["cursor"] == f"{int(BASE + 10) * 1000}:0:1"
    assert rels["previous"]["results"] == "false"
    assert rels["next"] == {**rels["next"], "cursor": f"{int(BASE) * 1000}:1:0", "results": "true"}
    second = get(
        emu, "organizations/acme/issues/", {"query": "", "sort": "new", "limit": 2, "cursor": rels["next"]["cursor"]}
    )
    assert ids(second) == [a["id"]]
    assert links(second)["previous"]["results"] == "true"  # executor override: a next-cursor was sent
    assert links(second)["next"]["results"] == "false"
    assert second.headers["X-Hits"] == "3"


def test_full_last_page_points_to_an_extra_empty_page(emu: SentryEmulator) -> None:
    for n in range(2):
        emu.add_issue(first_seen=BASE + n)
    emu.add_issue(first_seen=BASE + 1)  # a tie at the page boundary
    first = get(emu, "organizations/acme/issues/", {"query": "", "sort": "new", "limit": 2})
    assert links(first)["next"]["results"] == "true"
    second = get(
        emu,
        "organizations/acme/issues/",
        {"query": "", "sort": "new", "limit": 2, "cursor": links(first)["next"]["cursor"]},
    )
    assert len(second.json()) == 1


def test_polling_previous_returns_only_strictly_newer_and_skips_same_second(emu: SentryEmulator) -> None:
    emu.add_issue(first_seen=BASE)
    watermark_issue = emu.add_issue(first_seen=BASE + 5)
    first = get(emu, "organizations/acme/issues/", {"query": "is:unresolved", "sort": "new"})
    watermark = links(first)["previous"]["cursor"]
    assert watermark == f"{int(BASE + 5) * 1000}:0:1"
    same_second = emu.add_issue(first_seen=BASE + 5.5)  # indexed later, same second as the watermark
    newer = emu.add_issue(first_seen=BASE + 20)
    poll = get(emu, "organizations/acme/issues/", {"query": "is:unresolved", "sort": "new", "cursor": watermark})
    assert ids(poll) == [newer["id"]]
    assert same_second["id"] not in ids(poll) and watermark_issue["id"] not in ids(poll)
    assert links(poll)["previous"]["results"] == "true"
    again = get(
        emu,
        "organizations/acme/issues/",
        {"query": "is:unresolved", "sort": "new", "cursor": links(poll)["previous"]["cursor"]},
    )
    assert ids(again) == []
    # The newest issue still matches at the watermark: Snuba returns it, the paginator skips it -> echo.
    assert links(again)["previous"] == {
        **links(again)["previous"],
        "cursor": f"{int(BASE + 20) * 1000}:0:1",
        "results": "false",
    }
    assert links(again)["next"]["cursor"] == f"{int(BASE + 20) * 1000}:0:0"
    assert again.headers["X-Hits"] == "4"


def test_empty_result_when_nothing_at_or_above_the_watermark_matches(emu: SentryEmulator) -> None:
    old = emu.add_issue(first_seen=BASE)
    top = emu.add_issue(first_seen=BASE + 5)
    first = get(emu, "organizations/acme/issues/", {"query": "is:unresolved", "sort": "new"})
    watermark = links(first)["previous"]["cursor"]
    emu.update_issue(top["id"], status="resolved")
    poll = get(emu, "organizations/acme/issues/", {"query": "is:unresolved", "sort": "new", "cursor": watermark})
    assert ids(poll) == []
    assert links(poll)["previous"]["cursor"] == "0:0:1" and links(poll)["previous"]["results"] == "false"
    assert links(poll)["next"]["cursor"] == "0:0:0" and links(poll)["next"]["results"] == "false"
    assert "X-Hits" not in poll.headers
    # A poller that stored 0:0:1 now gets the OLDEST page (score >= 0).
    trap = get(emu, "organizations/acme/issues/", {"query": "is:unresolved", "sort": "new", "cursor": "0:0:1"})
    assert ids(trap) == [old["id"]]


def test_echo_mode_reproduces_the_post_filter_path(emu: SentryEmulator) -> None:
    emu.empty_result_mode = "echo"
    emu.add_issue(first_seen=BASE)
    top = emu.add_issue(first_seen=BASE + 5)
    first = get(emu, "organizations/acme/issues/", {"query": "is:unresolved", "sort": "new"})
    watermark = links(first)["previous"]["cursor"]
    emu.update_issue(top["id"], status="resolved")
    poll = get(emu, "organizations/acme/issues/", {"query": "is:unresolved", "sort": "new", "cursor": watermark})
    assert ids(poll) == []
    assert links(poll)["previous"]["cursor"] == watermark and links(poll)["previous"]["results"] == "false"
    assert SentryEmulator(empty_result_mode="echo").empty_result_mode == "echo"


def test_default_query_hides_low_priority_and_resolved(emu: SentryEmulator) -> None:
    high = emu.add_issue(first_seen=BASE, level="error")
    medium = emu.add_issue(first_seen=BASE + 1, level="warning")
    emu.add_issue(first_seen=BASE + 2, level="info")  # priority low
    emu.add_issue(first_seen=BASE + 3, status="resolved")
    assert sorted(ids(get(emu, "organizations/acme/issues/"))) == sorted([high["id"], medium["id"]])
    assert len(get(emu, "organizations/acme/issues/", {"query": ""}).json()) == 4


def test_query_filters(emu: SentryEmulator) -> None:
    emu.add_release("1.0")
    a = emu.add_issue(title="ZeroDivisionError: boom", first_seen=BASE, release="1.0", level="error")
    b = emu.add_issue(title="KeyError: 'x'", first_seen=BASE + 1, status="ignored", level="warning")
    c = emu.add_issue(title="ValueError: nope", first_seen=time.time() - 10 * 86400, status="resolved")
    cases = {
        "is:unresolved": [a["id"]],
        "is:resolved": [c["id"]],
        "is:ignored": [b["id"]],
        "release:1.0": [a["id"]],
        "keyerror": [b["id"]],
        "level:warning": [b["id"]],
        "firstSeen:-1d": [a["id"], b["id"]],
        "age:+2d": [c["id"]],
    }
    for query, expected in cases.items():
        assert sorted(ids(get(emu, "organizations/acme/issues/", {"query": query}))) == sorted(expected), query


def test_project_param_ids_only(emu: SentryEmulator) -> None:
    backend = emu.add_issue(first_seen=BASE)
    frontend = emu.add_issue(first_seen=BASE, project="frontend")
    projects = {p["slug"]: p["id"] for p in emu.projects}
    assert ids(get(emu, "organizations/acme/issues/", {"project": projects["frontend"]})) == [frontend["id"]]
    both = get(emu, "organizations/acme/issues/", [("project", projects["backend"]), ("project", projects["frontend"])])
    assert sorted(ids(both)) == sorted([backend["id"], frontend["id"]])
    assert len(get(emu, "organizations/acme/issues/", {"project": "-1"}).json()) == 2
    slug = get(emu, "organizations/acme/issues/", {"project": "backend"})
    assert slug.status_code == 400
    assert slug.json() == {"detail": "Invalid project parameter. Values must be numbers."}


def test_bad_limit_and_cursor_are_400(emu: SentryEmulator) -> None:
    assert get(emu, "organizations/acme/issues/", {"limit": "ten"}).json() == {"detail": "invalid limit"}
    for bad in ("abc", "1:2", "1:x:0", "1.5.2:0:0"):
        response = get(emu, "organizations/acme/issues/", {"cursor": bad})
        assert (response.status_code, response.json()) == (400, {"detail": "Invalid cursor parameter."}), bad


def test_limit_is_capped_at_100(emu: SentryEmulator) -> None:
    emu.add_issues(105, first_seen=BASE)
    response = get(emu, "organizations/acme/issues/", {"limit": 500, "query": ""})
    assert len(response.json()) == 100
    assert links(response)["next"]["results"] == "true"


def test_freq_sort_scores_are_counts(emu: SentryEmulator) -> None:
    many = emu.add_issue(first_seen=BASE, times_seen=50)
    few = emu.add_issue(first_seen=BASE + 1, times_seen=2)
    response = get(emu, "organizations/acme/issues/", {"sort": "freq", "query": "", "limit": 1})
    assert ids(response) == [many["id"]]
    assert links(response)["next"]["cursor"] == "2:0:0"
    assert ids(get(emu, "organizations/acme/issues/", {"sort": "freq", "query": "", "cursor": "2:0:0"})) == [few["id"]]


def test_date_window_default_90_days_and_stats_period(emu: SentryEmulator) -> None:
    emu.add_issue(first_seen=time.time() - 100 * 86400)
    recent = emu.add_issue(first_seen=time.time() - 2 * 86400)
    today = emu.add_issue(first_seen=time.time() - 60)
    assert sorted(ids(get(emu, "organizations/acme/issues/", {"query": ""}))) == sorted([recent["id"], today["id"]])
    assert ids(get(emu, "organizations/acme/issues/", {"query": "", "statsPeriod": "24h"})) == [today["id"]]
    assert get(emu, "organizations/acme/issues/", {"statsPeriod": "forever"}).status_code == 400


def test_environment_filter(emu: SentryEmulator) -> None:
    prod = emu.add_issue(first_seen=BASE, environment="production")
    emu.add_issue(first_seen=BASE, environment="staging")
    assert ids(get(emu, "organizations/acme/issues/", {"environment": "production", "query": ""})) == [prod["id"]]
    assert get(emu, "organizations/acme/issues/", {"environment": "nowhere"}).status_code == 404


def test_late_indexing_hides_issues_until_indexed(emu: SentryEmulator) -> None:
    early = emu.add_issue(first_seen=BASE + 1, indexed=False)
    delayed = emu.add_issue(first_seen=BASE + 2, visible_after=3600)
    assert ids(get(emu, "organizations/acme/issues/", {"query": ""})) == []
    emu.index(early["id"])
    assert ids(get(emu, "organizations/acme/issues/", {"query": ""})) == [early["id"]]
    emu.index_all()
    assert ids(get(emu, "organizations/acme/issues/", {"query": ""})) == [delayed["id"], early["id"]]


def test_deprecated_project_list_first_date_page_uses_datetime_paginator(emu: SentryEmulator) -> None:
    issue = emu.add_issue(first_seen=BASE + 0.25)
    response = get(emu, "projects/acme/backend/issues/", {"query": "is:unresolved"})
    assert ids(response) == [issue["id"]]
    ms = (BASE + 0.25) * 1000
    assert links(response)["previous"]["cursor"] == f"{int(ms // 1)}:0:1"  # sub-second ms, floor
    # build_cursor: the only row's key equals the first row's key, so next pages by offset (+limit)
    assert links(response)["next"]["cursor"] == f"{int(-(-ms // 1))}:100:0"  # ceil
    assert links(response)["next"]["results"] == "false"
    assert response.headers["X-Hits"] == "1"
    slug_ok = get(emu, "projects/acme/backend/issues/", {"query": "is:unresolved", "sort": "new"})
    assert links(slug_ok)["previous"]["cursor"] == f"{int(BASE) * 1000}:0:1"


def test_issue_json_types(emu: SentryEmulator) -> None:
    emu.add_issue(first_seen=BASE, times_seen=7, user_count=3)
    item = get(emu, "organizations/acme/issues/").json()[0]
    assert isinstance(item["id"], str) and item["count"] == "7" and item["userCount"] == 3
    assert item["project"] == {"id": emu.projects[0]["id"], "name": "backend", "slug": "backend", "platform": "python"}
    assert item["firstSeen"].endswith("Z") and item["shortId"] == "BACKEND-1"
    assert item["permalink"] == f"{emu.url}/organizations/acme/issues/{item['id']}/"
    assert len(item["stats"]["24h"]) == 24
