"""Every example DAG runs with ``dag.test()`` against the sandbox (triggers run inline), and the Flyte side is
checked through the client: the executions exist, under the names the DAG reported, in the expected phase."""

from __future__ import annotations

import datetime as dt
import importlib
import json
from typing import Any

import pytest

pytestmark = pytest.mark.usefixtures("airflow_db", "flyte_conn")


def run_dag(module: str, **kwargs: Any) -> tuple[Any, dict[str, str]]:
    """Run an example DAG with ``dag.test()``; returns the DAG run and the task states (``task[i]`` if mapped)."""
    from airflow_provider_flyte._compat import AIRFLOW_V_3

    if not AIRFLOW_V_3 and "logical_date" in kwargs:
        kwargs["execution_date"] = kwargs.pop("logical_date")
    dag = importlib.reload(importlib.import_module(module)).dag
    dr = dag.test(**kwargs)
    states = {
        ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else ""): str(ti.state) for ti in dr.get_task_instances()
    }
    return dr, states


def xcoms(dr: Any) -> dict[tuple[str, int, str], Any]:
    """All XComs of a DAG run: ``(task_id, map_index, key) -> value``."""
    from airflow.utils.session import create_session

    try:  # Airflow 3: JSON values
        from airflow.models.xcom import XComModel as model

        decode = lambda row: row.value  # noqa: E731
    except ImportError:  # Airflow 2: JSON bytes
        from airflow.models.xcom import XCom as model

        def decode(row: Any) -> Any:
            raw = row.value  # JSON bytes in the table; some 2.x versions hand back the decoded value
            return json.loads(bytes(raw).decode()) if isinstance(raw, bytes | bytearray | memoryview) else raw
    with create_session() as session:
        rows = session.query(model).filter(model.dag_id == dr.dag_id, model.run_id == dr.run_id).all()
        return {(r.task_id, r.map_index, r.key): decode(r) for r in rows}


def _link(dr: Any, task_id: str, values: dict[tuple[str, int, str], Any]) -> str:
    """The "Flyte Execution" link: stored by the worker in Airflow 3, computed from XCom by the webserver in 2."""
    from airflow_provider_flyte._compat import AIRFLOW_V_3
    from airflow_provider_flyte.links.flyte import FlyteExecutionLink

    if AIRFLOW_V_3:
        return str(values[(task_id, -1, "_link_FlyteExecutionLink")])
    ti = dr.get_task_instance(task_id)
    return FlyteExecutionLink().get_link(dr.dag.get_task(task_id) if dr.dag else None, ti_key=ti.key)


def test_execute_example_passes_outputs_downstream(remote: Any) -> None:
    dr, states = run_dag("example_flyte_execute")
    assert states == {"arith": "success", "report": "success"}
    values = xcoms(dr)
    assert values[("arith", -1, "return_value")] == {"total": 5, "squared": 25}
    assert values[("report", -1, "return_value")] == "total=5 squared=25"
    name = values[("arith", -1, "flyte_execution_name")]
    url = values[("arith", -1, "flyte_execution_url")]
    assert url.endswith(f"/executions/{name}")
    assert _link(dr, "arith", values) == url
    execution = remote.fetch_execution(name=name)
    assert execution.phase_name == "SUCCEEDED"
    assert execution.outputs.to_dict() == {"total": 5, "squared": 25}


def test_sensor_example_waits_for_existing_execution(remote: Any) -> None:
    dr, states = run_dag("example_flyte_sensor")
    assert states == {"start": "success", "wait": "success"}
    values = xcoms(dr)
    name = values[("start", -1, "return_value")]
    assert values[("wait", -1, "flyte_execution_name")] == name
    assert remote.fetch_execution(name=name).phase_name == "SUCCEEDED"


def test_approval_example_approves_after_check(remote: Any) -> None:
    dr, states = run_dag("example_flyte_approval")
    assert states == {
        "start": "success", "quality_check": "success", "approve": "success", "reject": "skipped",
        "outcome": "success",
    }
    name = xcoms(dr)[("start", -1, "return_value")]
    execution = remote.fetch_execution(name=name)
    assert execution.phase_name == "SUCCEEDED"
    assert execution.outputs.to_dict() == {"result": 10}


def test_approval_example_rejects_and_reports_the_flyte_error(remote: Any) -> None:
    dr, states = run_dag("example_flyte_approval", run_conf={"x": 11})
    assert states["approve"] == "skipped" and states["reject"] == "success"
    assert states["outcome"] == "failed"
    name = xcoms(dr)[("start", -1, "return_value")]
    execution = remote.fetch_execution(name=name)
    assert execution.phase_name == "FAILED"
    assert execution.closure.error.code == "ReceivedRejectSignal"


def test_backfill_example_covers_the_data_interval(remote: Any) -> None:
    from flyte_examples_registry import daily_ticks

    logical = dt.datetime(2024, 3, 4, tzinfo=dt.UTC)  # a Monday: @weekly interval is [03-04, 03-11)
    dr, states = run_dag("example_flyte_backfill", logical_date=logical)
    assert states == {"backfill": "success"}
    name = xcoms(dr)[("backfill", -1, "return_value")]
    parent = remote.fetch_execution(name=name)
    assert parent.phase_name == "SUCCEEDED"
    children = [
        e for e in remote.list_executions(limit=200) if e.spec.metadata.parent_node_execution.execution_id.name == name
    ]
    start, end = dr.data_interval_start, dr.data_interval_end
    assert len(children) == daily_ticks(start, end) == 6
    assert all(c.phase_name == "SUCCEEDED" for c in children)


def test_mapping_example_runs_one_execution_per_input_set(remote: Any) -> None:
    dr, states = run_dag("example_flyte_mapping")
    assert states == {
        "input_sets": "success", "arith[0]": "success", "arith[1]": "success", "arith[2]": "success",
        "total": "success",
    }
    values = xcoms(dr)
    assert values[("total", -1, "return_value")] == 4 + 25 + 36
    names = {values[("arith", i, "flyte_execution_name")] for i in range(3)}
    assert len(names) == 3
    assert {e.id.name for e in remote.list_executions(names=sorted(names))} == names


def test_recovery_example_retry_reuses_the_succeeded_node(remote: Any, tmp_path: Any) -> None:
    dr, states = run_dag("example_flyte_recovery", run_conf={"workdir": str(tmp_path)})
    assert states == {"pipeline": "success", "report": "success"}
    values = xcoms(dr)
    assert values[("report", -1, "return_value")] == "extract ran 1 time(s), load 2 time(s)"
    (workdir,) = tmp_path.iterdir()
    runs = {p.stem: len(p.read_text().splitlines()) for p in workdir.glob("*.runs")}
    assert runs == {"extract": 1, "load": 2}  # the retry did not run extract again
    name = values[("pipeline", -1, "flyte_execution_name")]
    recovered = remote.fetch_execution(name=name)
    assert recovered.spec.metadata.mode == 5  # RECOVERED
    first = remote.fetch_execution(name=recovered.spec.metadata.reference_execution.name)
    assert first.phase_name == "FAILED" and recovered.phase_name == "SUCCEEDED"


def test_latest_only_example_cancels_the_previous_run(remote: Any) -> None:
    first, states = run_dag("example_flyte_latest_only", logical_date=dt.datetime(2024, 5, 1, tzinfo=dt.UTC))
    assert states == {"refresh": "success"}
    earlier = xcoms(first)[("refresh", -1, "return_value")]
    assert remote.fetch_execution(name=earlier).phase_name in ("UNDEFINED", "RUNNING")
    second, states = run_dag("example_flyte_latest_only", logical_date=dt.datetime(2024, 5, 2, tzinfo=dt.UTC))
    assert states == {"refresh": "success"}
    latest = xcoms(second)[("refresh", -1, "return_value")]
    assert latest != earlier
    assert remote.wait(remote.fetch_execution(name=earlier), timeout=30, poll_interval=0.1).phase_name == "ABORTED"
    assert remote.fetch_execution(name=latest).phase_name in ("UNDEFINED", "RUNNING")
    remote.terminate(latest, "test cleanup")


def test_discovery_example_lists_entities_and_copies_artifacts(remote: Any, tmp_path: Any) -> None:
    dr, states = run_dag("example_flyte_discovery", run_conf={"destination": str(tmp_path)})
    assert states == {"catalog": "success", "pick": "success", "report": "success", "copy": "success"}
    values = xcoms(dr)
    entities = {(e["kind"], e["name"]): e for e in values[("catalog", -1, "return_value")]}
    assert all(name.startswith("examples.") for _, name in entities)
    arith = entities[("launch_plan", "examples.arith")]
    assert arith["version"] == "v1"
    assert arith["inputs"] == {"a": {"type": "int", "required": True}, "b": {"type": "int", "required": True}}
    assert arith["outputs"] == {"total": "int", "squared": "int"}
    assert entities[("task", "examples.tasks.add")]["outputs"] == {"o0": "int"}
    assert entities[("launch_plan", "examples.report")]["outputs"] == {"report": "file[csv]", "parts": "directory"}
    assert not any(name.startswith(".flytegen") for _, name in entities)
    copied = values[("copy", -1, "return_value")]
    (root,) = tmp_path.iterdir()
    assert copied == {"report": f"{root}/report/report.csv", "parts": f"{root}/parts"}
    assert (root / "report" / "report.csv").read_text() == "title\nquarterly\n"
    assert sorted(p.name for p in (root / "parts").iterdir()) == ["part-0.txt", "part-1.txt"]


def test_lineage_example_passes_a_file_between_executions(remote: Any) -> None:
    dr, states = run_dag("example_flyte_lineage")
    assert states == {"report": "success", "publish": "success"}
    values = xcoms(dr)
    report = values[("report", -1, "return_value")]["report"]
    assert values[("publish", -1, "return_value")] == {"published": report}


def test_assets_example_emits_an_asset_event_with_the_flyte_metadata(remote: Any) -> None:
    from airflow_provider_flyte._compat import AIRFLOW_V_3

    if not AIRFLOW_V_3:
        pytest.skip("asset events are read from Airflow 3's AssetEvent table")
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    dr, states = run_dag("example_flyte_assets")
    assert states == {"produce": "success"}
    name = xcoms(dr)[("produce", -1, "flyte_execution_name")]
    with create_session() as session:
        events = (
            session.query(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.name == "flyte-examples-report", AssetEvent.source_run_id == dr.run_id).all()
        )
        extras = [dict(e.extra) for e in events]
    uri = remote.fetch_execution(name=name).outputs.literals["report"].scalar.blob.uri
    assert extras == [{
        "flyte_execution_id": f"flytesnacks/development/{name}", "output": "report", "uris": [uri],
        "console_url": xcoms(dr)[("produce", -1, "flyte_execution_url")],
    }]
