"""RecoverExecution: rerun a failed execution, reusing the outputs of every node that succeeded in it."""

from __future__ import annotations

from typing import Any

from airflow_provider_flyte.remote.errors import FlyteEntityAlreadyExistsError
from airflow_provider_flyte.remote.ops.call import ADMIN, Call, Op
from airflow_provider_flyte.remote.ops.executions import execution_id, get_execution


def recover(source_id: Any, name: str) -> Op[Any]:
    """Recover ``source_id`` as the execution ``name`` (client-chosen, so a retried call never recovers twice: an
    ALREADY_EXISTS answer means the first attempt created it); returns the new ``admin.Execution``."""
    from flyteidl.admin import execution_pb2

    request = execution_pb2.ExecutionRecoverRequest(id=source_id, name=name)
    try:
        yield Call(ADMIN, "RecoverExecution", request, True)
    except FlyteEntityAlreadyExistsError:
        pass
    proto = yield from get_execution(execution_id(source_id.project, source_id.domain, name))
    return proto
