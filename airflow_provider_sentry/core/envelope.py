"""Sentry envelopes and error events, built from plain values (no I/O, no Airflow).

Format: https://develop.sentry.dev/sdk/envelopes/ -- a JSON header line, then per item a JSON item header
(with ``type`` and ``length``) and the payload bytes. Events follow the SDK event payload: an ``exception``
with ``values`` (innermost last) whose ``stacktrace.frames`` are oldest first.
"""

from __future__ import annotations

import json
import sys
import sysconfig
import traceback
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from airflow_provider_sentry import __version__

CLIENT = f"airflow-provider-sentry/{__version__}"
SDK_INFO = {"name": "airflow-provider-sentry", "version": __version__}
LEVELS = ("fatal", "error", "warning", "info", "debug")
MAX_CHAINED = 5
MAX_FRAMES = 100


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=str).encode()


def iso_utc(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def envelope(
    items: Iterable[tuple[str, Mapping[str, Any]]], *, event_id: str | None = None, sent_at: datetime
) -> bytes:
    """Serialize ``(item type, JSON payload)`` pairs into one envelope; every item carries its length."""
    header: dict[str, Any] = {"sent_at": iso_utc(sent_at), "sdk": SDK_INFO}
    if event_id:
        header["event_id"] = event_id
    chunks = [_dumps(header)]
    for item_type, payload in items:
        body = _dumps(payload)
        chunks.append(_dumps({"type": item_type, "length": len(body), "content_type": "application/json"}))
        chunks.append(body)
    return b"\n".join(chunks) + b"\n"


def check_in_envelope(check_in: Mapping[str, Any], *, sent_at: datetime) -> bytes:
    return envelope([("check_in", check_in)], sent_at=sent_at)


def event_envelope(event: Mapping[str, Any], *, sent_at: datetime) -> bytes:
    return envelope([("event", event)], event_id=str(event["event_id"]), sent_at=sent_at)


_LIBRARY_PATHS = tuple(
    p for p in {sysconfig.get_paths().get("stdlib"), sysconfig.get_paths().get("purelib"), sys.prefix} if p
)


def _in_app(filename: str) -> bool:
    """Library and standard-library frames are not the user's code (Sentry collapses them)."""
    return not ("site-packages" in filename or "dist-packages" in filename or filename.startswith(_LIBRARY_PATHS))


def frames_of(tb: TracebackType | None) -> list[dict[str, Any]]:
    """Traceback frames, oldest first, with module, function, line and source line where known."""
    frames: list[dict[str, Any]] = []
    for frame_summary, (frame, _lineno) in zip(
        traceback.extract_tb(tb, limit=MAX_FRAMES), traceback.walk_tb(tb), strict=False
    ):
        module = frame.f_globals.get("__name__")
        data: dict[str, Any] = {
            "filename": frame_summary.filename,
            "abs_path": frame_summary.filename,
            "function": frame_summary.name,
            "lineno": frame_summary.lineno,
            "in_app": _in_app(frame_summary.filename),
        }
        if isinstance(module, str):
            data["module"] = module
        if frame_summary.line:
            data["context_line"] = frame_summary.line
        frames.append(data)
    return frames


def exception_values(exc: BaseException) -> list[dict[str, Any]]:
    """The exception and its causes, innermost (the one raised last) last, as Sentry orders them."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < MAX_CHAINED and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    values = []
    for index, item in enumerate(reversed(chain)):
        values.append(
            {
                "type": type(item).__name__,
                "module": type(item).__module__,
                "value": str(item),
                "mechanism": {"type": "airflow", "handled": False, "exception_id": index},
                "stacktrace": {"frames": frames_of(item.__traceback__)},
            }
        )
    return values


def error_event(
    *,
    exception: BaseException | None,
    message: str | None = None,
    level: str = "error",
    tags: Mapping[str, Any] | None = None,
    fingerprint: Sequence[str] | None = None,
    environment: str | None = None,
    extra: Mapping[str, Any] | None = None,
    culprit: str | None = None,
    logger: str = "airflow.task",
    timestamp: datetime,
    event_id: str | None = None,
    server_name: str | None = None,
) -> dict[str, Any]:
    """One error event. Without an exception it carries only ``message`` (Sentry groups by message)."""
    if level not in LEVELS:
        raise ValueError(f"level: must be one of {', '.join(LEVELS)}, got {level!r}")
    event: dict[str, Any] = {
        "event_id": event_id or uuid.uuid4().hex,
        "timestamp": iso_utc(timestamp),
        "platform": "python",
        "level": level,
        "logger": logger,
        "sdk": SDK_INFO,
    }
    if exception is not None:
        event["exception"] = {"values": exception_values(exception)}
    if message:
        event["message"] = {"formatted": message}
    if tags:
        event["tags"] = {str(k): str(v) for k, v in tags.items() if v is not None}
    if fingerprint:
        event["fingerprint"] = [str(part) for part in fingerprint]
    if environment:
        event["environment"] = environment
    if extra:
        event["extra"] = dict(extra)
    if culprit:
        event["transaction"] = culprit
    if server_name:
        event["server_name"] = server_name
    return event
