"""Task runners: what runs a task attempt, and how the engine picks one for a TaskTemplate."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from flyteidl.core import execution_pb2, identifier_pb2, literals_pb2, tasks_pb2

from airflow_provider_flyte.sandbox.inprocess import INPROCESS_TASK_TYPE

if TYPE_CHECKING:
    from airflow_provider_flyte.sandbox.blobstore import BlobStore
    from airflow_provider_flyte.sandbox.config import SandboxConfig
    from airflow_provider_flyte.sandbox.interfaces import ExecutionJob

USER = execution_pb2.ExecutionError.USER
SYSTEM = execution_pb2.ExecutionError.SYSTEM

#: task types run by the flytekit entrypoint in a subprocess
FLYTEKIT_TASK_TYPES = frozenset({"python-task"})


def execution_error(kind: int, code: str, message: str, error_uri: str = "") -> execution_pb2.ExecutionError:
    """An ExecutionError stamped with the current time."""
    from airflow_provider_flyte.sandbox.engine.events import now

    return execution_pb2.ExecutionError(
        kind=kind, code=code, message=message, error_uri=error_uri, timestamp=now()
    )


@dataclass
class TaskRequest:
    """One attempt of a task, as the engine hands it to a runner."""

    job: ExecutionJob
    template: tasks_pb2.TaskTemplate
    node_unique_id: str
    attempt: int
    inputs: literals_pb2.LiteralMap
    input_uri: str
    #: URI prefix of this attempt's outputs (``outputs.pb`` / ``error.pb`` / ``futures.pb`` live below it)
    output_prefix: str
    raw_output_prefix: str
    checkpoint_prefix: str
    prev_checkpoint_prefix: str
    envs: dict[str, str] = field(default_factory=dict)
    interruptible: bool = False

    @property
    def execution_id(self) -> identifier_pb2.WorkflowExecutionIdentifier:
        return self.job.execution_id


@dataclass
class TaskResult:
    """The outcome of a task attempt: outputs, or an error (``recoverable``: a retry may help)."""

    outputs: literals_pb2.LiteralMap | None = None
    #: set when the runner already wrote the outputs (the flytekit entrypoint writes ``outputs.pb`` itself)
    output_uri: str | None = None
    error: execution_pb2.ExecutionError | None = None
    recoverable: bool = False
    logs: list[execution_pb2.TaskLog] = field(default_factory=list)
    #: serialized DynamicJobSpec URI when a dynamic task produced a sub-workflow instead of outputs
    futures_uri: str | None = None

    @classmethod
    def failure(cls, kind: int, code: str, message: str, recoverable: bool = False) -> TaskResult:
        return cls(error=execution_error(kind, code, message), recoverable=recoverable)


OnRunning = Callable[[list[execution_pb2.TaskLog]], Awaitable[None]]


class TaskRunner(Protocol):
    async def run(self, request: TaskRequest, on_running: OnRunning) -> TaskResult:
        """Run one attempt; call ``on_running(logs)`` once the task actually starts (after queueing)."""
        ...


class UnsupportedTaskRunner:
    """Fails at once, naming the task type the sandbox cannot run."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def run(self, request: TaskRequest, on_running: OnRunning) -> TaskResult:
        return TaskResult.failure(SYSTEM, "UnsupportedTaskType", self.reason)


class RunnerRegistry:
    """Chooses the runner of a task template."""

    def __init__(self, config: SandboxConfig, blobs: BlobStore) -> None:
        from airflow_provider_flyte.sandbox.engine.flytekit_runner import FlytekitRunner
        from airflow_provider_flyte.sandbox.engine.inprocess_runner import InProcessRunner
        from airflow_provider_flyte.sandbox.inprocess import CallableAllowList

        allowed = CallableAllowList(config.inprocess_modules, config.task_pythonpath)
        self.inprocess = InProcessRunner(blobs, allowed)
        self.flytekit = FlytekitRunner(config, blobs)

    async def close(self) -> None:
        """Release what runners hold (the warm flytekit task worker)."""
        await self.flytekit.close()

    def for_template(self, template: tasks_pb2.TaskTemplate) -> TaskRunner:
        if template.type == INPROCESS_TASK_TYPE:
            return self.inprocess
        if template.type in FLYTEKIT_TASK_TYPES:
            if template.HasField("container") and template.container.args:
                return self.flytekit
            return UnsupportedTaskRunner(
                f"task type {template.type!r} without a container command cannot run in the sandbox"
            )
        return UnsupportedTaskRunner(
            f"task type {template.type!r} is not supported by the sandbox; it runs {INPROCESS_TASK_TYPE!r} "
            f"tasks in-process and flytekit python tasks ({', '.join(sorted(FLYTEKIT_TASK_TYPES))}) as "
            "local subprocesses"
        )
