"""The state shared by every node of one execution, and the small types nodes exchange."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flyteidl.core import compiler_pb2, execution_pb2, identifier_pb2, literals_pb2, tasks_pb2
from flyteidl.event import event_pb2

from airflow_provider_flyte.sandbox.engine.events import Emitter

if TYPE_CHECKING:
    from airflow_provider_flyte.sandbox.blobstore import BlobStore
    from airflow_provider_flyte.sandbox.engine.catalog import Catalog
    from airflow_provider_flyte.sandbox.engine.runners import RunnerRegistry
    from airflow_provider_flyte.sandbox.interfaces import ChildLauncher, ExecutionJob, SignalSource

#: propeller's default budget of retries for system (infrastructure) failures
SYSTEM_RETRIES = 3

IdKey = tuple[str, str, str, str]


def id_key(i: identifier_pb2.Identifier) -> IdKey:
    """Identity of a task/workflow/launch plan irrespective of resource type and org."""
    return (i.project, i.domain, i.name, i.version)


def id_text(i: identifier_pb2.Identifier) -> str:
    return f"{i.project}:{i.domain}:{i.name}:{i.version}"


class NodeFailed(Exception):
    """A node ended without outputs. ``phase`` is the node phase to report (FAILED or TIMED_OUT)."""

    def __init__(
        self,
        error: execution_pb2.ExecutionError,
        phase: int = execution_pb2.NodeExecution.FAILED,
        child_execution: identifier_pb2.WorkflowExecutionIdentifier | None = None,
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.phase = phase
        self.child_execution = child_execution
        #: the deck the failed task wrote (its node event carries it, as propeller's)
        self.deck_uri: str | None = None
        #: the task attempt that failed last (task nodes)
        self.attempt: int | None = None


@dataclass
class NodeSuccess:
    """A node's outputs (``output_uri`` when they are already written)."""

    outputs: literals_pb2.LiteralMap
    output_uri: str | None = None
    child_execution: identifier_pb2.WorkflowExecutionIdentifier | None = None
    #: a task node's metadata for its SUCCEEDED event (cache status, catalog key)
    task_node_metadata: event_pb2.TaskNodeMetadata | None = None
    #: the deck the task wrote (``<attempt output prefix>/deck.html``)
    deck_uri: str | None = None


@dataclass(frozen=True)
class ParentInfo:
    """The parent node of nodes run inside a sub-workflow or a branch."""

    unique_id: str
    attempt: int = 0


@dataclass
class ExecutionState:
    """Everything the nodes of one execution share."""

    job: ExecutionJob
    blobs: BlobStore
    emitter: Emitter
    runners: RunnerRegistry
    signals: SignalSource
    launcher: ChildLauncher
    catalog: Catalog
    tasks: dict[IdKey, tasks_pb2.TaskTemplate] = field(default_factory=dict)
    sub_workflows: dict[IdKey, compiler_pb2.CompiledWorkflow] = field(default_factory=dict)
    parallelism: asyncio.Semaphore | None = None
    envs: dict[str, str] = field(default_factory=dict)
    abort_cause: str | None = None

    @classmethod
    def build(
        cls,
        job: ExecutionJob,
        blobs: BlobStore,
        emitter: Emitter,
        runners: RunnerRegistry,
        signals: SignalSource,
        launcher: ChildLauncher,
        catalog: Catalog,
    ) -> ExecutionState:
        spec = job.spec
        return cls(
            job=job,
            blobs=blobs,
            emitter=emitter,
            runners=runners,
            signals=signals,
            launcher=launcher,
            catalog=catalog,
            tasks={id_key(t.template.id): t.template for t in job.closure.tasks},
            sub_workflows={id_key(w.template.id): w for w in job.closure.sub_workflows},
            parallelism=asyncio.Semaphore(spec.max_parallelism) if spec.max_parallelism > 0 else None,
            envs={kv.key: kv.value for kv in spec.envs.values},
        )

    @property
    def silent(self) -> bool:
        return self.emitter.silent

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """A slot of the execution's max_parallelism (task and launch-plan nodes; no limit when 0)."""
        if self.parallelism is None:
            yield
            return
        async with self.parallelism:
            yield

    def uri(self, *parts: str) -> str:
        """A URI below the execution's metadata prefix."""
        return "/".join([self.job.metadata_prefix.rstrip("/"), *parts])

    def write(self, uri: str, message: literals_pb2.LiteralMap) -> str:
        self.blobs.write_proto(uri, message)
        return uri
