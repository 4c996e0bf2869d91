"""Provider registration for Airflow (entry point ``apache_airflow_provider``).

Airflow 3.2+ builds the connection form only from ``conn-fields``/``ui-field-behaviour`` below (it never imports
the hook for that); Airflow 2.x reads the hook's ``get_connection_form_widgets``/``get_ui_field_behaviour``.
Both describe the same fields: :data:`CONN_FIELDS` is the single source of truth, the hook derives its widgets
from it.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_flyte import __version__

CONN_TYPE = "flyte"
HOOK_CLASS = "airflow_provider_flyte.hooks.flyte.FlyteHook"

#: Extra fields of the ``flyte`` connection (stored under these bare names in ``Connection.extra``).
CONN_FIELDS: dict[str, dict[str, Any]] = {
    "project": {
        "label": "Default project",
        "description": "Flyte project used when an operator does not name one (e.g. flytesnacks).",
        "schema": {"type": ["string", "null"]},
    },
    "domain": {
        "label": "Default domain",
        "description": "Flyte domain used when an operator does not name one (e.g. development).",
        "schema": {"type": ["string", "null"]},
    },
    "insecure": {
        "label": "Insecure (plaintext gRPC)",
        "description": "Connect without TLS (local sandbox only).",
        "schema": {"type": "boolean", "default": False},
    },
    "insecure_skip_verify": {
        "label": "Skip TLS verification",
        "description": "Use TLS but do not verify the server certificate.",
        "schema": {"type": "boolean", "default": False},
    },
    "ca_cert": {
        "label": "CA certificate",
        "description": "Path of a PEM CA bundle, or the PEM text itself, to verify the server with.",
        "schema": {"type": ["string", "null"], "format": "multiline"},
    },
    "auth_mode": {
        "label": "Auth mode",
        "description": "none, client_credentials (client id + secret in Password), static (token in Password) "
        "or external_command.",
        "schema": {
            "type": ["string", "null"],
            "enum": ["none", "client_credentials", "static", "external_command", None],
        },
    },
    "client_id": {
        "label": "Client ID",
        "description": "OAuth2 client id (client_credentials); the Login field works too.",
        "schema": {"type": ["string", "null"]},
    },
    "scopes": {
        "label": "Scopes",
        "description": "OAuth2 scopes, separated by spaces or commas (default: the server's).",
        "schema": {"type": ["string", "null"]},
    },
    "audience": {
        "label": "Audience",
        "description": "OAuth2 audience (default: the server's).",
        "schema": {"type": ["string", "null"]},
    },
    "command": {
        "label": "Token command",
        "description": "external_command: the command that prints a token (shell words or a JSON list).",
        "schema": {"type": ["string", "null"]},
    },
    "console_url": {
        "label": "Console URL",
        "description": "Base URL of the Flyte console for execution links (default: derived from the endpoint).",
        "schema": {"type": ["string", "null"], "format": "url"},
    },
    "data_upload_location": {
        "label": "Data upload location",
        "description": "Where local files given as inputs are uploaded (default flyte://data, the data proxy).",
        "schema": {"type": ["string", "null"]},
    },
    "http_proxy": {
        "label": "HTTP proxy",
        "description": "HTTP proxy URL for the gRPC channel and the token endpoint.",
        "schema": {"type": ["string", "null"]},
    },
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": [],
    "relabeling": {
        "host": "FlyteAdmin host",
        "port": "FlyteAdmin port",
        "schema": "Scheme (grpc, grpcs or dns)",
        "login": "Client ID",
        "password": "Client secret / token",
    },
    "placeholders": {
        "host": "flyte.example.com or 127.0.0.1",
        "port": "443 (30080 for the local sandbox)",
        "schema": "grpcs",
        "login": "my-client-id",
        "project": "flytesnacks",
        "domain": "development",
        "auth_mode": "client_credentials",
        "scopes": "all",
    },
}


def get_provider_info() -> dict[str, Any]:
    """Return the provider metadata Airflow discovers through the ``apache_airflow_provider`` entry point."""
    integration = "Flyte"
    return {
        "package-name": "airflow-provider-flyte",
        "name": "Flyte",
        "description": "Execute, monitor, signal and backfill Flyte workflows from Airflow DAGs.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": integration,
                "external-doc-url": "https://docs.flyte.org/",
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": integration, "python-modules": ["airflow_provider_flyte.hooks.flyte"]}],
        "operators": [
            {"integration-name": integration, "python-modules": ["airflow_provider_flyte.operators.flyte"]}
        ],
        "sensors": [{"integration-name": integration, "python-modules": ["airflow_provider_flyte.sensors.flyte"]}],
        "triggers": [
            {"integration-name": integration, "python-modules": ["airflow_provider_flyte.triggers.flyte"]}
        ],
        "extra-links": ["airflow_provider_flyte.links.flyte.FlyteExecutionLink"],
        "connection-types": [
            {
                "hook-class-name": HOOK_CLASS,
                "connection-type": CONN_TYPE,
                "hook-name": "Flyte",
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
                "conn-fields": CONN_FIELDS,
            }
        ],
    }
