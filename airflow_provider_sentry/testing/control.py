"""The emulator's HTTP control API, under ``/_emulator/`` (off Sentry's ``/api/`` paths).

It lets a test drive an emulator that runs as a separate process (``python -m
airflow_provider_sentry.testing serve``), e.g. next to a Celery or Kubernetes deployment: add,
change and list issues, schedule faults, read the request log, reset. It maps each route onto the
in-process :class:`SentryEmulator` API, so both behave the same.

Control requests are not Sentry traffic: they are not authenticated, not logged in the request
log, and never hit by faults or rate limits. The emulator binds loopback only.

Adding a resource is a few lines::

    @control_route("POST", "monitors", "add a cron monitor (body: add_monitor keyword arguments)")
    def _add_monitor(emulator, request):
        return 201, emulator.add_monitor(**request.object())
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from airflow_provider_sentry.testing.emulator import SentryEmulator

CONTROL_PREFIX = "/_emulator/"
Answer = tuple[int, dict[str, str], bytes]


class ControlError(Exception):
    """A bad control request: answered with ``status`` and ``{"detail": message}``."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class ControlRequest:
    """A control request: path parameters, query pairs and the raw body."""

    params: dict[str, str]
    query: list[tuple[str, str]]
    raw_body: bytes = field(repr=False)

    def json(self) -> Any:
        if not self.raw_body:
            return None
        try:
            return json.loads(self.raw_body)
        except ValueError as exc:
            raise ControlError(400, f"the body is not JSON: {exc}") from None

    def object(self) -> dict[str, Any]:
        """The body as a JSON object (keyword arguments); ``{}`` when empty."""
        data = self.json()
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise ControlError(400, f"the body must be a JSON object, got {type(data).__name__}")
        return data


Handler = Callable[["SentryEmulator", ControlRequest], tuple[int, Any]]


@dataclass(frozen=True)
class ControlRoute:
    method: str
    pattern: str  # relative to CONTROL_PREFIX, "{name}" matches one path segment
    doc: str
    handler: Handler

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        regex = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.pattern.strip("/"))) + "$"
        found = re.match(regex, path.strip("/"))
        return found.groupdict() if found else None


ROUTES: list[ControlRoute] = []


def control_route(method: str, pattern: str, doc: str) -> Callable[[Handler], Handler]:
    """Register a control API route (``pattern`` relative to ``/_emulator/``)."""

    def register(handler: Handler) -> Handler:
        ROUTES.append(ControlRoute(method.upper(), pattern, doc, handler))
        return handler

    return register


def handle_control(emulator: SentryEmulator, method: str, path: str, query: str, body: bytes) -> Answer:
    """Answer one request under ``/_emulator/`` (a JSON body; errors as ``{"detail": ...}``)."""
    relative = path[len(CONTROL_PREFIX) :] if path.startswith(CONTROL_PREFIX) else ""
    request_query = parse_qsl(query, keep_blank_values=True)
    known_path = False
    try:
        for route in ROUTES:
            params = route.match(method.upper(), relative)
            if params is None:
                known_path = known_path or route.match(route.method, relative) is not None
                continue
            status, data = route.handler(emulator, ControlRequest(params, request_query, body))
            return _json(status, data)
        if known_path:
            raise ControlError(405, f"method {method} not allowed on {path}")
        raise ControlError(404, f"no control route {path}; GET {CONTROL_PREFIX} lists them")
    except ControlError as exc:
        return _json(exc.status, {"detail": str(exc)})
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        return _json(400, {"detail": f"{type(exc).__name__}: {exc}"})


def _json(status: int, data: Any) -> Answer:
    body = b"" if status == 204 else json.dumps(data, default=str).encode()
    return status, {"Content-Type": "application/json"}, body


def _issue_id(request: ControlRequest) -> int:
    text = request.params["issue_id"]
    if not text.isdigit():
        raise ControlError(400, f"issue id must be a number, got {text!r}")
    return int(text)


# -- routes ----------------------------------------------------------------------------------------
@control_route("GET", "", "this list of routes")
def _index(emulator: SentryEmulator, request: ControlRequest) -> tuple[int, Any]:
    routes = [{"method": r.method, "path": CONTROL_PREFIX + r.pattern, "doc": r.doc} for r in ROUTES]
    return 200, {"url": emulator.url, "organization": emulator.organization, "routes": routes}


@control_route("GET", "issues", "list every issue (also unindexed ones), as the emulator stores them")
def _list_issues(emulator: SentryEmulator, request: ControlRequest) -> tuple[int, Any]:
    return 200, emulator.issues


@control_route("POST", "issues", "add an issue (body: add_issue keyword arguments), or a list of them")
def _add_issues(emulator: SentryEmulator, request: ControlRequest) -> tuple[int, Any]:
    data = request.json()
    if isinstance(data, list):
        if not all(isinstance(item, dict) for item in data):
            raise ControlError(400, "a list body must hold JSON objects")
        return 201, [emulator.add_issue(**item) for item in data]
    return 201, emulator.add_issue(**request.object())


@control_route("GET", "issues/{issue_id}", "one issue")
def _get_issue(emulator: SentryEmulator, request: ControlRequest) -> tuple[int, Any]:
    try:
        return 200, emulator.get_issue(_issue_id(request))
    except KeyError:
        raise ControlError(404, f"no issue {request.params['issue_id']}") from None


@control_route("PUT", "issues/{issue_id}", "change an issue's fields (body: update_issue keyword arguments)")
def _update_issue(emulator: SentryEmulator, request: ControlRequest) -> tuple[int, Any]:
    issue_id = _issue_id(request)
    try:
        emulator.get_issue(issue_id)
    except KeyError:
        raise ControlError(404, f"no issue {issue_id}") from None
    return 200, emulator.update_issue(issue_id, **request.object())


@control_route("DELETE", "issues/{issue_id}", "delete an issue")
def _delete_issue(emulator: SentryEmulator, request: ControlRequest) -> tuple[int, Any]:
    emulator.delete_issue(_issue_id(request))
    return 204, None


@control_route("POST", "issues/index", "make every late-indexed issue visible (index_all)")
def _index_all(emulator: SentryEmulator, request: ControlRequest) -> tuple[int, Any]:
    emulator.index_all()
    return 200, {"indexed": len(emulator.issues)}


@control_route("POST", "faults", "schedule a fault (body: inject keyword arguments, e.g. {'kind': 'status'})")
def _add_fault(emulator: SentryEmulator, request: ControlRequest) -> tuple[int, Any]:
    arguments = request.object()
    kind = arguments.pop("kind", None)
    if not isinstance(kind, str):
        raise ControlError(400, "kind is required: status, rate_limit, latency, reset or truncate")
    return 201, asdict(emulator.inject(kind, **arguments))


@control_route("DELETE", "faults", "cancel every scheduled fault")
def _clear_faults(emulator: SentryEmulator, request: ControlRequest) -> tuple[int, Any]:
    emulator.clear_faults()
    return 204, None


@control_route("PUT", "rate-limit", "enforce a limit (body: {'limit': N, 'window_seconds': S, 'token'?: T})")
def _set_rate_limit(emulator: SentryEmulator, request: ControlRequest) -> tuple[int, Any]:
    arguments = request.object()
    limit, window = arguments.pop("limit"), arguments.pop("window_seconds")
    emulator.set_rate_limit(limit, window, **arguments)
    return 200, {"limit": limit, "window_seconds": window}


@control_route("DELETE", "rate-limit", "lift every rate limit")
def _clear_rate_limit(emulator: SentryEmulator, request: ControlRequest) -> tuple[int, Any]:
    emulator.clear_rate_limits()
    return 204, None


@control_route("GET", "requests", "the request log (?since=N: only requests numbered above N)")
def _requests(emulator: SentryEmulator, request: ControlRequest) -> tuple[int, Any]:
    since = dict(request.query).get("since", "0")
    if not since.isdigit():
        raise ControlError(400, f"since must be a request number, got {since!r}")
    records = [r for r in emulator.requests if r.number > int(since)]
    return 200, [
        {
            "number": r.number,
            "method": r.method,
            "path": r.path,
            "query": r.query,
            "body": r.body if not isinstance(r.body, bytes) else r.raw_body.decode("utf-8", "replace"),
            "status": r.status,
            "fault": r.fault,
        }
        for r in records
    ]


@control_route("DELETE", "requests", "clear the request log")
def _clear_requests(emulator: SentryEmulator, request: ControlRequest) -> tuple[int, Any]:
    emulator.clear_requests()
    return 204, None


@control_route(
    "POST", "reset", "forget issues, events, releases, deploys, monitors, sessions, faults, limits and the log"
)
def _reset(emulator: SentryEmulator, request: ControlRequest) -> tuple[int, Any]:
    emulator.reset()
    return 200, {"issues": 0}


@control_route("GET", "monitors", "every cron monitor, as the Web API shows it")
def _list_monitors(emulator: SentryEmulator, request: ControlRequest) -> tuple[int, Any]:
    return 200, emulator.monitors


@control_route("POST", "monitors", "add a cron monitor (body: add_monitor keyword arguments, slug required)")
def _add_monitor(emulator: SentryEmulator, request: ControlRequest) -> tuple[int, Any]:
    try:
        return 201, emulator.add_monitor(**request.object())
    except (TypeError, ValueError, KeyError) as exc:
        raise ControlError(400, str(exc)) from None


@control_route("GET", "checkins", "check-ins in arrival order (?monitor=SLUG: one monitor's)")
def _list_checkins(emulator: SentryEmulator, request: ControlRequest) -> tuple[int, Any]:
    return 200, emulator.checkins(dict(request.query).get("monitor"))


@control_route("GET", "checkins/dropped", "check-ins answered 202 and then dropped, with the reason")
def _dropped_checkins(emulator: SentryEmulator, request: ControlRequest) -> tuple[int, Any]:
    return 200, emulator.dropped_checkins


@control_route("POST", "sessions", "add release-health sessions (body: add_sessions keyword arguments)")
def _add_sessions(emulator: SentryEmulator, request: ControlRequest) -> tuple[int, Any]:
    body = request.object()
    try:
        emulator.add_sessions(**body)
    except (TypeError, ValueError, KeyError) as exc:
        raise ControlError(400, str(exc)) from None
    return 201, body
