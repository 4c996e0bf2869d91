"""Progress reporting: the execution's and its nodes' phases as they change, one log line per change."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airflow_provider_flyte.remote.phases import node_phase_name

_HIDDEN_NODES = frozenset({"start-node", "end-node"})


class Progress:
    """Remembers the last phases seen and turns new observations into log lines."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.phase: str | None = None
        self.nodes: dict[str, str] = {}

    def execution(self, phase: str) -> list[str]:
        """Lines for a change of the execution's phase."""
        if phase == self.phase:
            return []
        before, self.phase = self.phase, phase
        return [f"Flyte execution {self.label}: {before + ' -> ' if before else ''}{phase}"]

    def node_list(self, node_executions: Iterable[Any]) -> list[str]:
        """Lines for node phase changes, from ``NodeExecution`` protos (or objects with ``id``/``closure``)."""
        lines: list[str] = []
        for node in node_executions:
            proto = getattr(node, "proto", node)
            node_id = proto.id.node_id
            if node_id in _HIDDEN_NODES:
                continue
            phase = node_phase_name(int(proto.closure.phase))
            before = self.nodes.get(node_id)
            if before == phase:
                continue
            self.nodes[node_id] = phase
            text = f"Flyte execution {self.label}: node {node_id} {before + ' -> ' if before else ''}{phase}"
            if proto.closure.HasField("error"):
                err = proto.closure.error
                text += f" ({err.code}: {err.message.splitlines()[0] if err.message else ''})"
            lines.append(text)
        return lines


def failing_node(node_executions: Iterable[Any]) -> str | None:
    """The first node that failed (``node_id``, with its error code), from ``NodeExecution`` protos."""
    for node in node_executions:
        proto = getattr(node, "proto", node)
        if proto.id.node_id in _HIDDEN_NODES:
            continue
        phase = node_phase_name(int(proto.closure.phase))
        if phase in ("FAILED", "TIMED_OUT"):
            name = str(proto.id.node_id)
            if proto.metadata.spec_node_id and proto.metadata.spec_node_id != name:
                name = f"{proto.metadata.spec_node_id} ({name})"
            if proto.closure.HasField("error") and proto.closure.error.code:
                name += f" [{proto.closure.error.code}]"
            return name
    return None
