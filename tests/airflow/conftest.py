"""Fixtures of the Airflow suite: a private AIRFLOW_HOME with a migrated sqlite DB, the example workflows
registered in the session sandbox, and the ``flyte_default`` connection pointing at it (env var URI).

The Airflow environment is set at import time, before anything imports Airflow, so every test (and every
subprocess started from one) uses the temporary home.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DAGS = REPO / "example_dags"
PROJECT, DOMAIN = "flytesnacks", "development"

_HOME = Path(tempfile.mkdtemp(prefix="airflow-flyte-tests-"))
AIRFLOW_ENV = {
    "AIRFLOW_HOME": str(_HOME),
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME / 'airflow.db'}",
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS),
    "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
}
os.environ.update(AIRFLOW_ENV)
if str(EXAMPLE_DAGS) not in sys.path:
    sys.path.insert(0, str(EXAMPLE_DAGS))


def conn_uri(endpoint: str, **extra: str) -> str:
    """An ``AIRFLOW_CONN_*`` URI for a sandbox endpoint (plaintext, default project/domain)."""
    query = "&".join(f"{k}={v}" for k, v in {"insecure": "true", "project": PROJECT, "domain": DOMAIN, **extra}.items())
    return f"flyte://{endpoint}?{query}"


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """``airflow db migrate`` once per session (in a subprocess, on the temporary home)."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env={**os.environ, **AIRFLOW_ENV},
        check=True,
        capture_output=True,
        timeout=300,
    )
    return _HOME


@pytest.fixture(scope="session")
def examples(sandbox: Any) -> dict[str, Any]:
    """The example workflows registered in the session sandbox."""
    from flyte_examples_registry import register_examples

    from airflow_provider_flyte.remote.client import FlyteRemote
    from airflow_provider_flyte.remote.config import Config

    with FlyteRemote(Config.for_sandbox(sandbox.endpoint), default_project=PROJECT, default_domain=DOMAIN) as remote:
        return register_examples(remote)


@pytest.fixture(scope="session")
def flyte_conn(sandbox: Any, examples: dict[str, Any]) -> Iterator[str]:
    """``AIRFLOW_CONN_FLYTE_DEFAULT`` pointing at the session sandbox; yields the endpoint."""
    os.environ["AIRFLOW_CONN_FLYTE_DEFAULT"] = conn_uri(sandbox.endpoint)
    yield sandbox.endpoint
    os.environ.pop("AIRFLOW_CONN_FLYTE_DEFAULT", None)


@pytest.fixture
def remote(sandbox: Any) -> Iterator[Any]:
    """A client on the session sandbox, to inspect what the Airflow layer did."""
    from airflow_provider_flyte.remote.client import FlyteRemote
    from airflow_provider_flyte.remote.config import Config

    with FlyteRemote(Config.for_sandbox(sandbox.endpoint), default_project=PROJECT, default_domain=DOMAIN) as client:
        yield client
