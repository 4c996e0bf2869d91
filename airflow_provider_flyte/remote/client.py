"""The blocking Flyte client, :class:`FlyteRemote`, and :class:`RemoteBase`, which it shares with the asyncio client.

``RemoteBase`` turns public arguments into sans-IO operations (``remote/ops``) and wraps results; the drivers only
run those operations with their transport. The API follows flytekit's ``FlyteRemote`` ("Executing Flyte
Entities"): fetch entities, ``execute``, ``sync``/``wait``, signals, backfill, upload and download.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

from airflow_provider_flyte.remote import names as _names
from airflow_provider_flyte.remote.auth import create_authenticator
from airflow_provider_flyte.remote.config import SANDBOX_ENDPOINT, Config, PlatformConfig
from airflow_provider_flyte.remote.console import console_base_url, entity_url, execution_url
from airflow_provider_flyte.remote.errors import FlyteInvalidInputError, FlyteTimeoutError
from airflow_provider_flyte.remote.models import (
    FlyteLaunchPlan,
    FlyteTask,
    FlyteWorkflow,
    FlyteWorkflowExecution,
    Launchable,
    LiteralsResolver,
    Options,
    Signal,
)
from airflow_provider_flyte.remote.ops import backfill as backfill_ops
from airflow_provider_flyte.remote.ops import entities as entity_ops
from airflow_provider_flyte.remote.ops import executions as exec_ops
from airflow_provider_flyte.remote.ops import files as file_ops
from airflow_provider_flyte.remote.ops import signals as signal_ops
from airflow_provider_flyte.remote.ops.call import Op
from airflow_provider_flyte.remote.ops.entities import LAUNCH_PLAN, TASK, WORKFLOW
from airflow_provider_flyte.remote.transport import RpcStats, SyncTransport

T = TypeVar("T")

#: Entity references ``execute`` accepts: a fetched entity, a launch plan name, or a ``core.Identifier``.
EntityRef = Launchable | str | Any
DEFAULT_POLL_CEILING = 5.0
FIRST_POLL = 0.02


def _seconds(value: float | timedelta | None) -> float | None:
    if value is None:
        return None
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class WaitClock:
    """When to poll and when to give up, shared by both clients' ``wait``: a fixed ``poll_interval``, or
    (default) polls starting at 20 ms and growing 1.5x up to 5 s."""

    def __init__(self, timeout: float | timedelta | None, poll_interval: float | timedelta | None) -> None:
        t = _seconds(timeout)
        self.deadline = None if t is None else time.monotonic() + t
        self.fixed = _seconds(poll_interval)
        self._next = self.fixed if self.fixed is not None else FIRST_POLL

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def next_sleep(self) -> float:
        """Seconds to sleep before the next poll (never past the deadline)."""
        sleep = self._next
        if self.fixed is None:
            self._next = min(self._next * 1.5, DEFAULT_POLL_CEILING)
        if self.deadline is not None:
            sleep = max(0.0, min(sleep, self.deadline - time.monotonic()))
        return sleep

    @staticmethod
    def timeout_error(execution: FlyteWorkflowExecution) -> FlyteTimeoutError:
        return FlyteTimeoutError(f"Execution {execution!r} did not complete before timeout.")


class RemoteBase:
    """Configuration, defaults, entity cache and the argument -> operation logic of both clients."""

    def __init__(
        self,
        config: Config | PlatformConfig | None = None,
        default_project: str | None = None,
        default_domain: str | None = None,
        data_upload_location: str = "flyte://my-s3-bucket/",
        *,
        allow_pickle: bool = False,
    ) -> None:
        if config is None:
            config = Config.auto()
        elif isinstance(config, PlatformConfig):
            config = Config(platform=config)
        self.config: Config = config
        self.default_project = default_project
        self.default_domain = default_domain
        self.data_upload_location = data_upload_location
        self.allow_pickle = allow_pickle
        self._auth = create_authenticator(config.platform)
        self._stats = RpcStats()
        self._cache: entity_ops.EntityCache = {}
        self._console_base = console_base_url(config.platform)

    # constructors ----------------------------------------------------------------------------------------------
    @classmethod
    def for_endpoint(
        cls,
        endpoint: str,
        insecure: bool = False,
        default_project: str | None = None,
        default_domain: str | None = None,
        **platform_kwargs: Any,
    ) -> Any:
        """Client for ``endpoint`` (``host[:port]``); keyword arguments are :class:`PlatformConfig` fields."""
        return cls(
            Config.for_endpoint(endpoint, insecure, **platform_kwargs), default_project, default_domain
        )

    @classmethod
    def auto(
        cls,
        config_file: str | os.PathLike[str] | None = None,
        default_project: str | None = None,
        default_domain: str | None = None,
        **platform_overrides: Any,
    ) -> Any:
        """Client configured from ``FLYTE_*`` env vars and the flytectl/flytekit config file."""
        return cls(Config.auto(config_file, **platform_overrides), default_project, default_domain)

    @classmethod
    def for_sandbox(
        cls,
        endpoint: str = SANDBOX_ENDPOINT,
        default_project: str | None = "flytesnacks",
        default_domain: str | None = "development",
        **platform_kwargs: Any,
    ) -> Any:
        """Client for a local sandbox (plaintext, no auth), defaulting to flytesnacks/development."""
        return cls(Config.for_sandbox(endpoint, **platform_kwargs), default_project, default_domain)

    # properties ------------------------------------------------------------------------------------------------
    @property
    def rpc_stats(self) -> RpcStats:
        """RPC attempts made by this client (retries included), by method."""
        return self._stats

    @property
    def rpc_count(self) -> int:
        """Total RPC attempts made by this client."""
        return self._stats.calls

    def _pd(self, project: str | None, domain: str | None) -> tuple[str, str]:
        p = project or self.default_project
        d = domain or self.default_domain
        if not p or not d:
            raise FlyteInvalidInputError(
                f"project and domain are required (got {p!r}, {d!r}): pass them or set default_project/default_domain"
            )
        return p, d

    def _exec_id(
        self, execution: FlyteWorkflowExecution | str | Any, project: str | None, domain: str | None
    ) -> Any:
        if isinstance(execution, FlyteWorkflowExecution):
            return execution.proto.id
        if isinstance(execution, str):
            return exec_ops.execution_id(*self._pd(project, domain), execution)
        return execution  # a WorkflowExecutionIdentifier

    def generate_console_url(self, entity: FlyteWorkflowExecution | Launchable | Any) -> str:
        """Console URL of an execution, task, workflow or launch plan (or of their identifiers)."""
        if isinstance(entity, FlyteWorkflowExecution):
            return execution_url(self._console_base, entity.proto.id)
        if isinstance(entity, FlyteTask | FlyteWorkflow | FlyteLaunchPlan):
            return entity_url(self._console_base, entity.id)
        if hasattr(entity, "resource_type"):
            return entity_url(self._console_base, entity)
        return execution_url(self._console_base, entity)

    def _wrap(
        self, proto: Any, target: Launchable | None = None, type_hints: Mapping[str, Any] | None = None
    ) -> FlyteWorkflowExecution:
        return FlyteWorkflowExecution(
            proto,
            remote=self,
            type_hints=type_hints,
            output_variables=target.output_variables if target is not None else None,
            input_variables=target.input_variables if target is not None else None,
        )

    # operation builders ----------------------------------------------------------------------------------------
    def _fetch_op(
        self,
        resource_type: int,
        project: str | None,
        domain: str | None,
        name: str,
        version: str | None,
        refresh: bool = False,
    ) -> Op[Launchable]:
        p, d = self._pd(project, domain)
        return entity_ops.fetch_entity(resource_type, p, d, name, version, self._cache, refresh=refresh)

    def _entity_op(
        self, entity: EntityRef, project: str | None, domain: str | None, version: str | None
    ) -> Launchable | Op[Launchable]:
        if isinstance(entity, FlyteTask | FlyteWorkflow | FlyteLaunchPlan):
            return entity
        if isinstance(entity, str):
            return self._fetch_op(LAUNCH_PLAN, project, domain, entity, version)
        if hasattr(entity, "resource_type") and int(entity.resource_type) in (TASK, WORKFLOW, LAUNCH_PLAN):
            return self._fetch_op(
                int(entity.resource_type),
                entity.project or project,
                entity.domain or domain,
                entity.name,
                entity.version or version,
            )
        raise FlyteInvalidInputError(
            f"cannot execute {type(entity).__name__}: pass a fetched FlyteLaunchPlan/FlyteTask/FlyteWorkflow, a launch "
            "plan name, or a core.Identifier (local flytekit entities must be registered first)"
        )

    def _codec_context(self, upload: Callable[[str], str]) -> Any:
        from airflow_provider_flyte.remote.codec.context import CodecContext

        return CodecContext(upload=upload, allow_pickle=self.allow_pickle)

    def _blocking_upload(self, project: str, domain: str) -> Callable[[str], str]:
        """``local path -> remote URI`` for the codec; called from a worker thread by the async client."""
        raise NotImplementedError

    def _upload_path_op(self, local: str, project: str, domain: str) -> Op[str]:
        """Upload a file, or every file of a directory under one root; return the remote URI."""
        from airflow_provider_flyte.remote import files

        path = Path(local)
        platform = self.config.platform

        def put(url: str, p: Path, md5: bytes, headers: dict[str, str]) -> None:
            files.http_put_file(platform, url, p, md5, headers)

        if path.is_file():
            _md5, native = yield from file_ops.upload_file(path, project, domain, None, files.hash_file, put)
            return native
        if not path.is_dir():
            raise FlyteInvalidInputError(f"{local!r} is neither a file nor a directory: cannot upload it")
        members = files.directory_files(path)
        root = files.directory_root_name([files.hash_file(m)[0] for m in members])
        native = ""
        for member in members:
            rel = member.relative_to(path)
            _md5, native = yield from file_ops.upload_file(
                member, project, domain, f"{root}/{rel.parent.as_posix()}".rstrip("/."), files.hash_file, put
            )
        if not native:
            raise FlyteInvalidInputError(f"directory {local!r} is empty: nothing to upload")
        depth = len(members[-1].relative_to(path).parts)
        return native.rsplit("/", depth)[0]

    def _request_builder(
        self,
        inputs: Mapping[str, Any] | None,
        *,
        project: str | None,
        domain: str | None,
        execution_name: str | None,
        execution_name_prefix: str | None,
        type_hints: Mapping[str, Any] | None,
        options: Options | None,
        overwrite_cache: bool | None,
        interruptible: bool | None,
        envs: Mapping[str, str] | None,
        tags: Sequence[str] | None,
        cluster_pool: str | None,
        execution_cluster_label: str | None,
    ) -> Callable[[FlyteTask | FlyteLaunchPlan], Any]:
        """Validate names now; return the step that converts inputs and builds the ExecutionCreateRequest."""
        from airflow_provider_flyte.remote.ops.inputs import convert_inputs

        name = _names.resolve_execution_name(execution_name, execution_name_prefix)
        p, d = self._pd(project, domain)

        def build(target: FlyteTask | FlyteLaunchPlan) -> Any:
            ctx = self._codec_context(self._blocking_upload(p, d))
            literals = convert_inputs(target, inputs, type_hints, ctx)
            return exec_ops.build_execution_request(
                target,
                literals,
                project=p,
                domain=d,
                name=name,
                options=options,
                overwrite_cache=overwrite_cache,
                interruptible=interruptible,
                envs=envs,
                tags=tags,
                cluster_pool=cluster_pool,
                execution_cluster_label=execution_cluster_label,
            )

        return build

    def _execute_op(
        self,
        entity: EntityRef,
        inputs: Mapping[str, Any] | None = None,
        project: str | None = None,
        domain: str | None = None,
        name: str | None = None,
        version: str | None = None,
        execution_name: str | None = None,
        execution_name_prefix: str | None = None,
        options: Options | None = None,
        type_hints: Mapping[str, Any] | None = None,
        overwrite_cache: bool | None = None,
        interruptible: bool | None = None,
        envs: Mapping[str, str] | None = None,
        tags: Sequence[str] | None = None,
        cluster_pool: str | None = None,
        execution_cluster_label: str | None = None,
    ) -> Op[tuple[Any, Launchable]]:
        if name is not None and isinstance(entity, str):
            raise FlyteInvalidInputError("give the launch plan name either as entity or as name=, not both")
        ref = name if (name is not None and entity is None) else entity
        build = self._request_builder(
            inputs,
            project=project,
            domain=domain,
            execution_name=execution_name,
            execution_name_prefix=execution_name_prefix,
            type_hints=type_hints,
            options=options,
            overwrite_cache=overwrite_cache,
            interruptible=interruptible,
            envs=envs,
            tags=tags,
            cluster_pool=cluster_pool,
            execution_cluster_label=execution_cluster_label,
        )
        return exec_ops.execute(self._entity_op(ref, project, domain, version), build, self._cache)

    def _register_task_op(
        self, spec: Any, project: str | None, domain: str | None, name: str | None, version: str | None
    ) -> Op[Launchable]:
        from flyteidl.admin import task_pb2

        if not isinstance(spec, task_pb2.TaskSpec):
            spec = task_pb2.TaskSpec(template=spec)
        task_id = self._registration_id(TASK, spec.template.id, project, domain, name, version)
        spec.template.id.CopyFrom(task_id)
        return self._register_then_fetch(TASK, task_id, spec)

    def _register_workflow_op(
        self,
        spec: Any,
        project: str | None,
        domain: str | None,
        name: str | None,
        version: str | None,
        default_launch_plan: bool,
    ) -> Op[Launchable]:
        from flyteidl.admin import workflow_pb2

        from airflow_provider_flyte.remote import specs

        if not isinstance(spec, workflow_pb2.WorkflowSpec):
            spec = workflow_pb2.WorkflowSpec(template=spec)
        wf_id = self._registration_id(WORKFLOW, spec.template.id, project, domain, name, version)
        spec.template.id.CopyFrom(wf_id)

        def op() -> Op[Launchable]:
            yield from entity_ops.register_entity(WORKFLOW, wf_id, spec)
            if default_launch_plan:
                lp_id = specs.identifier(
                    "LAUNCH_PLAN", wf_id.project, wf_id.domain, wf_id.name, wf_id.version
                )
                yield from entity_ops.register_entity(LAUNCH_PLAN, lp_id, specs.launch_plan_spec(wf_id))
            entity = yield from entity_ops.fetch_entity(
                WORKFLOW, wf_id.project, wf_id.domain, wf_id.name, wf_id.version, self._cache
            )
            return entity

        return op()

    def _register_launch_plan_op(
        self, spec: Any, name: str, project: str | None, domain: str | None, version: str | None
    ) -> Op[Launchable]:
        ref = spec.workflow_id
        lp_id = self._registration_id(LAUNCH_PLAN, ref, project, domain, name, version or ref.version)
        return self._register_then_fetch(LAUNCH_PLAN, lp_id, spec)

    def _registration_id(
        self,
        resource_type: int,
        given: Any,
        project: str | None,
        domain: str | None,
        name: str | None,
        version: str | None,
    ) -> Any:
        p, d = self._pd(project or given.project or None, domain or given.domain or None)
        n = name or given.name
        v = version or given.version
        if not n or not v:
            raise FlyteInvalidInputError(
                "registration needs a name and a version (in the spec or as arguments)"
            )
        return entity_ops.identifier(resource_type, p, d, n, v)

    def _register_then_fetch(self, resource_type: int, entity_id: Any, spec: Any) -> Op[Launchable]:
        yield from entity_ops.register_entity(resource_type, entity_id, spec)
        entity = yield from entity_ops.fetch_entity(
            resource_type, entity_id.project, entity_id.domain, entity_id.name, entity_id.version, self._cache
        )
        return entity

    def _set_input_op(
        self,
        signal_id: str,
        execution_name: Any,
        value: Any,
        project: str | None,
        domain: str | None,
        python_type: Any,
        literal_type: Any,
    ) -> Op[None]:
        from airflow_provider_flyte.remote.ops.inputs import convert_value

        exec_id = self._exec_id(execution_name, project, domain)
        p, d = exec_id.project, exec_id.domain

        def convert(lt: Any) -> Any:
            return convert_value(value, lt, python_type, self._codec_context(self._blocking_upload(p, d)))

        return signal_ops.set_typed_signal(exec_id, signal_id, literal_type, convert)

    def _backfill_op(
        self,
        project: str | None,
        domain: str | None,
        from_date: datetime,
        to_date: datetime,
        launchplan: str,
        launchplan_version: str | None,
        execution_name: str | None,
        version: str | None,
        dry_run: bool,
        execute: bool,
        parallel: bool,
        failure_policy: str | int | None,
        overwrite_cache: bool | None,
    ) -> Op[Any]:
        build = self._request_builder(
            None,
            project=project,
            domain=domain,
            execution_name=execution_name,
            execution_name_prefix=None,
            type_hints=None,
            options=None,
            overwrite_cache=overwrite_cache,
            interruptible=None,
            envs=None,
            tags=None,
            cluster_pool=None,
            execution_cluster_label=None,
        )
        p, d = self._pd(project, domain)
        return backfill_ops.launch_backfill(
            p,
            d,
            from_date,
            to_date,
            launchplan,
            launchplan_version,
            version=version,
            dry_run=dry_run,
            execute_it=execute,
            parallel=parallel,
            failure_policy=failure_policy,
            make_request=build,
            cache=self._cache,
        )

    def _backfill_result(self, result: Any) -> Any:
        if isinstance(result, tuple):
            proto, target = result
            return self._wrap(proto, target)
        return result

    def _download_targets(self, data: Any) -> Mapping[str, Any] | Any:
        if isinstance(data, LiteralsResolver):
            return data.literals
        if hasattr(data, "literals") and not hasattr(data, "scalar"):
            return dict(data.literals)
        return data


class FlyteRemote(RemoteBase):
    """Blocking Flyte client (drop-in for flytekit's ``FlyteRemote`` for fetched entities).

    ``FlyteRemote(config, default_project=None, default_domain=None)``; ``config`` is a :class:`Config` or a
    :class:`PlatformConfig` (default: :meth:`Config.auto`). Thread-safe; close it (or use it as a context
    manager) to release the channel.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._transport = SyncTransport(self.config.platform, self._auth, self._stats)

    def _run(self, op: Op[T]) -> T:
        return cast(T, self._transport.run(op))

    def _blocking_upload(self, project: str, domain: str) -> Callable[[str], str]:
        def upload(local: str) -> str:
            return str(self._run(self._upload_path_op(local, project, domain)))

        return upload

    def close(self) -> None:
        """Close the gRPC channel."""
        self._transport.close()

    def __enter__(self) -> FlyteRemote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # entities --------------------------------------------------------------------------------------------------
    def fetch_task(
        self,
        project: str | None = None,
        domain: str | None = None,
        name: str | None = None,
        version: str | None = None,
    ) -> FlyteTask:
        """A registered task (the latest version when ``version`` is None)."""
        return cast(
            FlyteTask,
            self._run(self._fetch_op(TASK, project, domain, _required(name, "name"), version, refresh=True)),
        )

    def fetch_workflow(
        self,
        project: str | None = None,
        domain: str | None = None,
        name: str | None = None,
        version: str | None = None,
    ) -> FlyteWorkflow:
        """A registered workflow (the latest version when ``version`` is None)."""
        return cast(
            FlyteWorkflow,
            self._run(
                self._fetch_op(WORKFLOW, project, domain, _required(name, "name"), version, refresh=True)
            ),
        )

    def fetch_launch_plan(
        self,
        project: str | None = None,
        domain: str | None = None,
        name: str | None = None,
        version: str | None = None,
    ) -> FlyteLaunchPlan:
        """A registered launch plan (the latest version when ``version`` is None)."""
        return cast(
            FlyteLaunchPlan,
            self._run(
                self._fetch_op(LAUNCH_PLAN, project, domain, _required(name, "name"), version, refresh=True)
            ),
        )

    def register_task(
        self,
        spec: Any,
        *,
        project: str | None = None,
        domain: str | None = None,
        name: str | None = None,
        version: str | None = None,
    ) -> FlyteTask:
        """Register a ``TaskSpec`` / ``TaskTemplate`` (id from the template, overridable). Identical re-registration
        is a no-op; different content under the same version raises :class:`FlyteRegistrationError`."""
        return cast(FlyteTask, self._run(self._register_task_op(spec, project, domain, name, version)))

    def register_workflow(
        self,
        spec: Any,
        *,
        project: str | None = None,
        domain: str | None = None,
        name: str | None = None,
        version: str | None = None,
        default_launch_plan: bool = True,
    ) -> FlyteWorkflow:
        """Register a ``WorkflowSpec`` / ``WorkflowTemplate`` and (by default) its default launch plan."""
        op = self._register_workflow_op(spec, project, domain, name, version, default_launch_plan)
        return cast(FlyteWorkflow, self._run(op))

    def register_launch_plan(
        self,
        spec: Any,
        name: str,
        *,
        project: str | None = None,
        domain: str | None = None,
        version: str | None = None,
    ) -> FlyteLaunchPlan:
        """Register a ``LaunchPlanSpec`` as ``name`` (version defaults to the workflow's)."""
        return cast(
            FlyteLaunchPlan, self._run(self._register_launch_plan_op(spec, name, project, domain, version))
        )

    def activate_launch_plan(self, launch_plan: FlyteLaunchPlan | Any, active: bool = True) -> None:
        """Make this launch plan version the active one of its name (schedules run for active versions)."""
        lp_id = launch_plan.id if isinstance(launch_plan, FlyteLaunchPlan) else launch_plan
        self._run(entity_ops.set_launch_plan_state(lp_id, active))

    # executions ------------------------------------------------------------------------------------------------
    def execute(
        self,
        entity: EntityRef,
        inputs: Mapping[str, Any] | None = None,
        project: str | None = None,
        domain: str | None = None,
        name: str | None = None,
        version: str | None = None,
        execution_name: str | None = None,
        execution_name_prefix: str | None = None,
        image_config: Any = None,
        options: Options | None = None,
        wait: bool = False,
        type_hints: Mapping[str, Any] | None = None,
        overwrite_cache: bool | None = None,
        interruptible: bool | None = None,
        envs: Mapping[str, str] | None = None,
        tags: Sequence[str] | None = None,
        cluster_pool: str | None = None,
        execution_cluster_label: str | None = None,
        serialization_settings: Any = None,
    ) -> FlyteWorkflowExecution:
        """Start an execution of a launch plan, task or workflow (its default launch plan).

        ``entity`` is a fetched entity, a launch plan name (latest version unless ``version``) or a
        ``core.Identifier``. Inputs are converted with the entity's interface before any RPC. The execution gets
        ``execution_name``, ``f"{execution_name_prefix}-<19 random>"`` or a generated name; if an execution with
        that name exists it is returned instead. ``image_config``/``serialization_settings`` are accepted for
        flytekit compatibility (they only matter for local entities, which must be registered first).
        """
        proto, target = self._run(
            self._execute_op(
                entity,
                inputs,
                project,
                domain,
                name,
                version,
                execution_name,
                execution_name_prefix,
                options,
                type_hints,
                overwrite_cache,
                interruptible,
                envs,
                tags,
                cluster_pool,
                execution_cluster_label,
            )
        )
        execution = self._wrap(proto, target, type_hints)
        return self.wait(execution) if wait else execution

    def fetch_execution(
        self, project: str | None = None, domain: str | None = None, name: str | None = None
    ) -> FlyteWorkflowExecution:
        """An execution by name, synced (closure, inputs; outputs when done)."""
        execution = self._wrap(
            exec_ops._bare_execution(self._exec_id(_required(name, "name"), project, domain))
        )
        return self.sync(execution)

    def sync(
        self, execution: FlyteWorkflowExecution, entity_definition: Any = None, sync_nodes: bool = False
    ) -> FlyteWorkflowExecution:
        """Refresh an execution in place (and its node executions with ``sync_nodes``); returns it."""
        execution._remote = execution._remote or self
        return self._run(exec_ops.sync_execution(execution, sync_nodes))

    sync_execution = sync

    def wait(
        self,
        execution: FlyteWorkflowExecution,
        timeout: float | timedelta | None = None,
        poll_interval: float | timedelta | None = None,
        sync_nodes: bool = True,
    ) -> FlyteWorkflowExecution:
        """Poll until the execution is done (then sync its nodes if ``sync_nodes``); raise
        :class:`FlyteTimeoutError` after ``timeout``."""
        clock = WaitClock(timeout, poll_interval)
        while True:
            self.sync(execution)
            if execution.is_done:
                return self.sync(execution, sync_nodes=True) if sync_nodes else execution
            if clock.expired():
                raise clock.timeout_error(execution)
            time.sleep(clock.next_sleep())

    def terminate(
        self,
        execution: FlyteWorkflowExecution | str | Any,
        cause: str = "terminated by user",
        project: str | None = None,
        domain: str | None = None,
    ) -> None:
        """Abort an execution (FAILED_PRECONDITION if it already finished)."""
        self._run(exec_ops.terminate(self._exec_id(execution, project, domain), cause))

    def relaunch(
        self,
        execution: FlyteWorkflowExecution | str | Any,
        name: str | None = None,
        overwrite_cache: bool | None = None,
        project: str | None = None,
        domain: str | None = None,
    ) -> FlyteWorkflowExecution:
        """A new execution with the same spec and inputs (client-chosen name, so retries never double it)."""
        new_name = _names.resolve_execution_name(name)
        proto = self._run(
            exec_ops.relaunch(self._exec_id(execution, project, domain), new_name, overwrite_cache)
        )
        return self._wrap(proto)

    def list_executions(
        self,
        project: str | None = None,
        domain: str | None = None,
        names: Sequence[str] | None = None,
        filters: str | None = None,
        limit: int | None = None,
    ) -> list[FlyteWorkflowExecution]:
        """Executions of a project/domain, newest first; ``names`` selects many by name in one RPC."""
        p, d = self._pd(project, domain)
        return [
            self._wrap(e)
            for e in self._run(exec_ops.list_executions(p, d, names=names, filters=filters, limit=limit))
        ]

    def recent_executions(
        self, project: str | None = None, domain: str | None = None, limit: int = 100
    ) -> list[FlyteWorkflowExecution]:
        """The ``limit`` most recent executions."""
        return self.list_executions(project, domain, limit=limit)

    # signals ---------------------------------------------------------------------------------------------------
    def list_signals(
        self,
        execution_name: str | FlyteWorkflowExecution,
        project: str | None = None,
        domain: str | None = None,
        limit: int = 100,
        filters: str | None = None,
    ) -> list[Signal]:
        """Signals of an execution's gate nodes."""
        return self._run(
            signal_ops.list_signals(self._exec_id(execution_name, project, domain), limit, filters)
        )

    def approve(
        self,
        signal_id: str,
        execution_name: str | FlyteWorkflowExecution,
        project: str | None = None,
        domain: str | None = None,
    ) -> None:
        """Approve an approval gate."""
        self._run(
            signal_ops.set_signal(
                self._exec_id(execution_name, project, domain), signal_id, _bool_literal(True)
            )
        )

    def reject(
        self,
        signal_id: str,
        execution_name: str | FlyteWorkflowExecution,
        project: str | None = None,
        domain: str | None = None,
    ) -> None:
        """Reject an approval gate (the gate node fails)."""
        self._run(
            signal_ops.set_signal(
                self._exec_id(execution_name, project, domain), signal_id, _bool_literal(False)
            )
        )

    def set_input(
        self,
        signal_id: str,
        execution_name: str | FlyteWorkflowExecution,
        value: Any,
        project: str | None = None,
        domain: str | None = None,
        python_type: Any = None,
        literal_type: Any = None,
    ) -> None:
        """Give a ``wait_for_input`` gate its value, typed from the signal's stored type unless given."""
        self._run(
            self._set_input_op(signal_id, execution_name, value, project, domain, python_type, literal_type)
        )

    set_signal = set_input

    # backfill --------------------------------------------------------------------------------------------------
    def launch_backfill(
        self,
        project: str,
        domain: str,
        from_date: datetime,
        to_date: datetime,
        launchplan: str,
        launchplan_version: str | None = None,
        execution_name: str | None = None,
        version: str | None = None,
        dry_run: bool = False,
        execute: bool = True,
        parallel: bool = False,
        failure_policy: str | int | None = None,
        overwrite_cache: bool | None = None,
    ) -> Any:
        """Backfill a cron launch plan over ``[from_date, to_date)``: returns the workflow spec (``dry_run``), the
        registered :class:`FlyteWorkflow` (``execute=False``) or the :class:`FlyteWorkflowExecution`."""
        return self._backfill_result(
            self._run(
                self._backfill_op(
                    project,
                    domain,
                    from_date,
                    to_date,
                    launchplan,
                    launchplan_version,
                    execution_name,
                    version,
                    dry_run,
                    execute,
                    parallel,
                    failure_policy,
                    overwrite_cache,
                )
            )
        )

    # files -----------------------------------------------------------------------------------------------------
    def upload_file(
        self,
        to_upload: str | os.PathLike[str],
        project: str | None = None,
        domain: str | None = None,
        filename_root: str | None = None,
    ) -> tuple[bytes, str]:
        """Upload one file through the DataProxy; returns ``(md5 digest, native_url)``."""
        from airflow_provider_flyte.remote import files

        path = files.check_upload_source(to_upload)
        p, d = self._pd(project, domain)
        platform = self.config.platform
        return self._run(
            file_ops.upload_file(
                path,
                p,
                d,
                filename_root,
                files.hash_file,
                lambda url, f, md5, headers: files.http_put_file(platform, url, f, md5, headers),
            )
        )

    def fast_package(
        self, root: str | os.PathLike[str], deref_symlinks: bool = True, output: str | None = None
    ) -> tuple[bytes, str]:
        """Package ``root`` as a deterministic ``fast<md5>.tar.gz`` and upload it; ``(md5, native_url)``."""
        from airflow_provider_flyte.remote import files

        return self.upload_file(files.build_fast_package(root, output, deref_symlinks))

    def download(self, data: Any, download_to: str | os.PathLike[str], recursive: bool = True) -> list[Path]:
        """Copy the files/directories/datasets that outputs (a ``LiteralsResolver`` or ``LiteralMap``) or one
        ``Literal`` refer to under ``download_to`` (``<download_to>/<name>`` per output). Returns the paths."""
        from airflow_provider_flyte.remote import files

        target = self._download_targets(data)
        base = Path(download_to)
        opts = self.config.storage_options
        if isinstance(target, Mapping):
            out: list[Path] = []
            for key, lit in target.items():
                out += files.download_literal(lit, base / key, recursive, opts)
            return out
        return files.download_literal(target, base, recursive, opts)


def _required(value: str | None, what: str) -> str:
    if not value:
        raise FlyteInvalidInputError(f"{what} is required")
    return value


def _bool_literal(value: bool) -> Any:
    from flyteidl.core import literals_pb2

    lit = literals_pb2.Literal()
    lit.scalar.primitive.boolean = value
    return lit


__all__ = ["FlyteRemote", "RemoteBase", "WaitClock"]
