"""NewIssuesEventTrigger: schedule DAGs on new Sentry issues with an ``AssetWatcher`` (no task waits).

The triggerer runs it for as long as the asset is scheduled on. Each poll drives the same
``core.poll.IssuePoll`` as the sensor over :class:`SentryAsyncHook`; a poll that finds new issues
fires one ``TriggerEvent`` with them (oldest first, at most ``max_issues``), and only then records
the new cursor in the watcher's durable store (see :mod:`.watcher_state`). So:

- exactly once in normal operation and across graceful triggerer restarts (the cursor is only
  recorded once the event has had time to reach the metadata DB, :data:`RECORD_DELAY`);
- a triggerer stopped between firing and recording repeats that one batch at the next start
  (never loses it); the payload carries the issue ids so a consumer can dedupe;
- errors never fire an event: transient ones (429, 5xx, transport, Snuba timeouts) are retried
  with backoff inside the trigger, the others (auth, config, bad input) raise so the watcher
  shows as failed.

See docs/watcher.md for when to choose it over the sensor.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_sentry._lazy import lazy_module
from airflow_provider_sentry.core.arguments import as_name_strings
from airflow_provider_sentry.defaults import DEFAULT_CONN_ID, DEFAULT_OVERLAP_MS, MAX_ISSUES_LIMIT
from airflow_provider_sentry.exceptions import SentryConfigError, SentryError, SentryInputError

try:
    from airflow.triggers.base import BaseEventTrigger, TriggerEvent
except ImportError as exc:  # pragma: no cover - every supported Airflow (3.0+) has it
    raise ImportError(
        "NewIssuesEventTrigger needs airflow.triggers.base.BaseEventTrigger (Airflow 3.0+); "
        "on older Airflow use NewIssuesSensor"
    ) from exc

if TYPE_CHECKING:
    from airflow_provider_sentry.core import poll as issue_poll
    from airflow_provider_sentry.core import watch as watch_state
    from airflow_provider_sentry.hooks import sentry_async
    from airflow_provider_sentry.triggers import issues as issue_triggers
    from airflow_provider_sentry.triggers import watcher_state
else:  # triggerer only: loaded when the watch runs, not when the DAG defining the watcher is parsed
    issue_poll = lazy_module("airflow_provider_sentry.core.poll")
    watch_state = lazy_module("airflow_provider_sentry.core.watch")
    sentry_async = lazy_module("airflow_provider_sentry.hooks.sentry_async")
    issue_triggers = lazy_module("airflow_provider_sentry.triggers.issues")
    watcher_state = lazy_module("airflow_provider_sentry.triggers.watcher_state")

#: the public import path Airflow stores (and hashes) for the watcher's trigger.
CLASSPATH = "airflow_provider_sentry.triggers.issues.NewIssuesEventTrigger"
#: seconds between firing an event and recording the cursor: the triggerer hands events to the
#: metadata DB in its ~1 s sync loop, so after this the event is stored before the cursor moves.
RECORD_DELAY = 2.0
#: the longest wait between two attempts while Sentry keeps failing transiently.
DEFAULT_MAX_BACKOFF = 600.0


class NewIssuesEventTrigger(BaseEventTrigger):
    """Fire one event per batch of Sentry issues first seen after the watch began.

    Use it in an ``AssetWatcher``; a DAG scheduled on the asset receives each batch in
    ``triggering_asset_events[asset][i].extra["payload"]``: ``{"issues": [...], "issue_ids":
    [...], "count": n, "organization": slug}``, issues trimmed as the sensor returns them, oldest
    first. Every argument is fixed at DAG parse time (Airflow identifies the trigger by the hash
    of its classpath and arguments): no dates, no per-run values.

    :param organization: organization slug; default: the connection's.
    :param projects: project slugs or ids; default: all the token can see.
    :param query: Sentry search; default ``is:unresolved``.
    :param environments: environment names to restrict to.
    :param sentry_conn_id: the Sentry connection (read on the triggerer; the token is never in the
        kwargs).
    :param poll_interval: seconds between polls (an idle poll is one request).
    :param max_issues: the most issues one event carries (1-1000); the rest follow at once in the
        next events.
    :param state_key: names the cursor where no asset state store exists (Airflow 3.0-3.2: the
        Variable ``sentry_watcher_state.<state_key>``); default: derived from the search.
    :param max_backoff: the longest wait in seconds between retries while Sentry keeps failing.
    """

    def __init__(
        self,
        *,
        organization: str | None = None,
        projects: str | int | Sequence[str | int] | None = None,
        query: str = "is:unresolved",
        environments: str | Sequence[str] | None = None,
        sentry_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 60.0,
        max_issues: int = 100,
        state_key: str | None = None,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.organization = _optional_name("organization", organization)
        self.projects = as_name_strings(projects, "projects")
        self.query = _text("query", query)
        self.environments = as_name_strings(environments, "environments", allow_ints=False, split=False)
        self.sentry_conn_id = _text("sentry_conn_id", sentry_conn_id, empty=False)
        self.poll_interval = _seconds("poll_interval", poll_interval)
        self.max_issues = _max_issues(max_issues)
        self.state_key = _optional_name("state_key", state_key)
        self.max_backoff = _seconds("max_backoff", max_backoff)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            CLASSPATH,
            {
                "organization": self.organization,
                "projects": list(self.projects),
                "query": self.query,
                "environments": list(self.environments),
                "sentry_conn_id": self.sentry_conn_id,
                "poll_interval": self.poll_interval,
                "max_issues": self.max_issues,
                "state_key": self.state_key,
                "max_backoff": self.max_backoff,
            },
        )

    @staticmethod
    async def _sleep(seconds: float, why: str) -> None:
        """Indirection so tests can drive the loop without waiting (``why``: poll, record, backoff or failed)."""
        await asyncio.sleep(seconds)

    def backoff(self, failures: int) -> float:
        """Seconds to wait after ``failures`` transient failures in a row (doubling, capped)."""
        return float(min(self.max_backoff, max(self.poll_interval, 1.0) * 2 ** min(failures - 1, 16)))

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            async for event in self._watch():
                yield event
        except SentryError as exc:
            # Airflow starts a failed watcher again at once: wait one interval before failing, so a
            # revoked token costs one request per poll_interval, not one per second.
            self.log.error(
                "Sentry watcher failed (%s: %s); not retried, raising in %.0f s",
                type(exc).__name__,
                exc,
                self.poll_interval,
            )
            await self._sleep(self.poll_interval, "failed")
            raise

    async def _watch(self) -> AsyncIterator[TriggerEvent]:
        async with sentry_async.SentryAsyncHook(sentry_conn_id=self.sentry_conn_id) as hook:
            organization = self.organization or (await hook.get_settings()).organization
            if not organization:
                raise SentryConfigError(
                    f"connection {self.sentry_conn_id!r} has no extra.organization; pass organization= explicitly"
                )
            spec = watch_state.WatchSpec(organization, self.query, self.projects, self.environments)
            # Airflow 3.3+ injects the watched assets' state store; 3.0-3.2 have no such attribute.
            store = watcher_state.watcher_store(
                getattr(self, "asset_state_store", None), self.state_key or spec.fingerprint
            )
            self.log.info("Sentry watcher: cursor kept in %s", store.describe())
            state = await store.load()
            failures = 0
            while True:
                try:
                    poll = issue_poll.IssuePoll(
                        spec, state, now=time.time(), max_issues=self.max_issues, overlap_ms=DEFAULT_OVERLAP_MS
                    )
                    outcome = await issue_triggers.run_poll_async(hook, poll)
                except issue_poll.TRANSIENT_ERRORS as exc:
                    failures += 1
                    delay = self.backoff(failures)
                    self.log.warning(
                        "Sentry poll failed (%s in a row); no event, retrying in %.0f s: %s", failures, delay, exc
                    )
                    await self._sleep(delay, "backoff")
                    continue
                failures = 0
                for note in outcome.notes:
                    self.log.warning("Sentry watcher: %s", note)
                if outcome.issues:
                    self.log.info(
                        "Firing %s new Sentry issue(s) (%s request(s))", len(outcome.issues), outcome.requests
                    )
                    yield TriggerEvent(event_payload(organization, outcome.issues))  # type: ignore[no-untyped-call]
                    # Record only once the event has reached the DB: a stop in between repeats
                    # this batch at the next start instead of losing it.
                    await self._sleep(RECORD_DELAY, "record")
                state = outcome.state.to_json()
                if outcome.changed:
                    await store.save(state)
                if outcome.kind == "baseline":
                    self.log.info("Sentry watcher: baseline recorded; issues first seen from now on will fire")
                if len(outcome.issues) < self.max_issues:  # a full batch: more may be waiting, poll at once
                    await self._sleep(self.poll_interval, "poll")


def event_payload(organization: str, issues: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON an event carries: the trimmed issues (oldest first) and their ids, for dedupe."""
    return {
        "organization": organization,
        "count": len(issues),
        "issue_ids": [str(issue["id"]) for issue in issues],
        "issues": issues,
    }


# -- argument checks (no I/O: they run at DAG parse time and name the bad argument) ----------------
def _text(field: str, value: Any, *, empty: bool = True) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise SentryInputError(field, f"must be a {'' if empty else 'non-empty '}string, got {value!r}")
    return value


def _optional_name(field: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise SentryInputError(field, f"must be a non-empty name without surrounding spaces, got {value!r}")
    return value


def _seconds(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise SentryInputError(field, f"must be a positive number of seconds, got {value!r}")
    return float(value)


def _max_issues(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SentryInputError("max_issues", f"must be an integer, got {value!r}")
    if not 1 <= value <= MAX_ISSUES_LIMIT:
        raise SentryInputError("max_issues", f"must be between 1 and {MAX_ISSUES_LIMIT}, got {value}")
    return value
