"""ReleaseHealthTrigger: the deferrable half of ReleaseHealthSensor, checking release health on the triggerer.

It runs the same ``core.release_health.HealthCheck`` and the same verdict as the sensor's poke, over
:class:`SentryAsyncHook`. The look-ups the sensor already made (project ids, window start, previous
release) come in ``context``, so a waiting check costs one request. It fires once the verdict is pass or
fail; a 429, a 5xx, a transport error or Snuba's timeout 400 is logged and asked again after
``poll_interval`` (the deferral's timeout bounds the wait, as ``timeout`` bounds the poke modes).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from airflow_provider_sentry._compat import BaseTrigger, TriggerEvent
from airflow_provider_sentry.core.release_health import WAITING, HealthCheck, HealthSpec, Verdict, retry_at_next_check
from airflow_provider_sentry.exceptions import SentryError
from airflow_provider_sentry.hooks.sentry_async import SentryAsyncHook
from airflow_provider_sentry.triggers.issues import error_payload


async def run_check_async(hook: SentryAsyncHook, check: HealthCheck) -> Verdict:
    """Drive one check's state machine with the async transport."""
    while (request := check.next_request()) is not None:
        check.receive(await hook.get_page(request.path, params=request.params, cursor=request.cursor))
    return check.verdict()


class ReleaseHealthTrigger(BaseTrigger):
    """Check a release's health every ``poll_interval`` seconds; fire with the verdict once judged.

    :param spec: the gate settings (``HealthSpec.to_json()``).
    :param context: the look-ups already made (``GateContext.to_json()``), or ``None``.
    :param sentry_conn_id: the ``sentry`` connection; the token is loaded on the triggerer, never carried
        in the kwargs.
    :param poll_interval: seconds between checks.
    """

    def __init__(
        self,
        *,
        spec: Mapping[str, Any],
        context: Mapping[str, Any] | None = None,
        sentry_conn_id: str = "sentry_default",
        poll_interval: float = 60.0,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.spec = dict(spec)
        self.context = dict(context) if context is not None else None
        self.sentry_conn_id = sentry_conn_id
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "spec": self.spec,
                "context": self.context,
                "sentry_conn_id": self.sentry_conn_id,
                "poll_interval": self.poll_interval,
            },
        )

    @staticmethod
    async def _sleep(seconds: float) -> None:
        """Indirection so tests can drive the loop without waiting."""
        await asyncio.sleep(seconds)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        spec = HealthSpec.from_json(self.spec)
        context = self.context
        async with SentryAsyncHook(sentry_conn_id=self.sentry_conn_id) as hook:
            while True:
                check = HealthCheck(spec, context, now=time.time())
                try:
                    verdict = await run_check_async(hook, check)
                except SentryError as exc:
                    if not retry_at_next_check(exc):
                        yield _event(error_payload(exc, failures=1))
                        return
                    self.log.warning("Sentry release health check failed; retrying in %ss: %s", self.poll_interval, exc)
                    await self._sleep(self.poll_interval)
                    continue
                finally:
                    if check.context is not None:
                        context = check.context.to_json()
                self.log.info("%s (%s request(s))", verdict.message, check.requests)
                if verdict.status != WAITING:
                    yield _event({"status": verdict.status, "message": verdict.message, "result": verdict.result})
                    return
                await self._sleep(self.poll_interval)


def _event(payload: dict[str, Any]) -> TriggerEvent:
    return TriggerEvent(payload)  # type: ignore[no-untyped-call]
