"""SentryAsyncHook: the same sans-I/O ``Call`` as :class:`SentryHook`, over ``httpx.AsyncClient``.

Used by triggers on the triggerer's event loop. Only the transport differs from the sync hook:
retries, rate-limit waits, redirects and error typing all come from ``core.exchange.Call``.
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import TYPE_CHECKING, Any

from airflow_provider_sentry._compat import BaseHook
from airflow_provider_sentry._lazy import lazy_module
from airflow_provider_sentry.core.api_urls import QueryParams, with_cursor
from airflow_provider_sentry.core.cursor import Cursor
from airflow_provider_sentry.core.exchange import Call, Done, Sleep
from airflow_provider_sentry.core.headers import Headers
from airflow_provider_sentry.core.page import Page, SentryResponse
from airflow_provider_sentry.core.ratelimit import RateLimitBook
from airflow_provider_sentry.core.settings import SentrySettings
from airflow_provider_sentry.defaults import DEFAULT_CONN_ID
from airflow_provider_sentry.hooks.sentry import SentryHook

if TYPE_CHECKING:
    import ssl

    import httpx
    from asgiref import sync as asgiref_sync
else:  # loaded on the triggerer, when a trigger runs: a worker that only defers never needs httpx
    httpx = lazy_module("httpx")
    asgiref_sync = lazy_module("asgiref.sync")


_ANSWER = "sentry_provider_answer"


async def _note_answer(response: httpx.Response) -> None:
    """Keep status and headers on the request: httpx raises on an invalid Location before returning them."""
    response.request.extensions[_ANSWER] = (response.status_code, Headers(response.headers.multi_items()))


def _load_settings(conn_id: str) -> SentrySettings:
    """Load and mask the connection. Runs in a worker thread via ``sync_to_async``: ``get_connection``
    and ``mask_secret`` are blocking supervisor calls, which deadlock on the triggerer loop (3.3)."""
    return SentryHook(sentry_conn_id=conn_id).settings


@functools.lru_cache(maxsize=8)
def shared_ssl_context(verify: bool | str) -> ssl.SSLContext:
    """One SSL context per ``verify`` setting for the whole process.

    Each httpx client otherwise loads the CA bundle again (about 700 KiB per client), which is
    700 MiB for 1,000 triggers on one triggerer (docs/performance.md, P6).
    """
    return httpx.create_ssl_context(verify=verify, trust_env=False)


class SentryAsyncHook(BaseHook):
    """Call Sentry's Web API without blocking the event loop.

    :param sentry_conn_id: the ``sentry`` connection (same fields as :class:`SentryHook`).
    """

    conn_name_attr = "sentry_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    hook_name = "Sentry (async)"

    def __init__(self, sentry_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sentry_conn_id = sentry_conn_id
        self._settings: SentrySettings | None = None
        self._client: httpx.AsyncClient | None = None
        self._rate_limits = RateLimitBook()
        self.requests_sent = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sentry_conn_id={self.sentry_conn_id!r})"

    async def get_settings(self) -> SentrySettings:
        """The validated, masked connection, loaded once off the event loop."""
        if self._settings is None:
            self._settings = await asgiref_sync.sync_to_async(_load_settings)(self.sentry_conn_id)
        return self._settings

    async def _get_client(self, settings: SentrySettings) -> httpx.AsyncClient:
        if self._client is None:
            # trust_env=False: no proxy or netrc credentials from the environment, as in the sync hook.
            self._client = httpx.AsyncClient(
                verify=shared_ssl_context(settings.verify),
                trust_env=False,
                follow_redirects=False,
                event_hooks={"response": [_note_answer]},
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> SentryAsyncHook:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @staticmethod
    async def _sleep(seconds: float) -> None:
        """Indirection so tests can skip real waits."""
        await asyncio.sleep(seconds)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: QueryParams | None = None,
        json: Any = None,
        raw: bool = False,
        idempotent: bool | None = None,
        expect: type | None = None,
    ) -> Any:
        """Call ``/api/0/<path>``; same contract as :meth:`SentryHook.request` (``timeout`` is a
        deadline for each whole try)."""
        settings = await self.get_settings()
        client = await self._get_client(settings)
        call = Call(
            settings,
            method,
            path,
            params=params,
            json=json,
            idempotent=idempotent,
            book=self._rate_limits,
            expect=expect,
        )
        while True:
            action = call.next_action(time.time())
            if isinstance(action, Done):
                return action.response if raw else action.response.data
            if isinstance(action, Sleep):
                self.log.info("Sentry: %s", action.reason)
                await self._sleep(action.seconds)
                continue
            self.requests_sent += 1
            request = client.build_request(
                action.method, action.url, headers=action.headers, content=action.body, timeout=action.timeout
            )
            status = 0
            try:
                async with asyncio.timeout(action.timeout):  # the whole try, not each read
                    answer = await client.send(request, stream=True)
                    status = answer.status_code
                    try:
                        body = await answer.aread()
                    finally:
                        await answer.aclose()
            except TimeoutError as exc:
                call.receive_error(exc, time.time(), deadline=True)
                continue
            except httpx.DecodingError as exc:
                call.receive_undecodable(status, exc)
                continue
            except httpx.RemoteProtocolError as exc:
                answered = request.extensions.get(_ANSWER)
                if answered is None:
                    call.receive_error(exc, time.time())
                else:  # httpx refused the answer itself (an invalid Location): let the core judge it
                    call.receive_response(answered[0], answered[1], b"", time.time())
                continue
            except httpx.TransportError as exc:
                call.receive_error(exc, time.time())
                continue
            call.receive_response(status, Headers(answer.headers.multi_items()), body, time.time())

    async def get_page(
        self,
        path: str,
        *,
        params: QueryParams | None = None,
        cursor: Cursor | str | None = None,
        listing: bool = False,
    ) -> Page:
        """One page of a listing; same contract as :meth:`SentryHook.get_page`."""
        response: SentryResponse = await self.request(
            "GET", path, params=with_cursor(params, cursor), raw=True, expect=list if listing else None
        )
        page = Page.from_response(response, path=path, listing=listing)
        if page.link_problems:
            self.log.warning(
                "Sentry: malformed Link header on %s, paging stops here: %s", path, "; ".join(page.link_problems)
            )
        return page
