"""SentryHook: Sentry's Web API over ``requests``, a thin transport over the sans-I/O core."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_sentry._compat import BaseHook, mask_secret
from airflow_provider_sentry._lazy import lazy_module
from airflow_provider_sentry.core.api_urls import QueryParams, with_cursor
from airflow_provider_sentry.core.cursor import Cursor
from airflow_provider_sentry.core.exchange import Call, Done, Sleep
from airflow_provider_sentry.core.headers import Headers
from airflow_provider_sentry.core.page import DEFAULT_MAX_PAGES, Page, PageTrail, SentryResponse
from airflow_provider_sentry.core.ratelimit import RateLimitBook
from airflow_provider_sentry.core.settings import SentrySettings
from airflow_provider_sentry.defaults import DEFAULT_CONN_ID
from airflow_provider_sentry.exceptions import SentryConfigError, SentryError

if TYPE_CHECKING:
    import requests

    from airflow_provider_sentry.hooks import deadline as deadlines
else:  # loaded at the first request: listing the provider's hooks and connection form stays cheap
    requests = lazy_module("requests")
    deadlines = lazy_module("airflow_provider_sentry.hooks.deadline")

log = logging.getLogger(__name__)


def register_secret(hook: SentryHook) -> bool:
    """Load the hook's connection so its secret is registered with Airflow's log masker.

    For code that handles a Sentry result without calling Sentry, e.g. ``execute_complete`` of a
    deferred task resumed on another worker: the trigger event never carries the token, so the
    worker must learn it from the connection before logging server text. Best effort: a missing
    connection is logged, not raised (the caller's own error, if any, is more useful)."""
    try:
        hook.settings  # noqa: B018 - loading the settings masks the secret
    except Exception as exc:
        log.warning(
            "Sentry: could not load connection %r to mask its secret: %s", hook.sentry_conn_id, type(exc).__name__
        )
        return False
    return True


class SentryHook(BaseHook):
    """Call any Sentry Web API endpoint with the token of an Airflow connection.

    :param sentry_conn_id: the connection (type ``sentry``) holding the base URL in ``host``,
        the secret in ``password`` and ``organization`` / ``auth_type`` / ``timeout`` /
        ``verify`` / ``max_retries`` in ``extra``.
    """

    conn_name_attr = "sentry_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "sentry"
    hook_name = "Sentry"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Connection form for Airflow < 3.2 (3.2+ reads ``conn-fields`` from the provider info)."""
        return {
            "hidden_fields": ["schema", "port", "login"],
            "relabeling": {"host": "Sentry base URL", "password": "Auth token / DSN / API key"},
            "placeholders": {
                "host": "https://sentry.io",
                "password": "sntryu_... (user or internal-integration token)",
                "organization": "acme",
                "auth_type": "token",
            },
        }

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Extra connection fields for Airflow < 3.2; imported lazily because 3.x has no FAB."""
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import StringField
        from wtforms.validators import Optional

        return {
            "organization": StringField(
                lazy_gettext("Organization slug"), widget=BS3TextFieldWidget(), validators=[Optional()]
            ),
            "auth_type": StringField(
                lazy_gettext("Auth type (token, dsn, api_key)"),
                widget=BS3TextFieldWidget(),
                validators=[Optional()],
            ),
        }

    def __init__(self, sentry_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sentry_conn_id = sentry_conn_id
        self._rate_limits = RateLimitBook()
        self._session: requests.Session | None = None
        self.requests_sent = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sentry_conn_id={self.sentry_conn_id!r})"

    # -- connection ------------------------------------------------------------------------
    @cached_property
    def settings(self) -> SentrySettings:
        """The validated connection, loaded on first use (never in ``__init__``)."""
        conn = self.get_connection(self.sentry_conn_id)
        if conn.password:
            mask_secret(conn.password)
        settings = SentrySettings.from_connection(
            self.sentry_conn_id,
            host=conn.host,
            password=conn.password,
            extra=conn.extra_dejson,
            port=conn.port,
        )
        for secret in settings.secrets_to_mask():
            mask_secret(secret)
        return settings

    def get_conn(self) -> requests.Session:
        """Airflow's conventional accessor: the client, a ``requests.Session`` (as ``HttpHook``'s). It sends
        no Authorization by itself; :meth:`request` adds it per call, for the connection's host only.
        The validated connection is :attr:`settings`."""
        return self.session

    @property
    def organization(self) -> str:
        """The connection's default organization slug."""
        if not self.settings.organization:
            raise SentryConfigError(
                f"connection {self.sentry_conn_id!r} has no extra.organization; pass organization= explicitly"
            )
        return self.settings.organization

    def resolve_organization(self, organization: str | None) -> str:
        """An explicit organization, else the connection's."""
        return organization or self.organization

    # -- transport -------------------------------------------------------------------------
    @property
    def session(self) -> requests.Session:
        if self._session is None:
            self._session = requests.Session()
            self._session.trust_env = False  # no proxy or netrc credentials from the environment
            deadlines.install(self._session)  # lets a Deadline cut a request at its total timeout
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def request(
        self,
        method: str,
        path: str,
        *,
        params: QueryParams | None = None,
        json: Any = None,
        raw: bool = False,
        idempotent: bool | None = None,
        retry: bool = True,
        expect: type | None = None,
    ) -> Any:
        """Call ``/api/0/<path>`` and return the decoded JSON (``None`` for 204).

        Each try ends within the connection's ``timeout`` seconds in all (not per read), so a call
        takes at most ``timeout * (max_retries + 1) + retry_budget`` seconds.

        :param params: query parameters; lists become repeated keys (``id=1&id=2``).
        :param raw: return a :class:`SentryResponse` (status, headers, data) instead.
        :param idempotent: allow retrying a POST that is safe to repeat.
        :param retry: False to fail fast (no retries, no waits), e.g. for the connection test.
        :param expect: ``list`` or ``dict``: any other 2xx JSON is a ``SentryUnexpectedResponseError``.
        """
        settings = self.settings if retry else replace(self.settings, max_retries=0, retry_budget=0)
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
        session = self.session
        while True:
            action = call.next_action(time.time())
            if isinstance(action, Done):
                return action.response if raw else action.response.data
            if isinstance(action, Sleep):
                self.log.info("Sentry: %s", action.reason)
                time.sleep(action.seconds)
                continue
            self.requests_sent += 1
            with deadlines.Deadline(action.timeout) as deadline:
                try:
                    # The adapter, not session.request: requests parses a redirect's Location even
                    # when not following it, and an invalid one would be a raw ValueError.
                    prepared = session.prepare_request(
                        requests.Request(action.method, action.url, headers=action.headers, data=action.body)
                    )
                    answer = session.get_adapter(action.url).send(
                        prepared, stream=True, timeout=action.timeout, verify=action.verify, proxies={}
                    )
                except (requests.ConnectionError, requests.Timeout) as exc:
                    call.receive_error(exc, time.time(), deadline=deadline.fired)
                    continue
                try:
                    body = answer.content
                except requests.exceptions.ContentDecodingError as exc:
                    call.receive_undecodable(answer.status_code, exc)
                    continue
                except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                    call.receive_error(exc, time.time(), deadline=deadline.fired)
                    continue
                finally:
                    answer.close()
            if deadline.fired:  # cut just as the answer completed: drop the connection it shut
                self.close()
            call.receive_response(answer.status_code, Headers(answer.headers.items()), body, time.time())

    # -- pagination ------------------------------------------------------------------------
    def get_page(
        self,
        path: str,
        *,
        params: QueryParams | None = None,
        cursor: Cursor | str | None = None,
        listing: bool = False,
    ) -> Page:
        """One page of a listing with its cursors, ``results`` flags and ``X-Hits``.

        ``listing=True``: anything but a JSON list of objects is a ``SentryUnexpectedResponseError``
        (otherwise a single object becomes a one-item page). A body that is not JSON always is."""
        response: SentryResponse = self.request(
            "GET", path, params=with_cursor(params, cursor), raw=True, expect=list if listing else None
        )
        page = Page.from_response(response, path=path, listing=listing)
        if page.link_problems:
            self.log.warning(
                "Sentry: malformed Link header on %s, paging stops here: %s", path, "; ".join(page.link_problems)
            )
        return page

    def pages(
        self,
        path: str,
        *,
        params: QueryParams | None = None,
        cursor: Cursor | str | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> Iterator[Page]:
        """Pages following ``rel="next"`` until Sentry says ``results="false"``.

        A repeated cursor, or more than ``max_pages`` pages, raises ``SentryPaginationError``."""
        trail = PageTrail(f"GET /api/0/{path}", max_pages=max_pages, first=cursor)
        while True:
            page = self.get_page(path, params=params, cursor=cursor, listing=True)
            yield page
            cursor = trail.next_cursor(page)
            if cursor is None:
                return

    def paginate(
        self, path: str, *, params: QueryParams | None = None, max_pages: int = DEFAULT_MAX_PAGES
    ) -> Iterator[Any]:
        """Every item of a listing, lazily, one page in memory at a time (at most ``max_pages``)."""
        for page in self.pages(path, params=params, max_pages=max_pages):
            yield from page.items

    # -- connection test -------------------------------------------------------------------
    def test_connection(self) -> tuple[bool, str]:
        """``GET /api/0/``: report the token's scopes, or why it failed (never the token)."""
        try:
            data = self.request("GET", "", retry=False)
        except (SentryError, ValueError) as exc:
            return False, str(exc)
        auth = (data or {}).get("auth") if isinstance(data, dict) else None
        if not auth:
            return False, (
                f"Sentry at {self.settings.base_url} did not accept the credentials of connection "
                f"{self.sentry_conn_id!r} (auth: null)"
            )
        scopes = ", ".join(sorted(auth.get("scopes") or [])) or "none"
        return True, f"Connected to Sentry at {self.settings.base_url}; scopes: {scopes}"
