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
