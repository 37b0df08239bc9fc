"""Operator argument coercion: a rendered template turns a list or a bool into a string.

``"{{ params.projects }}"`` renders to ``"['backend']"`` unless the DAG renders native objects;
these helpers accept both forms so DAG authors need not care.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_sentry.exceptions import SentryInputError

TRUE_WORDS = ("true", "1", "yes", "on")
FALSE_WORDS = ("false", "0", "no", "off", "", "none")


def as_bool(value: Any, field: str) -> bool:
    """The one bool parser: a bool, an int, ``None`` (false), or a word from a rendered template or a
    connection extra (``"True"``, ``"off"``...)."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS:
        return True
    if isinstance(value, str) and value.strip().lower() in FALSE_WORDS:
        return False
    raise SentryInputError(field, f"must be true or false, got {value!r}")


def as_positive_int(value: Any, field: str, *, maximum: int | None = None) -> int:
    """A positive int, also from a rendered template; bools and fractions are refused."""
    if isinstance(value, bool):
        raise SentryInputError(field, f"must be a positive integer, got {value!r}")
    try:
        number = int(value.strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise SentryInputError(field, f"must be a positive integer, got {value!r}") from None
    if isinstance(value, float) and number != value:
        raise SentryInputError(field, f"must be a whole number, got {value!r}")
    if number < 1:
        raise SentryInputError(field, f"must be at least 1, got {number}")
    if maximum is not None and number > maximum:
        raise SentryInputError(field, f"must be at most {maximum}, got {number}")
    return number


def parse_rendered_list(text: str, field: str) -> list[Any]:
    """``'["a", 1]'`` (JSON, e.g. from XCom) or ``"['a', 1]"`` (a rendered Python list)."""
    try:
        parsed = json.loads(text)
    except ValueError:
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise SentryInputError(field, f"{text[:80]!r} is not a list") from None
    if not isinstance(parsed, list | tuple):
        raise SentryInputError(field, f"must be a list, got {type(parsed).__name__}")
    return list(parsed)


def as_list(value: Any, field: str, *, split: bool = True) -> list[Any]:
    """A list from a list, a scalar, a rendered list string, or (``split``) "a, b c" words."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return parse_rendered_list(text, field)
        if not split:
            return [text] if text else []
        return [part for part in text.replace(",", " ").split() if part]
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, bytes):
        return list(value)
    raise SentryInputError(field, f"must be a list, got {type(value).__name__}")


def as_names(
    value: Any, field: str, *, allow_ints: bool = True, required: bool = False, split: bool = True
) -> list[str | int]:
    """The one list normaliser, for project slugs or ids and environment names: a list, one value, a
    rendered list string or (``split``) ``"a, b"`` words -> unique entries in order, strings stripped, ints
    kept (an id >= 1, or -1 for "all projects"). Each bad entry is refused naming ``field``."""
    names: list[str | int] = []
    for item in as_list(value, field, split=split):
        if isinstance(item, str) and item.strip():
            clean: str | int = item.strip()
        elif allow_ints and isinstance(item, int) and not isinstance(item, bool) and (item >= 1 or item == -1):
            clean = item
        else:
            wanted = "a non-empty name or an id" if allow_ints else "a non-empty name"
            raise SentryInputError(field, f"each entry must be {wanted}, got {item!r}")
        if clean not in names:
            names.append(clean)
    if required and not names:
        raise SentryInputError(field, "at least one value is required")
    return names


def as_name_strings(value: Any, field: str, *, allow_ints: bool = True, split: bool = True) -> tuple[str, ...]:
    """:func:`as_names` as strings, for query parameters and watch fingerprints."""
    return tuple(str(name) for name in as_names(value, field, allow_ints=allow_ints, split=split))


def as_non_negative_int(value: Any, field: str) -> int:
    """Like :func:`as_positive_int`, but 0 is allowed (e.g. a budget of none)."""
    if not isinstance(value, bool) and isinstance(value, int | str) and str(value).strip() == "0":
        return 0
    return as_positive_int(value, field)


def as_fraction(value: Any, field: str, *, required: bool = True) -> float | None:
    """A number from 0 to 1 (also from a rendered template string); ``None`` when not required."""
    if value is None or (isinstance(value, str) and value.strip() in ("", "None")):
        if required:
            raise SentryInputError(field, "is required (a fraction from 0 to 1, e.g. 0.995)")
        return None
    if isinstance(value, bool):
        raise SentryInputError(field, f"must be a fraction from 0 to 1, got {value!r}")
    try:
        number = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise SentryInputError(field, f"must be a fraction from 0 to 1, got {value!r}") from None
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        hint = " (write 0.995, not 99.5)" if 1.0 < number <= 100.0 else ""
        raise SentryInputError(field, f"must be a fraction from 0 to 1, got {value!r}{hint}")
    return number
