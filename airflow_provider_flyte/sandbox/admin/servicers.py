"""gRPC servicers (grpc.aio, async methods) that dispatch AdminService and SignalService calls to the managers.

Errors are raised as :class:`~airflow_provider_flyte.sandbox.errors.SandboxError`; the server turns them into
gRPC statuses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flyteidl.admin import (
    common_pb2,
    description_entity_pb2,
    event_pb2,
    matchable_resource_pb2,
    project_attributes_pb2,
    project_domain_attributes_pb2,
    version_pb2,
    workflow_attributes_pb2,
)
from flyteidl.service import admin_pb2_grpc, signal_pb2_grpc

from airflow_provider_flyte.sandbox.admin.context import principal_of
from airflow_provider_flyte.sandbox.admin.entities import LAUNCH_PLANS, TASKS, WORKFLOWS
from airflow_provider_flyte.sandbox.errors import not_found

if TYPE_CHECKING:
    from airflow_provider_flyte.sandbox.admin.core import AdminCore

SANDBOX_VERSION = "v1.16.8-sandbox"


class AdminServicer(admin_pb2_grpc.AdminServiceServicer):  # type: ignore[misc]
    """flyteidl.service.AdminService on the sandbox's admin core."""

    def __init__(self, core: AdminCore) -> None:
        self.core = core

    # -- tasks / workflows / launch plans ---------------------------------------------------------------------------
    async def CreateTask(self, request: Any, context: Any) -> Any:
        return self.core.entities.create_task(request)

    async def GetTask(self, request: Any, context: Any) -> Any:
        return self.core.entities.get(TASKS, request)

    async def ListTaskIds(self, request: Any, context: Any) -> Any:
        return self.core.entities.list_ids(TASKS, request)

    async def ListTasks(self, request: Any, context: Any) -> Any:
        return self.core.entities.list(TASKS, request)

    async def CreateWorkflow(self, request: Any, context: Any) -> Any:
        return self.core.entities.create_workflow(request)

    async def GetWorkflow(self, request: Any, context: Any) -> Any:
        return self.core.entities.get(WORKFLOWS, request)

    async def ListWorkflowIds(self, request: Any, context: Any) -> Any:
        return self.core.entities.list_ids(WORKFLOWS, request)

    async def ListWorkflows(self, request: Any, context: Any) -> Any:
        return self.core.entities.list(WORKFLOWS, request)

    async def CreateLaunchPlan(self, request: Any, context: Any) -> Any:
        return self.core.entities.create_launch_plan(request)

    async def GetLaunchPlan(self, request: Any, context: Any) -> Any:
        return self.core.entities.get(LAUNCH_PLANS, request)

    async def GetActiveLaunchPlan(self, request: Any, context: Any) -> Any:
        return self.core.entities.get_active_launch_plan(request)

    async def ListActiveLaunchPlans(self, request: Any, context: Any) -> Any:
        return self.core.entities.list_active_launch_plans(request)

    async def ListLaunchPlanIds(self, request: Any, context: Any) -> Any:
        return self.core.entities.list_ids(LAUNCH_PLANS, request)

    async def ListLaunchPlans(self, request: Any, context: Any) -> Any:
        return self.core.entities.list(LAUNCH_PLANS, request)

    async def UpdateLaunchPlan(self, request: Any, context: Any) -> Any:
        return self.core.entities.update_launch_plan(request)

    # -- named entities -------------------------------------------------------------------------------------------
    async def ListNamedEntities(self, request: Any, context: Any) -> Any:
        return self.core.entities.list_named_entities(request)

    async def GetNamedEntity(self, request: Any, context: Any) -> Any:
        return self.core.entities.get_named_entity(request)

    async def UpdateNamedEntity(self, request: Any, context: Any) -> Any:
        return self.core.entities.update_named_entity(request)

    # -- executions -----------------------------------------------------------------------------------------------
    async def CreateExecution(self, request: Any, context: Any) -> Any:
        return await self.core.executions.create(request, principal_of(context))

    async def RelaunchExecution(self, request: Any, context: Any) -> Any:
        return await self.core.executions.relaunch(request, principal_of(context))

    async def RecoverExecution(self, request: Any, context: Any) -> Any:
        return await self.core.executions.recover(request, principal_of(context))

    async def GetExecution(self, request: Any, context: Any) -> Any:
        return self.core.executions.get(request)

    async def UpdateExecution(self, request: Any, context: Any) -> Any:
        return self.core.executions.update(request, principal_of(context))

    async def GetExecutionData(self, request: Any, context: Any) -> Any:
        return self.core.executions.get_data(request)

    async def ListExecutions(self, request: Any, context: Any) -> Any:
        return self.core.executions.list(request)

    async def TerminateExecution(self, request: Any, context: Any) -> Any:
        return await self.core.executions.terminate(request, principal_of(context))

    async def GetExecutionMetrics(self, request: Any, context: Any) -> Any:
        return self.core.executions.metrics(request)

    # -- node / task executions -----------------------------------------------------------------------------------
    async def GetNodeExecution(self, request: Any, context: Any) -> Any:
        return self.core.nodes.get_node(request)

    async def GetDynamicNodeWorkflow(self, request: Any, context: Any) -> Any:
        return self.core.nodes.dynamic_workflow(request)

    async def ListNodeExecutions(self, request: Any, context: Any) -> Any:
        return self.core.nodes.list_nodes(request)

    async def ListNodeExecutionsForTask(self, request: Any, context: Any) -> Any:
        return self.core.nodes.list_nodes_for_task(request)

    async def GetNodeExecutionData(self, request: Any, context: Any) -> Any:
        return self.core.nodes.get_node_data(request)

    async def GetTaskExecution(self, request: Any, context: Any) -> Any:
        return self.core.nodes.get_task(request)

    async def ListTaskExecutions(self, request: Any, context: Any) -> Any:
        return self.core.nodes.list_tasks(request)

    async def GetTaskExecutionData(self, request: Any, context: Any) -> Any:
        return self.core.nodes.get_task_data(request)

    # -- events (flytepropeller's endpoints) ----------------------------------------------------------------------
    async def CreateWorkflowEvent(self, request: Any, context: Any) -> Any:
        await self.core.workflow_event(request.event)
        return event_pb2.WorkflowExecutionEventResponse()

    async def CreateNodeEvent(self, request: Any, context: Any) -> Any:
        await self.core.node_event(request.event)
        return event_pb2.NodeExecutionEventResponse()

    async def CreateTaskEvent(self, request: Any, context: Any) -> Any:
        await self.core.task_event(request.event)
        return event_pb2.TaskExecutionEventResponse()

    # -- projects / domains / version -----------------------------------------------------------------------------
    async def RegisterProject(self, request: Any, context: Any) -> Any:
        return self.core.projects.register(request)

    async def UpdateProject(self, request: Any, context: Any) -> Any:
        return self.core.projects.update(request)

    async def GetProject(self, request: Any, context: Any) -> Any:
        return self.core.projects.get(request)

    async def ListProjects(self, request: Any, context: Any) -> Any:
        return self.core.projects.list(request)

    async def GetDomains(self, request: Any, context: Any) -> Any:
        return self.core.projects.domains()

    async def GetVersion(self, request: Any, context: Any) -> Any:
        out = version_pb2.GetVersionResponse()
        out.control_plane_version.Version = SANDBOX_VERSION
        out.control_plane_version.Build = "sandbox"
        return out

    # -- matchable attributes and description entities: the sandbox stores none ----------------------------------
    async def ListMatchableAttributes(self, request: Any, context: Any) -> Any:
        return matchable_resource_pb2.ListMatchableAttributesResponse()

    async def GetProjectAttributes(self, request: Any, context: Any) -> Any:
        raise not_found(
            f"Resource [{request.project}] of type {request.resource_type} does not exist (the sandbox stores no matchable attributes)"
        )

    async def UpdateProjectAttributes(self, request: Any, context: Any) -> Any:
        return project_attributes_pb2.ProjectAttributesUpdateResponse()

    async def DeleteProjectAttributes(self, request: Any, context: Any) -> Any:
        return project_attributes_pb2.ProjectAttributesDeleteResponse()

    async def GetProjectDomainAttributes(self, request: Any, context: Any) -> Any:
        raise not_found(
            f"Resource [{request.project}/{request.domain}] of type {request.resource_type} does not exist (the "
            "sandbox stores no matchable attributes)"
        )

    async def UpdateProjectDomainAttributes(self, request: Any, context: Any) -> Any:
        return project_domain_attributes_pb2.ProjectDomainAttributesUpdateResponse()

    async def DeleteProjectDomainAttributes(self, request: Any, context: Any) -> Any:
        return project_domain_attributes_pb2.ProjectDomainAttributesDeleteResponse()

    async def GetWorkflowAttributes(self, request: Any, context: Any) -> Any:
        raise not_found(
            f"Resource [{request.project}/{request.domain}/{request.workflow}] of type {request.resource_type} does "
            "not exist (the sandbox stores no matchable attributes)"
        )

    async def UpdateWorkflowAttributes(self, request: Any, context: Any) -> Any:
        return workflow_attributes_pb2.WorkflowAttributesUpdateResponse()

    async def DeleteWorkflowAttributes(self, request: Any, context: Any) -> Any:
        return workflow_attributes_pb2.WorkflowAttributesDeleteResponse()

    async def GetDescriptionEntity(self, request: Any, context: Any) -> Any:
        raise not_found(
            "missing entity of type description entity: the sandbox stores no description entities"
        )

    async def ListDescriptionEntities(self, request: Any, context: Any) -> Any:
        return description_entity_pb2.DescriptionEntityList()


class SignalServicer(signal_pb2_grpc.SignalServiceServicer):  # type: ignore[misc]
    """flyteidl.service.SignalService on the sandbox's admin core."""

    def __init__(self, core: AdminCore) -> None:
        self.core = core

    async def GetOrCreateSignal(self, request: Any, context: Any) -> Any:
        return self.core.signals.get_or_create(request)

    async def ListSignals(self, request: Any, context: Any) -> Any:
        return self.core.signals.list(request)

    async def SetSignal(self, request: Any, context: Any) -> Any:
        return self.core.signals.set(request)


__all__ = ["AdminServicer", "SignalServicer", "common_pb2"]
