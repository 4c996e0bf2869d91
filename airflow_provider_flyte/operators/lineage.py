"""OpenLineage for the Flyte operators (the ``openlineage`` extra: ``apache-airflow-providers-openlineage``).

The OpenLineage provider calls the operators' ``get_openlineage_facets_on_start/complete/failure``; they come
here, and only then is OpenLineage imported (importing an operator module stays cheap).

* Datasets: every ``FlyteFile`` / ``FlyteDirectory`` / ``StructuredDataset`` URI in the execution's inputs (input
  datasets) and outputs (output datasets), named after OpenLineage's conventions: ``s3://bucket`` + key,
  ``gs://bucket`` + key, ``abfss://container@account.dfs.core.windows.net`` + path, ``file`` + absolute path
  (also for the embedded sandbox's ``flytesandbox:///<path>``: a file on the sandbox's machine); any other scheme becomes the namespace ``<scheme>://<authority>`` with the path as the name.
* The run facet ``flyteExecution``: execution id and phase, console URL, the launched entity's id and version.
* On failure, ``errorMessage`` carries the Flyte error (the OpenLineage provider replaces it with the Airflow
  exception, which names the same error), and so does the ``error`` field of ``flyteExecution``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import unquote, urlparse

from airflow_provider_flyte.hooks.flyte import FlyteHook

#: the schema URL of the ``flyteExecution`` run facet
FLYTE_FACET_SCHEMA = (
    "https://raw.githubusercontent.com/flyteorg/flyte/master/docs/openlineage/FlyteExecutionRunFacet.json"
)
_RESOURCE_TYPES = {0: "unspecified", 1: "task", 2: "workflow", 3: "launch_plan", 4: "dataset"}


def dataset_name(uri: str) -> tuple[str, str]:
    """OpenLineage ``(namespace, name)`` of a storage URI (see the module docstring)."""
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower()
    path = unquote(parsed.path)
    if not scheme or (scheme in ("file", "flytesandbox") and parsed.netloc in ("", "localhost")):
        return "file", path or uri
    if scheme == "file":
        return f"file://{parsed.netloc}", path
    key = path.lstrip("/")
    if scheme in ("s3", "s3a", "s3n"):
        return f"s3://{parsed.netloc}", key
    if scheme in ("gs", "gcs"):
        return f"gs://{parsed.netloc}", key
    if scheme in ("abfs", "abfss"):
        container, _, account = parsed.netloc.partition("@")
        if account:
            host = account if "." in account else f"{account}.dfs.core.windows.net"
            return f"abfss://{container}@{host}", key
        return f"abfss://{container}", key
    return f"{scheme}://{parsed.netloc}", path


def literal_uris(literal: Any) -> Iterator[str]:
    """The URIs of the files, directories and datasets a literal holds (collections, maps, unions included)."""
    value = literal.WhichOneof("value")
    if value == "collection":
        for item in literal.collection.literals:
            yield from literal_uris(item)
    elif value == "map":
        for item in literal.map.literals.values():
            yield from literal_uris(item)
    elif value == "scalar":
        scalar = literal.scalar
        kind = scalar.WhichOneof("value")
        if kind == "union":
            yield from literal_uris(scalar.union.value)
        elif kind == "blob" and scalar.blob.uri:
            yield scalar.blob.uri
        elif kind == "structured_dataset" and scalar.structured_dataset.uri:
            yield scalar.structured_dataset.uri


def _datasets(literals: Mapping[str, Any], cls: Any) -> list[Any]:
    seen: dict[tuple[str, str], Any] = {}
    for literal in literals.values():
        for uri in literal_uris(literal):
            key = dataset_name(uri)
            seen.setdefault(key, cls(namespace=key[0], name=key[1]))
    return list(seen.values())


def _flyte_facet_class() -> Any:
    from attrs import define
    from openlineage.client.facet_v2 import RunFacet

    @define
    class FlyteExecutionRunFacet(RunFacet):  # type: ignore[misc]
        """The Flyte execution an Airflow task ran (``flyteExecution``)."""

        executionId: dict[str, str]
        consoleUrl: str
        entity: dict[str, str]
        phase: str
        #: the Flyte error of a failed execution (kind, code, message), else empty
        error: dict[str, str]

        @staticmethod
        def _get_schema() -> str:
            return FLYTE_FACET_SCHEMA

    return FlyteExecutionRunFacet


def _entity_of(execution: Any) -> dict[str, str]:
    i = execution.spec.launch_plan
    return {
        "resourceType": _RESOURCE_TYPES.get(int(i.resource_type), str(i.resource_type)),
        "project": i.project,
        "domain": i.domain,
        "name": i.name,
        "version": i.version,
    }


def _error_of(execution: Any) -> dict[str, str]:
    error = execution.error if execution.is_done and not execution.is_successful else None
    if error is None:
        return {}
    kind = {0: "UNKNOWN", 1: "USER", 2: "SYSTEM"}.get(int(error.kind), str(error.kind))  # core.ExecutionError.ErrorKind
    return {"kind": kind, "code": error.code, "message": error.message}


def _literals(resolver: Any) -> Mapping[str, Any]:
    try:
        return dict(resolver.literals)
    except Exception:  # not loaded or the execution did not succeed: no datasets from it
        return {}


def execution_lineage(
    remote: Any, project: str, domain: str, name: str, failed: bool = False, children: bool = False
) -> Any:
    """``OperatorLineage`` of a finished execution: datasets, the ``flyteExecution`` facet, and on failure the
    ``errorMessage`` facet. ``children``: the datasets come from its launch-plan nodes' child executions instead
    (a backfill's instances)."""
    from airflow.providers.common.compat.openlineage.facet import (
        ErrorMessageRunFacet,
        InputDataset,
        OutputDataset,
    )
    from airflow.providers.openlineage.extractors import OperatorLineage

    execution = remote.fetch_execution(project, domain, name)
    runs = [execution]
    if children:
        synced = remote.sync(execution, sync_nodes=True)
        runs = [child for node in synced.node_executions.values() for child in node.workflow_executions]
    inputs: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    for n, run in enumerate(runs):  # keyed per run: the same output name in two instances is two datasets
        inputs.update({f"{n}.{k}": v for k, v in _literals(_safe(lambda r=run: r.inputs)).items()})
        if run.is_successful:
            outputs.update({f"{n}.{k}": v for k, v in _literals(_safe(lambda r=run: r.outputs)).items()})
    facets: dict[str, Any] = {
        "flyteExecution": _flyte_facet_class()(
            executionId={"project": project, "domain": domain, "name": name},
            consoleUrl=remote.generate_console_url(execution),
            entity=_entity_of(execution),
            phase=execution.phase_name,
            error=_error_of(execution),
        )
    }
    if failed or (execution.is_done and not execution.is_successful):
        error = execution.error
        if error is not None:
            message = f"Flyte execution {project}/{domain}/{name} ended {execution.phase_name}: {error.code}: {error.message}"
        else:
            message = f"Flyte execution {project}/{domain}/{name} ended {execution.phase_name}"
        facets["errorMessage"] = ErrorMessageRunFacet(message=message, programmingLanguage="flyte")
    return OperatorLineage(
        inputs=_datasets(inputs, InputDataset), outputs=_datasets(outputs, OutputDataset), run_facets=facets
    )


def _safe(get: Any) -> Any:
    try:
        return get()
    except Exception:
        return None


def start_lineage(kind: str, name: str, version: str | None, project: str | None, domain: str | None) -> Any:
    """``OperatorLineage`` at task start (nothing is known of the execution yet): the entity about to run."""
    from airflow.providers.openlineage.extractors import OperatorLineage

    facet = _flyte_facet_class()(
        executionId={"project": project or "", "domain": domain or "", "name": ""},
        consoleUrl="",
        entity={"resourceType": kind, "project": project or "", "domain": domain or "", "name": name,
                "version": version or ""},
        phase="UNDEFINED",
        error={},
    )
    return OperatorLineage(run_facets={"flyteExecution": facet})


def executed_name(task_instance: Any, key: str) -> str | None:
    """The execution name the task pushed to XCom (``key``), read back for its completion or failure event."""
    map_index = getattr(task_instance, "map_index", -1)
    kwargs: dict[str, Any] = {"task_ids": task_instance.task_id, "key": key}
    if map_index is not None and map_index >= 0:
        kwargs["map_indexes"] = map_index
    value = task_instance.xcom_pull(**kwargs)
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return str(value) if value else None


def lineage_on_finish(
    hook: FlyteHook,
    task_instance: Any,
    key: str,
    project: str | None,
    domain: str | None,
    failed: bool,
    children: bool = False,
) -> Any:
    """The completion/failure ``OperatorLineage`` of the execution the task ran, or None if it never started one."""
    name = executed_name(task_instance, key)
    if name is None:
        return None
    p, d = hook.resolve_scope(project, domain)
    return execution_lineage(hook.get_remote(), p, d, name, failed, children)
