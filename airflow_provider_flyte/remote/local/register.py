"""Register a flytekit local entity (and what it references) as needed, and say what to launch.

:func:`local_entity_op` is a sans-IO operation (``remote/ops``), so the blocking and the asyncio client run the
same code: it yields ``Local`` steps for serializing, packaging and pickling, and ``Call`` steps for RPCs.

Without an explicit version the version is derived from the content (serialized specs + code bundle digest), so:

* unchanged code -> same version -> the launch target is found (one ``Get``, or none when the client already
  fetched it) and nothing is uploaded or created;
* changed code -> new version -> the bundle is uploaded and tasks, workflows, launch plans and the workflow's
  default launch plan are created in dependency order (identical ones already registered are skipped).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from airflow_provider_flyte.remote.errors import FlyteEntityNotFoundError, FlyteInvalidInputError
from airflow_provider_flyte.remote.local import serialize as ser
from airflow_provider_flyte.remote.local.detect import is_reference_entity, local_kind, require_flytekit
from airflow_provider_flyte.remote.local.packaging import CodeBundle, SourceTree, fast_bundle, source_tree
from airflow_provider_flyte.remote.local.versioning import content_version
from airflow_provider_flyte.remote.models import FlyteLaunchPlan, FlyteTask, FlyteWorkflow, Launchable
from airflow_provider_flyte.remote.ops import entities as entity_ops
from airflow_provider_flyte.remote.ops.call import Local, Op
from airflow_provider_flyte.remote.ops.entities import LAUNCH_PLAN, TASK, WORKFLOW

#: Task creations in flight at once on first registration.
REGISTRATION_CONCURRENCY = 8

#: How the tasks' code reaches the workers: packaged source, a pickle, a bundle the caller already uploaded, or
#: nothing (the image has it).
CodeMode = Literal["fast", "pickle", "given", "image"]


@dataclass
class LocalTarget:
    """A local entity made executable: the registered entity to launch and the local Python types."""

    #: the registered task or launch plan (a workflow's default launch plan) to execute; the workflow itself when
    #: it was registered without its default launch plan
    entity: Launchable
    version: str
    input_types: dict[str, Any]
    output_types: dict[str, Any]
    code_mode: CodeMode
    #: ids created (or found identical) by this call; empty when the version was already registered
    registered: list[Any] = field(default_factory=list)

    @property
    def type_hints(self) -> dict[str, Any]:
        """Input and output types by name, for ``execute(type_hints=...)`` (inputs win a name clash)."""
        return {**self.output_types, **self.input_types}


@dataclass
class _Plan:
    mode: CodeMode
    tree: SourceTree | None = None
    destination_dir: str | None = None
    location: str | None = None
    tasks: dict[str, Any] = field(default_factory=dict)

    def settings(self, base: Any, image_config: Any, project: str, domain: str, version: str, url: str | None) -> Any:
        location = {"fast": url, "pickle": url, "given": self.location, "image": None}[self.mode]
        root = self.tree.project_root if self.tree is not None else None
        return ser.settings_for(
            base,
            project=project,
            domain=domain,
            version=version,
            image_config=image_config,
            distribution_location=location,
            destination_dir=self.destination_dir,
            source_root=str(root) if root is not None else None,
        )


def _code_plan(entity: Any, settings: Any, interactive_mode_enabled: bool | None) -> _Plan:
    fast = getattr(settings, "fast_serialization_settings", None) if settings is not None else None
    dest = getattr(fast, "destination_dir", None) if fast is not None else None
    if fast is not None and fast.distribution_location:
        return _Plan("given", destination_dir=dest, location=fast.distribution_location)
    if fast is not None and not fast.enabled:
        return _Plan("image")
    tree = source_tree(entity)
    if interactive_mode_enabled is None:
        from flytekit.tools.interactive import ipython_check

        interactive_mode_enabled = tree is None or bool(ipython_check())
    if interactive_mode_enabled:
        return _Plan("pickle")
    if tree is None:
        raise FlyteInvalidInputError(
            f"cannot fast-register {entity.name}: its module cannot be imported by name on a worker (defined in "
            "__main__, a notebook or a DAG file); pass interactive_mode_enabled=True to ship it pickled"
        )
    return _Plan("fast", tree=tree, destination_dir=dest)


def _bundle(plan: _Plan, out_dir: Path) -> CodeBundle | None:
    from airflow_provider_flyte.remote.local.interactive import pickle_bundle

    if plan.mode == "fast":
        assert plan.tree is not None
        return fast_bundle(plan.tree, out_dir)
    if plan.mode == "pickle":
        return pickle_bundle(plan.tasks, out_dir)
    return None


def _discover_tasks(entity: Any, settings: Any) -> dict[str, Any]:
    from collections import OrderedDict

    from flytekit.tools.translator import get_serializable

    from airflow_provider_flyte.remote.local.interactive import pickled_tasks

    mapping: OrderedDict[Any, Any] = OrderedDict()
    get_serializable(mapping, settings, entity)
    return pickled_tasks(list(mapping))


def _register_concurrently(remote: Any, items: list[ser.Registrable]) -> list[Any]:
    """Create tasks in parallel (they do not depend on each other), as flytekit does; ids in ``items`` order.

    Runs as a ``Local`` step (a worker thread under the asyncio client): each creation is an operation of its own,
    run with the client's ``_run_blocking``.
    """
    if len(items) <= 1:
        return [remote._run_blocking(entity_ops.register_entity(i.resource_type, i.id, i.spec)) for i in items]
    with ThreadPoolExecutor(max_workers=min(REGISTRATION_CONCURRENCY, len(items))) as pool:
        futures = [
            pool.submit(remote._run_blocking, entity_ops.register_entity(i.resource_type, i.id, i.spec))
            for i in items
        ]
        return [f.result() for f in futures]


@contextlib.contextmanager
def _resolvers(plan: _Plan) -> Iterator[None]:
    if plan.mode != "pickle":
        yield
        return
    from airflow_provider_flyte.remote.local.interactive import notebook_resolvers

    with notebook_resolvers(plan.tasks):
        yield


def local_entity_op(
    remote: Any,
    entity: Any,
    *,
    project: str | None = None,
    domain: str | None = None,
    name: str | None = None,
    version: str | None = None,
    image_config: Any = None,
    serialization_settings: Any = None,
    interactive_mode_enabled: bool | None = None,
    code: CodeMode | None = None,
    default_launch_plan: bool = True,
    options: Any = None,
) -> Op[LocalTarget]:
    """Make a flytekit ``PythonTask`` / ``WorkflowBase`` / ``LaunchPlan`` executable on ``remote``'s backend.

    ``remote`` is a :class:`~airflow_provider_flyte.remote.client.FlyteRemote` or ``AsyncFlyteRemote`` (its
    defaults, entity cache and upload path are used). Project/domain: the arguments, else the serialization
    settings', else the client's defaults. ``version=None`` derives it from the content. Code shipping: see
    :mod:`~airflow_provider_flyte.remote.local.packaging`; ``interactive_mode_enabled`` (default: the client's
    attribute of that name; ``None``: decide per entity) pickles the tasks, and ``None`` pickles exactly when the
    entity's module cannot be imported by name on a worker. Reference entities are only looked up.
    ``code="image"`` registers without shipping code (flytekit's ``register_*``: the image holds it);
    ``default_launch_plan=False`` leaves a workflow's default launch plan out (the target is then the workflow);
    ``options`` (flytekit's ``Options``) apply to the launch plans registered.
    """
    require_flytekit("executing a local flytekit entity")
    kind = local_kind(entity)
    if kind is None:
        raise FlyteInvalidInputError(f"{type(entity).__name__} is not a flytekit task, workflow or launch plan")
    ss = serialization_settings
    p, d = remote._pd(project or getattr(ss, "project", None), domain or getattr(ss, "domain", None))
    input_types, output_types = ser.type_hints(entity)
    launch_type = TASK if kind == "task" else LAUNCH_PLAN
    if kind == "workflow" and not default_launch_plan:
        launch_type = WORKFLOW

    if name is not None and name != entity.name:
        # flytekit's meaning: ``name`` names an entity already registered (latest unless ``version``), which is
        # launched with the local entity's Python types; the local code is not registered under another name
        named = yield from entity_ops.fetch_entity(launch_type, p, d, name, version, remote._cache)
        assert isinstance(named, FlyteTask | FlyteWorkflow | FlyteLaunchPlan)
        return LocalTarget(named, named.id.version, input_types, output_types, "image")

    if is_reference_entity(entity):
        _kind, ref = ser.reference_id(entity)
        referenced = yield from entity_ops.fetch_entity(
            launch_type, ref.project or p, ref.domain or d, ref.name, ref.version or version, remote._cache
        )
        assert isinstance(referenced, FlyteTask | FlyteLaunchPlan)
        return LocalTarget(referenced, referenced.id.version, input_types, output_types, "image")

    if interactive_mode_enabled is None:
        interactive_mode_enabled = getattr(remote, "interactive_mode_enabled", None)
    plan = _Plan("image") if code == "image" else _code_plan(entity, ss, interactive_mode_enabled)

    def settings(v: str, url: str | None) -> Any:
        return plan.settings(ss, image_config, p, d, v, url)

    with tempfile.TemporaryDirectory(prefix="flyte-local-") as tmp:
        out_dir = Path(tmp)
        if plan.mode == "pickle":
            plan.tasks = yield Local(lambda: _discover_tasks(entity, settings(ser.PLACEHOLDER_VERSION, None)))
        with _resolvers(plan):
            bundle: CodeBundle | None = None
            if version is None:
                bundle = yield Local(lambda: _bundle(plan, out_dir))
                code_digest = bundle.digest if bundle is not None else (plan.location or "").encode()
                placeholder = yield Local(
                    lambda: ser.serialize(
                        entity,
                        settings(ser.PLACEHOLDER_VERSION, ser.PLACEHOLDER_LOCATION),
                        options,
                        default_launch_plan,
                    )
                )
                version = content_version(placeholder.fingerprint(), code_digest)
            v: str = version
            found: Launchable | None
            try:
                found = yield from entity_ops.fetch_entity(launch_type, p, d, entity.name, v, remote._cache)
            except FlyteEntityNotFoundError:
                found = None
            if found is not None:
                assert isinstance(found, FlyteTask | FlyteWorkflow | FlyteLaunchPlan)
                return LocalTarget(found, v, input_types, output_types, plan.mode)
            if bundle is None:
                bundle = yield Local(lambda: _bundle(plan, out_dir))
            url = None
            if bundle is not None:
                url = yield from remote._upload_path_op(str(bundle.path), p, d)
            final = yield Local(lambda: ser.serialize(entity, settings(v, url), options, default_launch_plan))
            tasks = [r for r in final.entities if r.resource_type == TASK]
            registered: list[Any] = yield Local(lambda: _register_concurrently(remote, tasks))
            for item in (r for r in final.entities if r.resource_type != TASK):  # in dependency order
                registered.append((yield from entity_ops.register_entity(item.resource_type, item.id, item.spec)))
                if item.activate:
                    yield from entity_ops.set_launch_plan_state(item.id, True)
            lid = final.launch_id
            target = yield from entity_ops.fetch_entity(
                launch_type, lid.project, lid.domain, lid.name, lid.version, remote._cache
            )
            assert isinstance(target, FlyteTask | FlyteWorkflow | FlyteLaunchPlan)
            return LocalTarget(target, v, input_types, output_types, plan.mode, registered)
