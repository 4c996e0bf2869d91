"""``FlyteExecuteOperator``: run a Flyte launch plan, workflow or task and return its outputs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_flyte._compat import AirflowFailException, BaseOperator, default_deferrable
from airflow_provider_flyte.hooks.flyte import DEFAULT_CONN_ID
from airflow_provider_flyte.links.flyte import FlyteExecutionLink
from airflow_provider_flyte.operators.waiting import ExecutionWaiter, flyte_errors, seconds
from airflow_provider_flyte.remote.local.detect import is_local_entity

_KINDS = ("launch_plan", "workflow", "task")
#: notification channels (``admin.Notification`` fields) and the phases flyteadmin accepts for them (terminal ones)
_CHANNELS = ("email", "slack", "pager_duty")
_NOTIFY_PHASES = ("SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT")
_NOTIFY_EXAMPLE = '{"phases": ["FAILED"], "email": ["team@example.com"]}'


def _check_str_map(value: Any, what: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError(f"{what} must be a dict of strings to strings, got {value!r}")
    return dict(value)


def _check_optional_str(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return value.strip()


def _check_output_assets(value: Any) -> dict[str, Any]:
    """``{output name: Asset}``; an Asset is recognized by its ``uri``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and k and isinstance(getattr(v, "uri", None), str) for k, v in value.items()
    ):
        raise ValueError(f"output_assets must map output names to Airflow Assets, got {value!r}")
    return dict(value)


def _notifications(value: Any) -> list[Any] | None:
    """``admin.Notification`` protos from ``[{"phases": [...], "email" | "slack" | "pager_duty": [recipients]}]``."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = [value]
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"notifications must be a list of dicts such as {_NOTIFY_EXAMPLE}, got {value!r}")
    from flyteidl.admin import common_pb2
    from flyteidl.core import execution_pb2

    result = []
    for i, item in enumerate(value):
        where = f"notifications[{i}]"
        if not isinstance(item, Mapping):
            raise ValueError(f"{where} must be a dict such as {_NOTIFY_EXAMPLE}, got {item!r}")
        unknown = sorted(set(item) - {"phases", *_CHANNELS})
        if unknown:
            raise ValueError(f"{where} has unknown key(s) {unknown}; use 'phases' and one of {', '.join(_CHANNELS)}")
        channels = [c for c in _CHANNELS if c in item]
        if len(channels) != 1:
            raise ValueError(f"{where} needs exactly one of {', '.join(_CHANNELS)} (got {channels or 'none'})")
        phases = item.get("phases")
        if isinstance(phases, str) or not isinstance(phases, Sequence) or not phases:
            raise ValueError(f"{where}: 'phases' must be a non-empty list of {', '.join(_NOTIFY_PHASES)}")
        bad = [p for p in phases if not isinstance(p, str) or p.upper() not in _NOTIFY_PHASES]
        if bad:
            raise ValueError(f"{where}: phase(s) {bad} cannot notify; use terminal phases {', '.join(_NOTIFY_PHASES)}")
        recipients = item[channels[0]]
        if isinstance(recipients, str):
            recipients = [recipients]
        if not recipients or not all(isinstance(r, str) and r.strip() for r in recipients):
            raise ValueError(f"{where}: {channels[0]!r} must be a non-empty list of recipient addresses")
        message = {
            "email": common_pb2.EmailNotification,
            "slack": common_pb2.SlackNotification,
            "pager_duty": common_pb2.PagerDutyNotification,
        }[channels[0]](recipients_email=[r.strip() for r in recipients])
        result.append(
            common_pb2.Notification(
                phases=[execution_pb2.WorkflowExecution.Phase.Value(p.upper()) for p in phases],
                **{channels[0]: message},
            )
        )
    return result


class FlyteExecuteOperator(ExecutionWaiter, BaseOperator):  # type: ignore[misc]
    """Execute a Flyte launch plan, workflow (its default launch plan) or task, and wait for it.

    Exactly one of ``launch_plan``, ``workflow`` or ``task`` names the entity (``version`` optional: latest), or is
    a flytekit ``LaunchPlan`` / ``@workflow`` / ``@task`` object (needs the ``flytekit`` extra; registered on first
    run under a version derived from its content, unless ``version`` is given).
    ``inputs`` (templated) are converted with the entity's interface before anything is created; a bad input fails
    the task naming the input, its Flyte type and the value.

    Execution options (all templated except the numbers and flags): ``labels``, ``annotations``, ``envs``, ``tags``,
    ``raw_output_prefix``, ``max_parallelism``, ``service_account``, ``overwrite_cache``, ``interruptible``,
    ``cluster_pool``, ``execution_cluster_label``, ``disable_notifications`` and ``notifications``: a list of
    ``{"phases": ["FAILED", ...], "email" | "slack" | "pager_duty": [recipients]}`` replacing the launch plan's.

    Retries never duplicate work: the execution name is derived from (dag_id, run_id, task_id, map_index), and a
    retry attaches to its predecessor's execution if it is still running, reuses it if it succeeded, and starts a
    new generation only if it failed. Pass ``execution_name`` to choose the base name yourself.

    :param on_retry: what a retry does with a predecessor that ended FAILED, ABORTED or TIMED_OUT: ``"recover"``
        (default) recovers it (flyteadmin's RecoverExecution: same spec and inputs, nodes that succeeded are not
        run again); ``"attach"`` starts a fresh execution instead; ``"new"`` always starts a fresh execution, even
        when the predecessor succeeded or still runs (it is terminated first). Use ``"new"`` after changing the
        entity or inputs: a recovery reruns the failed execution as it was.
    :param output_assets: Flyte output name -> Airflow ``Asset`` (``Dataset`` on Airflow 2): the assets are added
        to ``outlets``, and on success each one's event carries ``extra`` = ``{"flyte_execution_id", "output",
        "uris", "console_url"}``, the URIs being the files, directories or datasets the output holds.
    :param cancel_previous_runs: before starting, terminate the still-running executions of the same entity that
        earlier DAG runs of this task started (as Databricks' option). Executions started with it carry the labels
        ``airflow-task-key`` and ``airflow-run-key``; the current run's own executions are never terminated.

    :param wait_for_completion: wait for the execution (default); else return its name at once.
    :param deferrable: wait in the triggerer (default: Airflow's ``[operators] default_deferrable``).
    :param poll_interval: seconds between status polls.
    :param timeout: wall-clock limit of the wait (seconds or timedelta); on expiry the execution is terminated
        and the task fails. Airflow's ``execution_timeout`` is honoured the same way while deferred.
    :param serialization_settings: / :param image_config: / :param interactive_mode_enabled: for a local flytekit
        entity only: flytekit ``SerializationSettings`` (image, project/domain, fast-registration destination), the
        ``ImageConfig`` its tasks run in, and whether its code ships pickled (True) or as a fast-registered source
        bundle (False; default: pickled only when defined in ``__main__``, a notebook or the DAG file).
    :return: the outputs as JSON-safe values (files and datasets as URIs), or the execution name when not waiting.
    """

    template_fields: Sequence[str] = (
        "launch_plan", "workflow", "task", "version", "inputs", "project", "domain", "execution_name",
        "labels", "annotations", "raw_output_prefix", "service_account", "envs", "tags", "cluster_pool",
        "execution_cluster_label", "notifications", "flyte_conn_id",
    )
    template_fields_renderers = {
        "inputs": "json", "labels": "json", "annotations": "json", "envs": "json", "notifications": "json",
    }
    operator_extra_links = (FlyteExecutionLink(),)
    ui_color = "#a99ff5"
    # a flytekit entity must not be deep-copied (Airflow copies operators, e.g. dag.partial_subset): flytekit
    # finds task resolvers by identity, and a copied resolver cannot be serialized
    shallow_copy_attrs: Sequence[str] = ("_local_entity", "serialization_settings", "image_config")

    def __init__(
        self,
        *,
        launch_plan: str | Any = None,
        workflow: str | Any = None,
        task: str | Any = None,
        version: str | None = None,
        inputs: Mapping[str, Any] | str | None = None,
        project: str | None = None,
        domain: str | None = None,
        flyte_conn_id: str = DEFAULT_CONN_ID,
        execution_name: str | None = None,
        labels: Mapping[str, str] | None = None,
        annotations: Mapping[str, str] | None = None,
        raw_output_prefix: str | None = None,
        max_parallelism: int | None = None,
        service_account: str | None = None,
        overwrite_cache: bool | None = None,
        interruptible: bool | None = None,
        envs: Mapping[str, str] | None = None,
        tags: Sequence[str] | None = None,
        cluster_pool: str | None = None,
        execution_cluster_label: str | None = None,
        notifications: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None,
        disable_notifications: bool | None = None,
        wait_for_completion: bool = True,
        deferrable: bool | None = None,
        poll_interval: float | dt.timedelta = 30.0,
        timeout: float | dt.timedelta | None = None,
        serialization_settings: Any = None,
        image_config: Any = None,
        interactive_mode_enabled: bool | None = None,
        on_retry: str = "recover",
        cancel_previous_runs: bool = False,
        output_assets: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        from airflow_provider_flyte.operators.naming import check_on_retry

        self.on_retry = check_on_retry(on_retry)
        self.cancel_previous_runs = bool(cancel_previous_runs)
        self.output_assets = _check_output_assets(output_assets)
        declared = list(getattr(self, "outlets", None) or [])
        self.outlets = declared + [a for a in self.output_assets.values() if a not in declared]
        given = [k for k, v in zip(_KINDS, (launch_plan, workflow, task), strict=True) if v is not None]
        if len(given) != 1:
            raise ValueError(
                f"{type(self).__name__} {kwargs.get('task_id')!r}: pass exactly one of launch_plan, workflow or task"
                f" (got {', '.join(given) or 'none'})"
            )
        if inputs is not None and not isinstance(inputs, Mapping | str) and not hasattr(inputs, "resolve"):
            raise ValueError(f"inputs must be a dict of input name to value, got {type(inputs).__name__}")
        if notifications is not None and disable_notifications:
            raise ValueError("notifications and disable_notifications=True contradict each other; keep only one")
        if max_parallelism is not None and (not isinstance(max_parallelism, int) or max_parallelism < 0):
            raise ValueError(f"max_parallelism must be a non-negative integer, got {max_parallelism!r}")
        # a flytekit object must not sit in a templated field (Airflow would call it while rendering): keep it
        # aside and template its name
        local: Any = next((v for v in (launch_plan, workflow, task) if is_local_entity(v)), None)
        self._local_entity = local
        if local is not None:
            local_name = str(local.name)
            launch_plan, workflow, task = (
                local_name if v is self._local_entity else v for v in (launch_plan, workflow, task)
            )
        self.launch_plan = launch_plan
        self.workflow = workflow
        self.task = task
        self.version = version
        self.inputs = inputs if inputs is not None else {}
        self.project = project
        self.domain = domain
        self.flyte_conn_id = flyte_conn_id
        self.execution_name = execution_name
        self.labels = labels
        self.annotations = annotations
        self.raw_output_prefix = raw_output_prefix
        self.max_parallelism = max_parallelism
        self.service_account = service_account
        self.overwrite_cache = overwrite_cache
        self.interruptible = interruptible
        self.envs = envs
        self.tags = tags
        self.cluster_pool = cluster_pool
        self.execution_cluster_label = execution_cluster_label
        self.notifications = notifications
        self.disable_notifications = disable_notifications
        self.wait_for_completion = wait_for_completion
        self.deferrable = default_deferrable() if deferrable is None else bool(deferrable)
        self.poll_interval = seconds(poll_interval, "poll_interval") or 30.0
        self.timeout = seconds(timeout, "timeout")
        # for local flytekit entities only (not templated): how they are serialized and how their code ships
        self.serialization_settings = serialization_settings
        self.image_config = image_config
        self.interactive_mode_enabled = interactive_mode_enabled

    # ------------------------------------------------------------------ execution
    def _entity(self) -> tuple[str, str, str | None, Any]:
        """(kind, name, version, local entity or None)."""
        kind = next(k for k in _KINDS if getattr(self, k) is not None)
        value = getattr(self, kind)
        version = _check_optional_str(self.version, "version")
        if self._local_entity is not None:
            return kind, str(value), version, self._local_entity
        if not isinstance(value, str):
            raise ValueError(
                f"{kind} must be an entity name or a flytekit task/workflow/launch plan, got {type(value).__name__}"
            )
        if not value.strip():
            raise ValueError(f"{kind} must be a non-empty entity name, got {value!r}")
        return kind, value.strip(), version, None

    def _inputs(self) -> dict[str, Any]:
        inputs = self.inputs
        if not isinstance(inputs, Mapping):
            raise ValueError(
                f"inputs rendered to a {type(inputs).__name__}, not a dict: pass a dict (values may be templates or "
                "XComArgs), or set render_template_as_native_obj=True on the DAG for a whole-dict template"
            )
        bad = [k for k in inputs if not isinstance(k, str) or not k]
        if bad:
            raise ValueError(f"input names must be non-empty strings, got {bad!r}")
        return dict(inputs)

    def _options(self) -> Any:
        from airflow_provider_flyte.remote.models import Options

        security_context = None
        if self.service_account is not None:
            from flyteidl.core import security_pb2

            account = _check_optional_str(self.service_account, "service_account")
            security_context = security_pb2.SecurityContext(run_as=security_pb2.Identity(k8s_service_account=account))
        return Options(
            labels=_check_str_map(self.labels, "labels"),
            annotations=_check_str_map(self.annotations, "annotations"),
            raw_output_data_config=_check_optional_str(self.raw_output_prefix, "raw_output_prefix"),
            security_context=security_context,
            max_parallelism=self.max_parallelism,
            notifications=_notifications(self.notifications),
            disable_notifications=self.disable_notifications,
        )

    def _execute_kwargs(self) -> dict[str, Any]:
        tags = self.tags
        if tags is not None and (isinstance(tags, str) or not all(isinstance(t, str) for t in tags)):
            raise ValueError(f"tags must be a list of strings, got {tags!r}")
        return {
            "options": self._options(),
            "overwrite_cache": self.overwrite_cache,
            "interruptible": self.interruptible,
            "envs": _check_str_map(self.envs, "envs"),
            "tags": list(tags) if tags is not None else None,
            "cluster_pool": _check_optional_str(self.cluster_pool, "cluster_pool"),
            "execution_cluster_label": _check_optional_str(self.execution_cluster_label, "execution_cluster_label"),
        }

    def execute(self, context: Any) -> Any:
        """Start (or attach to) the execution, then wait for it unless ``wait_for_completion`` is off."""
        self.begin_try()
        with flyte_errors(f"Flyte task {self.task_id}: invalid arguments"):
            kind, entity_name, version, local = self._entity()
            inputs = self._inputs()
            extra = self._execute_kwargs()
            project, domain = self.hook.resolve_scope(self.project, self.domain)
            base = self.execution_base_name(context, self.execution_name)
        remote = self.hook.get_remote()
        if self.cancel_previous_runs:
            self._cancel_previous_runs(context, remote, project, domain, kind, entity_name, extra)

        def create(name: str) -> Any:
            type_hints = None
            entity: Any
            if local is not None:  # a flytekit object: registered (if missing) under a content-derived version
                from airflow_provider_flyte.remote.local import prepare_local_entity

                target = prepare_local_entity(
                    remote,
                    local,
                    project=project,
                    domain=domain,
                    version=version,
                    image_config=self.image_config,
                    serialization_settings=self.serialization_settings,
                    interactive_mode_enabled=self.interactive_mode_enabled,
                )
                entity, type_hints = target.entity, target.input_types
            else:
                fetch = {
                    "launch_plan": remote.fetch_launch_plan,
                    "workflow": remote.fetch_workflow,
                    "task": remote.fetch_task,
                }[kind]
                entity = fetch(project, domain, entity_name, version)
            self.log.info("Starting Flyte execution %s of %s %s@%s", name, kind, entity.name, entity.version)
            return remote.execute(
                entity, inputs, project=project, domain=domain, execution_name=name, type_hints=type_hints, **extra
            )

        return self.start_and_finish(context, project, domain, base, create, f"Flyte task {self.task_id}: starting {kind} {entity_name!r} failed")

    def _cancel_previous_runs(
        self, context: Any, remote: Any, project: str, domain: str, kind: str, name: str, extra: dict[str, Any]
    ) -> None:
        """Label this run's execution, and terminate the running ones earlier runs of this task started."""
        from airflow_provider_flyte.operators.previous import cancel_previous_runs, run_labels

        ti = context["ti"]
        labels = run_labels(ti.dag_id, ti.task_id, ti.run_id)
        options = extra["options"]
        options.labels = {**(options.labels or {}), **labels}
        cause = f"superseded by Airflow run {ti.run_id} of {ti.dag_id}.{ti.task_id} (cancel_previous_runs)"
        with flyte_errors(f"Flyte task {self.task_id}: cancelling previous runs"):
            cancel_previous_runs(remote, self.log, project, domain, kind, name, labels, cause)

    # ------------------------------------------------------------------ OpenLineage (the ``openlineage`` extra)
    def get_openlineage_facets_on_start(self) -> Any:
        """The entity about to run (the execution does not exist yet)."""
        from airflow_provider_flyte.operators.lineage import start_lineage

        kind = next(k for k in _KINDS if getattr(self, k) is not None)
        return start_lineage(kind, str(getattr(self, kind)), self.version, self.project, self.domain)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Datasets from the execution's file/directory/dataset inputs and outputs, and the ``flyteExecution``
        run facet (execution id, console URL, entity id and version, phase)."""
        from airflow_provider_flyte.operators.lineage import lineage_on_finish
        from airflow_provider_flyte.operators.waiting import XCOM_EXECUTION_NAME

        return lineage_on_finish(self.hook, task_instance, XCOM_EXECUTION_NAME, self.project, self.domain, False)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """As on completion, plus the ``errorMessage`` run facet carrying the Flyte error."""
        from airflow_provider_flyte.operators.lineage import lineage_on_finish
        from airflow_provider_flyte.operators.waiting import XCOM_EXECUTION_NAME

        return lineage_on_finish(self.hook, task_instance, XCOM_EXECUTION_NAME, self.project, self.domain, True)

    def on_execution_success(self, context: Any, project: str, domain: str, name: str) -> Any:
        """The outputs of the execution, JSON-safe."""
        from airflow_provider_flyte.operators.outputs import OutputConversionError, outputs_to_jsonable

        with flyte_errors(f"reading the outputs of Flyte execution {name}"):
            execution = self.hook.get_remote().fetch_execution(project, domain, name)
            try:
                result = outputs_to_jsonable(execution.outputs)
            except OutputConversionError as exc:  # a retry would only reuse the execution and fail the same way
                raise AirflowFailException(f"Flyte execution {name} succeeded, but {exc}") from exc
            if self.output_assets:
                self._emit_asset_events(context, execution)
            return result

    def _emit_asset_events(self, context: Any, execution: Any) -> None:
        """Attach the execution id, output name and the output's URIs to each mapped asset's event."""
        from airflow_provider_flyte.operators.lineage import literal_uris

        literals = dict(execution.outputs.literals)
        i = execution.id
        url = self.hook.get_remote().generate_console_url(execution)
        for output, asset in self.output_assets.items():
            if output not in literals:
                raise AirflowFailException(
                    f"output_assets maps output {output!r}, but Flyte execution {i.name} has outputs {sorted(literals)}"
                )
            context["outlet_events"][asset].extra = {
                "flyte_execution_id": f"{i.project}/{i.domain}/{i.name}",
                "output": output,
                "uris": list(literal_uris(literals[output])),
                "console_url": url or "",
            }
