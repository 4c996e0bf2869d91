"""The workflow compiler: what flyteadmin does (through propeller's compiler) when a workflow is registered.

``compile_workflow`` checks that every referenced task, launch plan and sub-workflow exists, that node ids are
unique, that bindings reference existing nodes and outputs and that the graph is acyclic; it rewrites workflow
input references (``""``) to ``start-node``, adds the ``start-node``/``end-node`` nodes and the upstream/downstream
connections, and returns a ``CompiledWorkflowClosure`` holding the primary workflow, every sub-workflow and every
referenced task (launch plans are left out, as flyteadmin does). The engine may use it for dynamic workflows too.

Node ids are scoped per (sub)graph, as in propeller's compiler: the nodes of a branch (``then_node``s and
``else_node``, at any depth) are not nodes of the workflow's graph. flytekit numbers them from ``n0`` again, so
the compiler renames each to ``<branch node id>-<its id>`` (propeller's ``branchNodeIDFormatter``; a branch nested
in a branch gets ``n1-n0-n0``...), resolves their bindings against the enclosing workflow's nodes and records their
upstream connections under the new ids, without making them part of the graph whose cycles it checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from flyteidl.core import compiler_pb2, identifier_pb2, workflow_pb2

from airflow_provider_flyte.sandbox.admin.names import END_NODE, START_NODE, fmt
from airflow_provider_flyte.sandbox.errors import SandboxError, invalid

IdKey = tuple[int, str, str, str, str, str]


def id_key(identifier: Any) -> IdKey:
    return (
        identifier.resource_type,
        identifier.project,
        identifier.domain,
        identifier.name,
        identifier.version,
        identifier.org,
    )


class CompileError(Exception):
    """A compile error; becomes INVALID_ARGUMENT "failed to compile workflow for [...]"."""


@dataclass
class Resolver:
    """How the compiler finds referenced entities. Each callable raises SandboxError(NOT_FOUND) when missing."""

    #: task Identifier -> TaskTemplate
    task: Callable[[Any], Any]
    #: launch plan Identifier -> (input names, output names) of its interface; None where it cannot be checked
    launch_plan_interface: Callable[[Any], tuple[set[str] | None, set[str] | None]]


@dataclass
class _Scope:
    """Output variable names of every node visible from a workflow (None = not checked)."""

    outputs: dict[str, set[str] | None] = field(default_factory=dict)


def _children(node: Any) -> Iterator[Any]:
    """Nodes nested inside a branch or array node."""
    target = node.WhichOneof("target")
    if target == "branch_node":
        if_else = node.branch_node.if_else
        if if_else.HasField("case"):
            yield if_else.case.then_node
        for block in if_else.other:
            yield block.then_node
        if if_else.HasField("else_node"):
            yield if_else.else_node
    elif target == "array_node" and node.array_node.HasField("node"):
        yield node.array_node.node


def _walk(nodes: Any) -> Iterator[Any]:
    for node in nodes:
        yield node
        yield from _walk(list(_children(node)))


def _branch_nodes(node: Any) -> Iterator[Any]:
    """The nodes of ``node``'s branch (its cases' ``then_node``s and its ``else_node``) and, recursively, of the
    branches among them."""
    if node.WhichOneof("target") == "branch_node":
        for child in _children(node):
            yield child
            yield from _branch_nodes(child)


def _scope_branch_ids(node: Any) -> None:
    """Rename the nodes of ``node``'s branch to ``<branch id>-<node id>``, depth first (propeller's compiler)."""
    if node.WhichOneof("target") != "branch_node":
        return
    for child in _children(node):
        child.id = f"{node.id}-{child.id}"
        _scope_branch_ids(child)


def _copy(node: Any) -> Any:
    out = workflow_pb2.Node()
    out.CopyFrom(node)
    return out


def _promises(binding_data: Any) -> Iterator[Any]:
    kind = binding_data.WhichOneof("value")
    if kind == "promise":
        yield binding_data.promise
    elif kind == "collection":
        for item in binding_data.collection.bindings:
            yield from _promises(item)
    elif kind == "map":
        for item in binding_data.map.bindings.values():
            yield from _promises(item)


class _Compiler:
    def __init__(self, resolver: Resolver, sub_workflows: dict[IdKey, Any]) -> None:
        self.resolver = resolver
        self.sub_workflows = sub_workflows
        self.tasks: dict[IdKey, Any] = {}
        self.lp_interfaces: dict[IdKey, tuple[set[str] | None, set[str] | None]] = {}

    def task(self, identifier: Any) -> Any:
        key = id_key(identifier)
        if key not in self.tasks:
            if identifier.resource_type != identifier_pb2.TASK:
                raise CompileError(f"task node references {fmt(identifier)}, which is not a task identifier")
            self.tasks[key] = self.resolver.task(identifier)
        return self.tasks[key]

    def lp_interface(self, identifier: Any) -> tuple[set[str] | None, set[str] | None]:
        key = id_key(identifier)
        if key not in self.lp_interfaces:
            self.lp_interfaces[key] = self.resolver.launch_plan_interface(identifier)
        return self.lp_interfaces[key]

    # -- per-node facts -------------------------------------------------------------------------------------------
    def node_io(self, node: Any) -> tuple[set[str] | None, set[str] | None]:
        """(input names, output names) of a node, None where the compiler does not check."""
        target = node.WhichOneof("target")
        if target == "task_node":
            if node.task_node.WhichOneof("reference") != "reference_id":
                raise CompileError(f"task node {node.id} has no reference_id")
            iface = self.task(node.task_node.reference_id).interface
            return set(iface.inputs.variables), set(iface.outputs.variables)
        if target == "workflow_node":
            ref = node.workflow_node.WhichOneof("reference")
            if ref == "launchplan_ref":
                return self.lp_interface(node.workflow_node.launchplan_ref)
            if ref == "sub_workflow_ref":
                sub = self.sub_workflows.get(id_key(node.workflow_node.sub_workflow_ref))
                if sub is None:
                    raise CompileError(
                        f"node {node.id} references sub-workflow {fmt(node.workflow_node.sub_workflow_ref)}, "
                        "which is not among the request's sub_workflows"
                    )
                iface = sub.interface
                return set(iface.inputs.variables), set(iface.outputs.variables)
            raise CompileError(f"workflow node {node.id} references neither a launch plan nor a sub-workflow")
        if target == "gate_node":
            gate = node.gate_node
            kind = gate.WhichOneof("condition")
            if kind == "approve":
                names = {b.var for b in node.inputs}
                return names, names
            if kind == "signal":
                return set(), {
                    gate.signal.output_variable_name
                } if gate.signal.output_variable_name else set()
            if kind == "sleep":
                return set(), set()
            raise CompileError(f"gate node {node.id} has no condition (approve, signal or sleep)")
        if target == "array_node":
            if not node.array_node.HasField("node"):
                raise CompileError(f"array node {node.id} has no sub-node")
            _, outputs = self.node_io(node.array_node.node)
            return None, outputs
        if target == "branch_node":
            if not node.branch_node.if_else.HasField("case"):
                raise CompileError(f"branch node {node.id} has no case")
            return None, None
        raise CompileError(
            f"node {node.id} has no target (task_node, workflow_node, branch_node, gate_node or array_node)"
        )

    # -- one workflow template ------------------------------------------------------------------------------------
    def compile_template(self, template: Any) -> Any:
        wf = workflow_pb2.WorkflowTemplate()
        wf.CopyFrom(template)
        name = fmt(wf.id)
        scope: dict[str, set[str] | None] = {START_NODE: set(wf.interface.inputs.variables)}
        top_ids: list[str] = []
        for node in wf.nodes:
            if not node.id:
                raise CompileError("every node needs an id; found a node without one")
            if node.id in (START_NODE, END_NODE):
                raise CompileError(f"node id {node.id} is reserved")
            if node.id in scope:
                raise CompileError(f"duplicate node id {node.id}")
            scope[node.id] = None
            top_ids.append(node.id)
        for node in wf.nodes:
            _scope_branch_ids(node)
        all_nodes = list(_walk(wf.nodes))
        if wf.HasField("failure_node"):
            all_nodes.extend(_walk([wf.failure_node]))
        for node in all_nodes:
            self.node_io(node)  # resolves every referenced entity (NOT_FOUND early)
        for node in wf.nodes:
            scope[node.id] = self.node_io(node)[1]
        upstream: dict[str, set[str]] = {n: set() for n in top_ids}
        for node in wf.nodes:
            for up in node.upstream_node_ids:
                if up not in scope or up == START_NODE:
                    if up == START_NODE:
                        continue
                    raise CompileError(f"node {node.id} depends on node {up}, which does not exist in {name}")
                upstream[node.id].add(up)
        # (array sub-nodes bind the array node's own inputs: their bindings are checked through the array node)
        for node in wf.nodes:
            upstream[node.id].update(self._check_bindings(node, scope) - {START_NODE})
        # the nodes of branches (and the failure node) read the enclosing workflow's nodes; their upstream
        # connections are recorded apart from the graph
        branch_upstream: dict[str, set[str]] = {}
        for node in wf.nodes:
            for child in _branch_nodes(node):
                branch_upstream[child.id] = self._check_bindings(child, scope)
        if wf.HasField("failure_node"):
            _scope_branch_ids(wf.failure_node)
            for node in (wf.failure_node, *_branch_nodes(wf.failure_node)):
                branch_upstream[node.id] = self._check_bindings(node, scope)
        declared_outputs = set(wf.interface.outputs.variables)
        bound_outputs = set()
        end_upstream: set[str] = set()
        for binding in wf.outputs:
            if binding.var not in declared_outputs:
                raise CompileError(
                    f"workflow output {binding.var} is bound but not declared in the interface"
                )
            bound_outputs.add(binding.var)
            for promise in _promises(binding.binding):
                self._check_promise(promise, scope, f"workflow output {binding.var}")
                end_upstream.add(promise.node_id)
        unbound = declared_outputs - bound_outputs
        if unbound:
            raise CompileError(f"workflow outputs {', '.join(sorted(unbound))} are declared but not bound")
        self._check_acyclic(upstream)
        downstream: dict[str, set[str]] = {n: set() for n in [START_NODE, *top_ids]}
        for node_id, ups in upstream.items():
            if not ups:
                ups.add(START_NODE)
            for up in ups:
                downstream[up].add(node_id)
        leaves = {n for n in top_ids if not downstream[n]}
        end_upstream = (end_upstream | leaves) or {START_NODE}
        upstream[END_NODE] = end_upstream
        for up in end_upstream:
            downstream.setdefault(up, set()).add(END_NODE)
        start = workflow_pb2.Node(id=START_NODE)
        end = workflow_pb2.Node(id=END_NODE)
        end.inputs.extend(wf.outputs)
        nodes = [start, *(_copy(n) for n in wf.nodes), end]
        del wf.nodes[:]
        wf.nodes.extend(nodes)
        compiled = compiler_pb2.CompiledWorkflow(template=wf)
        for node_id, ups in upstream.items():
            compiled.connections.upstream[node_id].ids.extend(sorted(ups))
        for node_id, ups in branch_upstream.items():
            if ups:
                compiled.connections.upstream[node_id].ids.extend(sorted(ups))
        for node_id, downs in downstream.items():
            if downs:
                compiled.connections.downstream[node_id].ids.extend(sorted(downs))
        return compiled

    def _check_bindings(self, node: Any, scope: dict[str, set[str] | None]) -> set[str]:
        """Check ``node``'s input bindings against the nodes of ``scope``; returns the ids of the nodes they read."""
        read: set[str] = set()
        inputs = self.node_io(node)[0]
        for binding in node.inputs:
            if inputs is not None and binding.var not in inputs:
                raise CompileError(
                    f"node {node.id} binds input {binding.var}, which its target does not declare "
                    f"(declared: {', '.join(sorted(inputs)) or 'none'})"
                )
            for promise in _promises(binding.binding):
                self._check_promise(promise, scope, f"input {binding.var} of node {node.id}")
                read.add(promise.node_id)
        return read

    @staticmethod
    def _check_promise(promise: Any, scope: dict[str, set[str] | None], where: str) -> None:
        if promise.node_id == "":
            promise.node_id = START_NODE
        if promise.node_id not in scope:
            raise CompileError(f"{where} references node {promise.node_id}, which does not exist")
        outputs = scope[promise.node_id]
        if outputs is not None and promise.var not in outputs:
            source = "the workflow inputs" if promise.node_id == START_NODE else f"node {promise.node_id}"
            raise CompileError(
                f"{where} references {promise.var} of {source}, which has no such variable "
                f"(available: {', '.join(sorted(outputs)) or 'none'})"
            )

    @staticmethod
    def _check_acyclic(upstream: dict[str, set[str]]) -> None:
        remaining = {n: set(u) - {START_NODE} for n, u in upstream.items()}
        while remaining:
            ready = [n for n, ups in remaining.items() if not ups]
            if not ready:
                raise CompileError(
                    "the workflow graph has a cycle among nodes " + ", ".join(sorted(remaining))
                )
            for n in ready:
                del remaining[n]
            for ups in remaining.values():
                ups.difference_update(ready)


def compile_workflow(template: Any, sub_workflows: list[Any], resolver: Resolver) -> Any:
    """Compile a workflow (and its sub-workflows) into a ``CompiledWorkflowClosure``.

    Raises SandboxError: NOT_FOUND when a referenced task or launch plan does not exist (from the resolver),
    INVALID_ARGUMENT "failed to compile workflow for [...]" for any other problem.
    """
    subs = {id_key(s.id): s for s in sub_workflows}
    compiler = _Compiler(resolver, subs)
    try:
        closure = compiler_pb2.CompiledWorkflowClosure()
        closure.primary.CopyFrom(compiler.compile_template(template))
        for sub in sub_workflows:
            closure.sub_workflows.append(compiler.compile_template(sub))
    except CompileError as exc:
        raise invalid(f"failed to compile workflow for [{fmt(template.id)}] with err {exc}") from None
    except SandboxError:
        raise
    closure.tasks.extend(compiler_pb2.CompiledTask(template=t) for t in compiler.tasks.values())
    return closure
