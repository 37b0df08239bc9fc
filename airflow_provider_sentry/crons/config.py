"""``[sentry_crons]`` plus a DAG's ``params["sentry_crons"]`` override -> what to send for one DAG run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from airflow_provider_sentry import _compat
from airflow_provider_sentry.core.crons import MonitorOptions, dag_selected, parse_patterns
from airflow_provider_sentry.crons import PARAMS_KEY
from airflow_provider_sentry.exceptions import SentryConfigError

SECTION = "sentry_crons"
DEFAULTS: Mapping[str, str] = {
    "dags": "",
    "conn_id": "sentry_default",
    "environment": "production",
    "checkin_margin": "",
    "failure_issue_threshold": "",
    "recovery_threshold": "",
    "run_types": "scheduled",
}
RUN_TYPES = ("scheduled", "manual", "backfill", "asset_triggered", "asset_materialization")


@dataclass(frozen=True)
class CronsConfig:
    """The resolved settings for one DAG."""

    patterns: tuple[str, ...]
    conn_id: str
    environment: str
    options: MonitorOptions
    run_types: tuple[str, ...]
    enabled: bool | None = None  # the DAG's override; None = follow the patterns

    def monitors(self, dag_id: str) -> bool:
        return self.enabled if self.enabled is not None else dag_selected(dag_id, self.patterns)

    def wants(self, run_type: str) -> bool:
        return run_type in self.run_types


def _run_types(value: Any, source: str) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    types = tuple(str(item).strip().lower() for item in items if str(item).strip())
    unknown = [t for t in types if t not in RUN_TYPES]
    if unknown:
        raise SentryConfigError(f"{source} run_types: unknown {unknown}; choose from {', '.join(RUN_TYPES)}")
    return types


def from_options(values: Mapping[str, Any]) -> CronsConfig:
    """Build from ``[sentry_crons]`` option strings (missing ones take ``DEFAULTS``)."""
    get = {**DEFAULTS, **{k: v for k, v in values.items() if v is not None}}
    return CronsConfig(
        patterns=parse_patterns(str(get["dags"])),
        conn_id=str(get["conn_id"]).strip() or DEFAULTS["conn_id"],
        environment=str(get["environment"]).strip() or DEFAULTS["environment"],
        options=MonitorOptions.parse(get),
        run_types=_run_types(get["run_types"], "[sentry_crons]"),
    )


def read_airflow_config() -> CronsConfig:
    """The global section, read from Airflow's configuration (env vars ``AIRFLOW__SENTRY_CRONS__*`` included)."""
    return from_options({name: _compat.conf.get(SECTION, name, fallback=default) for name, default in DEFAULTS.items()})


def param_value(params: Any) -> Mapping[str, Any] | None:
    """``params["sentry_crons"]`` of a DAG or a serialized DAG (raw value or ``Param``), if it is a mapping."""
    if params is None:
        return None
    try:
        raw = params.get_param(PARAMS_KEY) if hasattr(params, "get_param") else None
    except (KeyError, AttributeError):
        raw = None
    if raw is None:
        try:
            raw = dict(params).get(PARAMS_KEY) if hasattr(params, "keys") else None
        except (TypeError, ValueError):
            raw = None
    raw = getattr(raw, "value", raw)
    return raw if isinstance(raw, Mapping) else None


def with_override(config: CronsConfig, override: Mapping[str, Any] | None, dag_id: str) -> CronsConfig:
    """Apply one DAG's override; errors name the DAG and the key."""
    if not override:
        return config
    source = f"DAG {dag_id!r} params[{PARAMS_KEY!r}]"
    merged = {
        name: override.get(name, getattr(config.options, name))
        for name in ("checkin_margin", "failure_issue_threshold", "recovery_threshold")
    }
    enabled = override.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise SentryConfigError(f"{source} enabled: expected true or false, got {enabled!r}")
    return replace(
        config,
        environment=str(override.get("environment") or config.environment),
        options=MonitorOptions.parse(merged, source=source),
        run_types=tuple(dict.fromkeys((*config.run_types, *_run_types(override.get("run_types"), source)))),
        enabled=enabled,
    )
