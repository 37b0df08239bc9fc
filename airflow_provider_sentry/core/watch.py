"""What a new-issues watch is (:class:`WatchSpec`) and where it stands (:class:`WatchState`).

The state is plain JSON so it can live in an Airflow Variable, travel in trigger kwargs and
in a trigger event. It never holds the token.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

STATE_VERSION = 2


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
    """A batch handed to a task run, kept by id so a retry of that run re-delivers it (re-read by id)."""

    run_key: str
    ids: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"run_key": self.run_key, "ids": list(self.ids)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DeliveredBatch:
        ids = data.get("ids")
        if ids is None:  # version 1 kept the trimmed issues themselves
            ids = [item["id"] for item in data.get("issues") or ()]
        return cls(run_key=str(data["run_key"]), ids=tuple(str(i) for i in ids))


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
    - ``batches``: the last batches handed over, by task run, newest last (a retry re-delivers its own).
    - ``hints``: ascending scores where the next polls start reading (a backlog is read in slices of
      about ``max_issues``); only a cost optimisation, never needed for correctness.
    - ``seq`` / ``writer``: a commit counter and the random id of the commit that wrote this state,
      so that overlapping runs can tell that the state moved under them (``core/commit.py``).
    """

    fingerprint: str
    low_ms: int
    watermark_ms: int
    project_ids: tuple[str, ...] = ()
    seen: Mapping[str, int] = field(default_factory=dict)
    batches: tuple[DeliveredBatch, ...] = ()
    hints: tuple[int, ...] = ()
    seq: int = 0
    writer: str = ""
    version: int = STATE_VERSION

    def batch_for(self, run_key: str | None) -> DeliveredBatch | None:
        """The batch this task run already received, if the state still holds it."""
        if not run_key:
            return None
        return next((batch for batch in reversed(self.batches) if batch.run_key == run_key), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "fingerprint": self.fingerprint,
            "low_ms": self.low_ms,
            "watermark_ms": self.watermark_ms,
            "project_ids": list(self.project_ids),
            "seen": dict(sorted(self.seen.items(), key=lambda kv: (kv[1], _id_key(kv[0])))),
            "batches": [batch.to_json() for batch in self.batches],
            "hints": list(self.hints),
            "seq": self.seq,
            "writer": self.writer,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WatchState:
        """Rebuild a state; raises ``ValueError`` on anything that is not a state this code wrote.

        Version 1 states (one ``batch`` with its issues) are read too, so an upgrade keeps the watch.
        """
        try:
            version = int(data["version"])
            if version not in (1, STATE_VERSION):
                raise ValueError(f"unsupported state version {version}")
            raw_batches = list(data.get("batches") or ())
            if data.get("batch"):
                raw_batches.append(data["batch"])
            return cls(
                fingerprint=str(data["fingerprint"]),
                low_ms=int(data["low_ms"]),
                watermark_ms=int(data["watermark_ms"]),
                project_ids=tuple(str(p) for p in data.get("project_ids") or ()),
                seen={str(k): int(v) for k, v in (data.get("seen") or {}).items()},
                batches=tuple(DeliveredBatch.from_json(batch) for batch in raw_batches),
                hints=tuple(sorted(int(h) for h in data.get("hints") or ())),
                seq=int(data.get("seq") or 0),
                writer=str(data.get("writer") or ""),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed watch state: {exc!r}") from None


def _id_key(issue_id: str) -> tuple[int, str]:
    """Sort key for Sentry ids: numeric order when they are numbers, text order otherwise."""
    return (int(issue_id), "") if issue_id.isdigit() else (0, issue_id)


def issue_order(score: int, issue_id: str) -> tuple[int, tuple[int, str]]:
    """Oldest first: by score, then by id (Sentry breaks same-second ties by id)."""
    return (score, _id_key(issue_id))
