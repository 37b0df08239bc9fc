"""NewIssuesTrigger: the deferrable half of NewIssuesSensor, polling Sentry on the triggerer.

It runs the same ``core.poll.IssuePoll`` as the sensor, over :class:`SentryAsyncHook`. It never
writes the state: it yields it in the event, and the sensor's ``execute_complete`` commits it on
a worker through ``core/commit.py``, which re-filters the batch when another run committed since
this trigger's copy of the state was taken (the copy never overwrites newer state). So a
triggerer restart (the trigger is rebuilt from :meth:`serialize`) just polls again from the
state the sensor deferred with, and loses nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from airflow_provider_sentry import exceptions
from airflow_provider_sentry._compat import BaseTrigger, TriggerEvent
from airflow_provider_sentry.core.poll import DEFAULT_OVERLAP_MS, TRANSIENT_ERRORS, IssuePoll, PollOutcome
from airflow_provider_sentry.core.watch import WatchSpec
from airflow_provider_sentry.exceptions import SentryError
from airflow_provider_sentry.hooks.sentry_async import SentryAsyncHook


async def run_poll_async(hook: SentryAsyncHook, poll: IssuePoll) -> PollOutcome:
    """Drive one poke's state machine with the async transport."""
    while (request := poll.next_request()) is not None:
        poll.receive(await hook.get_page(request.path, params=request.params, cursor=request.cursor, listing=True))
    return poll.outcome()


class NewIssuesTrigger(BaseTrigger):
    """Poll for new Sentry issues every ``poll_interval`` seconds; fire once some are found.

    :param spec: the watched search (``WatchSpec.to_json()``).
    :param state: the watch state (JSON) the sensor deferred with; ``None`` for a first watch.
    :param sentry_conn_id: the ``sentry`` connection; the token is loaded on the triggerer, never
        carried in the kwargs.
    :param run_key: the task run that receives the batch (recorded in the state for retries).
    :param since: epoch seconds for a first-watch backfill, else ``None``.
    :param max_issues: the most issues one event carries.
    :param poll_interval: seconds between polls.
    :param overlap_ms: the re-read window below the watermark.
    :param max_consecutive_failures: transient failures (429, 5xx, timeouts) in a row before the
        trigger gives up with an error event; any successful poll resets the count.
    :param try_number: ignored; accepted so that a trigger deferred by version 0.1.0 still loads.
    """

    def __init__(
        self,
        *,
        spec: Mapping[str, Any],
        state: Mapping[str, Any] | None,
        sentry_conn_id: str = "sentry_default",
        run_key: str | None = None,
        since: float | None = None,
        max_issues: int = 100,
        poll_interval: float = 60.0,
        overlap_ms: int = DEFAULT_OVERLAP_MS,
        max_consecutive_failures: int = 5,
        try_number: int | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.spec = dict(spec)
        self.state = dict(state) if state is not None else None
        self.sentry_conn_id = sentry_conn_id
        self.run_key = run_key
        self.since = since
        self.max_issues = max_issues
        self.poll_interval = poll_interval
        self.overlap_ms = overlap_ms
        self.max_consecutive_failures = max_consecutive_failures

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "spec": self.spec,
                "state": self.state,
                "sentry_conn_id": self.sentry_conn_id,
                "run_key": self.run_key,
                "since": self.since,
                "max_issues": self.max_issues,
                "poll_interval": self.poll_interval,
                "overlap_ms": self.overlap_ms,
                "max_consecutive_failures": self.max_consecutive_failures,
            },
        )

    @staticmethod
    async def _sleep(seconds: float) -> None:
        """Indirection so tests can drive the loop without waiting."""
        await asyncio.sleep(seconds)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        spec = WatchSpec.from_json(self.spec)
        state = self.state
        failures = 0
        async with SentryAsyncHook(sentry_conn_id=self.sentry_conn_id) as hook:
            while True:
                try:
                    poll = IssuePoll(
                        spec,
                        state,
                        now=time.time(),
                        since=self.since,
                        run_key=self.run_key,
                        max_issues=self.max_issues,
                        overlap_ms=self.overlap_ms,
                    )
                    outcome = await run_poll_async(hook, poll)
                except TRANSIENT_ERRORS as exc:
                    failures += 1
                    if failures >= self.max_consecutive_failures:
                        yield _event(error_payload(exc, failures=failures))
                        return
                    self.log.warning(
                        "Sentry poll failed (%s/%s in a row), retrying in %ss: %s",
                        failures,
                        self.max_consecutive_failures,
                        self.poll_interval,
                        exc,
                    )
                    await self._sleep(self.poll_interval)
                    continue
                except SentryError as exc:
                    yield _event(error_payload(exc, failures=failures + 1))
                    return
                failures = 0
                for note in outcome.notes:
                    self.log.warning("Sentry watch: %s", note)
                if outcome.issues:
                    self.log.info(
                        "Found %s new Sentry issue(s) in %s request(s)", len(outcome.issues), outcome.requests
                    )
                    yield _event({"status": "success", "issues": outcome.issues, "state": outcome.state.to_json()})
                    return
                # Idle or baseline: carry the state in memory only; the sensor commits it with the batch.
                state = outcome.state.to_json()
                await self._sleep(self.poll_interval)


def _event(payload: dict[str, Any]) -> TriggerEvent:
    return TriggerEvent(payload)  # type: ignore[no-untyped-call]


def error_payload(exc: SentryError, *, failures: int) -> dict[str, Any]:
    """A JSON event describing a failure (the messages of provider errors never contain the token)."""
    return {
        "status": "error",
        "error_type": type(exc).__name__,
        "message": str(exc),
        "http_status": getattr(exc, "status", None),
        "detail": _jsonable(getattr(exc, "detail", None)),
        "error_id": getattr(exc, "error_id", None),
        "failures": failures,
    }


def error_from_event(event: Mapping[str, Any]) -> SentryError:
    """Rebuild the typed provider error an error event describes (``SentryError`` if unknown)."""
    message = str(event.get("message") or "the Sentry trigger failed")
    cls = getattr(exceptions, str(event.get("error_type")), None)
    if not (isinstance(cls, type) and issubclass(cls, SentryError)):
        return SentryError(message)
    if issubclass(cls, exceptions.SentryApiError):
        return cls(message, status=int(event.get("http_status") or 0), detail=event.get("detail"),
                   error_id=event.get("error_id"))  # fmt: skip
    if issubclass(cls, exceptions.SentryRetryBudgetExceeded):
        return cls(message, waited=0.0)
    if issubclass(cls, exceptions.SentryInputError):
        return cls("trigger", message)
    return cls(message)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return str(value)


from airflow_provider_sentry.triggers.issue_events import NewIssuesEventTrigger as NewIssuesEventTrigger  # noqa: E402
