"""Sentry DSNs: parse one, and derive the ingestion URLs and the ``X-Sentry-Auth`` header from it.

A DSN is ``{scheme}://{public_key}[:{secret_key}]@{host}[:{port}][/{path}]/{project_id}``. The public key is a
credential: ``repr`` hides it and the URLs built here never contain it (it travels in ``X-Sentry-Auth``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from airflow_provider_sentry.core.api_urls import is_loopback
from airflow_provider_sentry.exceptions import SentryConfigError

SENTRY_VERSION = 7


@dataclass(frozen=True)
class Dsn:
    """A parsed DSN: where to send, which project, and the key to authenticate with."""

    scheme: str
    netloc: str
    path_prefix: str
    project_id: str
    public_key: str = field(repr=False)

    @classmethod
    def parse(cls, text: str | None, *, field_name: str = "dsn", allow_insecure_http: bool = False) -> Dsn:
        """Validate ``text``; every error names ``field_name`` and never echoes the key."""
        raw = (text or "").strip()
        if not raw:
            raise SentryConfigError(f"{field_name}: is empty; copy the DSN from Sentry's project settings")
        parts = urlsplit(raw)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise SentryConfigError(f"{field_name}: scheme must be https (or http to loopback), got {scheme!r}")
        try:
            hostname, port = parts.hostname, parts.port
        except ValueError:
            raise SentryConfigError(f"{field_name}: the port is not a number") from None
        if not hostname:
            raise SentryConfigError(f"{field_name}: has no host name")
        if not parts.username:
            raise SentryConfigError(f"{field_name}: has no public key (expected https://<key>@<host>/<project_id>)")
        if scheme == "http" and not is_loopback(hostname) and not allow_insecure_http:
            raise SentryConfigError(
                f"{field_name}: plain http is only allowed for loopback hosts, not {hostname!r}; use https://"
            )
        path = parts.path.rstrip("/")
        prefix, _, project_id = path.rpartition("/")
        if not project_id.isdigit():
            raise SentryConfigError(f"{field_name}: must end with the numeric project id, e.g. https://key@host/42")
        host = f"[{hostname}]" if ":" in hostname else hostname
        netloc = f"{host}:{port}" if port is not None else host
        return cls(scheme=scheme, netloc=netloc, path_prefix=prefix, project_id=project_id, public_key=parts.username)

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.path_prefix}"

    @property
    def envelope_url(self) -> str:
        """``POST`` target for envelopes (events and check-ins)."""
        return f"{self.origin}/api/{self.project_id}/envelope/"

    def cron_url(self, monitor_slug: str) -> str:
        """The HTTP check-in endpoint, key-less form (send the key in ``X-Sentry-Auth``)."""
        return f"{self.origin}/api/{self.project_id}/cron/{quote(monitor_slug, safe='')}/"

    def auth_header(self, client: str) -> str:
        """The ``X-Sentry-Auth`` value SDKs send."""
        return f"Sentry sentry_version={SENTRY_VERSION}, sentry_key={self.public_key}, sentry_client={client}"

    def __str__(self) -> str:
        return f"{self.scheme}://***@{self.netloc}{self.path_prefix}/{self.project_id}"


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)


@dataclass(frozen=True)
class DsnTarget:
    """Everything a transport needs to send to a DSN: the DSN, TLS verification and a timeout."""

    dsn: Dsn
    verify: bool | str = True
    timeout: float = 5.0


def connection_dsn(
    conn_id: str, *, password: str | None, extra: Mapping[str, Any] | None, max_timeout: float = 5.0
) -> DsnTarget:
    """The DSN of a Sentry connection: ``extra.dsn``, else the password when ``auth_type`` is ``dsn``.

    ``verify`` (true/false or a CA bundle path) and ``timeout`` come from the extra as for the Web API;
    the timeout is capped at ``max_timeout`` because ingestion answers at once or not at all.
    """
    fields = {key: value for key, value in (extra or {}).items() if value is not None}
    allow_http = _truthy(fields.get("allow_insecure_http", False))
    if str(fields.get("dsn") or "").strip():
        dsn = Dsn.parse(
            str(fields["dsn"]), field_name=f"connection {conn_id!r}: extra.dsn", allow_insecure_http=allow_http
        )
    elif str(fields.get("auth_type") or "").strip().lower() == "dsn":
        dsn = Dsn.parse(
            password, field_name=f"connection {conn_id!r}: password (auth_type dsn)", allow_insecure_http=allow_http
        )
    else:
        raise SentryConfigError(
            f"connection {conn_id!r}: has no DSN; set extra.dsn, or auth_type dsn with the DSN as the password"
        )
    raw_verify = fields.get("verify", True)
    verify: bool | str
    if isinstance(raw_verify, str) and raw_verify.strip().lower() not in ("true", "false", "1", "0", "yes", "no", ""):
        verify = raw_verify
    else:
        verify = raw_verify if isinstance(raw_verify, bool) else _truthy(raw_verify) or raw_verify == ""
    try:
        timeout = float(fields.get("timeout", max_timeout))
    except (TypeError, ValueError):
        raise SentryConfigError(f"connection {conn_id!r}: extra.timeout: expected a number") from None
    if timeout <= 0:
        raise SentryConfigError(f"connection {conn_id!r}: extra.timeout: must be positive")
    return DsnTarget(dsn=dsn, verify=verify, timeout=min(timeout, max_timeout))
