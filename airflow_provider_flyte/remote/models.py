"""Wrappers around flyteidl messages: entities, executions, node/task executions, signals, outputs.

They hold protos and interpret them with pure logic (phase sets, errors, outputs decoding) shared by the sync and
the asyncio client. Methods that need the server (``sync``, ``wait``, ``terminate``, ``relaunch``) delegate to the
client that produced the object; with :class:`~.aio.AsyncFlyteRemote` they return awaitables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flyteidl.admin import execution_pb2 as admin_execution_pb2
from flyteidl.core import execution_pb2, literals_pb2

from airflow_provider_flyte.remote import phases
from airflow_provider_flyte.remote.errors import (
    FlyteAssertionError,
    FlyteError,
    FlyteExecutionFailedError,
    FlyteMissingNameError,
)
from airflow_provider_flyte.remote.phases import node_phase_name, workflow_phase_name

_WF = execution_pb2.WorkflowExecution
_NODE = execution_pb2.NodeExecution
_TASK = execution_pb2.TaskExecution

#: flytekit's "is done" sets (flyteadmin's terminal phases; nodes also end RECOVERED), as enum numbers.
WORKFLOW_DONE_PHASES = frozenset(_WF.Phase.Value(p) for p in phases.WORKFLOW_TERMINAL)
NODE_DONE_PHASES = frozenset(_NODE.Phase.Value(p) for p in phases.NODE_TERMINAL)
#: A task attempt is also over once RETRYABLE_FAILED (a later attempt follows); flytekit leaves that phase out.
TASK_DONE_PHASES = frozenset({_TASK.SUCCEEDED, _TASK.FAILED, _TASK.ABORTED, _TASK.RETRYABLE_FAILED})


def task_phase_name(phase: int) -> str:
    return str(_TASK.Phase.Name(phase))


def closure_error(closure: Any) -> Any:
    """The ``core.ExecutionError`` of an execution/node/task closure, or None."""
    return closure.error if closure.WhichOneof("output_result") == "error" else None


# ------------------------------------------------------------------------------------------------ outputs

#: Decodes one literal: ``(literal, literal_type_or_None, python_type_or_None) -> value``.
Decoder = Callable[[Any, Any, Any], Any]


def default_decoder(literal: Any, literal_type: Any, python_type: Any) -> Any:
    """Decode with the client's codec (imported on first use)."""
    from airflow_provider_flyte.remote.ops.inputs import decode_literal

    return decode_literal(literal, literal_type, python_type)


class LiteralsResolver(Mapping[str, Any]):
    """Named literals (inputs or outputs) decoded to Python on access, like flytekit's ``LiteralsResolver``.

    A read-only mapping of names to decoded values: ``resolver[name]``, ``get(name, as_type=None)`` (``as_type``
    or the type hint given at execute time, else inferred from the Flyte type), ``keys()``/``values()``/
    ``items()``, ``len``, ``in``, iteration over the names, and equality with a dict of the same values
    (``outputs == {"o0": 5}``). ``literals`` holds the protos. A missing name raises an error that is a
    ``KeyError`` as well as the ``ValueError`` / ``AttributeError`` flytekit raises there.
    """

    def __init__(
        self,
        literals: Mapping[str, Any],
        variables: Mapping[str, Any] | None = None,
        type_hints: Mapping[str, Any] | None = None,
        decoder: Decoder = default_decoder,
    ) -> None:
        self._literals = dict(literals)
        self._variables = dict(variables or {})
        self._type_hints = dict(type_hints or {})
        self._decoder = decoder
        self._cache: dict[tuple[str, Any], Any] = {}

    @property
    def literals(self) -> dict[str, Any]:
        """The ``core.Literal`` protos by name."""
        return self._literals

    @property
    def variable_map(self) -> dict[str, Any]:
        return self._variables

    def update_type_hints(self, type_hints: Mapping[str, Any]) -> None:
        self._type_hints.update(type_hints)

    def _missing(self, name: str) -> FlyteMissingNameError:
        return FlyteMissingNameError(f"no output/input named {name!r}; available: {sorted(self._literals)}")

    def get(self, name: str, as_type: Any = None) -> Any:  # type: ignore[override]
        """The value of ``name`` decoded as ``as_type`` (default: the type hint, else inferred)."""
        if name not in self._literals:
            raise self._missing(name)
        python_type = as_type if as_type is not None else self._type_hints.get(name)
        key = (name, python_type)
        try:
            return self._cache[key]
        except (KeyError, TypeError):
            pass
        var = self._variables.get(name)
        value = self._decoder(self._literals[name], var.type if var is not None else None, python_type)
        try:
            self._cache[key] = value
        except TypeError:
            pass
        return value

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._literals

    def __iter__(self) -> Iterator[str]:
        return iter(self._literals)

    def __len__(self) -> int:
        return len(self._literals)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LiteralsResolver):
            return self._literals == other._literals
        if isinstance(other, Mapping):
            return set(self._literals) == set(other) and all(self.get(k) == other[k] for k in self._literals)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def get_literal(self, name: str) -> Any:
        """The ``core.Literal`` of ``name`` (flytekit's ``get_literal``)."""
        if name not in self._literals:
            raise self._missing(name)
        return self._literals[name]

    @property
    def native_values(self) -> dict[str, Any]:
        """The values decoded so far (flytekit's ``native_values``)."""
        return {name: value for (name, _tp), value in self._cache.items()}

    def to_dict(self) -> dict[str, Any]:
        """All values decoded."""
        return {name: self.get(name) for name in self._literals}

    def as_literal_map(self) -> Any:
        return literals_pb2.LiteralMap(literals=self._literals)

    def __repr__(self) -> str:
        return f"LiteralsResolver({sorted(self._literals)})"


# ----------------------------------------------------------------------------------------- closures, specs


def _aware(ts: Any) -> Any:
    from datetime import UTC

    return ts.ToDatetime().replace(tzinfo=UTC)


def _naive(ts: Any) -> Any:
    return ts.ToDatetime()


def _unset_none(convert: Callable[[Any], Any], field: str) -> Callable[[Any], Any]:
    def get(proto: Any) -> Any:
        return convert(getattr(proto, field)) if proto.HasField(field) else None

    return get


class ProtoView:
    """A flyteidl message read as flytekit's model of it: the fields flytekit converts (timestamps to
    ``datetime``, durations to ``timedelta``, wrapped booleans to ``bool``) come converted, every other attribute
    is the message's own. ``proto`` is the message."""

    _converted: Mapping[str, Callable[[Any], Any]] = {}

    def __init__(self, proto: Any) -> None:
        self.proto = proto

    def __getattr__(self, name: str) -> Any:
        convert = type(self)._converted.get(name)
        if convert is not None:
            return convert(self.proto)
        return getattr(self.proto, name)

    def __eq__(self, other: object) -> bool:
        return bool(self.proto == (other.proto if isinstance(other, ProtoView) else other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.proto).strip()!r})"


class ExecutionClosure(ProtoView):
    """``closure`` of a workflow or node execution: ``started_at``/``created_at``/``updated_at`` are UTC
    ``datetime`` s (None when unset, ``started_at`` always set), ``duration`` a ``timedelta``, as flytekit's."""

    _converted = {
        "started_at": lambda p: _aware(p.started_at),
        "duration": lambda p: p.duration.ToTimedelta(),
        "created_at": _unset_none(_aware, "created_at"),
        "updated_at": _unset_none(_aware, "updated_at"),
    }


class TaskExecutionClosure(ProtoView):
    """``closure`` of a task execution: naive UTC ``datetime`` s and a ``timedelta`` ``duration``, as flytekit's."""

    _converted = {
        "started_at": lambda p: _naive(p.started_at),
        "created_at": lambda p: _naive(p.created_at),
        "updated_at": lambda p: _naive(p.updated_at),
        "duration": lambda p: p.duration.ToTimedelta(),
    }


class ExecutionSpec(ProtoView):
    """``spec`` of an execution: ``interruptible`` is ``True``/``False``/``None`` (unset), as flytekit's."""

    _converted = {"interruptible": lambda p: p.interruptible.value if p.HasField("interruptible") else None}


# ----------------------------------------------------------------------------------------------- entities


class _Entity:
    """A registered task / workflow / launch plan (admin proto in ``.proto``)."""

    resource: str = ""

    def __init__(self, proto: Any) -> None:
        self.proto = proto

    @property
    def id(self) -> Any:
        """``core.Identifier``."""
        return self.proto.id

    @property
    def name(self) -> str:
        return str(self.proto.id.name)

    @property
    def version(self) -> str:
        return str(self.proto.id.version)

    @property
    def input_variables(self) -> Mapping[str, Any]:
        """Input name -> ``core.Variable``."""
        raise NotImplementedError

    @property
    def required_inputs(self) -> frozenset[str]:
        return frozenset()

    @property
    def output_variables(self) -> Mapping[str, Any]:
        raise NotImplementedError

    def __repr__(self) -> str:
        i = self.proto.id
        return f"{type(self).__name__}({i.project}:{i.domain}:{i.name}@{i.version})"


class _Compiled(_Entity):
    """A task or workflow: its interface comes from its compiled template."""

    @property
    def closure(self) -> Any:
        return self.proto.closure

    @property
    def template(self) -> Any:
        raise NotImplementedError

    @property
    def interface(self) -> Any:
        return self.template.interface

    @property
    def input_variables(self) -> Mapping[str, Any]:
        return self.interface.inputs.variables  # type: ignore[no-any-return]

    @property
    def output_variables(self) -> Mapping[str, Any]:
        return self.interface.outputs.variables  # type: ignore[no-any-return]


class FlyteTask(_Compiled):
    """A registered task (``admin.Task``)."""

    resource = "task"

    @property
    def template(self) -> Any:
        return self.proto.closure.compiled_task.template

    @property
    def required_inputs(self) -> frozenset[str]:
        return frozenset(self.input_variables)


class FlyteWorkflow(_Compiled):
    """A registered workflow (``admin.Workflow``); executing it runs its default launch plan (same id)."""

    resource = "workflow"

    @property
    def template(self) -> Any:
        return self.proto.closure.compiled_workflow.primary.template


class FlyteLaunchPlan(_Entity):
    """A registered launch plan (``admin.LaunchPlan``)."""

    resource = "launch_plan"

    @property
    def spec(self) -> Any:
        return self.proto.spec

    @property
    def closure(self) -> Any:
        return self.proto.closure

    @property
    def workflow_id(self) -> Any:
        return self.proto.spec.workflow_id

    @property
    def entity_metadata(self) -> Any:
        return self.proto.spec.entity_metadata

    @property
    def is_active(self) -> bool:
        return int(self.proto.closure.state) == 1

    def _parameters(self) -> Mapping[str, Any]:
        expected = self.proto.closure.expected_inputs.parameters
        return expected if len(expected) else self.proto.spec.default_inputs.parameters  # type: ignore[no-any-return]

    @property
    def input_variables(self) -> Mapping[str, Any]:
        return {name: p.var for name, p in self._parameters().items()}

    @property
    def required_inputs(self) -> frozenset[str]:
        return frozenset(name for name, p in self._parameters().items() if p.required)

    @property
    def fixed_inputs(self) -> frozenset[str]:
        return frozenset(self.proto.spec.fixed_inputs.literals)

    @property
    def output_variables(self) -> Mapping[str, Any]:
        return self.proto.closure.expected_outputs.variables  # type: ignore[no-any-return]


Launchable = FlyteTask | FlyteWorkflow | FlyteLaunchPlan


# --------------------------------------------------------------------------------------------- executions


@dataclass
class Options:
    """Per-execution overrides, as flytekit's ``Options``.

    ``raw_output_data_config`` may be a ``RawOutputDataConfig`` proto or an output prefix string;
    ``security_context`` a ``core.SecurityContext``; ``notifications`` a list of ``admin.Notification``.
    """

    labels: Mapping[str, str] | None = None
    annotations: Mapping[str, str] | None = None
    raw_output_data_config: Any = None
    security_context: Any = None
    max_parallelism: int | None = None
    notifications: Sequence[Any] | None = None
    disable_notifications: bool | None = None
    overwrite_cache: bool | None = None

    @classmethod
    def coerce(cls, options: Any) -> Options | None:
        """Ours as it is; flytekit's ``Options`` (``Labels``/``Annotations``/``RawOutputDataConfig``/
        ``SecurityContext``/``Notification`` models) converted by duck typing, without importing flytekit."""
        if options is None or isinstance(options, Options):
            return options
        if not all(hasattr(options, f) for f in ("labels", "annotations", "security_context", "max_parallelism")):
            raise TypeError(f"options must be an Options (ours or flytekit's), got {type(options).__name__}")

        def values(model: Any) -> Mapping[str, str] | None:
            return dict(getattr(model, "values", model)) if model is not None else None

        def idl(model: Any) -> Any:
            return model.to_flyte_idl() if hasattr(model, "to_flyte_idl") else model

        raw = options.raw_output_data_config
        notifications = getattr(options, "notifications", None)
        return cls(
            labels=values(options.labels),
            annotations=values(options.annotations),
            raw_output_data_config=getattr(raw, "output_location_prefix", raw),
            security_context=idl(options.security_context),
            max_parallelism=options.max_parallelism,
            notifications=[idl(n) for n in notifications] if notifications is not None else None,
            disable_notifications=getattr(options, "disable_notifications", None),
            overwrite_cache=getattr(options, "overwrite_cache", None),
        )

    @classmethod
    def default_from(
        cls, k8s_service_account: str | None = None, raw_data_prefix: str | None = None
    ) -> Options:
        """Options with a service account and/or raw output prefix (flytekit's ``Options.default_from``)."""
        from flyteidl.core import security_pb2

        sc = security_pb2.SecurityContext(
            run_as=security_pb2.Identity(k8s_service_account=k8s_service_account)
        )
        return cls(
            raw_output_data_config=raw_data_prefix, security_context=sc if k8s_service_account else None
        )


class _HasClosure:
    proto: Any
    _closure_view: type[ProtoView] = ExecutionClosure

    @property
    def id(self) -> Any:
        return self.proto.id

    @property
    def closure(self) -> Any:
        """The closure (``phase``, ``error``, timestamps as ``datetime``, ``duration`` as ``timedelta``)."""
        return self._closure_view(self.proto.closure)

    @property
    def error(self) -> Any:
        """The ``core.ExecutionError`` once done (None unless it failed); raises while running."""
        self._assert_done("error")
        return closure_error(self.proto.closure)

    @property
    def is_done(self) -> bool:
        raise NotImplementedError

    def _assert_done(self, what: str) -> None:
        if not self.is_done:  # flytekit's wording
            if what == "error":
                raise FlyteAssertionError("Please wait until a workflow has completed before checking for an error.")
            raise FlyteAssertionError(f"Please wait until the execution has completed before requesting the {what}.")


class _HasData(_HasClosure):
    """Inputs/outputs (``LiteralMap`` protos) fetched by a sync."""

    _inputs: Any = None
    _outputs: Any = None
    _type_hints: Mapping[str, Any] | None = None
    _output_variables: Mapping[str, Any] | None = None
    _input_variables: Mapping[str, Any] | None = None
    #: decodes this object's literals (set from the client that synced it: its pickle policy, storage options)
    _decoder: Decoder | None = None

    def _data_decoder(self) -> Decoder:
        return self._decoder or default_decoder

    def _set_data(self, inputs: Any, outputs: Any) -> None:
        if inputs is not None:
            self._inputs = inputs
        if outputs is not None:
            self._outputs = outputs

    @property
    def inputs(self) -> LiteralsResolver:
        """Inputs (loaded by the first sync)."""
        if self._inputs is None:
            raise FlyteAssertionError(f"inputs of {self!r} are not loaded yet: sync it first")
        return LiteralsResolver(self._inputs.literals, self._input_variables, decoder=self._data_decoder())

    @property
    def outputs(self) -> LiteralsResolver:
        """Outputs of a successfully finished execution; raises :class:`FlyteAssertionError` otherwise."""
        self._assert_done("outputs")
        err = closure_error(self.proto.closure)
        if err is not None:
            raise FlyteAssertionError(
                f"Outputs could not be found because the execution ended in failure. Error message: {err.message}"
            )
        if not self.is_successful:
            raise FlyteAssertionError(f"{self!r} did not succeed ({self.phase_name}): it has no outputs")
        if self._outputs is None:
            raise FlyteAssertionError(f"outputs of {self!r} are not loaded yet: sync it first")
        return LiteralsResolver(
            self._outputs.literals, self._output_variables, self._type_hints, decoder=self._data_decoder()
        )

    @property
    def is_successful(self) -> bool:
        raise NotImplementedError

    @property
    def phase_name(self) -> str:
        raise NotImplementedError


class FlyteTaskExecution(_HasData):
    """One attempt of a task node (``admin.TaskExecution``); ``id.retry_attempt`` numbers the attempts."""

    _closure_view = TaskExecutionClosure

    def __init__(self, proto: Any) -> None:
        self.proto = proto

    @property
    def is_done(self) -> bool:
        return self.proto.closure.phase in TASK_DONE_PHASES

    @property
    def is_successful(self) -> bool:
        return bool(self.proto.closure.phase == _TASK.SUCCEEDED)

    @property
    def phase_name(self) -> str:
        return task_phase_name(self.proto.closure.phase)

    @property
    def retry_attempt(self) -> int:
        return int(self.proto.id.retry_attempt)

    def __repr__(self) -> str:
        return f"FlyteTaskExecution({self.proto.id.node_execution_id.node_id}#{self.retry_attempt}, {self.phase_name})"


class FlyteNodeExecution(_HasData):
    """A node execution (``admin.NodeExecution``) with its task executions, subworkflow nodes and child executions."""

    def __init__(self, proto: Any) -> None:
        self.proto = proto
        self.task_executions: list[FlyteTaskExecution] = []
        self.subworkflow_node_executions: dict[str, FlyteNodeExecution] = {}
        self.workflow_executions: list[FlyteWorkflowExecution] = []
        #: whether a sync already loaded everything of this node in a terminal phase (nothing changes any more)
        self._complete = False

    def _update(self, proto: Any) -> None:
        self.proto = proto

    @property
    def metadata(self) -> Any:
        return self.proto.metadata

    @property
    def node_id(self) -> str:
        """The node id in the workflow spec (``metadata.spec_node_id``, else ``id.node_id``)."""
        return str(self.proto.metadata.spec_node_id or self.proto.id.node_id)

    @property
    def is_parent_node(self) -> bool:
        return bool(self.proto.metadata.is_parent_node)

    @property
    def is_dynamic(self) -> bool:
        """A dynamic task's node: it has task attempts and (once the task produced it) child nodes."""
        return bool(self.proto.metadata.is_dynamic)

    @property
    def child_execution_id(self) -> Any:
        """The ``WorkflowExecutionIdentifier`` of the child execution of a launch plan node, else None."""
        meta = self.proto.closure
        if (
            meta.WhichOneof("target_metadata") == "workflow_node_metadata"
            and meta.workflow_node_metadata.executionId.name
        ):
            return meta.workflow_node_metadata.executionId
        return None

    @property
    def is_done(self) -> bool:
        return self.proto.closure.phase in NODE_DONE_PHASES

    @property
    def is_successful(self) -> bool:
        """SUCCEEDED, or RECOVERED (a recovered execution reused the node's outputs from the original one)."""
        return bool(self.proto.closure.phase in (_NODE.SUCCEEDED, _NODE.RECOVERED))

    @property
    def phase_name(self) -> str:
        return node_phase_name(self.proto.closure.phase)

    @property
    def executions(self) -> list[Any]:
        """Task executions, or the child workflow executions (flytekit's ``executions``)."""
        return list(self.task_executions) or list(self.workflow_executions)

    def __repr__(self) -> str:
        return f"FlyteNodeExecution({self.node_id}, {self.phase_name})"


class FlyteWorkflowExecution(_HasData):
    """A workflow execution (``admin.Execution``): ``id`` (``.name``), ``spec``, ``closure`` (``.phase``), state
    checks, ``inputs``/``outputs``, ``node_executions`` after a sync with nodes, and server actions delegated to
    the client that produced it."""

    def __init__(
        self,
        proto: Any,
        *,
        remote: Any = None,
        type_hints: Mapping[str, Any] | None = None,
        output_variables: Mapping[str, Any] | None = None,
        input_variables: Mapping[str, Any] | None = None,
    ) -> None:
        self.proto = proto
        self._remote = remote
        self._type_hints = dict(type_hints or {})
        self._output_variables = output_variables
        self._input_variables = input_variables
        self._node_executions: dict[str, FlyteNodeExecution] | None = None
        #: why the last node sync failed (raised by ``node_executions``); None once a node sync succeeded
        self._node_sync_error: FlyteError | None = None
        #: inputs and (when done) outputs have been loaded
        self._data_complete = False

    def _update(self, proto: Any) -> None:
        self.proto = proto

    def _data_decoder(self) -> Decoder:
        decode = getattr(self._remote, "_decode", None)
        return self._decoder or decode or default_decoder

    @property
    def spec(self) -> Any:
        """The execution spec (``interruptible`` as ``bool``/``None``; every other field the proto's)."""
        return ExecutionSpec(self.proto.spec)

    @property
    def is_done(self) -> bool:
        return self.proto.closure.phase in WORKFLOW_DONE_PHASES

    @property
    def is_successful(self) -> bool:
        return bool(self.proto.closure.phase == _WF.SUCCEEDED)

    @property
    def phase_name(self) -> str:
        """``closure.phase`` by name, e.g. ``"RUNNING"``."""
        return workflow_phase_name(self.proto.closure.phase)

    @property
    def node_executions(self) -> dict[str, FlyteNodeExecution]:
        """Node id -> node execution (top level; start/end nodes left out). Filled by ``sync(sync_nodes=True)``;
        raises the error of a failed node sync (the execution's own phase and outputs are still valid)."""
        if self._node_sync_error is not None:
            raise self._node_sync_error
        return dict(self._node_executions or {})

    @property
    def execution_url(self) -> str:
        """Console URL of this execution."""
        if self._remote is None:
            raise FlyteAssertionError(
                "this execution is not bound to a client; use remote.generate_console_url()"
            )
        return str(self._remote.generate_console_url(self))

    def failure(self) -> FlyteExecutionFailedError | None:
        """A :class:`FlyteExecutionFailedError` describing why the execution did not succeed, or None if it did
        (or is still running)."""
        return execution_failure(self)

    # server actions (delegated) -----------------------------------------------------------------------------
    def _client(self) -> Any:
        if self._remote is None:
            raise FlyteAssertionError("this execution is not bound to a client; use remote.sync(execution)")
        return self._remote

    def sync(self, sync_nodes: bool = False) -> Any:
        """Refresh from the server (returns self; an awaitable with the async client)."""
        return self._client().sync(self, sync_nodes=sync_nodes)

    def wait(self, timeout: Any = None, poll_interval: Any = None, sync_nodes: bool = True) -> Any:
        """Block (or await) until done; see ``FlyteRemote.wait``."""
        return self._client().wait(self, timeout=timeout, poll_interval=poll_interval, sync_nodes=sync_nodes)

    def terminate(self, cause: str = "terminated by user") -> Any:
        """Abort the execution."""
        return self._client().terminate(self, cause)

    def relaunch(self, name: str | None = None, overwrite_cache: bool | None = None) -> Any:
        """Start a new execution with the same spec and inputs."""
        return self._client().relaunch(self, name=name, overwrite_cache=overwrite_cache)

    def recover(self, name: str | None = None) -> Any:
        """Recover this failed execution: rerun it, reusing every node that succeeded (RecoverExecution)."""
        return self._client().recover(self, name=name)

    def __repr__(self) -> str:
        i = self.proto.id
        return f"FlyteWorkflowExecution({i.project}:{i.domain}:{i.name}, {self.phase_name})"


def execution_failure(execution: FlyteWorkflowExecution) -> FlyteExecutionFailedError | None:
    """The failure of a finished, unsuccessful execution as an exception (naming kind, code, message, node)."""
    if not execution.is_done or execution.is_successful:
        return None
    closure = execution.proto.closure
    phase = execution.phase_name
    err = closure_error(closure)
    node_id = next(
        (
            n.node_id
            for n in (execution._node_executions or {}).values()
            if n.proto.closure.phase == _NODE.FAILED
        ),
        None,
    )
    name = execution.proto.id.name
    if err is not None:
        kind = str(execution_pb2.ExecutionError.ErrorKind.Name(err.kind))
        where = f" in node {node_id}" if node_id else ""
        return FlyteExecutionFailedError(
            f"execution {name} {phase}{where}: [{kind}] {err.code}: {err.message}",
            phase=phase,
            kind=kind,
            code=err.code,
            node_id=node_id,
        )
    if closure.WhichOneof("output_result") == "abort_metadata":
        cause = closure.abort_metadata.cause
        return FlyteExecutionFailedError(f"execution {name} {phase}: {cause}", phase=phase, code="Aborted")
    return FlyteExecutionFailedError(f"execution {name} ended {phase}", phase=phase)


# -------------------------------------------------------------------------------------------------- signals


class LiteralTypeView:
    """A ``core.LiteralType`` with flytekit's ``simple_type`` alias of its ``simple`` field (None unless simple);
    every other attribute is the proto's."""

    def __init__(self, proto: Any) -> None:
        self.proto = proto

    @property
    def simple_type(self) -> int | None:
        return int(self.proto.simple) if self.proto.WhichOneof("type") == "simple" else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.proto, name)

    def __eq__(self, other: object) -> bool:
        return bool(self.proto == (other.proto if isinstance(other, LiteralTypeView) else other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LiteralTypeView({str(self.proto).strip()!r})"


class Signal:
    """A signal of a gate node (``admin.Signal``): ``id.signal_id``, ``type`` (``core.LiteralType`` with a
    ``simple_type`` alias), ``value``."""

    def __init__(self, proto: Any) -> None:
        self.proto = proto

    @property
    def id(self) -> Any:
        return self.proto.id

    @property
    def signal_id(self) -> str:
        return str(self.proto.id.signal_id)

    @property
    def type(self) -> LiteralTypeView:
        return LiteralTypeView(self.proto.type)

    @property
    def value(self) -> Any:
        """The ``core.Literal`` set by approve/reject/set_input, or None while unset."""
        return self.proto.value if self.proto.HasField("value") else None

    @property
    def is_set(self) -> bool:
        return bool(self.proto.HasField("value"))

    def __repr__(self) -> str:
        return f"Signal({self.signal_id}, set={self.is_set})"


def local_execution(request: Any, execution_id: Any) -> Any:
    """The ``admin.Execution`` the client knows right after a successful CreateExecution (closure UNDEFINED,
    filled by the next sync), so executing costs no GetExecution."""
    from google.protobuf import timestamp_pb2

    now = timestamp_pb2.Timestamp()
    now.GetCurrentTime()
    closure = admin_execution_pb2.ExecutionClosure(phase=_WF.UNDEFINED, created_at=now, updated_at=now)
    return admin_execution_pb2.Execution(id=execution_id, spec=request.spec, closure=closure)
