"""flytekit local entities -> flyteidl admin specs, with flytekit's own serializer.

``flytekit.tools.translator.get_serializable`` (what flytekit's ``FlyteRemote`` registers with) turns a
``PythonTask`` / ``WorkflowBase`` / ``LaunchPlan`` and everything it references into ``TaskSpec`` /
``WorkflowSpec`` / ``LaunchPlan`` models in dependency order; they are converted here to protos that the
client's registration operations take. flytekit is imported inside the functions only.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_flyte.remote.errors import FlyteInvalidInputError
from airflow_provider_flyte.remote.local.detect import LocalKind, local_kind
from airflow_provider_flyte.remote.ops.entities import LAUNCH_PLAN, TASK, WORKFLOW

#: Stand-ins serialized while the content version is computed (the real values depend on it).
PLACEHOLDER_VERSION = "local-version-placeholder"
PLACEHOLDER_LOCATION = "placeholder://local-code-bundle"


@dataclass
class Registrable:
    """One entity to create: its resource type, ``core.Identifier`` and admin spec proto."""

    resource_type: int
    id: Any
    spec: Any
    #: activate the launch plan after creating it (flytekit's ``should_auto_activate``: scheduled plans)
    activate: bool = False

    def key(self) -> tuple[int, str]:
        return self.resource_type, self.id.name


@dataclass
class Serialized:
    """A local entity as specs: what to register (dependency order, the root last) and what to launch."""

    kind: LocalKind
    #: the id an execution launches: the task, the launch plan, or the workflow's default launch plan
    launch_id: Any
    entities: list[Registrable] = field(default_factory=list)

    def fingerprint(self) -> list[bytes]:
        """Deterministic bytes of every spec (for the content version)."""
        return [
            f"{r.resource_type}:{r.id.name}:{int(r.activate)}".encode()
            + r.spec.SerializeToString(deterministic=True)
            for r in self.entities
        ]


def settings_for(
    base: Any,
    *,
    project: str,
    domain: str,
    version: str,
    image_config: Any,
    distribution_location: str | None,
    destination_dir: str | None,
    source_root: str | None,
) -> Any:
    """The ``SerializationSettings`` to serialize with: ``base`` (the caller's, if any) with the project, domain,
    version and code location decided by the caller. ``distribution_location=None`` leaves fast registration off
    (the image holds the code)."""
    from flytekit.configuration import FastSerializationSettings, ImageConfig, SerializationSettings

    fast = None
    if distribution_location is not None:
        fast = FastSerializationSettings(
            enabled=True, destination_dir=destination_dir or ".", distribution_location=distribution_location
        )
    if base is None:
        return SerializationSettings(
            image_config=image_config or ImageConfig.auto_default_image(),
            project=project,
            domain=domain,
            version=version,
            fast_serialization_settings=fast,
            source_root=source_root,
        )
    changes: dict[str, Any] = {
        "project": project,
        "domain": domain,
        "version": version,
        "fast_serialization_settings": fast,
    }
    if image_config is not None:
        changes["image_config"] = image_config
    if source_root is not None and base.source_root is None:
        changes["source_root"] = source_root
    return dataclasses.replace(base, **changes)


def serialize(
    entity: Any, settings: Any, options: Any = None, default_launch_plan: bool = True
) -> Serialized:
    """Serialize ``entity`` and its dependencies; a workflow also gets its default launch plan (registered last)
    unless ``default_launch_plan`` is false. ``options`` (flytekit's ``Options``) apply to launch plans."""
    from flytekit.core.context_manager import FlyteContextManager
    from flytekit.core.launch_plan import LaunchPlan
    from flytekit.models import launch_plan as lp_models
    from flytekit.models import task as task_models
    from flytekit.models.admin import workflow as wf_models
    from flytekit.tools.translator import get_serializable, get_serializable_launch_plan

    kind = local_kind(entity)
    if kind is None:
        raise FlyteInvalidInputError(f"{type(entity).__name__} is not a flytekit task, workflow or launch plan")
    options = flytekit_options(options)
    mapping: OrderedDict[Any, Any] = OrderedDict()
    get_serializable(mapping, settings, entity, options=options)
    out = Serialized(kind=kind, launch_id=None)
    tasks: list[Registrable] = []
    others: list[Registrable] = []
    for model in mapping.values():
        if isinstance(model, task_models.TaskSpec):
            tasks.append(Registrable(TASK, model.template.id.to_flyte_idl(), model.to_flyte_idl()))
        elif isinstance(model, wf_models.WorkflowSpec):
            others.append(Registrable(WORKFLOW, model.template.id.to_flyte_idl(), model.to_flyte_idl()))
        elif isinstance(model, lp_models.LaunchPlan):
            others.append(
                Registrable(
                    LAUNCH_PLAN, model.id.to_flyte_idl(), model.spec.to_flyte_idl(), model.should_auto_activate
                )
            )
        # nodes and reference specs are not registered
    out.entities = tasks + others
    if kind == "workflow" and default_launch_plan:
        ctx = FlyteContextManager.current_context()
        cached = LaunchPlan.CACHE.get(entity.name)
        if cached is not None and cached.workflow is not entity:
            del LaunchPlan.CACHE[entity.name]  # a stale plan of an earlier definition (module reloaded)
        default_lp = LaunchPlan.get_default_launch_plan(ctx, entity)
        lp = get_serializable_launch_plan(
            OrderedDict(), settings, default_lp, recurse_downstream=False, options=options
        )
        out.entities.append(Registrable(LAUNCH_PLAN, lp.id.to_flyte_idl(), lp.spec.to_flyte_idl()))
    root = out.entities[-1]
    if kind == "task":
        root = next(r for r in tasks if r.id.name == entity.name)
    elif kind == "workflow" and not default_launch_plan:
        root = next(r for r in others if r.resource_type == WORKFLOW and r.id.name == entity.name)
    out.launch_id = root.id
    return out


def script_settings(
    project: str,
    domain: str,
    image_config: Any,
    distribution_location: str,
    destination_dir: str,
    source_root: str,
    envs: Any,
    default_resources: Any,
) -> Any:
    """flytekit's script-mode ``SerializationSettings``: code from ``distribution_location`` (an uploaded
    package of ``source_root``), unpacked into ``destination_dir``."""
    from flytekit.configuration import FastSerializationSettings, ImageConfig, SerializationSettings

    extra = {"default_resources": default_resources} if default_resources is not None else {}
    return SerializationSettings(
        project=project,
        domain=domain,
        image_config=image_config or ImageConfig.auto_default_image(),
        env=dict(envs) if envs else None,
        fast_serialization_settings=FastSerializationSettings(
            enabled=True, destination_dir=destination_dir, distribution_location=distribution_location
        ),
        source_root=source_root,
        **extra,
    )


def flytekit_options(options: Any) -> Any:
    """flytekit's ``Options`` for ours (flytekit's as they are; None stays None)."""
    if options is None or type(options).__module__.startswith("flytekit"):
        return options
    from flytekit import Options as FkOptions
    from flytekit.models import common as common_models
    from flytekit.models import security

    raw = options.raw_output_data_config
    if isinstance(raw, str):
        raw = common_models.RawOutputDataConfig(output_location_prefix=raw)
    elif raw is not None:
        raw = common_models.RawOutputDataConfig.from_flyte_idl(raw)
    sc = options.security_context
    return FkOptions(
        labels=common_models.Labels(dict(options.labels)) if options.labels else None,
        annotations=common_models.Annotations(dict(options.annotations)) if options.annotations else None,
        raw_output_data_config=raw,
        security_context=security.SecurityContext.from_flyte_idl(sc) if sc is not None else None,
        max_parallelism=options.max_parallelism,
        notifications=[common_models.Notification.from_flyte_idl(n) for n in options.notifications]
        if options.notifications
        else None,
        disable_notifications=options.disable_notifications,
        overwrite_cache=options.overwrite_cache,
    )


def type_hints(entity: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Python types of the entity's inputs and outputs (from its local interface)."""
    iface = entity.python_interface
    return dict(iface.inputs), dict(iface.outputs)


def reference_id(entity: Any) -> tuple[LocalKind, Any]:
    """``(kind, core.Identifier)`` of a flytekit reference entity (what it points at)."""
    kind = local_kind(entity)
    ref = entity.reference.id
    assert kind is not None
    return kind, ref.to_flyte_idl()
