"""Base-URL checks, percent-encoded API paths and repeated-key query strings."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from airflow_provider_sentry.exceptions import SentryConfigError, SentryInputError

DEFAULT_BASE_URL = "https://sentry.io"
API_PREFIX = "/api/0/"

QueryParams = Mapping[str, Any] | Sequence[tuple[str, Any]]


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IPs, the only hosts allowed over plain http."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_base_url(host: str | None, *, port: int | None = None, allow_insecure_http: bool = False) -> str:
    """Turn the connection's host into ``scheme://host[:port][/prefix]`` without a trailing slash.

    A bare host gets ``https://``; a trailing ``/api/0`` is dropped so both spellings work.
    Plain ``http://`` is refused for anything but loopback unless explicitly allowed.
    """
    raw = (host or "").strip() or DEFAULT_BASE_URL
    if "://" not in raw:
        raw = f"https://{raw}"
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise SentryConfigError(f"host: scheme {parts.scheme!r} is not supported; use https://")
    if not parts.hostname:
        raise SentryConfigError(f"host: {host!r} has no host name")
    if parts.username or parts.password:
        raise SentryConfigError("host: credentials in the URL are not allowed; put the secret in the password")
    if scheme == "http" and not is_loopback(parts.hostname) and not allow_insecure_http:
        raise SentryConfigError(
            f"host: plain http is only allowed for loopback hosts, not {parts.hostname!r}; "
            'use https:// or set "allow_insecure_http": true in the connection extra'
        )
    netloc = parts.netloc
    if port and parts.port is None:
        netloc = f"{netloc}:{port}"
    path = parts.path.rstrip("/")
    if path.endswith("/api/0"):
        path = path[: -len("/api/0")]
    return f"{scheme}://{netloc}{path}"


def api_path(*parts: object) -> str:
    """Join path parts, each percent-encoded, so ``a/../b`` or ``app@1.0+build`` stay one segment."""
    encoded = []
    for index, part in enumerate(parts):
        text = str(part)
        if not text:
            raise SentryInputError(f"path part {index}", "must not be empty")
        encoded.append(quote(text, safe=""))
    return "/".join(encoded) + "/"


def check_relative_path(path: str) -> str:
    """Validate a caller's path relative to ``/api/0/``; always ends with ``/`` as Sentry's routes do."""
    if "://" in path or path.startswith("//"):
        raise SentryInputError("path", f"must be relative to /api/0/, got an absolute URL {path!r}")
    clean = path.lstrip("/")
    if clean.startswith("api/0/"):
        clean = clean[len("api/0/") :]
    if "?" in clean or "#" in clean:
        raise SentryInputError("path", "must not contain a query string; pass params= instead")
    if any(segment in (".", "..") for segment in clean.split("/")):
        raise SentryInputError("path", f"must not contain '.' or '..' segments: {path!r}")
    if clean and not clean.endswith("/"):
        clean += "/"
    return clean


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def query_pairs(params: QueryParams | None) -> list[tuple[str, str]]:
    """Flatten params into ordered pairs; lists and tuples become repeated keys, None is dropped."""
    if not params:
        return []
    items: Iterable[tuple[str, Any]] = params.items() if isinstance(params, Mapping) else params
    pairs: list[tuple[str, str]] = []
    for key, value in items:
        if value is None:
            continue
        if isinstance(value, list | tuple | set | frozenset):
            values = sorted(value, key=str) if isinstance(value, set | frozenset) else value
            pairs.extend((key, _scalar(item)) for item in values if item is not None)
        else:
            pairs.append((key, _scalar(value)))
    return pairs


def with_cursor(params: QueryParams | None, cursor: object | None) -> list[tuple[str, str]]:
    """The params as pairs with ``cursor`` replaced (or removed when None)."""
    pairs = [(key, value) for key, value in query_pairs(params) if key != "cursor"]
    if cursor is not None:
        pairs.append(("cursor", str(cursor)))
    return pairs


def build_url(base_url: str, path: str, params: QueryParams | None = None) -> str:
    """``base_url`` + ``/api/0/`` + the checked path + the query string."""
    url = f"{base_url}{API_PREFIX}{check_relative_path(path)}"
    pairs = query_pairs(params)
    if pairs:
        url += "?" + urlencode(pairs, quote_via=quote, safe=":,")
    return url


def same_origin(url_a: str, url_b: str) -> bool:
    """Scheme, host and port all equal: the only case in which the token may follow a redirect."""
    a, b = urlsplit(url_a), urlsplit(url_b)
    default = {"http": 80, "https": 443}
    return (
        a.scheme.lower() == b.scheme.lower()
        and (a.hostname or "").lower() == (b.hostname or "").lower()
        and (a.port or default.get(a.scheme.lower())) == (b.port or default.get(b.scheme.lower()))
    )
