"""Where an asset watcher keeps its cursor between polls, triggerer restarts and triggerer moves.

- Airflow 3.3+: the asset state store the triggerer injects into every ``BaseEventTrigger`` that
  watches an asset (AIP-103, ``trigger.asset_state_store``), key :data:`ASSET_STATE_KEY`. It lives
  with the asset, so any triggerer that runs the watcher next finds it, and it goes away with the
  asset. A trigger shared by several assets (same classpath and kwargs) writes the same cursor to
  each of them.
- Airflow 3.0-3.2 (no asset state store): an Airflow Variable ``sentry_watcher_state.<key>``, read and
  written through the triggerer's supervisor like a connection. Same guarantees; it is not removed
  with the asset (delete it to reset the watch). After an upgrade to 3.3, an empty asset state store
  reads this Variable once, so the watch resumes where it was.

The cursor is the opaque JSON of ``core.watch.WatchState``; it never holds the token.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from asgiref.sync import sync_to_async

from airflow_provider_sentry import _compat

log = logging.getLogger(__name__)

#: the asset state store key holding the watch (3.3+).
ASSET_STATE_KEY = "sentry_new_issues_watch"
#: the Variable prefix holding the watch where there is no asset state store (3.0-3.2).
VARIABLE_PREFIX = "sentry_watcher_state."


class WatcherStore(Protocol):
    """Load and save the watch JSON without blocking the triggerer's event loop."""

    async def load(self) -> dict[str, Any] | None: ...

    async def save(self, state: dict[str, Any]) -> None: ...

    def describe(self) -> str: ...


class AsyncAccessor(Protocol):
    """The part of Airflow's ``AssetStateStoreAccessor(s)`` the watcher uses."""

    async def aget(self, key: str, default: Any = None) -> Any: ...

    async def aset(self, key: str, value: Any) -> None: ...


def watcher_store(asset_state_store: Any, key: str) -> WatcherStore:
    """The asset state store when the triggerer injected one (3.3+), else a Variable.

    On 3.3+ an empty asset state store falls back to reading the Variable once, so a watch started on
    3.0-3.2 resumes from its cursor after the upgrade instead of recording a new baseline.
    """
    if asset_state_store is not None:
        return AssetWatcherStore(asset_state_store, legacy=VariableWatcherStore(key))
    return VariableWatcherStore(key)


def _as_state(raw: Any) -> dict[str, Any] | None:
    if raw is None or raw == "":
        return None
    value = json.loads(raw) if isinstance(raw, str) else raw
    # Anything else is handed to IssuePoll, which reports it as unusable and starts a new watch.
    return value if isinstance(value, dict) else {"malformed": value}


class AssetWatcherStore:
    """The asset state store (AIP-103) of every asset the trigger watches."""

    def __init__(self, accessors: Any, legacy: WatcherStore | None = None) -> None:
        self._accessors: list[AsyncAccessor] = _per_asset(accessors)
        self._legacy = legacy

    def describe(self) -> str:
        return f"the asset state store (key {ASSET_STATE_KEY!r}, {len(self._accessors)} asset(s))"

    async def load(self) -> dict[str, Any] | None:
        for accessor in self._accessors:
            state = _as_state(await accessor.aget(ASSET_STATE_KEY, None))
            if state is not None:
                return state
        return await self._load_legacy()

    async def _load_legacy(self) -> dict[str, Any] | None:
        """The cursor a 3.0-3.2 triggerer kept in a Variable, if any (read only; the asset store takes over)."""
        if self._legacy is None:
            return None
        try:
            return await self._legacy.load()
        except Exception as exc:  # an unreadable legacy cursor must not stop the watcher: start a new watch
            log.warning("Could not read %s (%s); starting a new watch", self._legacy.describe(), exc)
            return None

    async def save(self, state: dict[str, Any]) -> None:
        for accessor in self._accessors:
            await accessor.aset(ASSET_STATE_KEY, state)


def _per_asset(accessors: Any) -> list[AsyncAccessor]:
    """One accessor per watched asset. ``AssetStateStoreAccessors`` only forwards ``aget``/``aset``
    when it holds exactly one asset; with several we address each (sorted, so the read is stable)."""
    by_name = getattr(accessors, "_by_name", None)
    by_uri = getattr(accessors, "_by_uri", None)
    if isinstance(by_name, dict) and isinstance(by_uri, dict) and len(by_name) + len(by_uri) > 1:
        return [by_name[k] for k in sorted(by_name)] + [by_uri[k] for k in sorted(by_uri)]
    return [accessors]


class VariableWatcherStore:
    """An Airflow Variable, through the triggerer's supervisor (off the event loop: the calls block)."""

    def __init__(self, key: str) -> None:
        self.name = VARIABLE_PREFIX + key

    def describe(self) -> str:
        return f"the Variable {self.name!r} (no asset state store on this Airflow)"

    async def load(self) -> dict[str, Any] | None:
        return _as_state(await sync_to_async(_variable_get)(self.name))

    async def save(self, state: dict[str, Any]) -> None:
        await sync_to_async(_variable_set)(self.name, json.dumps(state, separators=(",", ":"), sort_keys=True))


def _variable_get(name: str) -> Any:
    return _compat.Variable.get(name, None)


def _variable_set(name: str, text: str) -> None:
    _compat.Variable.set(name, text, description="NewIssuesEventTrigger cursor; delete it to reset the watch")
