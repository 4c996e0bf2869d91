"""The flyteidl-free phase tables agree with flyteidl's enums, and the client's "is done" sets with them."""

from __future__ import annotations

from flyteidl.core import execution_pb2

from airflow_provider_flyte.remote import models, phases


def test_tables_match_flyteidl_enums() -> None:
    wf = execution_pb2.WorkflowExecution.Phase
    node = execution_pb2.NodeExecution.Phase
    assert tuple(wf.Name(v) for v in sorted(wf.values())) == phases.WORKFLOW_PHASES
    assert tuple(node.Name(v) for v in sorted(node.values())) == phases.NODE_PHASES


def test_names_and_done_sets() -> None:
    assert phases.workflow_phase_name(4) == "SUCCEEDED" and phases.node_phase_name(7) == "SKIPPED"
    assert phases.workflow_phase_name("RUNNING") == "RUNNING"
    assert phases.workflow_phase_name(99) == "PHASE_99"  # a phase newer than this flyteidl is named, not an error
    assert {phases.workflow_phase_name(p) for p in models.WORKFLOW_DONE_PHASES} == phases.WORKFLOW_TERMINAL
    assert {phases.node_phase_name(p) for p in models.NODE_DONE_PHASES} == phases.NODE_TERMINAL
