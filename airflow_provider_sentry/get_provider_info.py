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
        "sensors": [{"integration-name": "Sentry", "python-modules": ["airflow_provider_sentry.sensors.issues"]}],
        "triggers": [{"integration-name": "Sentry", "python-modules": ["airflow_provider_sentry.triggers.issues"]}],
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
                },
            }
        ],
        "extra-links": [
            "airflow_provider_sentry.links.SentryReleaseLink",
            "airflow_provider_sentry.links.SentryIssuesLink",
        ],
    }
