"""``FlyteDownloadOutputsOperator``: copy the files and directories an execution produced to a destination."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_flyte._compat import BaseOperator
from airflow_provider_flyte.hooks.flyte import DEFAULT_CONN_ID, FlyteHook
from airflow_provider_flyte.operators.waiting import flyte_errors


class FlyteDownloadOutputsOperator(BaseOperator):  # type: ignore[misc]
    """Copy the ``FlyteFile`` / ``FlyteDirectory`` / ``StructuredDataset`` outputs of a succeeded execution to an
    fsspec ``destination`` (a local path, ``s3://bucket/prefix``, ``gs://...``; credentials from the connection's
    ``storage_options``), below ``<destination>/<output name>/`` (a file keeps its name).

    :param execution_name: the execution (templated), e.g. ``"{{ ti.xcom_pull('run', key='flyte_execution_name') }}"``.
    :param destination: where to copy (templated).
    :param outputs: output names to copy (templated; default: every output that holds files).
    :return: output name -> destination URI (lists and dicts for collection and map outputs).
    """

    template_fields: Sequence[str] = ("execution_name", "destination", "outputs", "project", "domain", "flyte_conn_id")
    ui_color = "#a99ff5"

    def __init__(
        self,
        *,
        execution_name: str,
        destination: str,
        outputs: Sequence[str] | None = None,
        project: str | None = None,
        domain: str | None = None,
        flyte_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        for what, value in (("execution_name", execution_name), ("destination", destination)):
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{what} must be a non-empty string, got {value!r}")
        self.execution_name = execution_name
        self.destination = destination
        self.outputs = outputs
        self.project = project
        self.domain = domain
        self.flyte_conn_id = flyte_conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        hook = FlyteHook(self.flyte_conn_id)
        name = str(self.execution_name).strip()
        try:
            with flyte_errors(f"Flyte task {self.task_id}: copying the outputs of {name}"):
                outputs = self.outputs
                if outputs is not None and (isinstance(outputs, str) or not all(isinstance(o, str) for o in outputs)):
                    raise ValueError(f"outputs must be a list of output names, got {outputs!r}")
                names = list(outputs) if outputs is not None else None
                copied = hook.copy_outputs(name, self.destination, names, self.project, self.domain)
        finally:
            hook.close()
        for output, uri in copied.items():
            self.log.info("Copied output %s of %s to %s", output, name, uri)
        return copied
