"""Airflow 3.x / 2.11 import shims: the one place that knows where Airflow keeps things.

Airflow 3 (task SDK) paths are tried first; Airflow 2.11 goes through
``airflow.providers.common.compat.sdk``. Triggers come from ``airflow.triggers.base`` on both. Nothing here
imports grpc, flyteidl or flytekit.
"""

from __future__ import annotations

from typing import Any

try:  # Airflow 3.x
    from airflow.sdk import (
        BaseHook,
        BaseOperator,
        BaseOperatorLink,
        BaseSensorOperator,
        Context,
        conf,
    )
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
    )
    from airflow.sdk.execution_time.xcom import XCom

    AIRFLOW_V_3 = True
except ImportError:  # Airflow 2.11
    from airflow.providers.common.compat.sdk import (  # type: ignore[no-redef,assignment]
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
        BaseHook,
        BaseOperator,
        BaseOperatorLink,
        BaseSensorOperator,
        Context,
        XCom,
        conf,
    )

    AIRFLOW_V_3 = False

from airflow.triggers.base import BaseTrigger, TriggerEvent


def _airflow_version() -> tuple[int, int, int]:
    from airflow import __version__ as version

    parts = []
    for piece in version.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    while len(parts) < 3:
        parts.append(0)
    return parts[0], parts[1], parts[2]


AIRFLOW_VERSION = _airflow_version()
#: Airflow 3.3+ calls ``BaseTrigger.on_kill`` when a user marks a deferred task failed/success or clears it.
AIRFLOW_V_3_3_PLUS = AIRFLOW_VERSION >= (3, 3, 0)


async def get_async_connection(conn_id: str) -> Any:
    """Read a connection without blocking the triggerer's event loop (common-compat's safe path)."""
    from airflow.providers.common.compat.connection import get_async_connection as _get

    return await _get(conn_id)


async def get_async_extra(conn: Any) -> dict[str, Any]:
    """A connection's extra as a dict, without a synchronous supervisor call on the event loop."""
    try:
        from airflow.providers.common.compat.connection import get_async_extra_dejson
    except ImportError:  # common-compat < 1.21
        import asyncio

        return await asyncio.to_thread(lambda: dict(conn.extra_dejson))
    return dict(await get_async_extra_dejson(conn))


def default_deferrable() -> bool:
    """Airflow's ``[operators] default_deferrable`` setting (False when unset)."""
    return bool(conf.getboolean("operators", "default_deferrable", fallback=False))


__all__ = [
    "AIRFLOW_V_3",
    "AIRFLOW_V_3_3_PLUS",
    "AirflowException",
    "AirflowFailException",
    "AirflowNotFoundException",
    "BaseHook",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "BaseTrigger",
    "Context",
    "TriggerEvent",
    "XCom",
    "conf",
    "default_deferrable",
    "get_async_connection",
    "get_async_extra",
]
