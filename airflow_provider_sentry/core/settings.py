"""What a Sentry connection means: base URL, auth header, org, timeouts and retry limits."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_sentry.core.api_urls import normalize_base_url
from airflow_provider_sentry.core.arguments import as_bool
from airflow_provider_sentry.exceptions import SentryConfigError, SentryInputError

AUTH_TYPES = ("token", "dsn", "api_key")


def _as_bool(name: str, value: Any) -> bool:
    try:
        return as_bool(value, f"extra.{name}")
    except SentryInputError as exc:
        raise SentryConfigError(f"extra.{name}: expected true or false, got {value!r}") from exc


def _as_number(name: str, value: Any, kind: type[int] | type[float], minimum: float) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise SentryConfigError(f"extra.{name}: expected a number, got {value!r}") from None
    if number < minimum:
        raise SentryConfigError(f"extra.{name}: must be at least {minimum}, got {value!r}")
    return number


@dataclass(frozen=True)
class SentrySettings:
    """Everything the core needs from a connection. ``repr`` never shows the secret."""

    conn_id: str
    base_url: str
    secret: str = field(repr=False)
    auth_type: str = "token"
    organization: str | None = None
    timeout: float = 30.0
    verify: bool | str = True
    max_retries: int = 5
    retry_budget: float = 300.0

    @classmethod
    def from_connection(
        cls,
        conn_id: str,
        *,
        host: str | None,
        password: str | None,
        extra: Mapping[str, Any] | None,
        port: int | None = None,
    ) -> SentrySettings:
        """Validate the connection fields; errors name the field and never echo the secret."""
        # Airflow 3.3's form saves empty extra fields as null: null means "use the default".
        extra = {key: value for key, value in (extra or {}).items() if value is not None}
        auth_type = str(extra.get("auth_type") or "token").strip().lower()
        if auth_type not in AUTH_TYPES:
            raise SentryConfigError(
                f"connection {conn_id!r}: extra.auth_type must be one of {', '.join(AUTH_TYPES)}, got {auth_type!r}"
            )
        if not password:
            raise SentryConfigError(
                f"connection {conn_id!r}: the password field must hold the Sentry {auth_type.replace('_', ' ')}"
            )
        allow_http = _as_bool("allow_insecure_http", extra.get("allow_insecure_http", False))
        verify_raw = extra.get("verify", True)
        verify: bool | str
        if isinstance(verify_raw, str) and verify_raw.strip().lower() not in (
            "true",
            "false",
            "1",
            "0",
            "yes",
            "no",
            "on",
            "off",
            "",
        ):
            verify = verify_raw  # a CA bundle path
        else:
            verify = _as_bool("verify", verify_raw)
        # The form's inverted switch (off = verify); an explicit skip wins over a stored verify.
        if _as_bool("skip_tls_verify", extra.get("skip_tls_verify", False)):
            verify = False
        try:
            base_url = normalize_base_url(host, port=port, allow_insecure_http=allow_http)
        except SentryConfigError as exc:
            raise SentryConfigError(f"connection {conn_id!r}: {exc}") from None
        organization = extra.get("organization") or None
        return cls(
            conn_id=conn_id,
            base_url=base_url,
            secret=password,
            auth_type=auth_type,
            organization=str(organization).strip() if organization else None,
            timeout=_as_number("timeout", extra.get("timeout", 30.0), float, 0.001),
            verify=verify,
            max_retries=_as_number("max_retries", extra.get("max_retries", 5), int, 0),
            retry_budget=_as_number("retry_budget", extra.get("retry_budget", 300.0), float, 0),
        )

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value for the auth type."""
        if self.auth_type == "dsn":
            return f"DSN {self.secret}"
        if self.auth_type == "api_key":
            return "Basic " + base64.b64encode(f"{self.secret}:".encode()).decode("ascii")
        return f"Bearer {self.secret}"

    def secrets_to_mask(self) -> list[str]:
        """The secret and every value derived from it, for Airflow's log masker."""
        return [self.secret, self.authorization, self.authorization.split(" ", 1)[1]]
