"""The Flyte client: connect, fetch and register entities, execute, monitor, signal, backfill, transfer files.

Importing this package is cheap: names are loaded on first use (PEP 562), so grpc and flyteidl are imported only
when a client (or a model) is actually used::

    from airflow_provider_flyte.remote import FlyteRemote, Config

    remote = FlyteRemote(Config.for_sandbox(), default_project="flytesnacks", default_domain="development")
    execution = remote.execute("my.launch_plan", inputs={"x": 1}, wait=True)
    print(execution.outputs["o0"])
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_flyte.remote.aio import AsyncFlyteRemote
    from airflow_provider_flyte.remote.client import FlyteRemote
    from airflow_provider_flyte.remote.config import Config, PlatformConfig
    from airflow_provider_flyte.remote.errors import (
        FlyteAssertionError,
        FlyteAuthenticationError,
        FlyteConfigError,
        FlyteEntityAlreadyExistsError,
        FlyteEntityNotFoundError,
        FlyteError,
        FlyteExecutionFailedError,
        FlyteInvalidInputError,
        FlyteRegistrationError,
        FlyteSystemError,
        FlyteSystemUnavailableError,
        FlyteTimeoutError,
        FlyteTypeError,
    )
    from airflow_provider_flyte.remote.models import (
        FlyteLaunchPlan,
        FlyteNodeExecution,
        FlyteTask,
        FlyteTaskExecution,
        FlyteWorkflow,
        FlyteWorkflowExecution,
        LiteralsResolver,
        Options,
        Signal,
    )
    from airflow_provider_flyte.remote.transport import RpcStats

_EXPORTS: dict[str, str] = {
    "FlyteRemote": "client",
    "AsyncFlyteRemote": "aio",
    "Config": "config",
    "PlatformConfig": "config",
    "RpcStats": "transport",
    "FlyteLaunchPlan": "models",
    "FlyteNodeExecution": "models",
    "FlyteTask": "models",
    "FlyteTaskExecution": "models",
    "FlyteWorkflow": "models",
    "FlyteWorkflowExecution": "models",
    "LiteralsResolver": "models",
    "Options": "models",
    "Signal": "models",
    "FlyteAssertionError": "errors",
    "FlyteAuthenticationError": "errors",
    "FlyteConfigError": "errors",
    "FlyteEntityAlreadyExistsError": "errors",
    "FlyteEntityNotFoundError": "errors",
    "FlyteError": "errors",
    "FlyteExecutionFailedError": "errors",
    "FlyteInvalidInputError": "errors",
    "FlyteRegistrationError": "errors",
    "FlyteSystemError": "errors",
    "FlyteSystemUnavailableError": "errors",
    "FlyteTimeoutError": "errors",
    "FlyteTypeError": "errors",
}

__all__ = [
    "AsyncFlyteRemote",
    "Config",
    "FlyteAssertionError",
    "FlyteAuthenticationError",
    "FlyteConfigError",
    "FlyteEntityAlreadyExistsError",
    "FlyteEntityNotFoundError",
    "FlyteError",
    "FlyteExecutionFailedError",
    "FlyteInvalidInputError",
    "FlyteLaunchPlan",
    "FlyteNodeExecution",
    "FlyteRegistrationError",
    "FlyteRemote",
    "FlyteSystemError",
    "FlyteSystemUnavailableError",
    "FlyteTask",
    "FlyteTaskExecution",
    "FlyteTimeoutError",
    "FlyteTypeError",
    "FlyteWorkflow",
    "FlyteWorkflowExecution",
    "LiteralsResolver",
    "Options",
    "PlatformConfig",
    "RpcStats",
    "Signal",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
