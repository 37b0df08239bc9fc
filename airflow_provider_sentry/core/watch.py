"""What a new-issues watch is (:class:`WatchSpec`) and where it stands (:class:`WatchState`).

The state is plain JSON so it can live in an Airflow Variable, travel in trigger kwargs and
in a trigger event. It never holds the token.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

STATE_VERSION = 1


@dataclass(frozen=True)
class WatchSpec:
    """The search a watch follows. Changing any field invalidates the stored state."""

    organization: str
    query: str
    projects: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()

    @property
    def fingerprint(self) -> str:
        """A stable digest of the search, stored with the state to detect a changed watch."""
        canonical = json.dumps(
            {
                "organization": self.organization,
                "query": self.query,
                "projects": sorted(self.projects),
                "environments": sorted(self.environments),
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        return {
            "organization": self.organization,
            "query": self.query,
            "projects": list(self.projects),
            "environments": list(self.environments),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WatchSpec:
        return cls(
            organization=str(data["organization"]),
            query=str(data["query"]),
            projects=tuple(str(p) for p in data.get("projects") or ()),
            environments=tuple(str(e) for e in data.get("environments") or ()),
        )


@dataclass(frozen=True)
class DeliveredBatch:
    """The last batch handed to a task, kept so a retry of the same task run re-delivers it."""

    run_key: str
    issues: tuple[dict[str, Any], ...]
    try_number: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"run_key": self.run_key, "try_number": self.try_number, "issues": list(self.issues)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DeliveredBatch:
        try_number = data.get("try_number")
        return cls(
            run_key=str(data["run_key"]),
            issues=tuple(dict(item) for item in data.get("issues") or ()),
            try_number=int(try_number) if try_number is not None else None,
        )


@dataclass(frozen=True)
class WatchState:
    """Where a watch stands; see ``core/poll.py`` for how each field moves.

    - ``low_ms``: every issue whose ``sort=new`` score (first seen, epoch ms at one-second
      granularity) is ``<= low_ms`` is settled (delivered, or before the watch began).
    - ``seen``: ids (and scores) already delivered, or present at the baseline, with a score
      ``> low_ms``. A poll re-reads everything above ``low_ms`` and skips these ids, which
      is how same-second ties and late-indexed issues are caught without duplicates.
    - ``watermark_ms``: the newest score delivered (or the baseline's); ``low_ms`` trails it
      by the overlap window.
    - ``project_ids``: the numeric ids the ``projects`` spec resolved to (Sentry's ``project``
      filter takes ids only), so an idle poll is one request.
    - ``batch``: the last delivered batch and the task run that received it.
    """

    fingerprint: str
    low_ms: int
    watermark_ms: int
    project_ids: tuple[str, ...] = ()
    seen: Mapping[str, int] = field(default_factory=dict)
    batch: DeliveredBatch | None = None
    version: int = STATE_VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "fingerprint": self.fingerprint,
            "low_ms": self.low_ms,
            "watermark_ms": self.watermark_ms,
            "project_ids": list(self.project_ids),
            "seen": dict(sorted(self.seen.items(), key=lambda kv: (kv[1], _id_key(kv[0])))),
            "batch": self.batch.to_json() if self.batch else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WatchState:
        """Rebuild a state; raises ``ValueError`` on anything that is not a state this code wrote."""
        try:
            version = int(data["version"])
            if version != STATE_VERSION:
                raise ValueError(f"unsupported state version {version}")
            batch = data.get("batch")
            return cls(
                fingerprint=str(data["fingerprint"]),
                low_ms=int(data["low_ms"]),
                watermark_ms=int(data["watermark_ms"]),
                project_ids=tuple(str(p) for p in data.get("project_ids") or ()),
                seen={str(k): int(v) for k, v in (data.get("seen") or {}).items()},
                batch=DeliveredBatch.from_json(batch) if batch else None,
                version=version,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed watch state: {exc!r}") from None

    def with_batch(self, batch: DeliveredBatch | None) -> WatchState:
        return replace(self, batch=batch)


def _id_key(issue_id: str) -> tuple[int, str]:
    """Sort key for Sentry ids: numeric order when they are numbers, text order otherwise."""
    return (int(issue_id), "") if issue_id.isdigit() else (0, issue_id)


def issue_order(score: int, issue_id: str) -> tuple[int, tuple[int, str]]:
    """Oldest first: by score, then by id (Sentry breaks same-second ties by id)."""
    return (score, _id_key(issue_id))


def as_tuple(values: str | int | Sequence[Any] | None) -> tuple[str, ...]:
    """Normalise a user's ``"a"`` / ``["a", 2]`` / ``None`` into a tuple of strings."""
    if values is None:
        return ()
    if isinstance(values, str | int):
        return (str(values),)
    return tuple(str(v) for v in values)
