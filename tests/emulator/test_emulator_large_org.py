"""Large organisations: the too-many-candidates search, member projects, and the Snuba-timeout 400.

Sentry: ``src/sentry/search/snuba/executors.py`` (``PostgresSnubaQueryExecutor.query``), ``get_projects`` and
``handle_query_errors``. Each test states the awkward behaviour a client must survive.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from airflow_provider_sentry.testing import SentryEmulator
from airflow_provider_sentry.testing.faults import QUERY_TIMEOUT_DETAIL

BASE = time.time() // 1 - 7200  # a whole second, two hours ago


def get(emu: SentryEmulator, params: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {emu.token}"}
    return requests.get(emu.url + "/api/0/organizations/acme/issues/", params=params, headers=headers, timeout=10)


def seed(emu: SentryEmulator, count: int, start: float, project: str = "backend") -> list[str]:
    """``count`` issues one second apart from ``start``; returns ids oldest first."""
    return [emu.add_issue(f"E{n}", project=project, first_seen=start + n)["id"] for n in range(count)]


@pytest.fixture
def emu() -> Any:
    with SentryEmulator(max_candidates=20) as emulator:
        yield emulator


def test_previous_cursor_far_below_pages_inside_the_newest_chunk(emu: SentryEmulator) -> None:
    old = seed(emu, 30, BASE)  # past the threshold of 20 candidates
    new = seed(emu, 400, BASE + 1000)
    cursor = f"{int(BASE + 500) * 1000}:0:1"
    page = get(emu, {"query": "is:unresolved", "sort": "new", "cursor": cursor})
    newest_first = list(reversed(new))
    # Not the 100 just above the cursor: rows 51-150 counted from the newest (the bottom of the first chunk).
    assert [item["id"] for item in page.json()] == newest_first[50:150]
    assert old  # the old rows exist below the cursor but play no part


def test_below_the_threshold_the_same_previous_cursor_is_exact() -> None:
    with SentryEmulator() as emu:
        seed(emu, 30, BASE)
        new = seed(emu, 400, BASE + 1000)
        page = get(emu, {"query": "is:unresolved", "sort": "new", "cursor": f"{int(BASE + 500) * 1000}:0:1"})
        assert [item["id"] for item in page.json()] == list(reversed(new))[300:400]


def test_next_cursors_walking_down_from_the_top_are_exact_under_chunking(emu: SentryEmulator) -> None:
    ids = seed(emu, 430, BASE)
    emu.add_issue("resolved", first_seen=BASE + 100.5, status="resolved")  # post-filtered out
    got: list[str] = []
    params: dict[str, Any] = {"query": "is:unresolved", "sort": "new"}
    for _ in range(10):
        page = get(emu, params)
        got += [item["id"] for item in page.json()]
        link = page.headers["Link"].split(", ")[1]
        if 'results="true"' not in link:
            break
        params["cursor"] = link.rsplit('cursor="', 1)[1].rstrip('"')
    assert got == list(reversed(ids))


def test_a_constructed_next_cursor_starts_exactly_at_its_score(emu: SentryEmulator) -> None:
    ids = seed(emu, 300, BASE)
    page = get(emu, {"query": "is:unresolved", "sort": "new", "cursor": f"{int(BASE + 200) * 1000}:0:0"})
    assert [item["id"] for item in page.json()] == list(reversed(ids[:201]))[:100]


def test_no_project_means_member_projects_and_minus_one_means_all() -> None:
    with SentryEmulator(member_projects=["backend"]) as emu:
        mine = emu.add_issue("mine", project="backend", first_seen=BASE)
        theirs = emu.add_issue("theirs", project="frontend", first_seen=BASE + 1)
        members = get(emu, {"query": "", "sort": "new"})
        assert [item["id"] for item in members.json()] == [mine["id"]]
        everything = get(emu, {"query": "", "sort": "new", "project": "-1"})
        assert [item["id"] for item in everything.json()] == [theirs["id"], mine["id"]]


def test_snuba_timeout_is_a_400_with_sentrys_message(emu: SentryEmulator) -> None:
    emu.add_issue(first_seen=BASE)
    emu.inject("query_timeout", path="/issues/")
    failed = get(emu, {"query": "", "sort": "new"})
    assert failed.status_code == 400
    assert failed.json() == {"detail": QUERY_TIMEOUT_DETAIL}
    assert get(emu, {"query": "", "sort": "new"}).status_code == 200
