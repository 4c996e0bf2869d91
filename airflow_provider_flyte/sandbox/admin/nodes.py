"""Node and task executions (flyteadmin's node/task execution managers) and DataProxy ``GetData`` for flyte:// URLs."""

from __future__ import annotations

import re
from typing import Any

from flyteidl.admin import common_pb2, node_execution_pb2, task_execution_pb2
from flyteidl.core import identifier_pb2
from flyteidl.service import dataproxy_pb2

from airflow_provider_flyte.sandbox.admin.context import AdminContext
from airflow_provider_flyte.sandbox.admin.executions import Executions
from airflow_provider_flyte.sandbox.admin.names import exec_key, fmt, fmt_execution
from airflow_provider_flyte.sandbox.admin.validation import (
    require,
    validate_execution_id,
    validate_node_execution_id,
    validate_task_execution_id,
)
from airflow_provider_flyte.sandbox.errors import invalid, not_found
from airflow_provider_flyte.sandbox.filters import NODE_EXECUTION, TASK_EXECUTION, ListQuery
from airflow_provider_flyte.sandbox.store import Row

_FLYTE_URL_RE = re.compile(
    r"^flyte://v1/(?P<project>[^/]+)/(?P<domain>[^/]+)/(?P<name>[^/]+)/(?P<node>[^/]+)"
    r"(?:/(?P<attempt>\d+))?/(?P<kind>[io])(?:/(?P<literal>[^/]+))?/?$"
)


def _node_id_of(row: Row) -> Any:
    out = identifier_pb2.NodeExecutionIdentifier(node_id=row["node_id"])
    out.execution_id.project = row["execution_project"]
    out.execution_id.domain = row["execution_domain"]
    out.execution_id.name = row["execution_name"]
    out.execution_id.org = row["execution_org"]
    return out


def node_execution_of(row: Row) -> Any:
    out = node_execution_pb2.NodeExecution(id=_node_id_of(row), input_uri=row["input_uri"])
    out.closure.ParseFromString(row["closure"])
    out.metadata.ParseFromString(row["node_execution_metadata"] or b"")
    return out


class Nodes:
    def __init__(self, ctx: AdminContext, executions: Executions) -> None:
        self.ctx = ctx
        self.executions = executions

    # -- node executions -------------------------------------------------------------------------------------------
    def node_row(self, node_id: Any) -> Row:
        row = self.ctx.store.one(
            "SELECT * FROM node_executions WHERE execution_project = ? AND execution_domain = ? AND "
            "execution_name = ? AND node_id = ?",
            (*exec_key(node_id.execution_id), node_id.node_id),
        )
        if row is None:
            raise not_found(
                f"missing entity of type node execution with identifier {node_id.node_id} of "
                f"{fmt_execution(node_id.execution_id)}"
            )
        return row

    def get_node(self, request: Any) -> Any:
        return node_execution_of(self.node_row(validate_node_execution_id(request)))

    def list_nodes(self, request: Any) -> Any:
        execution_id = validate_execution_id(request, "workflow_execution_id")
        self.executions.row(execution_id)
        where = [
            "node_executions.execution_project = ?",
            "node_executions.execution_domain = ?",
            "node_executions.execution_name = ?",
        ]
        params: list[Any] = list(exec_key(execution_id))
        if request.unique_parent_id:
            parent = self.node_row(
                identifier_pb2.NodeExecutionIdentifier(
                    execution_id=execution_id, node_id=request.unique_parent_id
                )
            )
            where.append("node_executions.parent_id = ?")
            params.append(parent["id"])
        else:
            where.append(
                "node_executions.parent_id IS NULL AND node_executions.parent_task_execution_id IS NULL"
            )
        return self._list(request, where, params, "ListNodeExecutions")

    def list_nodes_for_task(self, request: Any) -> Any:
        task_execution_id = validate_task_execution_id(request, "task_execution_id")
        task_row = self.task_row(task_execution_id)
        return self._list(
            request,
            ["node_executions.parent_task_execution_id = ?"],
            [task_row["id"]],
            "ListNodeExecutionsForTask",
        )

    def _list(self, request: Any, where: list[str], params: list[Any], list_name: str) -> Any:
        query = ListQuery.of(
            NODE_EXECUTION,
            list_name,
            request,
            where=where,
            params=params,
        )
        rows, token = self.ctx.page(query)
        out = node_execution_pb2.NodeExecutionList(token=token)
        out.node_executions.extend(node_execution_of(r) for r in rows)
        return out

    def _flyte_urls(self, node_id: Any, attempt: int | None, deck_uri: str) -> Any:
        e = node_id.execution_id
        base = f"flyte://v1/{e.project}/{e.domain}/{e.name}/{node_id.node_id}"
        if attempt is not None:
            base += f"/{attempt}"
        urls = common_pb2.FlyteURLs(inputs=f"{base}/i", outputs=f"{base}/o")
        if deck_uri:
            urls.deck = f"{base}/d"
        return urls

    def get_node_data(self, request: Any) -> Any:
        node_id = validate_node_execution_id(request)
        row = self.node_row(node_id)
        node = node_execution_of(row)
        out = node_execution_pb2.NodeExecutionGetDataResponse()
        out.full_inputs.CopyFrom(self.executions.read_literal_map(row["input_uri"]))
        if node.closure.WhichOneof("output_result") == "output_uri":
            out.full_outputs.CopyFrom(self.executions.read_literal_map(node.closure.output_uri))
        elif node.closure.WhichOneof("output_result") == "output_data":
            out.full_outputs.CopyFrom(node.closure.output_data)
        if row["internal_data"]:
            out.dynamic_workflow.ParseFromString(row["internal_data"])
        out.flyte_urls.CopyFrom(self._flyte_urls(node_id, None, node.closure.deck_uri))
        return out

    def dynamic_workflow(self, request: Any) -> Any:
        """GetDynamicNodeWorkflow: the compiled workflow a dynamic node ran; NOT_FOUND for other nodes."""
        row = self.node_row(validate_node_execution_id(request))
        if not row["internal_data"]:
            raise not_found("node does not contain dynamic workflow")
        dynamic = node_execution_pb2.DynamicWorkflowNodeMetadata.FromString(row["internal_data"])
        return node_execution_pb2.DynamicNodeWorkflowResponse(compiled_workflow=dynamic.compiled_workflow)

    # -- task executions -------------------------------------------------------------------------------------------
    def task_row(self, task_execution_id: Any) -> Row:
        node = task_execution_id.node_execution_id
        row = self.ctx.store.one(
            "SELECT * FROM task_executions WHERE execution_project = ? AND execution_domain = ? AND "
            "execution_name = ? AND node_id = ? AND retry_attempt = ?",
            (*exec_key(node.execution_id), node.node_id, task_execution_id.retry_attempt),
        )
        if row is None:
            raise not_found(f"missing entity of type task execution with identifier {fmt(task_execution_id)}")
        return row

    def task_execution_of(self, row: Row) -> Any:
        out = task_execution_pb2.TaskExecution(input_uri=row["input_uri"])
        out.id.task_id.resource_type = identifier_pb2.TASK
        out.id.task_id.project = row["project"]
        out.id.task_id.domain = row["domain"]
        out.id.task_id.name = row["name"]
        out.id.task_id.version = row["version"]
        out.id.retry_attempt = row["retry_attempt"]
        node = out.id.node_execution_id
        node.node_id = row["node_id"]
        node.execution_id.project = row["execution_project"]
        node.execution_id.domain = row["execution_domain"]
        node.execution_id.name = row["execution_name"]
        out.closure.ParseFromString(row["closure"])
        child = self.ctx.store.one(
            "SELECT 1 FROM node_executions WHERE parent_task_execution_id = ? LIMIT 1", (row["id"],)
        )
        out.is_parent = child is not None
        return out

    def get_task(self, request: Any) -> Any:
        return self.task_execution_of(self.task_row(validate_task_execution_id(request)))

    def list_tasks(self, request: Any) -> Any:
        node_id = validate_node_execution_id(request, "node_execution_id")
        query = ListQuery.of(
            TASK_EXECUTION,
            "ListTaskExecutions",
            request,
            where=[
                "task_executions.execution_project = ?",
                "task_executions.execution_domain = ?",
                "task_executions.execution_name = ?",
                "task_executions.node_id = ?",
            ],
            params=[*exec_key(node_id.execution_id), node_id.node_id],
        )
        rows, token = self.ctx.page(query)
        out = task_execution_pb2.TaskExecutionList(token=token)
        out.task_executions.extend(self.task_execution_of(r) for r in rows)
        return out

    def get_task_data(self, request: Any) -> Any:
        task_execution_id = validate_task_execution_id(request)
        row = self.task_row(task_execution_id)
        closure = task_execution_pb2.TaskExecutionClosure.FromString(row["closure"])
        out = task_execution_pb2.TaskExecutionGetDataResponse()
        out.full_inputs.CopyFrom(self.executions.read_literal_map(row["input_uri"]))
        if closure.WhichOneof("output_result") == "output_uri":
            out.full_outputs.CopyFrom(self.executions.read_literal_map(closure.output_uri))
        elif closure.WhichOneof("output_result") == "output_data":
            out.full_outputs.CopyFrom(closure.output_data)
        out.flyte_urls.CopyFrom(
            self._flyte_urls(task_execution_id.node_execution_id, task_execution_id.retry_attempt, "")
        )
        return out

    # -- DataProxy GetData -----------------------------------------------------------------------------------------
    def get_data(self, flyte_url: str) -> Any:
        """Resolve ``flyte://v1/{project}/{domain}/{exec}/{node}[/{attempt}]/{i|o}[/{name}]`` (inputs or outputs;
        the data proxy answers deck URLs itself)."""
        require(flyte_url, "flyte_url")
        m = _FLYTE_URL_RE.match(flyte_url)
        if m is None:
            raise invalid(
                f"invalid flyte_url {flyte_url!r}: expected flyte://v1/<project>/<domain>/<execution>/<node>"
                "[/<attempt>]/<i|o>[/<name>] (deck URLs are served by the data proxy)"
            )
        node_id = identifier_pb2.NodeExecutionIdentifier(node_id=m["node"])
        node_id.execution_id.project, node_id.execution_id.domain, node_id.execution_id.name = (
            m["project"],
            m["domain"],
            m["name"],
        )
        node_row = self.node_row(node_id)
        if m["attempt"] is not None:
            task = self.ctx.store.one(
                "SELECT * FROM task_executions WHERE execution_project = ? AND execution_domain = ? AND "
                "execution_name = ? AND node_id = ? AND retry_attempt = ?",
                (m["project"], m["domain"], m["name"], m["node"], int(m["attempt"])),
            )
            if task is None:
                raise not_found(
                    f"no task execution attempt {m['attempt']} for node {m['node']} in {flyte_url}"
                )
            closure: Any = task_execution_pb2.TaskExecutionClosure.FromString(task["closure"])
            input_uri = task["input_uri"]
        else:
            closure = node_execution_pb2.NodeExecutionClosure.FromString(node_row["closure"])
            input_uri = node_row["input_uri"]
        out = dataproxy_pb2.GetDataResponse()
        if m["kind"] == "i":
            literal_map = self.executions.read_literal_map(input_uri)
        elif closure.WhichOneof("output_result") == "output_uri":
            literal_map = self.executions.read_literal_map(closure.output_uri)
        elif closure.WhichOneof("output_result") == "output_data":
            literal_map = closure.output_data
        else:
            raise not_found(f"node {m['node']} has no outputs (yet): {flyte_url}")
        if m["literal"] is None:
            out.literal_map.CopyFrom(literal_map)
            return out
        if m["literal"] not in literal_map.literals:
            raise invalid(f"name [{m['literal']}] not found in node execution [{m['node']}]")
        out.literal.CopyFrom(literal_map.literals[m["literal"]])
        return out


__all__ = ["Nodes", "node_execution_of"]
