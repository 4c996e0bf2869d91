"""User scripts written for flytekit's ``FlyteRemote``, parameterised only by which ``FlyteRemote`` they get.

``test_dropin.py`` runs every script twice against one sandbox: with ``flytekit.remote.FlyteRemote`` and with
``airflow_provider_flyte.remote.FlyteRemote``; nothing else differs (both get flytekit's own ``Config``,
``Options``, models and exception classes, as a user's script has them). Each returns what the user would look
at: values, types, phases and the flytekit exception class its ``except`` clauses caught.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from flytekit.exceptions.system import FlyteSystemException
from flytekit.exceptions.user import FlyteAssertion, FlyteEntityNotExistException, FlyteTimeout

P, D = "flytesnacks", "development"
WF = "tests.conformance.workflows"
DROPIN = "tests.conformance.dropin_workflows"
WAIT: dict[str, Any] = {"timeout": timedelta(seconds=240), "poll_interval": timedelta(seconds=0.2)}

Script = Callable[[Any, SimpleNamespace], dict[str, Any]]


def _remote(FlyteRemote: Any, ctx: SimpleNamespace) -> Any:
    from flytekit.configuration import Config

    return FlyteRemote(Config.for_endpoint(ctx.endpoint, insecure=True), default_project=P, default_domain=D)


def _signal(remote: Any, execution_name: str, signal_id: str) -> Any:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for signal in remote.list_signals(execution_name):
            if signal.id.signal_id == signal_id:
                return signal
        time.sleep(0.2)
    raise AssertionError(f"signal {signal_id} never appeared")


def _caught(fn: Callable[[], Any], *families: type[BaseException]) -> str | None:
    """The name of the first of ``families`` (flytekit's classes) whose ``except`` clause catches ``fn()``."""
    try:
        fn()
    except families as exc:
        return next(f.__name__ for f in families if isinstance(exc, f))
    return None


def config_objects(FlyteRemote: Any, ctx: SimpleNamespace) -> dict[str, Any]:
    """flytekit's Config / PlatformConfig (AuthType enums and strings, DataConfig) and its constructor and
    classmethod signatures."""
    from flytekit.configuration import AuthType, Config, DataConfig, PlatformConfig, S3Config

    configs = {
        "for_endpoint": Config.for_endpoint(ctx.endpoint, insecure=True),
        "pkce-enum": Config(platform=PlatformConfig(endpoint=ctx.endpoint, insecure=True, auth_mode=AuthType.PKCE)),
        "standard-enum": Config(
            platform=PlatformConfig(endpoint=ctx.endpoint, insecure=True, auth_mode=AuthType.STANDARD)
        ),
        "pkce-str+s3": Config(
            platform=PlatformConfig(endpoint=ctx.endpoint, insecure=True, auth_mode="Pkce"),
            data_config=DataConfig(
                s3=S3Config(endpoint="http://localhost:30002", access_key_id="minio", secret_access_key="miniostorage")
            ),
        ),
    }
    seen: dict[str, Any] = {}
    for key, config in configs.items():
        remote = FlyteRemote(config, P, D)
        seen[key] = remote.fetch_launch_plan(name=f"{WF}.simple_wf", version=ctx.version).id.name
    remote = FlyteRemote.for_endpoint(
        ctx.endpoint,
        insecure=True,
        default_project=P,
        default_domain=D,
        data_upload_location="flyte://my-s3-bucket/",
        interactive_mode_enabled=False,
    )
    seen["for_endpoint.defaults"] = (remote.default_project, remote.default_domain, remote.interactive_mode_enabled)
    positional = FlyteRemote(Config.for_endpoint(ctx.endpoint, insecure=True), P, D, "flyte://my-s3-bucket/", True)
    seen["positional.interactive"] = positional.interactive_mode_enabled
    # flytekit's **kwargs: the gRPC channel's arguments, in the constructor and the classmethods
    import grpc

    channel_kwargs = {"options": [("grpc.max_receive_message_length", 64 << 20)], "compression": grpc.Compression.Gzip}
    tuned = FlyteRemote(Config.for_endpoint(ctx.endpoint, insecure=True), P, D, **channel_kwargs)
    seen["channel_kwargs"] = tuned.fetch_launch_plan(name=f"{WF}.simple_wf", version=ctx.version).id.name
    tuned = FlyteRemote.for_endpoint(ctx.endpoint, insecure=True, default_project=P, default_domain=D, **channel_kwargs)
    seen["for_endpoint.channel_kwargs"] = tuned.fetch_launch_plan(name=f"{WF}.simple_wf", version=ctx.version).id.name
    seen["active.unknown"] = remote.fetch_active_launchplan(name="no.such.plan")
    active = remote.fetch_active_launchplan(name="dropin_daily")
    seen["active.daily"] = (active.id.name, active.id.version == ctx.version)
    return seen


def options_and_spec(FlyteRemote: Any, ctx: SimpleNamespace) -> dict[str, Any]:
    """flytekit's Options with its Labels / Annotations / RawOutputDataConfig / SecurityContext models."""
    from flytekit import Annotations, Labels, Options
    from flytekit.models.common import RawOutputDataConfig
    from flytekit.models.security import Identity, SecurityContext

    remote = _remote(FlyteRemote, ctx)
    lp = remote.fetch_launch_plan(name=f"{WF}.simple_wf", version=ctx.version)
    options = Options(
        labels=Labels({"team": "dropin"}),
        annotations=Annotations({"note": "same-script"}),
        raw_output_data_config=RawOutputDataConfig(output_location_prefix=(ctx.tmp / "raw").as_uri()),
        security_context=SecurityContext(run_as=Identity(k8s_service_account="runner")),
        max_parallelism=5,
    )
    execution = remote.execute(
        lp, inputs={"x": 2}, options=options, interruptible=True, overwrite_cache=True, tags=["t1"]
    )
    execution = remote.wait(execution, **WAIT)
    spec = remote.fetch_execution(name=execution.id.name).spec
    return {
        "labels": dict(spec.labels.values),
        "annotations": dict(spec.annotations.values),
        "raw": spec.raw_output_data_config.output_location_prefix.endswith("/raw"),
        "sa": spec.security_context.run_as.k8s_service_account,
        "max_parallelism": spec.max_parallelism,
        "interruptible": spec.interruptible,
        "overwrite_cache": spec.overwrite_cache,
        "tags": list(spec.tags),
        "outputs": dict(execution.outputs),
    }


def server_and_aliases(FlyteRemote: Any, ctx: SimpleNamespace) -> dict[str, Any]:
    """Projects, domains, tasks by version, the console domain; lazy fetches and the per-kind execute_*."""
    remote = _remote(FlyteRemote, ctx)
    lazy = remote.fetch_workflow_lazy(name=f"{WF}.simple_wf", version=ctx.version)
    wf = remote.fetch_workflow(name=f"{WF}.simple_wf", version=ctx.version)
    execution = remote.execute_remote_wf(wf, inputs={"x": 6}, wait=True)
    return {
        "projects": sorted(p.id for p in remote.list_projects()),
        "domains": sorted(d.id for d in remote.get_domains()),
        "tasks": sorted(t.id.name for t in remote.list_tasks_by_version(ctx.version) if t.id.name.startswith(WF)),
        "console": remote.generate_console_http_domain() == f"http://{ctx.endpoint}",
        "lazy": remote.fetch_task_lazy(name=f"{WF}.double", version=ctx.version).id.name,
        "lazy.wf": lazy.id.name,
        "execute_remote_wf": dict(execution.outputs),
        "get.outputs": _flyte_uri_values(remote, f"flyte://v1/{P}/{D}/{execution.id.name}/n0/o", "o0"),
        "get.inputs": _flyte_uri_values(remote, f"flyte://v1/{P}/{D}/{execution.id.name}/n0/i", "x"),
    }


def _flyte_uri_values(remote: Any, uri: str, name: str) -> tuple[list[str], Any]:
    got = remote.get(uri)  # a resolver without types: flytekit's needs as_type
    return sorted(got.keys()), got.get(name, as_type=int)


def _task_view(t: Any) -> dict[str, Any]:
    return {
        "attempt": t.id.retry_attempt,
        "phase": t.closure.phase,
        "inputs": dict(t.inputs),
        "outputs": dict(t.outputs),
        "duration": type(t.closure.duration).__name__,
    }


def monitor(FlyteRemote: Any, ctx: SimpleNamespace) -> dict[str, Any]:
    """fetch / execute / wait / sync, values as a mapping, closures, node and task executions."""
    remote = _remote(FlyteRemote, ctx)
    lp = remote.fetch_launch_plan(name=f"{WF}.simple_wf", version=ctx.version)
    execution = remote.execute(lp, inputs={"x": 4, "name": "dropin"})
    seen: dict[str, Any] = {"early": _caught(lambda: execution.outputs, FlyteAssertion)}
    execution = remote.wait(execution, **WAIT)
    outputs = execution.outputs
    seen.update(
        phase=execution.closure.phase,
        done=(execution.is_done, execution.is_successful, execution.error),
        outputs=dict(outputs),
        len=len(outputs),
        contains=("o0" in outputs, "nope" in outputs),
        keys=sorted(outputs.keys()),
        items=dict(outputs.items()),
        get=outputs.get("o1"),
        missing_item=_caught(lambda: outputs["nope"], ValueError),
        missing_get=_caught(lambda: outputs.get("nope"), AttributeError),
        inputs=dict(execution.inputs),
        duration=(type(execution.closure.duration).__name__, execution.closure.duration > timedelta(0)),
        started_at=(type(execution.closure.started_at).__name__, execution.closure.started_at.tzinfo is not None),
        interruptible=execution.spec.interruptible,
    )
    fetched = remote.fetch_execution(name=execution.id.name)
    fetched = remote.sync(fetched, sync_nodes=True)
    seen["fetched.outputs"] = dict(fetched.outputs)
    nodes = fetched.node_executions
    seen["nodes"] = {k: n.closure.phase for k, n in nodes.items()}
    n0 = nodes["n0"]
    seen["n0"] = (dict(n0.inputs), dict(n0.outputs), type(n0.closure.duration).__name__)
    seen["n0.tasks"] = [_task_view(t) for t in n0.task_executions]
    synced = remote.sync_execution(fetched, sync_nodes=True, rpc_timeout=timedelta(seconds=30))
    seen["sync_execution"] = (dict(synced.outputs), sorted(synced.node_executions))
    seen["sync_execution.entity"] = _caught(lambda: remote.sync_execution(fetched, lp), ValueError)
    return seen


def subworkflow_dynamic(FlyteRemote: Any, ctx: SimpleNamespace) -> dict[str, Any]:
    """A sub-workflow node and a dynamic node: their child node executions."""
    remote = _remote(FlyteRemote, ctx)
    parent = remote.execute(remote.fetch_workflow(name=f"{WF}.parent_wf", version=ctx.version), inputs={"x": 3})
    parent = remote.wait(parent, **WAIT)
    seen: dict[str, Any] = {"parent.o0": parent.outputs["o0"]}
    sub = parent.node_executions["n0"]
    seen["sub"] = {
        k: (c.closure.phase, dict(c.outputs))
        for k, c in sub.subworkflow_node_executions.items()
        if c.metadata.spec_node_id not in ("start-node", "end-node")
    }
    dyn = remote.execute(remote.fetch_workflow(name=f"{DROPIN}.dynamic_wf", version=ctx.version), inputs={"n": 3})
    dyn = remote.wait(dyn, sync_nodes=False, **WAIT)
    dyn = remote.sync(dyn, sync_nodes=True)
    node = dyn.node_executions["n0"]
    seen["dyn.o0"] = dyn.outputs["o0"]
    seen["dyn.node"] = (node.metadata.is_dynamic, node.closure.phase, dict(node.outputs))
    seen["dyn.children"] = sorted(
        (dict(c.inputs)["x"], dict(c.outputs)["o0"])
        for c in node.subworkflow_node_executions.values()
        if c.metadata.spec_node_id not in ("start-node", "end-node")
    )
    return seen


def signals(FlyteRemote: Any, ctx: SimpleNamespace) -> dict[str, Any]:
    """Approve, reject and set_input on gate nodes."""
    remote = _remote(FlyteRemote, ctx)
    gated = remote.fetch_workflow(name=f"{WF}.gated_wf", version=ctx.version)
    approved = remote.execute(gated, inputs={"x": 5})
    signal = _signal(remote, approved.id.name, "approve-double")
    seen: dict[str, Any] = {"signal": (signal.id.signal_id, signal.type.simple)}
    remote.approve("approve-double", approved.id.name)
    seen["approved"] = remote.wait(approved, **WAIT).outputs["o0"]
    rejected = remote.execute(gated, inputs={"x": 1})
    _signal(remote, rejected.id.name, "approve-double")
    remote.reject("approve-double", rejected.id.name)
    seen["rejected"] = remote.wait(rejected, **WAIT).closure.phase
    asking = remote.execute(remote.fetch_workflow(name=f"{WF}.signal_wf", version=ctx.version), inputs={"x": 2})
    _signal(remote, asking.id.name, "title")
    remote.set_input("title", asking.id.name, "dropin")
    seen["input"] = remote.wait(asking, **WAIT).outputs["o0"]
    return seen


def errors(FlyteRemote: Any, ctx: SimpleNamespace) -> dict[str, Any]:
    """flytekit's except clauses around the client's failures."""
    from flytekit.remote.remote import RegistrationSkipped

    remote = _remote(FlyteRemote, ctx)
    seen: dict[str, Any] = {
        "unknown": _caught(lambda: remote.fetch_workflow(name="no.such.wf", version="v0"), FlyteEntityNotExistException),
        "no-name": _caught(lambda: remote.fetch_task(), FlyteAssertion),
    }
    gated = remote.fetch_workflow(name=f"{WF}.gated_wf", version=ctx.version)
    waiting = remote.execute(gated, inputs={"x": 1})
    seen["timeout"] = _caught(lambda: remote.wait(waiting, timeout=timedelta(seconds=1)), FlyteTimeout)
    seen["not-done"] = _caught(lambda: waiting.outputs, FlyteAssertion)
    remote.terminate(waiting, cause="dropin")
    waiting = remote.wait(waiting, **WAIT)
    seen["aborted"] = waiting.closure.phase
    seen["terminate-finished"] = _caught(lambda: remote.terminate(waiting, cause="again"), FlyteSystemException)
    task = remote.fetch_task(name=f"{WF}.double", version=ctx.version)
    seen["raw-remote"] = _caught(lambda: remote.raw_register(task, None, ctx.version), RegistrationSkipped)
    failing = remote.wait(
        remote.execute(remote.fetch_workflow(name=f"{WF}.failing_wf", version=ctx.version), inputs={"x": 7}), **WAIT
    )
    seen["failed.outputs"] = _caught(lambda: failing.outputs, FlyteAssertion)
    seen["failed.error"] = (failing.error.kind, failing.error.code, "explode was given 7" in failing.error.message)
    return seen


def registration(FlyteRemote: Any, ctx: SimpleNamespace) -> dict[str, Any]:
    """register_task / register_workflow / register_launch_plan with flytekit entities; dataclass outputs."""
    from flytekit import LaunchPlan
    from flytekit.configuration import ImageConfig, SerializationSettings

    from tests.conformance.dropin_workflows import Point, add_one, point_wf

    remote = _remote(FlyteRemote, ctx)
    settings = SerializationSettings(
        image_config=ImageConfig.auto_default_image(), project=P, domain=D, version=ctx.fresh
    )
    task = remote.register_task(add_one, serialization_settings=settings, version=ctx.fresh)
    wf = remote.register_workflow(point_wf, serialization_settings=settings, version=ctx.fresh, default_launch_plan=False)
    seen: dict[str, Any] = {
        "task": (task.id.name, task.id.version == ctx.fresh),
        "workflow": (wf.id.name, wf.id.version == ctx.fresh),
    }
    # (default_launch_plan=False: flytekit 1.16 registers the default launch plan anyway; we leave it out, see
    # test_dropin.py::test_default_launch_plan_false_is_honoured)
    plan = LaunchPlan.get_or_create(point_wf, name="dropin_point_lp", default_inputs={"x": 3})
    lp = remote.register_launch_plan(plan, version=ctx.fresh)
    seen["lp"] = (lp.id.name, lp.id.version == ctx.fresh)
    execution = remote.wait(remote.execute(lp, inputs={}), **WAIT)
    point = execution.outputs.get("o0", as_type=Point)
    seen["dataclass"] = (type(point).__name__, dataclasses.asdict(point))
    return seen


def script_mode(FlyteRemote: Any, ctx: SimpleNamespace) -> dict[str, Any]:
    """register_script and fast_register_workflow: the code is packaged, uploaded and run from the package."""
    from tests.conformance.dropin_workflows import add_one_wf

    remote = _remote(FlyteRemote, ctx)
    root = str(Path(__file__).resolve().parents[2])
    scripted = remote.register_script(
        add_one_wf, version=ctx.fresh, source_path=root, module_name="tests.conformance.dropin_workflows"
    )
    fast = remote.fast_register_workflow(add_one_wf, version=ctx.fresh + "-fast")
    seen: dict[str, Any] = {"types": (type(scripted).__name__, type(fast).__name__)}
    for key, wf in (("script", scripted), ("fast", fast)):
        execution = remote.wait(remote.execute(wf, inputs={"x": 1}), **WAIT)
        seen[key] = (wf.id.name, execution.closure.phase, execution.outputs["o0"])
    return seen


def local_entities(FlyteRemote: Any, ctx: SimpleNamespace) -> dict[str, Any]:
    """execute() of local flytekit entities: registered when missing; ``name=`` picks a registered entity."""
    from tests.conformance.dropin_workflows import Point, add_one, point_wf

    remote = _remote(FlyteRemote, ctx)
    execution = remote.execute(point_wf, inputs={"x": 5}, version=ctx.fresh, wait=True)
    point = execution.outputs["o0"]
    seen: dict[str, Any] = {"local.wf": (isinstance(point, Point), dataclasses.asdict(point))}
    named = remote.execute(add_one, inputs={"x": 4}, name=f"{WF}.double", version=ctx.version, wait=True)
    seen["local.named"] = (named.spec.launch_plan.name, named.outputs["o0"])
    return seen


def interactive(FlyteRemote: Any, ctx: SimpleNamespace) -> dict[str, Any]:
    """interactive_mode_enabled (positional, as in flytekit's constructor): the task is pickled and shipped."""
    from flytekit.configuration import Config

    from tests.conformance.dropin_workflows import add_one

    remote = FlyteRemote(Config.for_endpoint(ctx.endpoint, insecure=True), P, D, "flyte://my-s3-bucket/", True)
    execution = remote.execute(add_one, inputs={"x": 41}, wait=True)
    return {"phase": execution.closure.phase, "o0": execution.outputs["o0"], "interactive": remote.interactive_mode_enabled}


def backfill(FlyteRemote: Any, ctx: SimpleNamespace) -> dict[str, Any]:
    """launch_backfill of a cron launch plan with flytekit's WorkflowFailurePolicy."""
    from flytekit.core.workflow import WorkflowFailurePolicy

    remote = _remote(FlyteRemote, ctx)
    start, end = ctx.backfill_range
    execution = remote.launch_backfill(
        P,
        D,
        start,
        end,
        "dropin_daily",
        launchplan_version=ctx.version,
        failure_policy=WorkflowFailurePolicy.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE,
    )
    execution = remote.wait(execution, **WAIT)
    nodes = {k: n for k, n in execution.node_executions.items() if k not in ("start-node", "end-node")}
    return {
        "launch_plan": execution.spec.launch_plan.name,
        "phase": execution.closure.phase,
        "nodes": sorted((k, n.closure.phase) for k, n in nodes.items()),
    }


def _listing(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()
    }


def download(FlyteRemote: Any, ctx: SimpleNamespace) -> dict[str, Any]:
    """download() of files, directories, collections, maps and structs; recursive=False on a map."""
    import click
    from flytekit.core.type_engine import LiteralsResolver
    from flytekit.models.core.types import BlobType
    from flytekit.models.literals import (
        Blob,
        BlobMetadata,
        Literal,
        LiteralCollection,
        LiteralMap,
        Primitive,
        Scalar,
    )
    from google.protobuf.struct_pb2 import Struct

    src = ctx.shared
    single = BlobType(format="", dimensionality=BlobType.BlobDimensionality.SINGLE)
    multi = BlobType(format="", dimensionality=BlobType.BlobDimensionality.MULTIPART)

    def blob(path: Path, kind: BlobType) -> Literal:
        return Literal(scalar=Scalar(blob=Blob(BlobMetadata(kind), str(path))))

    struct = Struct()
    struct.update({"a": 1, "b": "two"})
    resolver = LiteralsResolver(
        {
            "f": blob(src / "one.txt", single),
            "d": blob(src / "folder", multi),
            "c": Literal(collection=LiteralCollection([blob(src / "one.txt", single), blob(src / "two.txt", single)])),
            "m": Literal(map=LiteralMap({"k": blob(src / "two.txt", single)})),
            "g": Literal(scalar=Scalar(generic=struct)),
            "n": Literal(scalar=Scalar(primitive=Primitive(integer=3))),
        }
    )
    remote = _remote(FlyteRemote, ctx)
    remote.download(resolver, str(ctx.tmp / "all"))
    remote.download(blob(src / "two.txt", single), str(ctx.tmp / "one"))
    return {
        "all": _listing(ctx.tmp / "all"),
        "one": _listing(ctx.tmp / "one"),
        "not-recursive": _caught(lambda: remote.download(resolver, str(ctx.tmp / "x"), recursive=False), click.UsageError),
    }


def files(FlyteRemote: Any, ctx: SimpleNamespace) -> dict[str, Any]:
    """A task returning a FlyteFile: the output as a FlyteFile, and download() of the outputs."""
    remote = _remote(FlyteRemote, ctx)
    wf = remote.fetch_workflow(name=f"{DROPIN}.note_wf", version=ctx.version)
    execution = remote.wait(remote.execute(wf, inputs={"text": "a note"}), **WAIT)
    note = execution.outputs["o0"]
    with open(note.download()) as fh:
        text = fh.read()
    remote.download(execution.outputs, str(ctx.tmp / "files"))
    return {"type": type(note).__name__, "text": text, "listing": sorted(_listing(ctx.tmp / "files").values())}


SCRIPTS: dict[str, Script] = {
    s.__name__: s
    for s in (
        config_objects,
        server_and_aliases,
        options_and_spec,
        monitor,
        subworkflow_dynamic,
        signals,
        errors,
        registration,
        script_mode,
        local_entities,
        interactive,
        backfill,
        download,
        files,
    )
}

__all__ = ["SCRIPTS", "WAIT", "datetime"]
