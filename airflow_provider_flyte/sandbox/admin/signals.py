"""SignalService (flyteadmin's signal manager) and the engine's ``wait_signal``."""

from __future__ import annotations

import asyncio
from typing import Any

from flyteidl.admin import signal_pb2
from flyteidl.core import literals_pb2

from airflow_provider_flyte.remote.codec.inference import describe_type, is_castable
from airflow_provider_flyte.sandbox.admin.context import AdminContext
from airflow_provider_flyte.sandbox.admin.executions import Executions
from airflow_provider_flyte.sandbox.admin.names import exec_key, fmt_execution
from airflow_provider_flyte.sandbox.admin.validation import (
    literal_type_of,
    missing,
    require,
    require_message,
    validate_execution_id,
)
from airflow_provider_flyte.sandbox.errors import invalid
from airflow_provider_flyte.sandbox.filters import SIGNAL, ListQuery
from airflow_provider_flyte.sandbox.store import Row


def _signal_of(row: Row) -> Any:
    out = signal_pb2.Signal()
    out.id.signal_id = row["signal_id"]
    out.id.execution_id.project = row["execution_project"]
    out.id.execution_id.domain = row["execution_domain"]
    out.id.execution_id.name = row["execution_name"]
    out.type.ParseFromString(row["type"])
    if row["value"] is not None:
        out.value.ParseFromString(row["value"])
    return out


def _validate_signal_id(request: Any) -> Any:
    if not request.HasField("id"):
        raise missing("id")
    require(request.id.signal_id, "signal_id")
    validate_execution_id(request.id, "execution_id")
    return request.id


def _key(signal_id: Any) -> tuple[str, str, str, str]:
    return (*exec_key(signal_id.execution_id), signal_id.signal_id)


class Signals:
    def __init__(self, ctx: AdminContext, executions: Executions) -> None:
        self.ctx = ctx
        self.executions = executions

    def _row(self, signal_id: Any) -> Row | None:
        return self.ctx.store.one(
            "SELECT * FROM signals WHERE execution_project = ? AND execution_domain = ? AND execution_name = ? "
            "AND signal_id = ?",
            _key(signal_id),
        )

    def get_or_create(self, request: Any) -> Any:
        signal_id = _validate_signal_id(request)
        require_message(request, "type", "type")
        row = self._row(signal_id)
        if row is None:
            self.executions.row(signal_id.execution_id)
            with self.ctx.store.transaction():
                self.ctx.store.insert(
                    "signals",
                    {
                        "execution_project": signal_id.execution_id.project,
                        "execution_domain": signal_id.execution_id.domain,
                        "execution_name": signal_id.execution_id.name,
                        "signal_id": signal_id.signal_id,
                        "type": request.type.SerializeToString(),
                        "value": None,
                    },
                )
            row = self._row(signal_id)
            assert row is not None
        return _signal_of(row)

    def list(self, request: Any) -> Any:
        execution_id = validate_execution_id(request, "workflow_execution_id")
        query = ListQuery.of(
            SIGNAL,
            "ListSignals",
            request,
            where=[
                "signals.execution_project = ?",
                "signals.execution_domain = ?",
                "signals.execution_name = ?",
            ],
            params=list(exec_key(execution_id)),
        )
        rows, token = self.ctx.page(query)
        out = signal_pb2.SignalList(token=token)
        out.signals.extend(_signal_of(r) for r in rows)
        return out

    def set(self, request: Any) -> Any:
        signal_id = _validate_signal_id(request)
        require_message(request, "value", "value")
        row = self._row(signal_id)
        where = f"{signal_id.signal_id} of {fmt_execution(signal_id.execution_id)}"
        if row is None:
            raise invalid(
                f"failed to validate that signal [{where}] exists, err: [signal does not exist; it is created when "
                "the execution reaches the gate node]"
            )
        stored = _signal_of(row)
        got = literal_type_of(request.value, f"signal {signal_id.signal_id} value")
        if not is_castable(got, stored.type):
            raise invalid(
                f"requested signal value [{describe_type(got)}] is not castable to existing signal type "
                f"[{describe_type(stored.type)}] for signal {where}"
            )
        with self.ctx.store.transaction():
            self.ctx.store.update("signals", row["id"], {"value": request.value.SerializeToString()})
        value = literals_pb2.Literal()
        value.CopyFrom(request.value)
        self.ctx.waiters.resolve_signal(_key(signal_id), value)
        return signal_pb2.SignalSetResponse()

    async def wait(self, request: Any) -> Any:
        """GetOrCreateSignal, then wait until SetSignal gives it a value (cancellable)."""
        signal = self.get_or_create(request)
        if signal.HasField("value"):
            return signal.value
        key = _key(signal.id)
        fut = self.ctx.waiters.signal(key)
        try:
            return await fut
        except asyncio.CancelledError:
            self.ctx.waiters.discard(key, fut)
            raise
