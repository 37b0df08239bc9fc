"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``)."""

from __future__ import annotations

from typing import Any

from airflow_provider_sentry import __version__


def get_provider_info() -> dict[str, Any]:
    """Declare the hook, operators, sensor, trigger, links and the ``sentry`` connection form."""
    return {
        "package-name": "airflow-provider-sentry",
        "name": "Sentry",
        "description": "`Sentry <https://sentry.io/>`__ hook, issue and release operators, and a new-issues sensor.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Sentry",
                "external-doc-url": "https://docs.sentry.io/api/",
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": "Sentry", "python-modules": ["airflow_provider_sentry.hooks.sentry"]}],
        "operators": [
            {
                "integration-name": "Sentry",
                "python-modules": [
                    "airflow_provider_sentry.operators.issues",
                    "airflow_provider_sentry.operators.releases",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "Sentry",
                "python-modules": [
                    "airflow_provider_sentry.sensors.issues",
                    "airflow_provider_sentry.sensors.releases",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": "Sentry",
                "python-modules": [
                    "airflow_provider_sentry.triggers.issues",
                    "airflow_provider_sentry.triggers.releases",
                ],
            }
        ],
        "connection-types": [
            {
                "connection-type": "sentry",
                "hook-class-name": "airflow_provider_sentry.hooks.sentry.SentryHook",
                "hook-name": "Sentry",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "login"],
                    "relabeling": {"host": "Sentry base URL", "password": "Auth token / DSN / API key"},
                    "placeholders": {
                        "host": "https://sentry.io",
                        "password": "sntryu_... (user or internal-integration token)",
                    },
                },
                "conn-fields": {
                    "organization": {
                        "label": "Organization slug",
                        "description": "Default organization for every operator and the sensor",
                        "schema": {"type": ["string", "null"]},
                    },
                    "auth_type": {
                        "label": "Auth type",
                        "description": "token (Bearer), dsn (Authorization: DSN) or api_key (legacy, Basic)",
                        "schema": {"type": ["string", "null"], "enum": ["token", "dsn", "api_key"]},
                    },
                    "timeout": {
                        "label": "Timeout (seconds)",
                        "schema": {"type": ["number", "null"], "minimum": 0},
                    },
                    "max_retries": {
                        "label": "Max retries",
                        "schema": {"type": ["integer", "null"], "minimum": 0},
                    },
                    # Inverted on purpose: the 3.3 form draws a stored null as "off", and off must
                    # mean the safe default (TLS verified), not "Verify TLS: off" (issue 11).
                    "skip_tls_verify": {
                        "label": "Skip TLS verification (insecure)",
                        "description": "Off: the certificate is verified (a private CA: put its bundle path in extra verify)",
                        "schema": {"type": ["boolean", "null"], "default": False},
                    },
                    "dsn": {
                        "label": "DSN",
                        "description": "Project DSN for Crons check-ins and SentryNotifier events (https://<key>@<host>/<project_id>)",
                        "schema": {"type": ["string", "null"]},
                    },
                },
            }
        ],
        "extra-links": [
            "airflow_provider_sentry.links.SentryReleaseLink",
            "airflow_provider_sentry.links.SentryIssuesLink",
        ],
        "notifications": ["airflow_provider_sentry.notifications.sentry.SentryNotifier"],
        "plugins": [{"name": "sentry_crons", "plugin-class": "airflow_provider_sentry.crons.plugin.SentryCronsPlugin"}],
        "config": crons_config_section(),
    }


def crons_config_section() -> dict[str, Any]:
    """The ``[sentry_crons]`` section (Sentry Crons check-ins for scheduled DAG runs, docs/crons.md)."""

    def option(description: str, type_: str, default: str | None, example: str | None) -> dict[str, Any]:
        return {
            "description": description,
            "version_added": "0.2.0",
            "type": type_,
            "example": example,
            "default": default,
        }

    return {
        "sentry_crons": {
            "description": "Sentry Crons: every scheduled run of the selected DAGs checks in to a Sentry monitor.",
            "options": {
                "dags": option(
                    "Comma-separated glob patterns of the DAG ids to monitor. Empty (the default) turns Crons off.",
                    "string",
                    "",
                    "nightly_*,billing_report",
                ),
                "conn_id": option(
                    "The Sentry connection whose DSN (extra dsn, or auth_type dsn) receives the check-ins.",
                    "string",
                    "sentry_default",
                    "sentry_crons",
                ),
                "environment": option("The Sentry environment of the check-ins.", "string", "production", "staging"),
                "checkin_margin": option(
                    "Minutes after the expected time before Sentry marks a check-in missed (1 to 40320). "
                    "Empty: Sentry's default.",
                    "integer",
                    "",
                    "5",
                ),
                "failure_issue_threshold": option(
                    "Consecutive failed or missed check-ins before Sentry opens an issue (1 to 720). Empty: Sentry's default.",
                    "integer",
                    "",
                    "2",
                ),
                "recovery_threshold": option(
                    "Consecutive successful check-ins before Sentry resolves the issue (1 to 720). Empty: Sentry's default.",
                    "integer",
                    "",
                    "1",
                ),
                "run_types": option(
                    "Comma-separated DAG-run types that check in. Manual runs and backfills are not on schedule.",
                    "string",
                    "scheduled",
                    "scheduled,manual",
                ),
            },
        }
    }
