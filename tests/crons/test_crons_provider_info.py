"""The provider declares the Crons config section, the plugin and the notifier, as official providers do."""

from __future__ import annotations

import importlib
import json
from importlib.metadata import entry_points
from pathlib import Path

import jsonschema

from airflow_provider_sentry.crons.config import DEFAULTS
from airflow_provider_sentry.get_provider_info import get_provider_info


def _load(path: str) -> object:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_the_provider_info_matches_airflows_schema() -> None:
    import airflow

    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


def test_the_config_section_declares_every_option_with_its_default() -> None:
    section = get_provider_info()["config"]["sentry_crons"]
    assert set(section["options"]) == set(DEFAULTS)
    for name, option in section["options"].items():
        assert option["default"] == DEFAULTS[name], name
        assert option["description"] and option["version_added"]


def test_plugin_notifier_and_dsn_field_are_declared() -> None:
    info = get_provider_info()
    (plugin,) = info["plugins"]
    assert _load(plugin["plugin-class"]).name == plugin["name"] == "sentry_crons"  # type: ignore[attr-defined]
    (notifier,) = info["notifications"]
    assert _load(notifier).__name__ == "SentryNotifier"  # type: ignore[attr-defined]
    assert "dsn" in info["connection-types"][0]["conn-fields"]


def test_the_entry_point_plugin_registers_the_same_listener() -> None:
    ours = [ep for ep in entry_points(group="airflow.plugins") if ep.value.startswith("airflow_provider_sentry.")]
    assert {ep.value for ep in ours} == {"airflow_provider_sentry.crons.plugin:SentryCronsEntryPointPlugin"}
    plugin = ours[0].load()
    from airflow_provider_sentry.crons import listener

    assert plugin.listeners == [listener]
    assert plugin.name != "sentry_crons"  # a second plugin of the same name is an import error on Airflow 3.3
