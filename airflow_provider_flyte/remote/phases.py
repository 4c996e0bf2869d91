"""Flyte phases by name, without importing flyteidl (the Airflow layer reads them while DAG files are parsed).

The tuples are indexed by the enum numbers of ``core.WorkflowExecution.Phase`` / ``core.NodeExecution.Phase`` (a
test checks them against flyteidl); the terminal sets are flyteadmin's, and the client's "is done" checks use them.
"""

from __future__ import annotations

WORKFLOW_PHASES = (
    "UNDEFINED", "QUEUED", "RUNNING", "SUCCEEDING", "SUCCEEDED", "FAILING", "FAILED", "ABORTED", "TIMED_OUT",
    "ABORTING",
)  # fmt: skip
NODE_PHASES = (
    "UNDEFINED", "QUEUED", "RUNNING", "SUCCEEDED", "FAILING", "FAILED", "ABORTED", "SKIPPED", "TIMED_OUT",
    "DYNAMIC_RUNNING", "RECOVERED",
)  # fmt: skip
#: an execution in one of these will not change any more
WORKFLOW_TERMINAL = frozenset({"SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"})
#: flytekit's "is done" for nodes (flyteadmin's terminal node phases)
NODE_TERMINAL = frozenset({"SUCCEEDED", "FAILED", "ABORTED", "SKIPPED", "TIMED_OUT", "RECOVERED"})


def workflow_phase_name(phase: int | str) -> str:
    """``WorkflowExecution.Phase`` number (or name) -> name, e.g. ``4`` -> ``"SUCCEEDED"``."""
    return _name(WORKFLOW_PHASES, phase)


def node_phase_name(phase: int | str) -> str:
    """``NodeExecution.Phase`` number (or name) -> name."""
    return _name(NODE_PHASES, phase)


def _name(names: tuple[str, ...], phase: int | str) -> str:
    if isinstance(phase, str):
        return phase
    return names[phase] if 0 <= phase < len(names) else f"PHASE_{phase}"
