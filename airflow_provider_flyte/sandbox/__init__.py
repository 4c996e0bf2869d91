"""An embedded, Docker-free Flyte Admin: flyteadmin's gRPC services (same semantics as flyteadmin 1.16.8), backed
by SQLite and a ``file://`` blob store, running workflows on this machine.

Start it with the ``flyte-sandbox`` command (``python -m airflow_provider_flyte.sandbox``), in-process with
:class:`Sandbox` (asyncio) or :func:`run_sandbox` (background thread), or as a child process with
:class:`SandboxProcess`. See ``docs/sandbox.md``.

The names below are imported lazily, so ``import airflow_provider_flyte.sandbox`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_flyte.sandbox.config import AuthSettings, FaultSettings, SandboxConfig
    from airflow_provider_flyte.sandbox.server import Sandbox
    from airflow_provider_flyte.sandbox.testing import SandboxProcess, SandboxThread, run_sandbox

_EXPORTS = {
    "AuthSettings": "airflow_provider_flyte.sandbox.config",
    "FaultSettings": "airflow_provider_flyte.sandbox.config",
    "SandboxConfig": "airflow_provider_flyte.sandbox.config",
    "Sandbox": "airflow_provider_flyte.sandbox.server",
    "SandboxProcess": "airflow_provider_flyte.sandbox.testing",
    "SandboxThread": "airflow_provider_flyte.sandbox.testing",
    "run_sandbox": "airflow_provider_flyte.sandbox.testing",
}

__all__ = [
    "AuthSettings",
    "FaultSettings",
    "Sandbox",
    "SandboxConfig",
    "SandboxProcess",
    "SandboxThread",
    "run_sandbox",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
