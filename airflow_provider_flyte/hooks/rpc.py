"""The few read-only calls the Airflow layer needs beyond the client's public API, as sans-IO operations.

They run through the client's own drivers (same transport, auth, retries and error mapping), synchronously with
:func:`run_sync` or on the event loop with :func:`run_async`:

* :func:`list_node_executions` — the top-level node executions of an execution, in one page, without the
  per-node data fetches of ``sync(sync_nodes=True)`` (progress logs and the failing node need only phases);
* :func:`get_version` / :func:`get_project` — what ``test_connection`` proves the endpoint and credentials with.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_flyte.remote.ops.call import ADMIN, Call, Op

#: node executions fetched per progress poll (one page)
NODE_PAGE = 200


def list_node_executions(project: str, domain: str, name: str) -> Op[list[Any]]:
    """Top-level ``NodeExecution`` protos of an execution, oldest first (one ListNodeExecutions)."""
    from flyteidl.admin import common_pb2, node_execution_pb2
    from flyteidl.core import identifier_pb2

    request = node_execution_pb2.NodeExecutionListRequest(
        workflow_execution_id=identifier_pb2.WorkflowExecutionIdentifier(project=project, domain=domain, name=name),
        limit=NODE_PAGE,
        sort_by=common_pb2.Sort(key="created_at", direction=common_pb2.Sort.ASCENDING),
    )
    response = yield Call(ADMIN, "ListNodeExecutions", request, True)
    return list(response.node_executions)


def get_version() -> Op[str]:
    """Flyte Admin's control plane version (GetVersion)."""
    from flyteidl.admin import version_pb2

    response = yield Call(ADMIN, "GetVersion", version_pb2.GetVersionRequest(), True)
    return str(response.control_plane_version.Version)


def get_project(project: str) -> Op[Any]:
    """The project (GetProject; NOT_FOUND when it does not exist)."""
    from flyteidl.admin import project_pb2

    response = yield Call(ADMIN, "GetProject", project_pb2.ProjectGetRequest(id=project), True)
    return response


def run_sync(remote: Any, op: Op[Any]) -> Any:
    """Run an operation with a :class:`~airflow_provider_flyte.remote.client.FlyteRemote`."""
    return remote._run(op)


async def run_async(remote: Any, op: Op[Any]) -> Any:
    """Run an operation with an :class:`~airflow_provider_flyte.remote.aio.AsyncFlyteRemote`."""
    return await remote._run(op)
