"""Credentials the emulator accepts, and the exact 401/403 answers Sentry gives.

Sources: getsentry/sentry ``src/sentry/api/authentication.py`` (Bearer user/org tokens, legacy API keys over
HTTP Basic, ``QuietBasicAuthentication`` -> ``WWW-Authenticate: xBasic realm="api"``), DRF's default messages.
An ``Authorization: DSN ...`` header is not an accepted scheme on these endpoints: it is ignored, so the
request is anonymous (``GET /api/0/`` answers ``auth: null``; protected endpoints 401).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from dataclasses import dataclass

ALL_SCOPES: tuple[str, ...] = (
    "alerts:read",
    "alerts:write",
    "event:admin",
    "event:read",
    "event:write",
    "member:read",
    "org:admin",
    "org:integrations",
    "org:read",
    "org:write",
    "project:admin",
    "project:read",
    "project:releases",
    "project:write",
    "team:read",
)
ORG_TOKEN_SCOPES: tuple[str, ...] = ("org:ci",)

NOT_PROVIDED = "Authentication credentials were not provided."
NO_PERMISSION = "You do not have permission to perform this action."
WWW_AUTHENTICATE = 'xBasic realm="api"'


@dataclass(frozen=True)
class Credential:
    """One accepted secret: its kind decides the rate-limit identity (user vs IP) like Sentry's."""

    kind: str  # "user_token" | "org_token" | "api_key"
    secret: str
    scopes: tuple[str, ...]
    user_id: int | None = 1


@dataclass(frozen=True)
class AuthResult:
    """The caller: ``credential`` None means anonymous; ``error`` is a 401 detail to send."""

    credential: Credential | None
    error: str | None = None


class AuthFailed(Exception):
    """401 with a DRF ``detail`` message."""


def make_user_token() -> str:
    return "sntryu_" + secrets.token_hex(32)


def make_org_token(url: str, organization: str) -> str:
    """``sntrys_<base64(JSON{iat,url,region_url,org})>_<secret>`` as Sentry mints org auth tokens."""
    payload = {"iat": 0, "url": url, "region_url": url, "org": organization}
    encoded = base64.b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return f"sntrys_{encoded}_{secrets.token_urlsafe(32).replace('_', 'x')}"


class TokenBook:
    """Thread-safe map of secrets to credentials."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_secret: dict[str, Credential] = {}

    def add(self, credential: Credential) -> Credential:
        with self._lock:
            self._by_secret[credential.secret] = credential
        return credential

    def revoke(self, secret: str) -> None:
        with self._lock:
            self._by_secret.pop(secret, None)

    def get(self, secret: str) -> Credential | None:
        with self._lock:
            return self._by_secret.get(secret)

    def authenticate(self, authorization: str | None) -> AuthResult:
        """Return the caller, or raise AuthFailed with Sentry's message for bad credentials."""
        if not authorization:
            return AuthResult(None)
        scheme, _, rest = authorization.strip().partition(" ")
        scheme_lower = scheme.lower()
        if scheme_lower == "bearer":
            rest = rest.strip()
            if not rest:
                raise AuthFailed("Invalid token header. No credentials provided.")
            if " " in rest:
                raise AuthFailed("Invalid token header. Token string should not contain spaces.")
            credential = self.get(rest)
            if credential is None or credential.kind == "api_key":
                raise AuthFailed("Invalid org token" if rest.startswith("sntrys_") else "Invalid token")
            return AuthResult(credential)
        if scheme_lower == "basic":
            try:
                decoded = base64.b64decode(rest.strip(), validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                raise AuthFailed("Invalid basic header. Credentials not correctly base64 encoded.") from None
            key, _, password = decoded.partition(":")
            if password:
                return AuthResult(None)  # the API-key authenticator skips; nobody else accepts Basic
            credential = self.get(key)
            if credential is None or credential.kind != "api_key":
                raise AuthFailed("API key is not valid")
            return AuthResult(credential)
        # "DSN ..." and unknown schemes: no authenticator claims the header -> anonymous.
        return AuthResult(None)


def has_any_scope(credential: Credential | None, accepted: tuple[str, ...]) -> bool:
    """Sentry's scope_map semantics: any one of the accepted scopes suffices."""
    if credential is None:
        return False
    return any(scope in credential.scopes for scope in accepted)
