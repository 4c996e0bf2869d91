"""Running registered workflows with flytekit's FlyteRemote and reading what admin recorded."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

PROJECT, DOMAIN = "flytesnacks", "development"
PACKAGE = "fidelity_flows"
#: the package of reference entities (pointing at PACKAGE's entities at VERSION)
REFS_PACKAGE = "fidelity_refs"
#: the version both packages are registered at (each session has a fresh sandbox); fidelity_refs spells it too
VERSION = "fidelity-1"
WAIT = {"timeout": timedelta(seconds=120), "poll_interval": timedelta(seconds=0.2)}
SUCCEEDED, FAILED = 4, 6  # WorkflowExecution.Phase
NODE_SUCCEEDED, NODE_FAILED, NODE_SKIPPED = 3, 5, 7  # NodeExecution.Phase


def entity(name: str) -> str:
    """The registered name of ``fidelity_flows.<name>`` (``fidelity_refs.<name>`` kept as is)."""
    return name if name.startswith(REFS_PACKAGE) else f"{PACKAGE}.{name}"


def run(remote: Any, version: str, workflow: str, **inputs: Any) -> Any:
    """Execute workflow ``fidelity_flows.<name>`` at ``version``, wait for it and sync its nodes."""
    wf = remote.fetch_workflow(name=entity(workflow), version=version)
    execution = remote.wait(remote.execute(wf, inputs=inputs), **WAIT)
    return remote.sync(execution, sync_nodes=True)


def node_records(remote: Any, execution: Any, parent: str | None = None) -> list[tuple[str, str, int]]:
    """``(node id, spec node id, phase)`` of the node executions admin holds under ``parent`` (top level: None),
    in id order."""
    from flyteidl.admin import node_execution_pb2

    request = node_execution_pb2.NodeExecutionListRequest(limit=100, unique_parent_id=parent or "")
    request.workflow_execution_id.CopyFrom(execution.id.to_flyte_idl())
    records = remote.client.list_node_executions_paginated(request).node_executions
    return sorted((r.id.node_id, r.metadata.spec_node_id, r.closure.phase) for r in records)
