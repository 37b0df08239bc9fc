"""Ingestion (``/api/<project_id>/envelope/``, ``/store/`` and ``/cron/<slug>/[<key>/]``), so real SDKs and
sentry-cli create issues and cron check-ins.

Envelope items are dispatched by type through ``ITEM_HANDLERS`` (add a type there); unknown types are
accepted and dropped like Relay drops what it does not keep. Check-ins go to ``testing/monitors.py``.

Grouping is a simplification of Sentry's: exception type plus the crashing in-app frame (the last in-app frame
of the last exception), else the message. Events update ``firstSeen``/``lastSeen``/``count``/``userCount``.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import uuid
import zlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from airflow_provider_sentry.testing.issues import PRIORITY_BY_LEVEL, ApiError
from airflow_provider_sentry.testing.sessions import ingest_session_item
from airflow_provider_sentry.testing.state import EmulatorState, Event, Issue, Project, now_utc, to_datetime


def decode_body(body: bytes, content_encoding: str | None) -> bytes:
    """sentry-sdk gzips envelopes; also accept deflate. Anything else is a 400 like Relay's."""
    encoding = (content_encoding or "").strip().lower()
    try:
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
    except (OSError, zlib.error):
        raise ApiError(400, {"detail": "invalid body encoding"}) from None
    if encoding not in ("", "identity"):
        raise ApiError(415, {"detail": f"unsupported content encoding {encoding}"})
    return body


def request_key(headers: Mapping[str, str], query: Sequence[tuple[str, str]]) -> str | None:
    """The DSN public key as Relay finds it: ``X-Sentry-Auth``, ``Authorization: Sentry ...`` or
    ``Authorization: DSN <dsn>``, then the ``sentry_key`` query parameter."""
    authorization = (headers.get("authorization") or "").strip()
    if authorization[:4].lower() == "dsn ":
        user = urlsplit(authorization[4:].strip()).username
        if user:
            return unquote(user)
    auth = headers.get("x-sentry-auth") or (authorization if authorization[:7].lower() == "sentry " else None)
    return sentry_key(auth, "&".join(f"{k}={v}" for k, v in query))


def sentry_key(auth_header: str | None, query: str) -> str | None:
    """The DSN public key from ``X-Sentry-Auth: Sentry sentry_key=...`` or the ``sentry_key`` query param."""
    if auth_header:
        text = auth_header.strip()
        if text.lower().startswith("sentry "):
            text = text[7:]
        for part in text.split(","):
            key, _, value = part.strip().partition("=")
            if key.strip() == "sentry_key":
                return value.strip()
    for key, value in parse_qsl(query):
        if key == "sentry_key":
            return value
    return None


def parse_envelope(payload: bytes) -> tuple[dict[str, Any], list[tuple[dict[str, Any], bytes]]]:
    """Envelope = header line, then items (header line + payload, with optional ``length``)."""
    header_line, _, rest = payload.partition(b"\n")
    try:
        header = json.loads(header_line or b"{}")
    except ValueError:
        raise ApiError(400, {"detail": "invalid envelope header"}) from None
    items: list[tuple[dict[str, Any], bytes]] = []
    while rest.strip():
        item_line, _, rest = rest.partition(b"\n")
        if not item_line.strip():
            continue
        try:
            item_header = json.loads(item_line)
        except ValueError:
            raise ApiError(400, {"detail": "invalid item header"}) from None
        length = item_header.get("length")
        if length is not None:
            item_payload, rest = rest[:length], rest[length:]
            if rest.startswith(b"\n"):
                rest = rest[1:]
        else:
            item_payload, _, rest = rest.partition(b"\n")
        items.append((item_header, item_payload))
    return header, items


def _main_exception(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    exception = event.get("exception")
    values = exception.get("values") if isinstance(exception, Mapping) else exception
    if isinstance(values, list) and values:
        last = values[-1]
        return last if isinstance(last, Mapping) else None
    return None


def _crash_frame(exc: Mapping[str, Any]) -> Mapping[str, Any] | None:
    stacktrace = exc.get("stacktrace") or {}
    frames = [f for f in stacktrace.get("frames") or [] if isinstance(f, Mapping)]
    in_app = [f for f in frames if f.get("in_app")]
    pool = in_app or frames
    return pool[-1] if pool else None


def _message_of(event: Mapping[str, Any]) -> str:
    message = event.get("message")
    if isinstance(message, Mapping):
        return str(message.get("formatted") or message.get("message") or "")
    if message:
        return str(message)
    logentry = event.get("logentry")
    if isinstance(logentry, Mapping):
        return str(logentry.get("formatted") or logentry.get("message") or "")
    return ""


def ingest_event(
    state: EmulatorState, project: Project, event: Mapping[str, Any], *, received: datetime | None = None
) -> str:
    """Record one event and fold it into its issue; return the event id."""
    event_id = str(event.get("event_id") or uuid.uuid4().hex).replace("-", "")
    when = received or now_utc()
    if event.get("timestamp") is not None:
        with contextlib.suppress(ValueError, TypeError, OverflowError):
            when = to_datetime(event["timestamp"])
    level = str(event.get("level") or "error")
    platform = event.get("platform") or project.platform
    exc = _main_exception(event)
    message = _message_of(event)
    if exc is not None:
        exc_type = str(exc.get("type") or "Error")
        exc_value = str(exc.get("value") or "")
        frame = _crash_frame(exc) or {}
        module = frame.get("module") or frame.get("filename") or ""
        function = frame.get("function") or ""
        title = f"{exc_type}: {exc_value}" if exc_value else exc_type
        culprit = f"{module} in {function}" if module and function else str(module or function)
        metadata: dict[str, Any] = {
            "type": exc_type,
            "value": exc_value,
            "filename": str(frame.get("filename") or ""),
            "function": str(function),
            "in_app_frame_mix": "in-app-only" if frame.get("in_app") else "system-only",
        }
        fingerprint: tuple[str, ...] = ("exception", exc_type, str(module), str(function))
        event_type = "error"
        mechanism = exc.get("mechanism") or {}
        unhandled = isinstance(mechanism, Mapping) and mechanism.get("handled") is False
    else:
        title = (message or "<unlabeled event>").splitlines()[0][:200]
        culprit = str(event.get("transaction") or event.get("culprit") or "")
        metadata = {"title": title}
        fingerprint = ("message", message)
        event_type = "default"
        unhandled = False
    if isinstance(event.get("fingerprint"), list) and "{{ default }}" not in event["fingerprint"]:
        fingerprint = ("custom", *map(str, event["fingerprint"]))
    user = event.get("user") if isinstance(event.get("user"), Mapping) else None
    user_key = None
    if user:
        user_key = str(user.get("id") or user.get("email") or user.get("username") or user.get("ip_address") or "")
    release = event.get("release")
    environment = str(event.get("environment") or "production")
    tags_in = event.get("tags") or {}
    tags = [{"key": "level", "value": level}, {"key": "environment", "value": environment}]
    if release:
        tags.append({"key": "release", "value": str(release)})
    if isinstance(tags_in, Mapping):
        tags.extend({"key": str(k), "value": str(v)} for k, v in tags_in.items())
    with state.lock:
        issue = next(
            (i for i in state.issues.values() if i.project_id == project.id and i.fingerprint == fingerprint), None
        )
        if issue is None:
            issue = Issue(
                id=state.new_issue_id(),
                project_id=project.id,
                short_id=state.new_short_id(project),
                title=title,
                culprit=culprit,
                level=level,
                status="unresolved",
                substatus="new",
                priority=PRIORITY_BY_LEVEL.get(level, "high"),
                first_seen=when,
                last_seen=when,
                times_seen=0,
                user_count=0,
                platform=str(platform) if platform else None,
                type=event_type,
                metadata=metadata,
                logger=str(event["logger"]) if event.get("logger") else None,
                fingerprint=fingerprint,
                is_unhandled=unhandled,
            )
            state.issues[issue.id] = issue
        elif issue.status == "resolved":
            issue.status, issue.substatus, issue.status_details = "unresolved", "regressed", {}
        issue.times_seen += 1
        issue.first_seen = min(issue.first_seen, when)
        issue.last_seen = max(issue.last_seen, when)
        if user_key:
            issue.users.add(user_key)
            issue.user_count = len(issue.users)
        if release and str(release) not in issue.releases:
            issue.releases.append(str(release))
        if environment not in issue.environments:
            issue.environments.append(environment)
        state.events.append(
            Event(
                event_id=event_id,
                issue_id=issue.id,
                project_id=project.id,
                timestamp=when,
                title=title,
                message=message or title,
                culprit=culprit,
                platform=str(platform) if platform else None,
                level=level,
                metadata=dict(metadata),
                tags=tags,
                user=dict(user) if user else None,
                event_type=event_type,
            )
        )
    return event_id


ItemHandler = Callable[[EmulatorState, Project, Mapping[str, Any], bytes, str], str | None]


def _json_item(payload: bytes, what: str) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        raise ApiError(400, {"detail": f"invalid {what} payload"}) from None


def _event_item(
    state: EmulatorState, project: Project, item_header: Mapping[str, Any], payload: bytes, event_id: str
) -> str | None:
    event = _json_item(payload, "event")
    if isinstance(event, Mapping):
        return ingest_event(state, project, {"event_id": event_id or None, **event})
    return None


def _check_in_item(
    state: EmulatorState, project: Project, item_header: Mapping[str, Any], payload: bytes, event_id: str
) -> str | None:
    check_in = _json_item(payload, "check_in")
    if isinstance(check_in, Mapping):
        state.crons.process(project.id, check_in)
    return None


def _session_item(
    state: EmulatorState, project: Project, item_header: Mapping[str, Any], payload: bytes, event_id: str
) -> str | None:
    ingest_session_item(state, project, str(item_header["type"]), payload)  # release health: testing/sessions.py
    return None


#: envelope item type -> handler; types not listed (transactions, attachments...) are accepted and dropped.
ITEM_HANDLERS: dict[str, ItemHandler] = {
    "event": _event_item,
    "check_in": _check_in_item,
    "session": _session_item,
    "sessions": _session_item,
}


def handle_envelope(state: EmulatorState, project: Project, payload: bytes) -> str:
    header, items = parse_envelope(payload)
    event_id = str(header.get("event_id") or "")
    for item_header, item_payload in items:
        handler = ITEM_HANDLERS.get(str(item_header.get("type")))
        if handler is None:
            continue
        produced = handler(state, project, item_header, item_payload, event_id)
        if produced:
            event_id = produced
    return event_id or uuid.uuid4().hex


CRON_STATUSES = ("in_progress", "ok", "error")


def handle_cron(
    state: EmulatorState,
    project: Project,
    method: str,
    slug: str,
    query: Sequence[tuple[str, str]],
    body: bytes,
) -> None:
    """Relay's ``/api/<project>/cron/<slug>/[<key>/]``: GET with query, or POST with a JSON ``CheckIn``.

    Relay answers 202 before processing, so a check-in that is later dropped still gets 202.
    """
    params: dict[str, Any] = {k: v for k, v in query if k != "sentry_key"}
    if method == "POST" and body.strip():
        data = _json_item(body, "check-in")
        if not isinstance(data, Mapping):
            raise ApiError(400, {"detail": "invalid check-in payload"})
        params.update(data)
    status = params.get("status")
    if status not in CRON_STATUSES:
        raise ApiError(400, {"detail": "missing or invalid status"})
    if isinstance(params.get("duration"), str):
        try:
            params["duration"] = float(params["duration"])
        except ValueError:
            raise ApiError(400, {"detail": "invalid duration"}) from None
    params["monitor_slug"] = unquote(slug)
    state.crons.process(project.id, params)


def handle_store(state: EmulatorState, project: Project, payload: bytes) -> str:
    try:
        event = json.loads(payload)
    except ValueError:
        raise ApiError(400, {"detail": "invalid event payload"}) from None
    if not isinstance(event, Mapping):
        raise ApiError(400, {"detail": "invalid event payload"})
    return ingest_event(state, project, event)
