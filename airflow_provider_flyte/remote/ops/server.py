"""Operations about the server itself: its version and its projects (what proves an endpoint and credentials)."""

from __future__ import annotations

from typing import Any

from airflow_provider_flyte.remote.ops.call import ADMIN, Call, Op


def get_version() -> Op[str]:
    """Flyte Admin's control plane version (GetVersion)."""
    from flyteidl.admin import version_pb2

    response = yield Call(ADMIN, "GetVersion", version_pb2.GetVersionRequest(), True)
    return str(response.control_plane_version.Version)


def get_project(project: str) -> Op[Any]:
    """The ``admin.Project`` proto (GetProject; NOT_FOUND when it does not exist)."""
    from flyteidl.admin import project_pb2

    response = yield Call(ADMIN, "GetProject", project_pb2.ProjectGetRequest(id=project), True)
    return response


def list_projects(limit: int | None, filters: str | None, sort_by: Any) -> Op[list[Any]]:
    """``admin.Project`` protos (ListProjects, one page of ``limit``)."""
    from flyteidl.admin import project_pb2

    request = project_pb2.ProjectListRequest(limit=limit or 100, filters=filters or "")
    if sort_by is not None:
        request.sort_by.CopyFrom(sort_by.to_flyte_idl() if hasattr(sort_by, "to_flyte_idl") else sort_by)
    response = yield Call(ADMIN, "ListProjects", request, True)
    return list(response.projects)


def get_domains() -> Op[list[Any]]:
    """``admin.Domain`` protos (GetDomains)."""
    from flyteidl.admin import project_pb2

    response = yield Call(ADMIN, "GetDomains", project_pb2.GetDomainRequest(), True)
    return list(response.domains)


def get_execution_metrics(execution_id: Any, depth: int) -> Op[Any]:
    """The ``core.Span`` of an execution (GetExecutionMetrics)."""
    from flyteidl.admin import execution_pb2

    request = execution_pb2.WorkflowExecutionGetMetricsRequest(id=execution_id, depth=depth)
    response = yield Call(ADMIN, "GetExecutionMetrics", request, True)
    return response.span
