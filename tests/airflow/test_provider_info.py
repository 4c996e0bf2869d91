"""Provider registration: schema validity, what Airflow's ProvidersManager reads, and import cost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_flyte.get_provider_info import CONN_FIELDS, get_provider_info

AIRFLOW_DIR = Path(__import__("importlib").util.find_spec("airflow").submodule_search_locations[0])


def _schema(name: str) -> dict:
    return json.loads((AIRFLOW_DIR / name).read_text())


def test_provider_info_validates_against_the_runtime_schema() -> None:
    import jsonschema

    jsonschema.validate(get_provider_info(), _schema("provider_info.schema.json"))


def test_connection_type_validates_against_the_provider_yaml_schema() -> None:
    """The stricter provider.yaml schema describes conn-fields / ui-field-behaviour in detail."""
    import jsonschema

    item_schema = _schema("provider.yaml.schema.json")["properties"]["connection-types"]
    jsonschema.validate(get_provider_info()["connection-types"], item_schema)


def test_package_name_is_the_distribution_name() -> None:
    from importlib.metadata import distribution

    from packaging.utils import canonicalize_name

    assert get_provider_info()["package-name"] == canonicalize_name(distribution("airflow-provider-flyte").metadata["name"])


def test_every_declared_module_and_class_imports() -> None:
    import importlib

    info = get_provider_info()
    for section in ("hooks", "operators", "sensors", "triggers"):
        for entry in info[section]:
            for module in entry["python-modules"]:
                importlib.import_module(module)
    for dotted in [*info["extra-links"], *(c["hook-class-name"] for c in info["connection-types"])]:
        module, _, name = dotted.rpartition(".")
        assert hasattr(importlib.import_module(module), name), dotted


@pytest.mark.usefixtures("airflow_db")
def test_providers_manager_reads_the_form_metadata() -> None:
    from airflow.providers_manager import ProvidersManager

    pm = ProvidersManager()
    assert "airflow-provider-flyte" in pm.providers
    behaviour = pm.field_behaviours["flyte"]
    assert behaviour["relabeling"]["password"] == "Client secret / token"
    assert behaviour["placeholders"]["extra__flyte__project"] == "flytesnacks"
    widgets = pm.connection_form_widgets
    assert {f"extra__flyte__{name}" for name in CONN_FIELDS} <= set(widgets)
    assert pm.hooks["flyte"].hook_class_name == "airflow_provider_flyte.hooks.flyte.FlyteHook"
    assert pm.hooks["flyte"].connection_testable


def test_hook_ui_behaviour_matches_the_provider_info() -> None:
    from airflow_provider_flyte.hooks.flyte import FlyteHook

    info = get_provider_info()["connection-types"][0]["ui-field-behaviour"]
    assert FlyteHook.get_ui_field_behaviour() == {
        "hidden_fields": info["hidden-fields"], "relabeling": info["relabeling"], "placeholders": info["placeholders"]
    }


HEAVY = (
    "grpc", "flyteidl", "flytekit", "google.protobuf", "airflow_provider_flyte.remote.client", "openlineage",
    "airflow_provider_flyte.operators.lineage",
)
MODULES = (
    "airflow_provider_flyte.operators.flyte",
    "airflow_provider_flyte.sensors.flyte",
    "airflow_provider_flyte.triggers.flyte",
    "airflow_provider_flyte.hooks.flyte",
    "airflow_provider_flyte.links.flyte",
    "airflow_provider_flyte.get_provider_info",
)


@pytest.mark.parametrize("module", MODULES)
def test_importing_the_airflow_layer_does_not_import_grpc_flyteidl_or_flytekit(module: str) -> None:
    code = (
        "import sys, json\n"
        f"import {module}\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=os.environ.copy(), capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


@pytest.mark.usefixtures("airflow_db")
def test_airflow_providers_list_shows_the_provider() -> None:
    from airflow_provider_flyte import __version__

    out = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "list", "-o", "json"],
        env=os.environ.copy(), capture_output=True, text=True, timeout=180, check=True,
    )
    listed = {p["package_name"]: p["version"] for p in json.loads(out.stdout[out.stdout.index("[") :])}
    assert listed.get("airflow-provider-flyte") == __version__, out.stdout[-2000:]
