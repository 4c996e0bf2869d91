"""Fixtures of the client tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_flyte.remote import Config, FlyteRemote
from airflow_provider_flyte.sandbox.testing import SandboxThread


@pytest.fixture(scope="module")
def remote(sandbox: SandboxThread) -> Iterator[FlyteRemote]:
    """A client of the shared sandbox, defaulting to flytesnacks/development (one per test module)."""
    with FlyteRemote(
        Config.for_sandbox(sandbox.endpoint), default_project="flytesnacks", default_domain="development"
    ) as r:
        yield r
