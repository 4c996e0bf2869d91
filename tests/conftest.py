"""Shared fixtures: the sandbox every test talks to over real gRPC.

* ``sandbox`` (session): one in-process sandbox (background thread, temporary data dir, free ports). It yields a
  :class:`~airflow_provider_flyte.sandbox.testing.SandboxThread`: ``.endpoint`` (``host:port``), ``.config``
  (with the bound ports), ``.data_dir``, ``.http_endpoint``, ``.sandbox`` (the server; ``.sandbox.admin`` is the
  admin core) and ``.run(coro)`` to run a coroutine on the sandbox's event loop.
* ``fresh_sandbox`` (function): a factory ``fresh_sandbox(**SandboxConfig fields) -> SandboxThread`` for tests
  that need their own sandbox (auth, faults, TLS, a given data dir); everything it started is stopped afterwards.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flyte.sandbox import blobfs
from airflow_provider_flyte.sandbox.config import SandboxConfig
from airflow_provider_flyte.sandbox.testing import SandboxThread, run_sandbox

if not blobfs.entry_point_installed():
    # a checkout whose installed metadata predates the flytesandbox:// fsspec entry point (``pip install -e .``
    # not re-run): declare it for this process and every subprocess, as the installed package would
    _shim = blobfs.entry_point_shim(tempfile.mkdtemp(prefix="flytesandbox-entry-point-"))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(_shim)]))
    blobfs.register()


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxThread]:
    with run_sandbox(data_dir=tmp_path_factory.mktemp("sandbox"), port=0) as running:
        yield running


@pytest.fixture
def fresh_sandbox(tmp_path: Path) -> Iterator[Callable[..., SandboxThread]]:
    started: list[SandboxThread] = []

    def start(admin_factory: Any = None, **fields: Any) -> SandboxThread:
        fields.setdefault("data_dir", tmp_path / f"sandbox-{len(started)}")
        fields.setdefault("port", 0)
        thread = SandboxThread(SandboxConfig(**fields), admin_factory=admin_factory)
        started.append(thread)
        return thread.start()

    yield start
    for thread in reversed(started):
        thread.stop()
