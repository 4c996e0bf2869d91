"""OpenLineage through the OpenLineage provider itself: example DAGs run (``dag.test()``, in a subprocess so the
provider's listener is configured from the start) with the provider's file transport, and the test reads the
events it emitted: datasets named after OpenLineage's conventions, the ``flyteExecution`` run facet, and the
``errorMessage`` facet of a failed execution."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.airflow.conftest import AIRFLOW_ENV, EXAMPLE_DAGS, REPO

pytest.importorskip("airflow.providers.openlineage")
pytestmark = pytest.mark.usefixtures("airflow_db", "flyte_conn")

_RUN = textwrap.dedent(
    """
    import datetime as dt, importlib, sys
    kwargs = {"logical_date": dt.datetime.fromisoformat(sys.argv[2])} if len(sys.argv) > 2 else {}
    dr = importlib.import_module(sys.argv[1]).dag.test(**kwargs)
    print("DAG-RUN-STATE", dr.state)
    """
)


def run_with_lineage(
    module: str, tmp_path: Path, extra_path: Path | None = None, logical_date: str | None = None
) -> list[dict[str, Any]]:
    """Run ``module``'s DAG with the OpenLineage file transport; the emitted events, in order."""
    events = tmp_path / "events.jsonl"
    path = os.pathsep.join(str(p) for p in (REPO, EXAMPLE_DAGS, extra_path) if p)
    env = {
        **os.environ,
        **AIRFLOW_ENV,
        "PYTHONPATH": path,
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "file", "log_file_path": str(events), "append": True}),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "flyte-tests",
        "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
    }
    if extra_path is not None:  # a DAG of the test's own: dag.test() needs it in the DAGs folder
        env["AIRFLOW__CORE__DAGS_FOLDER"] = str(extra_path)
    done = subprocess.run(
        [sys.executable, "-c", _RUN, module, *([logical_date] if logical_date else [])], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert "DAG-RUN-STATE" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
    return [json.loads(line) for line in events.read_text().splitlines() if line.strip()]


def task_events(events: list[dict[str, Any]], task: str) -> dict[str, dict[str, Any]]:
    """The task's events by type (START, COMPLETE, FAIL)."""
    return {e["eventType"]: e for e in events if e["job"]["name"].endswith(f".{task}")}


def test_execute_operator_emits_datasets_and_the_flyte_run_facet(remote: Any, tmp_path: Path) -> None:
    events = run_with_lineage("example_flyte_lineage", tmp_path)
    report, publish = task_events(events, "report"), task_events(events, "publish")
    assert {"START", "COMPLETE"} <= set(report) and {"START", "COMPLETE"} <= set(publish)

    start = report["START"]["run"]["facets"]["flyteExecution"]
    assert start["entity"]["name"] == "examples.report" and start["phase"] == "UNDEFINED"
    done = report["COMPLETE"]
    facet = done["run"]["facets"]["flyteExecution"]
    name = facet["executionId"]["name"]
    execution = remote.fetch_execution(name=name)
    assert facet["executionId"] == {"project": "flytesnacks", "domain": "development", "name": name}
    assert facet["phase"] == "SUCCEEDED" and facet["consoleUrl"].endswith(f"/executions/{name}")
    assert facet["entity"] == {
        "resourceType": "launch_plan", "project": "flytesnacks", "domain": "development",
        "name": "examples.report", "version": "v1",
    }
    assert facet["_schemaURL"].endswith("FlyteExecutionRunFacet.json")
    uris = {k: lit.scalar.blob.uri for k, lit in execution.outputs.literals.items()}
    expected = sorted(("file", uri.removeprefix("flytesandbox://")) for uri in uris.values())
    assert sorted((d["namespace"], d["name"]) for d in done["outputs"]) == expected
    assert done["inputs"] == []

    # publish read the report file: the same dataset is its input, its copy its output
    published = publish["COMPLETE"]
    report_csv = ("file", uris["report"].removeprefix("flytesandbox://"))
    assert [(d["namespace"], d["name"]) for d in published["inputs"]] == [report_csv]
    assert len(published["outputs"]) == 1
    assert "errorMessage" not in published["run"]["facets"]
    assert published["run"]["facets"]["flyteExecution"]["error"] == {}


def test_failed_execution_emits_the_error_facet(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "lineage_failure_dag.py").write_text(textwrap.dedent(
        """
        import datetime as dt
        from airflow.providers.common.compat.sdk import DAG
        from airflow_provider_flyte.operators.flyte import FlyteExecuteOperator

        with DAG("lineage_failure", schedule=None, start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)) as dag:
            FlyteExecuteOperator(task_id="boom", launch_plan="examples.fail", inputs={"message": "disk on fire"},
                                 poll_interval=0.2)
        """
    ))
    events = run_with_lineage("lineage_failure_dag", tmp_path, dags)
    fail = task_events(events, "boom")["FAIL"]
    facets = fail["run"]["facets"]
    flyte = facets["flyteExecution"]
    assert flyte["phase"] == "FAILED"
    assert flyte["error"]["kind"] == "USER" and "disk on fire" in flyte["error"]["message"]
    # the provider's errorMessage facet (the Airflow exception) names the Flyte error too
    error = facets["errorMessage"]
    assert "ended FAILED" in error["message"] and "disk on fire" in error["message"]


def test_backfill_operator_emits_the_flyte_run_facet(remote: Any, tmp_path: Path) -> None:
    events = run_with_lineage("example_flyte_backfill", tmp_path, logical_date="2024-03-04T00:00:00+00:00")
    backfill = task_events(events, "backfill")
    assert backfill["START"]["run"]["facets"]["flyteExecution"]["entity"]["name"] == "examples.daily"
    facet = backfill["COMPLETE"]["run"]["facets"]["flyteExecution"]
    assert facet["phase"] == "SUCCEEDED"
    parent = remote.fetch_execution(name=facet["executionId"]["name"])
    assert facet["entity"]["name"] == parent.spec.launch_plan.name and parent.phase_name == "SUCCEEDED"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("file:///data/out/report.csv", ("file", "/data/out/report.csv")),
        ("file:///tmp/a%20b.csv", ("file", "/tmp/a b.csv")),
        ("/plain/path", ("file", "/plain/path")),
        ("flytesandbox:///data/blobs/raw/x.csv", ("file", "/data/blobs/raw/x.csv")),
        ("file://host7/share/x", ("file://host7", "/share/x")),
        ("s3://bucket/raw/x/data.parquet", ("s3://bucket", "raw/x/data.parquet")),
        ("gs://bucket/key", ("gs://bucket", "key")),
        ("abfs://container@account.dfs.core.windows.net/dir/f", ("abfss://container@account.dfs.core.windows.net", "dir/f")),
        ("abfss://container@account/dir/f", ("abfss://container@account.dfs.core.windows.net", "dir/f")),
        ("flyte://v1/proj/dom/name/n0/o/x", ("flyte://v1", "/proj/dom/name/n0/o/x")),  # unknown scheme: namespace
    ],
)
def test_dataset_naming(uri: str, expected: tuple[str, str]) -> None:
    from airflow_provider_flyte.operators.lineage import dataset_name

    assert dataset_name(uri) == expected
