"""What both clients share: :class:`RemoteBase` holds the configuration and every public operation, written once.

Each public method of :class:`~.client.FlyteRemote` and :class:`~.aio.AsyncFlyteRemote` is one ``_op_<name>``
method here: it takes the public arguments and returns a sans-IO operation (``remote/ops``). The drivers bind them
with :func:`bind_blocking` / :func:`bind_awaitable`, which keep the signature and docstring, so the two clients
cannot drift apart and no logic is repeated between them. The API follows flytekit's ``FlyteRemote``
("Executing Flyte Entities"): fetch entities, ``execute``, ``sync``/``wait``, signals, backfill, upload, download.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from airflow_provider_flyte.remote import names as _names
from airflow_provider_flyte.remote.auth import create_authenticator
from airflow_provider_flyte.remote.config import SANDBOX_ENDPOINT, Config, PlatformConfig
from airflow_provider_flyte.remote.console import console_base_url, entity_url, execution_url
from airflow_provider_flyte.remote.errors import FlyteInvalidInputError, FlyteMissingArgumentError
from airflow_provider_flyte.remote.local import is_local_entity, local_entity_op
from airflow_provider_flyte.remote.models import (
    FlyteLaunchPlan,
    FlyteNodeExecution,
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
from airflow_provider_flyte.remote.ops import server as server_ops
from airflow_provider_flyte.remote.ops import signals as signal_ops
from airflow_provider_flyte.remote.ops import waiting
from airflow_provider_flyte.remote.ops.call import Local, Op, with_rpc_timeout
from airflow_provider_flyte.remote.ops.entities import LAUNCH_PLAN, TASK, WORKFLOW
from airflow_provider_flyte.remote.transport import ChannelExtras, RpcStats, split_channel_kwargs
from airflow_provider_flyte.remote.uploads import UploadLocation

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R", bound="RemoteBase")

#: Entity references ``execute`` accepts: a fetched entity, a launch plan name, or a ``core.Identifier``.
EntityRef = Launchable | str | Any
#: flytekit's default ``data_upload_location``: upload through the DataProxy.
DEFAULT_UPLOAD_LOCATION = "flyte://my-s3-bucket/"
#: flytekit's default deadline of each RPC of a ``sync_execution``.
DEFAULT_SYNC_EXECUTION_RPC_TIMEOUT = timedelta(seconds=60)


def _present_as_result(method: Any, builder: Callable[..., Any]) -> None:
    """Make ``help()``/``inspect.signature`` show the operation's result (``Op[X]`` -> ``X``) as the return type."""
    signature = inspect.signature(builder)
    result = signature.return_annotation
    if isinstance(result, str) and result.startswith("Op[") and result.endswith("]"):
        result = result[3:-1]
    method.__signature__ = signature.replace(return_annotation=result)
    method.__annotations__ = {**builder.__annotations__, "return": result}


def bind_blocking(builder: Callable[Concatenate[Any, P], Op[T]]) -> Callable[Concatenate[R, P], T]:
    """A blocking method that runs the operation ``builder`` returns (same signature and docstring)."""

    @functools.wraps(builder)
    def method(self: R, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._run(builder(self, *args, **kwargs))  # type: ignore[no-any-return]

    _present_as_result(method, builder)
    return method


def bind_awaitable(
    builder: Callable[Concatenate[Any, P], Op[T]],
) -> Callable[Concatenate[R, P], Coroutine[Any, Any, T]]:
    """A coroutine method that runs the operation ``builder`` returns (same signature and docstring)."""

    @functools.wraps(builder)
    async def method(self: R, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._run(builder(self, *args, **kwargs))  # type: ignore[no-any-return]

    _present_as_result(method, builder)
    return method


class RemoteBase:
    """Configuration, defaults, entity cache and every operation of both clients (see the module docstring).

    ``data_upload_location`` is where local files given as inputs go: ``flyte://...`` (default) uploads through
    the DataProxy; an fsspec URL (``s3://bucket/prefix``, ``file:///tmp/x``, or a local path) is written directly
    with fsspec, using ``config.storage_options`` of its protocol.
    """

    def __init__(
        self,
        config: Config | PlatformConfig | None = None,
        default_project: str | None = None,
        default_domain: str | None = None,
        data_upload_location: str | None = DEFAULT_UPLOAD_LOCATION,
        interactive_mode_enabled: bool | None = None,
        *,
        allow_pickle: bool = False,
        **kwargs: Any,
    ) -> None:
        """``kwargs`` are flytekit's: handed to the gRPC channel (``options``, ``compression``, ``credentials``;
        see :class:`~airflow_provider_flyte.remote.transport.ChannelExtras`)."""
        # ours, or flytekit's Config / PlatformConfig (converted without importing flytekit)
        config = Config.coerce(config)
        self._channel_extras = ChannelExtras.from_kwargs(kwargs, bool(config.platform.insecure))
        self.config: Config = config
        self.default_project = default_project
        self.default_domain = default_domain
        self._upload_location = UploadLocation.parse(data_upload_location or DEFAULT_UPLOAD_LOCATION)
        self.data_upload_location = self._upload_location.url
        self.allow_pickle = allow_pickle
        #: how local flytekit entities ship their code: None = pickle only what is defined in ``__main__``/a
        #: notebook, else fast-register the source tree; True = always pickle (flytekit's interactive mode)
        self.interactive_mode_enabled = interactive_mode_enabled
        self._auth = create_authenticator(config.platform)
        self._stats = RpcStats()
        self._cache: entity_ops.EntityCache = {}
        self._console_base = console_base_url(config.platform)

    # the driver's part -----------------------------------------------------------------------------------------
    def _run(self, op: Op[T]) -> Any:
        """Run an operation (blocking, or as an awaitable): implemented by the driver."""
        raise NotImplementedError

    def _run_blocking(self, op: Op[T]) -> T:
        """Run an operation from a worker thread doing blocking work (input conversion): implemented by the driver."""
        raise NotImplementedError

    # constructors ----------------------------------------------------------------------------------------------
    @classmethod
    def for_endpoint(
        cls,
        endpoint: str,
        insecure: bool = False,
        data_config: Any = None,
        config_file: str | os.PathLike[str] | None = None,
        default_project: str | None = None,
        default_domain: str | None = None,
        data_upload_location: str = DEFAULT_UPLOAD_LOCATION,
        interactive_mode_enabled: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        """Client for ``endpoint`` (``host[:port]``), as flytekit's ``for_endpoint`` (same parameters, in the same
        order); further keyword arguments are flytekit's gRPC channel arguments (``options``, ``compression``,
        ``credentials``) or :class:`PlatformConfig` fields."""
        channel, platform_kwargs = split_channel_kwargs(kwargs)
        config = Config.for_endpoint(endpoint, insecure, data_config, config_file, **platform_kwargs)
        return cls(config, default_project, default_domain, data_upload_location, interactive_mode_enabled, **channel)

    @classmethod
    def auto(
        cls,
        config_file: str | os.PathLike[str] | None = None,
        default_project: str | None = None,
        default_domain: str | None = None,
        data_upload_location: str = DEFAULT_UPLOAD_LOCATION,
        interactive_mode_enabled: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        """Client configured from ``FLYTE_*`` env vars and the flytectl/flytekit config file; further keyword
        arguments as in :meth:`for_endpoint`."""
        channel, platform_overrides = split_channel_kwargs(kwargs)
        config = Config.auto(config_file, **platform_overrides)
        return cls(config, default_project, default_domain, data_upload_location, interactive_mode_enabled, **channel)

    @classmethod
    def for_sandbox(
        cls,
        default_project: str | None = "flytesnacks",
        default_domain: str | None = "development",
        data_upload_location: str = DEFAULT_UPLOAD_LOCATION,
        interactive_mode_enabled: bool | None = None,
        *,
        endpoint: str = SANDBOX_ENDPOINT,
        **kwargs: Any,
    ) -> Any:
        """Client for a local sandbox (plaintext, no auth), defaulting to flytesnacks/development; the positional
        parameters are flytekit's, ``endpoint`` (keyword) defaults to ``127.0.0.1:30080``; further keyword
        arguments as in :meth:`for_endpoint`."""
        channel, platform_kwargs = split_channel_kwargs(kwargs)
        config = Config.for_sandbox(endpoint, **platform_kwargs)
        return cls(config, default_project, default_domain, data_upload_location, interactive_mode_enabled, **channel)

    # properties and pure helpers -------------------------------------------------------------------------------
    @property
    def rpc_stats(self) -> RpcStats:
        """RPC attempts made by this client (retries included), by method."""
        return self._stats

    @property
    def rpc_count(self) -> int:
        """Total RPC attempts made by this client."""
        return self._stats.calls

    def generate_console_url(self, entity: FlyteWorkflowExecution | Launchable | Any) -> str:
        """Console URL of an execution, task, workflow or launch plan (or of their identifiers)."""
        if isinstance(entity, FlyteWorkflowExecution):
            return execution_url(self._console_base, entity.proto.id)
        if isinstance(entity, FlyteTask | FlyteWorkflow | FlyteLaunchPlan):
            return entity_url(self._console_base, entity.id)
        if hasattr(entity, "resource_type"):
            return entity_url(self._console_base, entity)
        return execution_url(self._console_base, entity)

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

    # building blocks -------------------------------------------------------------------------------------------
    def _fetch_op(
        self,
        resource_type: int,
        project: str | None,
        domain: str | None,
        name: str | None,
        version: str | None,
        refresh: bool = False,
    ) -> Op[Launchable]:
        p, d = self._pd(project, domain)
        return entity_ops.fetch_entity(
            resource_type, p, d, _required(name, "name"), version, self._cache, refresh=refresh
        )

    def _entity_op(
        self, entity: EntityRef, project: str | None, domain: str | None, version: str | None
    ) -> Launchable | Op[Launchable]:
        """What ``execute`` runs: a fetched entity as it is; a launch plan name or an identifier is fetched."""
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

    def _decode(self, literal: Any, literal_type: Any, python_type: Any) -> Any:
        """Decode an output/input literal of an execution this client synced: pickles only with
        ``allow_pickle``, offloaded data read with ``config.storage_options``."""
        from airflow_provider_flyte.remote.codec.context import CodecContext, fsspec_read_bytes
        from airflow_provider_flyte.remote.ops.inputs import decode_literal

        options = self.config.storage_options

        def read(uri: str) -> bytes:
            return fsspec_read_bytes(uri, options)

        ctx = CodecContext(read_bytes=read, allow_pickle=self.allow_pickle)
        return decode_literal(literal, literal_type, python_type, ctx=ctx)

    def _codec_context(self, project: str, domain: str) -> Any:
        """The codec context of input conversion: local files go to ``data_upload_location``."""
        from airflow_provider_flyte.remote.codec.context import CodecContext

        location = self._upload_location
        if location.via_data_proxy:

            def upload(local: str) -> str:
                return str(self._run_blocking(self._upload_path_op(local, project, domain)))

        else:

            def upload(local: str) -> str:
                return location.put(local, self.config.storage_options)

        return CodecContext(upload=upload, allow_pickle=self.allow_pickle)

    def _put_file(self, url: str, path: Path, md5: bytes, headers: dict[str, str]) -> None:
        from airflow_provider_flyte.remote import files

        files.http_put_file(self.config.platform, url, path, md5, headers)

    def _upload_path_op(self, local: str, project: str, domain: str) -> Op[str]:
        """Upload a file, or every file of a directory under one root, through the DataProxy; the remote URI."""
        from airflow_provider_flyte.remote import files

        path = Path(local)
        if path.is_file():
            _md5, native = yield from file_ops.upload_file(
                path, project, domain, None, files.hash_file, self._put_file
            )
            return native
        if not path.is_dir():
            raise FlyteInvalidInputError(f"{local!r} is neither a file nor a directory: cannot upload it")
        members = files.directory_files(path)
        root = files.directory_root_name([files.hash_file(m)[0] for m in members])
        native = ""
        for member in members:
            rel = member.relative_to(path)
            _md5, native = yield from file_ops.upload_file(
                member,
                project,
                domain,
                f"{root}/{rel.parent.as_posix()}".rstrip("/."),
                files.hash_file,
                self._put_file,
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
        execution_name_prefix: str | None = None,
        type_hints: Mapping[str, Any] | None = None,
        **request_options: Any,
    ) -> Callable[[FlyteTask | FlyteLaunchPlan], Any]:
        """Validate names now; return the step that converts inputs and builds the ExecutionCreateRequest
        (``request_options`` are :func:`~.ops.executions.build_execution_request`'s options)."""
        from airflow_provider_flyte.remote.ops.inputs import convert_inputs

        if inputs is not None and not isinstance(inputs, Mapping):
            raise FlyteInvalidInputError(
                f"inputs must be a dict of input name to value, got a {type(inputs).__name__}: {inputs!r}"
            )
        name = _names.resolve_execution_name(execution_name, execution_name_prefix)
        p, d = self._pd(project, domain)

        def build(target: FlyteTask | FlyteLaunchPlan) -> Any:
            literals = convert_inputs(target, inputs, type_hints, self._codec_context(p, d))
            return exec_ops.build_execution_request(
                target, literals, project=p, domain=d, name=name, **request_options
            )

        return build

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

    def _signal_op(
        self, signal_id: str, execution_name: Any, project: str | None, domain: str | None, value: bool
    ) -> Op[None]:
        return signal_ops.set_signal(
            self._exec_id(execution_name, project, domain), signal_id, _bool_literal(value)
        )

    # entities --------------------------------------------------------------------------------------------------
    def _op_fetch_task(
        self,
        project: str | None = None,
        domain: str | None = None,
        name: str | None = None,
        version: str | None = None,
    ) -> Op[FlyteTask]:
        """A registered task (the latest version when ``version`` is None)."""
        task = yield from self._fetch_op(TASK, project, domain, name, version, refresh=True)
        assert isinstance(task, FlyteTask)
        return task

    def _op_fetch_workflow(
        self,
        project: str | None = None,
        domain: str | None = None,
        name: str | None = None,
        version: str | None = None,
    ) -> Op[FlyteWorkflow]:
        """A registered workflow (the latest version when ``version`` is None)."""
        workflow = yield from self._fetch_op(WORKFLOW, project, domain, name, version, refresh=True)
        assert isinstance(workflow, FlyteWorkflow)
        return workflow

    def _op_fetch_launch_plan(
        self,
        project: str | None = None,
        domain: str | None = None,
        name: str | None = None,
        version: str | None = None,
    ) -> Op[FlyteLaunchPlan]:
        """A registered launch plan (the latest version when ``version`` is None)."""
        lp = yield from self._fetch_op(LAUNCH_PLAN, project, domain, name, version, refresh=True)
        assert isinstance(lp, FlyteLaunchPlan)
        return lp

    def _register_local_op(
        self,
        entity: Any,
        resource_type: int,
        serialization_settings: Any,
        version: str | None,
        project: str | None,
        domain: str | None,
        *,
        default_launch_plan: bool = True,
        options: Any = None,
        fast: bool = False,
    ) -> Op[Launchable]:
        """Register a flytekit entity as flytekit's ``register_*`` do: code from the image unless ``fast`` or the
        settings ask for fast registration; ``version``, else the settings', else derived from the content."""
        ss = serialization_settings
        fast_settings = getattr(ss, "fast_serialization_settings", None)
        wants_fast = fast or bool(fast_settings is not None and fast_settings.enabled)
        target = yield from local_entity_op(
            self,
            entity,
            project=project,
            domain=domain,
            version=version or getattr(ss, "version", None),
            serialization_settings=ss,
            code=None if wants_fast else "image",
            interactive_mode_enabled=False if fast else None,
            default_launch_plan=default_launch_plan,
            options=options,
        )
        registered: Launchable = target.entity
        if int(registered.id.resource_type) == resource_type:
            return registered
        lid = registered.id  # a workflow's default launch plan: the workflow has the same id
        found = yield from entity_ops.fetch_entity(
            resource_type, lid.project, lid.domain, entity.name, lid.version, self._cache
        )
        return found

    def _op_register_task(
        self,
        entity: Any,
        serialization_settings: Any = None,
        version: str | None = None,
        *,
        project: str | None = None,
        domain: str | None = None,
        name: str | None = None,
    ) -> Op[FlyteTask]:
        """Register a flytekit ``@task`` (as flytekit's ``register_task``), or a ``TaskSpec`` / ``TaskTemplate`` (id
        from the template, overridable). Identical re-registration is a no-op; different content under the same
        version raises :class:`FlyteRegistrationError`."""
        from flyteidl.admin import task_pb2

        if is_local_entity(entity):
            task = yield from self._register_local_op(entity, TASK, serialization_settings, version, project, domain)
            assert isinstance(task, FlyteTask)
            return task
        spec = entity if isinstance(entity, task_pb2.TaskSpec) else task_pb2.TaskSpec(template=entity)
        task_id = self._registration_id(TASK, spec.template.id, project, domain, name, version)
        spec.template.id.CopyFrom(task_id)
        task = yield from self._register_then_fetch(TASK, task_id, spec)
        assert isinstance(task, FlyteTask)
        return task

    def _op_register_workflow(
        self,
        entity: Any,
        serialization_settings: Any = None,
        version: str | None = None,
        default_launch_plan: bool = True,
        options: Any = None,
        *,
        project: str | None = None,
        domain: str | None = None,
        name: str | None = None,
    ) -> Op[FlyteWorkflow]:
        """Register a flytekit ``@workflow`` with its tasks and sub-workflows (as flytekit's ``register_workflow``),
        or a ``WorkflowSpec`` / ``WorkflowTemplate``; and (by default) its default launch plan."""
        if is_local_entity(entity):
            wf = yield from self._register_local_op(
                entity,
                WORKFLOW,
                serialization_settings,
                version,
                project,
                domain,
                default_launch_plan=default_launch_plan,
                options=options,
            )
            assert isinstance(wf, FlyteWorkflow)
            return wf
        workflow = yield from self._register_workflow_spec(
            entity, project, domain, name, version, default_launch_plan
        )
        return workflow

    def _op_fast_register_workflow(
        self,
        entity: Any,
        serialization_settings: Any = None,
        version: str | None = None,
        default_launch_plan: bool = True,
        options: Any = None,
        fast_package_options: Any = None,
    ) -> Op[FlyteWorkflow]:
        """Register a flytekit ``@workflow`` with the source tree of its module packaged and uploaded (script
        mode, as flytekit's ``fast_register_workflow``, which is ``register_script`` on the module's root)."""
        ss = serialization_settings
        wf = yield from self._op_register_script(
            entity,
            image_config=getattr(ss, "image_config", None),
            version=version,
            project=getattr(ss, "project", None),
            domain=getattr(ss, "domain", None),
            default_launch_plan=default_launch_plan,
            options=options,
            fast_package_options=fast_package_options,
        )
        assert isinstance(wf, FlyteWorkflow)
        return wf

    def _register_workflow_spec(
        self,
        spec: Any,
        project: str | None,
        domain: str | None,
        name: str | None,
        version: str | None,
        default_launch_plan: bool,
    ) -> Op[FlyteWorkflow]:
        from flyteidl.admin import workflow_pb2

        from airflow_provider_flyte.remote import specs

        if not isinstance(spec, workflow_pb2.WorkflowSpec):
            spec = workflow_pb2.WorkflowSpec(template=spec)
        wf_id = self._registration_id(WORKFLOW, spec.template.id, project, domain, name, version)
        spec.template.id.CopyFrom(wf_id)
        yield from entity_ops.register_entity(WORKFLOW, wf_id, spec)
        if default_launch_plan:
            lp_id = specs.identifier("LAUNCH_PLAN", wf_id.project, wf_id.domain, wf_id.name, wf_id.version)
            yield from entity_ops.register_entity(LAUNCH_PLAN, lp_id, specs.launch_plan_spec(wf_id))
        workflow = yield from entity_ops.fetch_entity(
            WORKFLOW, wf_id.project, wf_id.domain, wf_id.name, wf_id.version, self._cache
        )
        assert isinstance(workflow, FlyteWorkflow)
        return workflow

    def _op_register_launch_plan(
        self,
        entity: Any,
        version: str | None = None,
        project: str | None = None,
        domain: str | None = None,
        options: Any = None,
        serialization_settings: Any = None,
        *,
        name: str | None = None,
    ) -> Op[FlyteLaunchPlan]:
        """Register a flytekit ``LaunchPlan`` (and its workflow when missing), as flytekit's
        ``register_launch_plan``; or a ``LaunchPlanSpec`` as ``name`` (default: its workflow's name, i.e. the
        default launch plan) with ``version`` (default: the workflow's)."""
        if is_local_entity(entity):
            lp = yield from self._register_local_op(
                entity, LAUNCH_PLAN, serialization_settings, version, project, domain, options=options
            )
            assert isinstance(lp, FlyteLaunchPlan)
            return lp
        ref = entity.workflow_id
        lp_id = self._registration_id(LAUNCH_PLAN, ref, project, domain, name, version or ref.version)
        lp = yield from self._register_then_fetch(LAUNCH_PLAN, lp_id, entity)
        assert isinstance(lp, FlyteLaunchPlan)
        return lp

    def _op_raw_register(
        self,
        cp_entity: Any,
        settings: Any,
        version: str,
        create_default_launchplan: bool = True,
        options: Any = None,
        og_entity: Any = None,
    ) -> Op[Any]:
        """Register an already serialized entity (flytekit's ``raw_register``): a flytekit or flyteidl
        ``TaskSpec``, ``WorkflowSpec`` (with its default launch plan when ``create_default_launchplan``) or
        ``LaunchPlan``, under ``version`` and the settings' project/domain. Returns its ``core.Identifier``;
        ``None`` for nodes and reference specs. A fetched (remote) entity raises ``RegistrationSkipped``."""
        from airflow_provider_flyte.remote.local.raw import raw_registration

        where = self._pd(getattr(settings, "project", None), getattr(settings, "domain", None))
        step = raw_registration(cp_entity, where, version)
        if step is None:
            return None
        resource_type, entity_id, spec, activate = step
        registered = yield from entity_ops.register_entity(resource_type, entity_id, spec)
        if resource_type == WORKFLOW and create_default_launchplan:
            from airflow_provider_flyte.remote import specs

            lp_id = entity_ops.identifier(
                LAUNCH_PLAN, entity_id.project, entity_id.domain, entity_id.name, version
            )
            yield from entity_ops.register_entity(LAUNCH_PLAN, lp_id, specs.launch_plan_spec(entity_id))
        if activate:
            yield from entity_ops.set_launch_plan_state(entity_id, True)
        return registered

    def _op_register_script(
        self,
        entity: Any,
        image_config: Any = None,
        version: str | None = None,
        project: str | None = None,
        domain: str | None = None,
        destination_dir: str = ".",
        copy_all: bool = False,
        default_launch_plan: bool = True,
        options: Any = None,
        source_path: str | None = None,
        module_name: str | None = None,
        envs: Mapping[str, str] | None = None,
        default_resources: Any = None,
        fast_package_options: Any = None,
    ) -> Op[Launchable]:
        """Script mode (flytekit's ``register_script``): package ``source_path`` (default: the entity's source
        root; ``.gitignore``/``.dockerignore``/``.flyteignore`` and ``fast_package_options.ignores`` honoured; the
        whole tree is packed, so ``copy_all`` and ``module_name`` change nothing), upload it, and register the
        task, workflow or launch plan to run from it. ``version`` defaults to one derived from the content."""
        from airflow_provider_flyte.remote.local.detect import is_reference_entity, local_kind
        from airflow_provider_flyte.remote.local.serialize import script_settings

        kind = local_kind(entity)
        if kind is None:
            raise FlyteInvalidInputError(f"{type(entity).__name__} is not a flytekit task, workflow or launch plan")
        if is_reference_entity(entity):
            return entity  # type: ignore[no-any-return]  # as flytekit: reference entities are returned as they are
        p, d = self._pd(project, domain)
        root = source_path
        if root is None:
            from airflow_provider_flyte.remote.local.packaging import source_tree

            tree = source_tree(entity)
            if tree is None or tree.project_root is None:
                raise FlyteInvalidInputError(
                    f"cannot tell the source root of {entity.name}: pass source_path= (the directory its module is "
                    "imported from)"
                )
            root = str(tree.project_root)
        _md5, url = yield from self._op_fast_package(root, options=fast_package_options)
        settings = yield Local(
            lambda: script_settings(p, d, image_config, url, destination_dir, root, envs, default_resources)
        )
        resource = {"task": TASK, "workflow": WORKFLOW, "launch_plan": LAUNCH_PLAN}[kind]
        registered = yield from self._register_local_op(
            entity,
            resource,
            settings,
            version,
            p,
            d,
            default_launch_plan=default_launch_plan,
            options=options,
        )
        return registered

    def _op_activate_launchplan(self, ident: Any) -> Op[None]:
        """Activate a launch plan version by identifier (flytekit's ``activate_launchplan``)."""
        yield from entity_ops.set_launch_plan_state(ident, True)

    def _op_deactivate_launchplan(self, ident: Any) -> Op[None]:
        """Deactivate a launch plan version by identifier (flytekit's ``deactivate_launchplan``)."""
        yield from entity_ops.set_launch_plan_state(ident, False)

    def _op_fetch_active_launchplan(
        self, project: str | None = None, domain: str | None = None, name: str | None = None
    ) -> Op[FlyteLaunchPlan | None]:
        """The active version of a launch plan, or None when no version is active (or none exists)."""
        p, d = self._pd(project, domain)
        lp = yield from entity_ops.fetch_active_launch_plan(p, d, _required(name, "name"))
        return lp

    def _op_activate_launch_plan(self, launch_plan: FlyteLaunchPlan | Any, active: bool = True) -> Op[None]:
        """Make this launch plan version the active one of its name (schedules run for active versions)."""
        lp_id = launch_plan.id if isinstance(launch_plan, FlyteLaunchPlan) else launch_plan
        yield from entity_ops.set_launch_plan_state(lp_id, active)

    # executions ------------------------------------------------------------------------------------------------
    def _op_execute(
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
    ) -> Op[FlyteWorkflowExecution]:
        """Start an execution of a launch plan, task or workflow (its default launch plan).

        ``entity`` is a fetched entity, a launch plan name (latest version unless ``version``) or a
        ``core.Identifier``. Inputs are converted with the entity's interface before any RPC. The execution gets
        ``execution_name``, ``f"{execution_name_prefix}-<19 random>"`` or a generated name; if an execution with
        that name exists it is returned instead. ``wait=True`` waits until it is done (nodes synced).
        A local flytekit ``@task``/``@workflow``/``LaunchPlan`` (needs the ``flytekit`` extra) is serialized,
        registered when missing (version derived from its content and code) and executed; ``image_config`` and
        ``serialization_settings`` apply to it (see docs/local-entities.md).
        """
        if name is not None and isinstance(entity, str):
            raise FlyteInvalidInputError("give the launch plan name either as entity or as name=, not both")
        ref = name if (name is not None and entity is None) else entity
        options = Options.coerce(options)  # ours or flytekit's
        if is_local_entity(ref):  # a flytekit @task/@workflow/LaunchPlan: registered first when missing
            local = yield from local_entity_op(
                self,
                ref,
                project=project,
                domain=domain,
                name=name,
                version=version,
                image_config=image_config,
                serialization_settings=serialization_settings,
            )
            ref, version = local.entity, None
            project, domain = local.entity.id.project, local.entity.id.domain
            type_hints = {**local.type_hints, **(type_hints or {})}
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
        # the entity step: a fetched entity as it is, a name or identifier fetched (cached)
        entity_step = self._entity_op(ref, project, domain, version)
        proto, target = yield from exec_ops.execute(entity_step, build, self._cache)
        execution = self._wrap(proto, target, type_hints)
        if wait:
            yield from waiting.wait(execution)
        return execution

    def _op_fetch_execution(
        self, project: str | None = None, domain: str | None = None, name: str | None = None
    ) -> Op[FlyteWorkflowExecution]:
        """An execution by name, synced (closure, inputs; outputs when done)."""
        exec_id = self._exec_id(_required(name, "name"), project, domain)
        execution = yield from exec_ops.sync_execution(self._wrap(exec_ops._bare_execution(exec_id)))
        return execution

    def _op_sync(
        self, execution: FlyteWorkflowExecution, entity_definition: Any = None, sync_nodes: bool = False
    ) -> Op[FlyteWorkflowExecution]:
        """Refresh an execution in place (and its node executions with ``sync_nodes``); returns it."""
        execution._remote = execution._remote or self
        synced = yield from exec_ops.sync_execution(execution, sync_nodes)
        return synced

    def _op_sync_execution(
        self,
        execution: FlyteWorkflowExecution,
        entity_definition: Any = None,
        sync_nodes: bool = False,
        rpc_timeout: float | timedelta | None = DEFAULT_SYNC_EXECUTION_RPC_TIMEOUT,
    ) -> Op[FlyteWorkflowExecution]:
        """:meth:`sync` as flytekit's ``sync_execution``: every RPC of the sync has a deadline of at most
        ``rpc_timeout`` (default 60 s; ``None``: the config's ``rpc_timeout``). ``entity_definition`` is refused,
        as flytekit does for workflow executions."""
        if entity_definition is not None:
            raise ValueError("Entity definition arguments aren't supported when syncing workflow executions")
        timeout = waiting.positive_seconds(rpc_timeout, "rpc_timeout")
        synced = yield from with_rpc_timeout(self._op_sync(execution, sync_nodes=sync_nodes), timeout)
        return synced

    def _op_wait(
        self,
        execution: FlyteWorkflowExecution,
        timeout: float | timedelta | None = None,
        poll_interval: float | timedelta | None = None,
        sync_nodes: bool = True,
    ) -> Op[FlyteWorkflowExecution]:
        """Poll until the execution is done (then sync its nodes if ``sync_nodes``); raise
        :class:`FlyteTimeoutError` after ``timeout``. Polls start at 50 ms and double up to 5 s unless
        ``poll_interval`` is given. A poll that fails transiently is repeated; the execution's phase decides the
        outcome (a failed node sync is logged and raised by ``node_executions``); errors carry ``execution_id``."""
        execution._remote = execution._remote or self
        done = yield from waiting.wait(execution, timeout, poll_interval, sync_nodes)
        return done

    def _op_list_node_executions(
        self,
        execution: str | FlyteWorkflowExecution,
        project: str | None = None,
        domain: str | None = None,
        unique_parent_id: str | None = None,
    ) -> Op[list[FlyteNodeExecution]]:
        """Node executions of an execution as they stand (phases, errors), oldest first, without fetching their
        data or tasks: the top-level nodes, or the children of ``unique_parent_id``. Cheaper than
        ``sync(sync_nodes=True)`` when only phases matter (progress reports, the failing node)."""
        exec_id = self._exec_id(execution, project, domain)
        protos = yield from exec_ops.list_node_executions(exec_id, unique_parent_id or "")
        return [FlyteNodeExecution(p) for p in protos]

    # the server ------------------------------------------------------------------------------------------------
    def _op_get_version(self) -> Op[str]:
        """Flyte Admin's control plane version: the cheapest authenticated call (proves endpoint and credentials)."""
        return server_ops.get_version()

    def _op_get_project(self, project: str | None = None) -> Op[Any]:
        """The ``admin.Project`` proto of ``project`` (default project when None); NOT_FOUND if it does not exist."""
        return server_ops.get_project(_required(project or self.default_project, "project"))

    def _op_terminate(
        self,
        execution: FlyteWorkflowExecution | str | Any,
        cause: str = "terminated by user",
        project: str | None = None,
        domain: str | None = None,
    ) -> Op[None]:
        """Abort an execution (FAILED_PRECONDITION if it already finished)."""
        yield from exec_ops.terminate(self._exec_id(execution, project, domain), cause)

    def _op_relaunch(
        self,
        execution: FlyteWorkflowExecution | str | Any,
        name: str | None = None,
        overwrite_cache: bool | None = None,
        project: str | None = None,
        domain: str | None = None,
    ) -> Op[FlyteWorkflowExecution]:
        """A new execution with the same spec and inputs (client-chosen name, so retries never double it)."""
        new_name = _names.resolve_execution_name(name)
        old_id = self._exec_id(execution, project, domain)
        proto = yield from exec_ops.relaunch(old_id, new_name, overwrite_cache)
        return self._wrap(proto)

    def _op_recover(
        self,
        execution: FlyteWorkflowExecution | str | Any,
        name: str | None = None,
        project: str | None = None,
        domain: str | None = None,
    ) -> Op[FlyteWorkflowExecution]:
        """Recover a failed execution (flyteadmin's RecoverExecution): a new execution with the same spec and inputs
        in which every node that succeeded before is not run again (phase RECOVERED, its outputs copied); the rest
        runs. ``name`` is client-chosen (generated if None), so a retried call never recovers twice."""
        from airflow_provider_flyte.remote.ops.recovery import recover

        new_name = _names.resolve_execution_name(name)
        proto = yield from recover(self._exec_id(execution, project, domain), new_name)
        return self._wrap(proto)

    def _op_list_latest(
        self, kind: str = "launch_plan", project: str | None = None, domain: str | None = None, name_prefix: str = ""
    ) -> Op[list[Launchable]]:
        """Every registered ``kind`` (``"launch_plan"``, ``"task"`` or ``"workflow"``) of a project/domain at its
        latest version, by name (flyteadmin's generated ``.flytegen.`` entities left out); ``name_prefix`` filters."""
        from airflow_provider_flyte.remote.ops.discovery import list_latest, resource_type_of

        p, d = self._pd(project, domain)
        entities = yield from list_latest(resource_type_of(kind), p, d, self._cache, name_prefix)
        return entities

    def _op_list_executions(
        self,
        project: str | None = None,
        domain: str | None = None,
        names: Sequence[str] | None = None,
        filters: str | None = None,
        limit: int | None = None,
    ) -> Op[list[FlyteWorkflowExecution]]:
        """Executions of a project/domain, newest first; ``names`` selects many by name in one RPC."""
        protos = yield from self._op_list_execution_protos(project, domain, names, filters, limit)
        return [self._wrap(e) for e in protos]

    def _op_list_execution_protos(
        self,
        project: str | None = None,
        domain: str | None = None,
        names: Sequence[str] | None = None,
        filters: str | None = None,
        limit: int | None = None,
    ) -> Op[list[Any]]:
        """``list_executions`` as bare ``admin.Execution`` protobufs (no client model per row): for pollers that
        read the phases of thousands of executions per round."""
        p, d = self._pd(project, domain)
        protos: list[Any] = yield from exec_ops.list_executions(p, d, names=names, filters=filters, limit=limit)
        return protos

    def _op_list_execution_rows(
        self, project: str | None = None, domain: str | None = None, names: Sequence[str] = ()
    ) -> Op[list[bytes]]:
        """The executions ``names`` (those that exist), each left serialized (``admin.Execution.FromString`` reads
        one): for pollers, which parse only the rows that changed since their last round."""
        p, d = self._pd(project, domain)
        rows: list[bytes] = yield from exec_ops.list_execution_rows(p, d, names)
        return rows

    def _op_recent_executions(
        self, project: str | None = None, domain: str | None = None, limit: int = 100, filters: Any = None
    ) -> Op[list[FlyteWorkflowExecution]]:
        """The ``limit`` most recent executions (``filters``: a flyteadmin filter string or flytekit ``Filter``
        models)."""
        return self._op_list_executions(project, domain, filters=_filter_string(filters), limit=limit)

    def _op_list_projects(
        self, limit: int | None = 100, filters: Any = None, sort_by: Any = None
    ) -> Op[list[Any]]:
        """Registered projects (``admin.Project``: ``id``, ``name``, ``description``), as flytekit's
        ``list_projects``; ``filters`` is a flyteadmin filter string or flytekit ``Filter`` models."""
        return server_ops.list_projects(limit, _filter_string(filters), sort_by)

    def _op_get_domains(self) -> Op[list[Any]]:
        """Registered domains (``admin.Domain``: ``id``, ``name``), as flytekit's ``get_domains``."""
        return server_ops.get_domains()

    def _op_list_tasks_by_version(
        self, version: str, project: str | None = None, domain: str | None = None, limit: int | None = 100
    ) -> Op[list[FlyteTask]]:
        """Every task of a project/domain registered under ``version`` (flytekit's ``list_tasks_by_version``)."""
        if not version:
            raise FlyteInvalidInputError("Must specify a version")
        p, d = self._pd(project, domain)
        return entity_ops.list_tasks_by_version(p, d, version, limit or 100)

    def _op_get_execution_metrics(self, id: Any, depth: int = 10) -> Op[Any]:
        """The execution's timing spans (``core.Span``), as flytekit's ``get_execution_metrics``."""
        return server_ops.get_execution_metrics(self._exec_id(id, None, None), depth)

    def generate_console_http_domain(self) -> str:
        """Where the console is: ``console_endpoint``, else ``http(s)://<endpoint>`` (flytekit's)."""
        return self._console_base

    @staticmethod
    def get_extra_headers_for_protocol(native_url: str) -> dict[str, str]:
        """Headers the upload PUT needs for ``native_url`` (Azure blob storage: ``x-ms-blob-type``)."""
        return {"x-ms-blob-type": "BlockBlob"} if native_url.startswith("abfs") else {}

    # signals ---------------------------------------------------------------------------------------------------
    def _op_list_signals(
        self,
        execution_name: str | FlyteWorkflowExecution,
        project: str | None = None,
        domain: str | None = None,
        limit: int = 100,
        filters: str | None = None,
    ) -> Op[list[Signal]]:
        """Signals of an execution's gate nodes (``.id.signal_id``, ``.type.simple_type``, ``.value``)."""
        return signal_ops.list_signals(self._exec_id(execution_name, project, domain), limit, filters)

    def _op_approve(
        self,
        signal_id: str,
        execution_name: str | FlyteWorkflowExecution,
        project: str | None = None,
        domain: str | None = None,
    ) -> Op[None]:
        """Approve an approval gate."""
        return self._signal_op(signal_id, execution_name, project, domain, True)

    def _op_reject(
        self,
        signal_id: str,
        execution_name: str | FlyteWorkflowExecution,
        project: str | None = None,
        domain: str | None = None,
    ) -> Op[None]:
        """Reject an approval gate (the gate node fails)."""
        return self._signal_op(signal_id, execution_name, project, domain, False)

    def _op_set_input(
        self,
        signal_id: str,
        execution_name: str | FlyteWorkflowExecution,
        value: Any,
        project: str | None = None,
        domain: str | None = None,
        python_type: Any = None,
        literal_type: Any = None,
    ) -> Op[None]:
        """Give a ``wait_for_input`` gate its value, typed from the signal's stored type unless given."""
        from airflow_provider_flyte.remote.ops.inputs import convert_value

        exec_id = self._exec_id(execution_name, project, domain)
        ctx = self._codec_context(exec_id.project, exec_id.domain)

        def convert(lt: Any) -> Any:
            return convert_value(value, lt, python_type, ctx, name=signal_id)

        return signal_ops.set_typed_signal(exec_id, signal_id, literal_type, convert)

    # backfill --------------------------------------------------------------------------------------------------
    def _op_launch_backfill(
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
        failure_policy: Any = None,
        overwrite_cache: bool | None = None,
    ) -> Op[Any]:
        """Backfill a cron launch plan over ``[from_date, to_date)``: returns the workflow spec (``dry_run``), the
        registered :class:`FlyteWorkflow` (``execute=False``) or the :class:`FlyteWorkflowExecution`.
        ``failure_policy``: flytekit's ``WorkflowFailurePolicy``, or its name or number."""
        if isinstance(getattr(failure_policy, "value", None), int):  # flytekit's WorkflowFailurePolicy enum
            failure_policy = failure_policy.value
        build = self._request_builder(
            None,
            project=project,
            domain=domain,
            execution_name=execution_name,
            overwrite_cache=overwrite_cache,
        )
        p, d = self._pd(project, domain)
        result = yield from backfill_ops.launch_backfill(
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
        if isinstance(result, tuple):
            proto, target = result
            return self._wrap(proto, target)
        return result

    # files -----------------------------------------------------------------------------------------------------
    def _op_upload_file(
        self,
        to_upload: str | os.PathLike[str],
        project: str | None = None,
        domain: str | None = None,
        filename_root: str | None = None,
    ) -> Op[tuple[bytes, str]]:
        """Upload one file through the DataProxy; returns ``(md5 digest, native_url)``."""
        from airflow_provider_flyte.remote import files

        path = files.check_upload_source(to_upload)
        p, d = self._pd(project, domain)
        return file_ops.upload_file(path, p, d, filename_root, files.hash_file, self._put_file)

    def _op_fast_package(
        self,
        root: str | os.PathLike[str],
        deref_symlinks: bool = True,
        output: str | None = None,
        options: Any = None,
    ) -> Op[tuple[bytes, str]]:
        """Package ``root`` as a deterministic ``fast<md5>.tar.gz`` and upload it; ``(md5, native_url)``. Files
        ignored by ``.gitignore`` / ``.dockerignore`` / ``.flyteignore`` are left out, as by flytekit; flytekit's
        ``FastPackageOptions`` add its ``ignores`` (flytekit ``Ignore`` classes) and ``keep_default_ignores=False``
        drops the default ones."""
        from airflow_provider_flyte.remote import files

        extra = [cls(str(root)).is_ignored for cls in getattr(options, "ignores", None) or ()]
        defaults = bool(getattr(options, "keep_default_ignores", True))
        package = yield Local(
            lambda: files.build_fast_package(root, output, deref_symlinks, extra_ignores=extra, default_ignores=defaults)
        )
        uploaded = yield from self._op_upload_file(package)
        return uploaded

    def _op_get(self, flyte_uri: str | None = None) -> Op[Any]:
        """Resolve a ``flyte://`` data URI (flytekit's ``get``): a :class:`LiteralsResolver` for inputs/outputs,
        a ``core.Literal`` for one value, or the bytes behind a signed URL (e.g. a deck)."""
        from airflow_provider_flyte.remote.codec.context import fsspec_read_bytes

        uri = _required(flyte_uri, "flyte_uri")
        response = yield from file_ops.get_data(uri)
        which = response.WhichOneof("data")
        if which == "literal_map":
            return LiteralsResolver(response.literal_map.literals, decoder=self._decode)
        if which == "literal":
            return response.literal
        urls = list(response.pre_signed_urls.signed_url)
        if not urls:
            raise FlyteInvalidInputError(f"Flyte url {uri} resolved to empty download link")
        options = self.config.storage_options
        data: bytes = yield Local(lambda: fsspec_read_bytes(urls[0], options))
        return data

    def _op_download(
        self, data: Any, download_to: str | os.PathLike[str], recursive: bool = True
    ) -> Op[list[Path]]:
        """Download the files, directories and structured datasets that outputs (a ``LiteralsResolver`` or
        ``LiteralMap``) or one ``Literal`` refer to, laid out as flytekit's ``download``: ``<download_to>/<name>/``
        per output (``data`` for a single literal), collections and maps one level deeper per item, structs as
        ``<name>.json``. A literal map needs ``recursive=True``, as in flytekit. Returns the paths written."""
        from airflow_provider_flyte.remote import files
        from airflow_provider_flyte.remote.errors import FlyteDownloadUsageError

        if type(data).__name__ in ("Literal", "LiteralMap") and hasattr(data, "to_flyte_idl"):
            data = data.to_flyte_idl()  # flytekit's literal models
        single = hasattr(data, "WhichOneof") and hasattr(data, "scalar")
        if not single and not recursive:
            raise FlyteDownloadUsageError(
                "Please specify --recursive to download all variables in a literal map."
            )
        if single:
            named = {"data": data}
        else:  # ours or flytekit's LiteralsResolver, a LiteralMap, or a dict of literals
            named = dict(data.literals if hasattr(data, "literals") else data)
        named = {k: v.to_flyte_idl() if hasattr(v, "to_flyte_idl") else v for k, v in named.items()}
        base = Path(download_to)
        opts = self.config.storage_options

        def download() -> list[Path]:
            out: list[Path] = []
            for var, lit in named.items():
                out += files.download_literal(lit, var, base, opts)
            return out

        written: list[Path] = yield Local(download)
        return written


def _filter_string(filters: Any) -> str | None:
    """A flyteadmin filter string from one, or from flytekit ``Filter`` models (joined with ``+``)."""
    if filters is None or isinstance(filters, str):
        return filters
    return "+".join(str(f.to_flyte_idl() if hasattr(f, "to_flyte_idl") else f) for f in filters)


def _required(value: str | None, what: str) -> str:
    if not value:
        raise FlyteMissingArgumentError(f"the {what!r} argument must be specified.")  # flytekit's wording
    return value


def _bool_literal(value: bool) -> Any:
    from flyteidl.core import literals_pb2

    lit = literals_pb2.Literal()
    lit.scalar.primitive.boolean = value
    return lit


__all__ = ["DEFAULT_UPLOAD_LOCATION", "EntityRef", "RemoteBase", "bind_awaitable", "bind_blocking"]
