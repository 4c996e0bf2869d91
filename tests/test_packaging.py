"""Packaging metadata: every third-party module the package imports is declared in pyproject.toml, and the
metadata PyPI shows is complete (classifiers, absolute project URLs)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
#: import name -> distribution name, where they differ
DISTRIBUTION = {"yaml": "pyyaml", "google": "protobuf", "airflow": "apache-airflow", "grpc": "grpcio", "openlineage": "openlineage-python"}
#: imported only where Airflow is running, from Airflow's own dependencies: the Airflow 2 connection form widgets
#: (hooks/flyte.py), asgiref (triggers/flyte.py) and cryptography (sandbox/testing.py's test certificates)
FROM_AIRFLOW = {"flask_appbuilder", "flask_babel", "wtforms", "asgiref", "cryptography"}
#: imported only inside flytekit task processes (the sandbox's warm worker), from flytekit's own dependencies
FROM_FLYTEKIT = {"click"}


def _declared() -> set[str]:
    specs = list(PROJECT["dependencies"]) + [
        d for extra in PROJECT["optional-dependencies"].values() for d in extra
    ]
    return {re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0].lower() for spec in specs}


def _imported() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "airflow_provider_flyte").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {
        n for n in names if n not in sys.stdlib_module_names | FROM_AIRFLOW | FROM_FLYTEKIT and n != "airflow_provider_flyte"
    }


def test_every_imported_distribution_is_declared() -> None:
    declared = _declared()
    missing = sorted(
        n for n in _imported() if DISTRIBUTION.get(n, n).lower().replace("_", "-") not in declared
    )
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_metadata_for_pypi() -> None:
    classifiers = PROJECT["classifiers"]
    assert any(c.startswith("Development Status ::") for c in classifiers)
    assert "Framework :: Apache Airflow :: Provider" in classifiers
    assert (
        f"Programming Language :: Python :: {sys.version_info.major}.{sys.version_info.minor}" in classifiers
    )
    assert {"Homepage", "Documentation", "Source", "Issues"} <= set(PROJECT["urls"])
    assert all(url.startswith("https://") for url in PROJECT["urls"].values())
    protobuf = next(d for d in PROJECT["dependencies"] if d.startswith("protobuf"))
    assert "<" in protobuf, "protobuf needs an upper bound"
