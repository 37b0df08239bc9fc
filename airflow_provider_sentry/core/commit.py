"""Committing a poll's outcome when other runs of the same watch may have committed meanwhile.

Overlapping DAG runs (``max_active_runs`` > 1, backfills, a manual run beside a scheduled one) all
poll one watch. Each poll starts from the state it loaded; the commit compares that state's
``(seq, writer)`` with the one stored now:

- unchanged (or no state stored): save the poll's state with ``seq + 1`` and a fresh ``writer``;
- changed: the poll is *stale*. A stale baseline is dropped (the stored watch already began, and a
  later baseline would mark new issues as seen). A stale batch is re-filtered: issues the stored
  state already holds (``seen``, or at or below ``low_ms``) are dropped, the rest are added to the
  stored state without moving its ``low_ms`` (the stale poll's ``low_ms`` may rest on a baseline
  nobody committed).

After saving, the driver reads the state back (:func:`confirm`) after a short settle delay: when
another run wrote over it in between, the batch is re-filtered against what is stored and saved
again, so two runs never hand over the same issue unless their load-compare-save steps overlap
within the settle delay (see docs/sensor.md).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from airflow_provider_sentry.core.poll import MAX_BATCHES, PollOutcome, issue_score
from airflow_provider_sentry.core.watch import DeliveredBatch, WatchState


@dataclass(frozen=True)
class CommitPlan:
    """What to save (``None``: save nothing) and which issues to hand over once it is saved."""

    state: WatchState | None
    issues: list[dict[str, Any]]
    stale: bool = False
    notes: tuple[str, ...] = field(default=())


def new_writer() -> str:
    """A random id for one commit, stored in the state so its author can recognise it."""
    return secrets.token_hex(8)


def stored_state(current: Mapping[str, Any] | None, fingerprint: str) -> WatchState | None:
    """The stored state if it is a usable state of the same watch, else ``None``."""
    if current is None:
        return None
    try:
        state = WatchState.from_json(current)
    except ValueError:
        return None
    return state if state.fingerprint == fingerprint else None


def plan_commit(
    current: Mapping[str, Any] | None, outcome: PollOutcome, *, run_key: str | None, writer: str
) -> CommitPlan:
    """Decide what to save given the state stored now (``current``) and a poll's ``outcome``."""
    if outcome.kind == "replay" or not outcome.changed:
        return CommitPlan(None, list(outcome.issues))
    ours = outcome.state
    stored = stored_state(current, ours.fingerprint)
    if stored is None or (stored.seq, stored.writer) == (ours.seq, ours.writer):
        seq = (stored.seq if stored is not None else ours.seq) + 1
        return CommitPlan(replace(ours, seq=seq, writer=writer), list(outcome.issues))
    if outcome.kind == "baseline":
        return CommitPlan(None, [], stale=True, notes=("another run began this watch meanwhile; its state is kept",))
    return _refiltered(stored, outcome.issues, ours, run_key=run_key, writer=writer)


def _refiltered(
    stored: WatchState, issues: list[dict[str, Any]], ours: WatchState, *, run_key: str | None, writer: str
) -> CommitPlan:
    """Keep the issues ``stored`` does not hold yet and add them to it, leaving its ``low_ms`` alone."""
    claimed = {issue_id for batch in stored.batches for issue_id in batch.ids}
    kept = [
        issue
        for issue in issues
        if str(issue["id"]) not in stored.seen
        and str(issue["id"]) not in claimed
        and issue_score(issue) > stored.low_ms
    ]
    seen = dict(stored.seen)
    seen.update((str(issue["id"]), issue_score(issue)) for issue in kept)
    watermark = max([stored.watermark_ms, *(issue_score(issue) for issue in kept)])
    batches = stored.batches
    if run_key and kept:
        mine = DeliveredBatch(run_key, tuple(str(issue["id"]) for issue in kept))
        batches = (*[b for b in batches if b.run_key != run_key], mine)[-MAX_BATCHES:]
    state = replace(stored, seen=seen, watermark_ms=watermark, batches=batches, seq=stored.seq + 1, writer=writer)
    dropped = len(issues) - len(kept)
    notes = (
        (f"another run committed meanwhile; {dropped} issue(s) it already delivered were dropped",) if dropped else ()
    )
    return CommitPlan(state, kept, stale=True, notes=notes)


def confirm(
    reread: Mapping[str, Any] | None, plan: CommitPlan, *, run_key: str | None
) -> tuple[bool, list[dict[str, Any]]]:
    """After saving ``plan.state`` and reading it back: ``(kept, issues)``.

    ``kept`` is true when the stored state is ours, or another run's that already holds our batch
    (it merged us in); ``issues`` are then what to hand over. When ``kept`` is false, plan again
    against the state read back.
    """
    if plan.state is None:
        return True, plan.issues
    stored = stored_state(reread, plan.state.fingerprint)
    if stored is None:
        return False, plan.issues
    if stored.writer == plan.state.writer:
        return True, plan.issues
    if not plan.issues:
        return True, []
    batch = stored.batch_for(run_key)
    if batch is not None:
        ids = set(batch.ids)
        return True, [issue for issue in plan.issues if str(issue["id"]) in ids]
    return False, plan.issues
