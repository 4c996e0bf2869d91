from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("flytekit")

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def flytekit_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A sandbox whose task subprocesses can import ``tests.conformance.workflows``."""
    from airflow_provider_flyte.sandbox.config import SandboxConfig
    from airflow_provider_flyte.sandbox.testing import run_sandbox

    config = SandboxConfig(
        data_dir=tmp_path_factory.mktemp("flytekit-sandbox"), port=0, task_pythonpath=(str(REPO_ROOT),)
    )
    with run_sandbox(config) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def fk_remote(flytekit_sandbox: Any) -> Any:
    from flytekit.configuration import Config
    from flytekit.remote import FlyteRemote

    return FlyteRemote(
        Config.for_endpoint(flytekit_sandbox.endpoint, insecure=True),
        default_project="flytesnacks",
        default_domain="development",
    )
