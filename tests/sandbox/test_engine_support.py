"""Harness for the engine's unit tests (no tests here).

``Harness`` plays the admin side at the engine's unit boundary: it records every event, answers signal waits
from values the test sets, and runs launch-plan children on the same engine. Workflows are compiled with the
admin's real compiler (``sandbox.admin.compiler``), so the engine sees what it sees in the sandbox.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from flyteidl.admin import execution_pb2 as admin_execution_pb2
from flyteidl.admin import signal_pb2, task_pb2
from flyteidl.core import (
    compiler_pb2,
    identifier_pb2,
    literals_pb2,
    tasks_pb2,
    types_pb2,
    workflow_pb2,
)
from flyteidl.core import execution_pb2 as core_execution_pb2
from flyteidl.event import event_pb2

from airflow_provider_flyte.remote import specs
from airflow_provider_flyte.sandbox.admin.compiler import Resolver, compile_workflow
from airflow_provider_flyte.sandbox.blobstore import BlobStore
from airflow_provider_flyte.sandbox.config import SandboxConfig
from airflow_provider_flyte.sandbox.engine import Engine
from airflow_provider_flyte.sandbox.inprocess import BUILTINS, inprocess_task
from airflow_provider_flyte.sandbox.interfaces import ExecutionJob

WF = core_execution_pb2.WorkflowExecution
NODE = core_execution_pb2.NodeExecution
TASK = core_execution_pb2.TaskExecution
TERMINAL_WF = {WF.SUCCEEDED, WF.FAILED, WF.ABORTED, WF.TIMED_OUT}

P, D = "flytesnacks", "development"
INT = types_pb2.LiteralType(simple=types_pb2.INTEGER)
FLOAT = types_pb2.LiteralType(simple=types_pb2.FLOAT)
STR = types_pb2.LiteralType(simple=types_pb2.STRING)
BOOL = types_pb2.LiteralType(simple=types_pb2.BOOLEAN)


def lit(value: Any) -> literals_pb2.Literal:
    """A primitive literal (int, float, str, bool) or a list/dict of them."""
    out = literals_pb2.Literal()
    if isinstance(value, bool):
        out.scalar.primitive.boolean = value
    elif isinstance(value, int):
        out.scalar.primitive.integer = value
    elif isinstance(value, float):
        out.scalar.primitive.float_value = value
    elif isinstance(value, str):
        out.scalar.primitive.string_value = value
    elif isinstance(value, list):
        out.collection.literals.extend(lit(v) for v in value)
    elif isinstance(value, dict):
        for k, v in value.items():
            out.map.literals[k].CopyFrom(lit(v))
    elif value is None:
        out.scalar.none_type.SetInParent()
    else:
        raise TypeError(value)
    return out


def py(literal: literals_pb2.Literal) -> Any:
    """The Python value of a primitive literal (or list/dict/union of them)."""
    which = literal.WhichOneof("value")
    if which == "collection":
        return [py(x) for x in literal.collection.literals]
    if which == "map":
        return {k: py(v) for k, v in literal.map.literals.items()}
    s = literal.scalar
    if s.WhichOneof("value") == "union":
        return py(s.union.value)
    if s.WhichOneof("value") == "none_type":
        return None
    p = s.primitive
    return getattr(p, p.WhichOneof("value"))


def lmap(**values: Any) -> literals_pb2.LiteralMap:
    m = literals_pb2.LiteralMap()
    for k, v in values.items():
        m.literals[k].CopyFrom(v if isinstance(v, literals_pb2.Literal) else lit(v))
    return m


def alive(pid: int) -> bool:
    """Whether process ``pid`` is running (Linux ``/proc``; a zombie has exited)."""
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def start_task_execution(stub: Any, template: tasks_pb2.TaskTemplate, name: str, inputs: Any) -> None:
    """Register ``template`` and create the single-task execution ``name`` of it (flytesnacks/development) with
    raw AdminService calls on ``stub``."""
    stub.CreateTask(task_pb2.TaskCreateRequest(id=template.id, spec=task_pb2.TaskSpec(template=template)))
    request = admin_execution_pb2.ExecutionCreateRequest(project=P, domain=D, name=name, inputs=inputs)
    request.spec.launch_plan.CopyFrom(template.id)
    stub.CreateExecution(request, timeout=30)


def task(
    name: str, fn: str, inputs: Mapping[str, Any], outputs: Mapping[str, Any], **kw: Any
) -> tasks_pb2.TaskTemplate:
    """An in-process task; ``fn`` is a builtin name or a full ``module:function`` path."""
    path = fn if ":" in fn else f"{BUILTINS}:{fn}"
    return inprocess_task(name, path, inputs, outputs, project=P, domain=D, **kw)


def wf_id(name: str) -> identifier_pb2.Identifier:
    return specs.identifier("WORKFLOW", P, D, name, "v1")


def lp_id(name: str) -> identifier_pb2.Identifier:
    return specs.identifier("LAUNCH_PLAN", P, D, name, "v1")


class Harness:
    """EventSink + SignalSource + ChildLauncher recording everything, around a real Engine."""

    def __init__(self, tmp: Path, **config: Any) -> None:
        config.setdefault("inprocess_modules", ("tests",))  # the tests' own in-process callables
        self.config = SandboxConfig(data_dir=tmp, **config)
        self.blobs = BlobStore(tmp / "blobs")
        self.engine = Engine(self.config, self.blobs, self, self, self)
        self.workflow_events: list[event_pb2.WorkflowExecutionEvent] = []
        self.node_events: list[event_pb2.NodeExecutionEvent] = []
        self.task_events: list[event_pb2.TaskExecutionEvent] = []
        self.signal_requests: list[signal_pb2.SignalGetOrCreateRequest] = []
        self.child_requests: list[admin_execution_pb2.ExecutionCreateRequest] = []
        self.terminated: list[tuple[str, str]] = []
        self.launch_plans: dict[str, compiler_pb2.CompiledWorkflowClosure] = {}
        self._signals: dict[str, asyncio.Future[literals_pb2.Literal]] = {}
        self._done: dict[str, asyncio.Event] = {}
        self._names = itertools.count()

    # ------------------------------------------------------------------ EventSink
    async def workflow_event(self, event: event_pb2.WorkflowExecutionEvent) -> None:
        self.workflow_events.append(event)
        if event.phase in TERMINAL_WF:
            self._event(event.execution_id.name).set()

    async def node_event(self, event: event_pb2.NodeExecutionEvent) -> None:
        self.node_events.append(event)

    async def task_event(self, event: event_pb2.TaskExecutionEvent) -> None:
        self.task_events.append(event)

    # ------------------------------------------------------------------ SignalSource
    async def wait_signal(self, request: signal_pb2.SignalGetOrCreateRequest) -> literals_pb2.Literal:
        self.signal_requests.append(request)
        return await self._signal(request.id.signal_id)

    def _signal(self, signal_id: str) -> asyncio.Future[literals_pb2.Literal]:
        if signal_id not in self._signals:
            self._signals[signal_id] = asyncio.get_running_loop().create_future()
        return self._signals[signal_id]

    def set_signal(self, signal_id: str, value: literals_pb2.Literal) -> None:
        self._signal(signal_id).set_result(value)

    # ------------------------------------------------------------------ ChildLauncher
    async def launch_child(
        self, request: admin_execution_pb2.ExecutionCreateRequest
    ) -> identifier_pb2.WorkflowExecutionIdentifier:
        self.child_requests.append(request)
        closure = self.launch_plans[request.spec.launch_plan.name]
        job = self.job(closure, request.inputs, name=request.name, spec=request.spec)
        await self.engine.start(job)
        return job.execution_id

    async def wait_child(
        self, execution_id: identifier_pb2.WorkflowExecutionIdentifier
    ) -> tuple[admin_execution_pb2.Execution, literals_pb2.LiteralMap | None]:
        await self._event(execution_id.name).wait()
        last = self.workflow(execution_id.name)[-1]
        execution = admin_execution_pb2.Execution(id=execution_id)
        execution.closure.phase = last.phase
        outputs = None
        if last.HasField("error"):
            execution.closure.error.CopyFrom(last.error)
        if last.phase == WF.SUCCEEDED:
            outputs = self.blobs.read_proto(last.output_uri, literals_pb2.LiteralMap)
        return execution, outputs

    async def terminate_child(
        self, execution_id: identifier_pb2.WorkflowExecutionIdentifier, cause: str
    ) -> None:
        self.terminated.append((execution_id.name, cause))
        await self.engine.abort(execution_id, cause)

    # ------------------------------------------------------------------ helpers
    def _event(self, name: str) -> asyncio.Event:
        if name not in self._done:
            self._done[name] = asyncio.Event()
        return self._done[name]

    def compile(
        self,
        template: workflow_pb2.WorkflowTemplate,
        tasks: Iterable[tasks_pb2.TaskTemplate] = (),
        sub_workflows: Iterable[workflow_pb2.WorkflowTemplate] = (),
        launch_plans: Mapping[str, compiler_pb2.CompiledWorkflowClosure] | None = None,
    ) -> compiler_pb2.CompiledWorkflowClosure:
        """Compile with the admin's compiler; ``launch_plans`` (name -> closure) become runnable children."""
        by_key = {(t.id.name, t.id.version): t for t in tasks}
        lps = dict(launch_plans or {})
        self.launch_plans.update(lps)

        def lp_interface(i: identifier_pb2.Identifier) -> tuple[set[str], set[str]]:
            iface = lps[i.name].primary.template.interface
            return set(iface.inputs.variables), set(iface.outputs.variables)

        resolver = Resolver(task=lambda i: by_key[(i.name, i.version)], launch_plan_interface=lp_interface)
        return compile_workflow(template, list(sub_workflows), resolver)  # type: ignore[no-any-return]

    def job(
        self,
        closure: compiler_pb2.CompiledWorkflowClosure,
        inputs: literals_pb2.LiteralMap | None = None,
        name: str | None = None,
        spec: admin_execution_pb2.ExecutionSpec | None = None,
        max_parallelism: int = 0,
    ) -> ExecutionJob:
        name = name or f"e{next(self._names)}"
        if spec is None:
            spec = admin_execution_pb2.ExecutionSpec(launch_plan=lp_id("lp"), max_parallelism=max_parallelism)
        return ExecutionJob(
            execution_id=identifier_pb2.WorkflowExecutionIdentifier(project=P, domain=D, name=name),
            closure=closure,
            inputs=inputs or literals_pb2.LiteralMap(),
            spec=spec,
            metadata_prefix=self.blobs.uri("metadata", P, D, name),
            raw_output_prefix=self.blobs.uri("raw", name),
        )

    async def run(self, job: ExecutionJob, timeout: float = 20.0) -> event_pb2.WorkflowExecutionEvent:
        """Start the job and wait for its terminal workflow event."""
        await self.engine.start(job)
        await asyncio.wait_for(self._event(job.execution_id.name).wait(), timeout)
        return self.workflow(job.execution_id.name)[-1]

    async def execute(
        self,
        template: workflow_pb2.WorkflowTemplate,
        tasks: Iterable[tasks_pb2.TaskTemplate] = (),
        inputs: literals_pb2.LiteralMap | None = None,
        **kw: Any,
    ) -> tuple[event_pb2.WorkflowExecutionEvent, ExecutionJob]:
        closure = self.compile(template, tasks, kw.pop("sub_workflows", ()), kw.pop("launch_plans", None))
        job = self.job(closure, inputs, **kw)
        return await self.run(job), job

    def outputs(self, event: event_pb2.WorkflowExecutionEvent) -> dict[str, Any]:
        assert event.phase == WF.SUCCEEDED, f"{WF.Phase.Name(event.phase)}: {event.error}"
        m = self.blobs.read_proto(event.output_uri, literals_pb2.LiteralMap)
        return {k: py(v) for k, v in m.literals.items()}

    def workflow(self, name: str) -> list[event_pb2.WorkflowExecutionEvent]:
        return [e for e in self.workflow_events if e.execution_id.name == name]

    def wf_phases(self, name: str) -> list[str]:
        return [WF.Phase.Name(e.phase) for e in self.workflow(name)]

    def nodes(self, name: str, node_id: str | None = None) -> list[event_pb2.NodeExecutionEvent]:
        return [
            e
            for e in self.node_events
            if e.id.execution_id.name == name and (node_id is None or e.id.node_id == node_id)
        ]

    def node_phases(self, name: str, node_id: str) -> list[str]:
        return [NODE.Phase.Name(e.phase) for e in self.nodes(name, node_id)]

    def tasks(self, name: str, node_id: str | None = None) -> list[event_pb2.TaskExecutionEvent]:
        return [
            e
            for e in self.task_events
            if e.parent_node_execution_id.execution_id.name == name
            and (node_id is None or e.parent_node_execution_id.node_id == node_id)
        ]

    def task_phases(self, name: str, node_id: str) -> list[tuple[int, str]]:
        return [(e.retry_attempt, TASK.Phase.Name(e.phase)) for e in self.tasks(name, node_id)]
