"""How the emulator answers one request: the request record, the context handed to an endpoint, route
patterns and JSON answers. Endpoint modules and the server both depend on this module; it depends on
neither (the app is seen through the small :class:`EndpointApp` protocol)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_sentry.testing.auth import Credential
from airflow_provider_sentry.testing.issues import ApiError
from airflow_provider_sentry.testing.paginator import CursorResult, cursor_headers
from airflow_provider_sentry.testing.state import now_utc

if TYPE_CHECKING:
    from airflow_provider_sentry.testing.state import EmulatorState

Answer = tuple[int, dict[str, str], bytes]
NOT_FOUND = {"detail": "The requested resource does not exist"}


class EndpointApp(Protocol):
    """What endpoints read from the app (``server.EmulatorApp``)."""

    state: EmulatorState
    base_url: str
    empty_result_mode: str
    max_candidates: int
    max_chunk_size: int
    member_project_ids: set[int] | None

    def known_environments(self) -> set[str]: ...


@dataclass
class RequestRecord:
    """One request as the emulator saw it. ``body`` is the decoded JSON (None if empty, bytes if not JSON)."""

    number: int
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    raw_body: bytes
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""
    fault: str | None = None

    @property
    def body(self) -> Any:
        if not self.raw_body:
            return None
        try:
            return json.loads(self.raw_body)
        except ValueError:
            return self.raw_body

    def response_json(self) -> Any:
        return json.loads(self.response_body) if self.response_body else None


def json_answer(status: int, data: Any, headers: Mapping[str, str] | None = None) -> Answer:
    out = {"Content-Type": "application/json"}
    out.update(headers or {})
    if status == 204:
        return status, out, b""
    return status, out, json.dumps(data).encode()


@dataclass
class Ctx:
    """What an endpoint needs about the request being answered."""

    app: EndpointApp
    record: RequestRecord
    credential: Credential | None
    now: datetime = field(default_factory=now_utc)

    def get(self, key: str) -> str | None:
        for k, v in self.record.query:
            if k == key:
                return v
        return None

    def getlist(self, key: str) -> list[str]:
        return [v for k, v in self.record.query if k == key]

    def json_body(self) -> Any:
        raw = self.record.raw_body
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ApiError(400, {"detail": f"JSON parse error - {exc}"}) from None

    def paginated(self, result: CursorResult[Any], items: list[Any]) -> Answer:
        headers = cursor_headers(self.app.base_url + self.record.path, self.record.query, result)
        return json_answer(200, items, headers)


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[..., Answer]
    scopes: tuple[str, ...] | None  # None: no permission needed
    name: str


SEG = r"(?P<{}>[^/]+)"


def route(method: str, template: str, handler: Callable[..., Answer], scopes: tuple[str, ...] | None) -> Route:
    """A route for ``/api/0/<template>``, where ``{name}`` matches one path segment."""
    pattern = "^/api/0/" + re.sub(r"\{(\w+)\}", lambda m: SEG.format(m.group(1)), template) + "$"
    return Route(method, re.compile(pattern), handler, scopes, template)


def match_route(routes: Sequence[Route], method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """(route, path params, path_exists): path_exists without a route means 405."""
    path_exists = False
    for candidate in routes:
        match = candidate.pattern.match(path)
        if match:
            path_exists = True
            if candidate.method == method:
                return candidate, match.groupdict(), True
    return None, {}, path_exists
