"""``SentryNotifier``: a failure callback that sends the task's exception to Sentry as an error event.

Use ``on_failure_callback=SentryNotifier()`` on a task or a DAG. It needs no argument: the connection is
``sentry_default`` (its ``extra.dsn``, or ``auth_type: dsn`` with the DSN as password). Events carry the
exception with its traceback frames; tags ``dag_id``, ``task_id``, ``run_id``, ``try_number``, ``owner``; the
log URL; the environment; and the fingerprint ``airflow``, DAG id, task id, so repeated failures of one task
group into one issue. ``level``, ``tags`` and ``fingerprint`` are templated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseNotifier  # the public task SDK on every supported Airflow (3.0+)

from airflow_provider_sentry._lazy import lazy_module
from airflow_provider_sentry.defaults import DEFAULT_CONN_ID

if TYPE_CHECKING:
    from airflow_provider_sentry import _compat, ingestion
    from airflow_provider_sentry.core import envelope
else:  # runtime only: loaded when a task fails, not when the DAG is parsed
    _compat = lazy_module("airflow_provider_sentry._compat")
    envelope = lazy_module("airflow_provider_sentry.core.envelope")
    ingestion = lazy_module("airflow_provider_sentry.ingestion")


class SentryNotifier(BaseNotifier):
    """Send an error event for a failed task or DAG run through a connection's DSN.

    :param sentry_conn_id: the Sentry connection holding the DSN.
    :param level: ``fatal``, ``error``, ``warning``, ``info`` or ``debug``. Templated.
    :param tags: extra tags, merged over the defaults. Templated.
    :param fingerprint: the grouping key; default ``["airflow", dag_id, task_id]``. Templated.
    :param environment: the event's environment; default ``[sentry_crons] environment`` (``production``).
    :param message: an optional message shown with the event. Templated.
    """

    template_fields = ("level", "tags", "fingerprint", "environment", "message")

    def __init__(
        self,
        *,
        sentry_conn_id: str = DEFAULT_CONN_ID,
        level: str = "error",
        tags: Mapping[str, Any] | None = None,
        fingerprint: Sequence[str] | None = None,
        environment: str | None = None,
        message: str | None = None,
    ) -> None:
        super().__init__()
        self.sentry_conn_id = sentry_conn_id
        self.level = level
        self.tags = dict(tags or {})
        self.fingerprint = list(fingerprint) if fingerprint is not None else None
        self.environment = environment
        self.message = message
        self.last_event_id: str | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sentry_conn_id={self.sentry_conn_id!r}, level={self.level!r})"

    def build_event(self, context: Mapping[str, Any]) -> dict[str, Any]:
        """The event for this failure (pure: no I/O), from an Airflow context."""
        ti = context.get("ti") or context.get("task_instance")
        dag = context.get("dag")
        task = context.get("task") or getattr(ti, "task", None)
        dag_run = context.get("dag_run")
        dag_id = getattr(dag, "dag_id", None) or getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", None)
        task_id = getattr(ti, "task_id", None)
        run_id = getattr(ti, "run_id", None) or getattr(dag_run, "run_id", None) or context.get("run_id")
        try_number = getattr(ti, "try_number", None)
        owner = getattr(task, "owner", None) or getattr(dag, "owner", None)
        tags: dict[str, Any] = {
            "dag_id": dag_id,
            "task_id": task_id,
            "run_id": run_id,
            "try_number": try_number,
            "owner": owner,
        }
        tags.update(self.tags)
        raw = context.get("exception")
        exception = raw if isinstance(raw, BaseException) else None
        reason = context.get("reason")
        message = self.message or (None if exception else str(raw or reason or f"{dag_id}.{task_id} failed"))
        log_url = getattr(ti, "log_url", None)
        extra = {"log_url": log_url} if log_url else {}
        if reason:
            extra["reason"] = str(reason)
        parts = self.fingerprint if self.fingerprint is not None else ["airflow", dag_id, task_id or ""]
        fingerprint = [str(part) for part in parts if part is not None and str(part)]
        return envelope.error_event(
            exception=exception,
            message=message,
            level=str(self.level),
            tags=tags,
            fingerprint=fingerprint,
            environment=self.environment or _default_environment(),
            extra=extra,
            culprit=f"{dag_id}.{task_id}" if task_id else str(dag_id),
            timestamp=datetime.now(tz=UTC),
        )

    def notify(self, context: Any) -> None:
        """Build and send the event (one POST). Errors are logged by ``BaseNotifier.__call__``."""
        event = self.build_event(context)
        target = ingestion.target_from_connection(
            _compat.BaseHook.get_connection(self.sentry_conn_id), max_timeout=10.0
        )
        _compat.mask_secret(target.dsn.public_key)  # the DSN sits in the extra, which Airflow does not mask by name
        ingestion.IngestClient(target).send_envelope(envelope.event_envelope(event, sent_at=datetime.now(tz=UTC)))
        self.last_event_id = str(event["event_id"])
        self.log.info("Sentry event %s sent for %s", event["event_id"], event.get("transaction"))


def _default_environment() -> str:
    return str(_compat.conf.get("sentry_crons", "environment", fallback="production") or "production")
