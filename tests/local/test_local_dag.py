"""The example DAG that defines its Flyte workflow inline, run with ``dag.test()`` against the sandbox: the DAG
file is loaded the way Airflow loads it (DagBag, generated module name), so its entities are shipped pickled; a
second run of the unchanged DAG registers nothing new (no create RPC from any client of the process), and a
change to the code in the DAG file registers a new version."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.airflow.conftest import EXAMPLE_DAGS, airflow_db, conn_uri  # noqa: F401 (airflow_db is a fixture)
from tests.airflow.test_example_dags import xcoms
from tests.local.conftest import DOMAIN, PROJECT

pytestmark = [pytest.mark.flytekit, pytest.mark.usefixtures("airflow_db")]

DAG_FILE = EXAMPLE_DAGS / "example_flyte_inline_workflow.py"
DAG_ID = "example_flyte_inline_workflow"
REGISTRATION = ("CreateTask", "CreateWorkflow", "CreateLaunchPlan", "CreateUploadLocation")


@pytest.fixture
def flyte_conn(local_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AIRFLOW_CONN_FLYTE_DEFAULT", conn_uri(local_sandbox.endpoint))
    return str(local_sandbox.endpoint)


@pytest.fixture
def create_rpcs(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """The ``Create*`` RPCs every client of this process makes (the operators' own clients too), by method: the
    real ``RpcStats.record`` still runs, this only watches it."""
    from airflow_provider_flyte.remote.transport import RpcStats

    seen: Counter[str] = Counter()
    record = RpcStats.record

    def watch(self: RpcStats, method: str) -> None:
        if method.startswith("Create"):
            seen[method] += 1
        record(self, method)

    monkeypatch.setattr(RpcStats, "record", watch)
    return seen


def registrations(counts: Counter[str]) -> dict[str, int]:
    return {m: counts[m] for m in REGISTRATION if counts[m]}


def load_dag(path: Path = DAG_FILE, dag_id: str = DAG_ID) -> tuple[Any, Any]:
    """The DAG and its module, as Airflow's DagBag loads them (module named ``unusual_prefix_<sha1>_<file>``)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(path))
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags[dag_id]
    module = next(
        m for n, m in sys.modules.items() if n.startswith("unusual_prefix_") and getattr(m, "__file__", "") == dag.fileloc
    )
    return dag, module


def task_versions(remote: Any, name: str) -> set[str]:
    from flyteidl.admin import common_pb2

    from airflow_provider_flyte.remote.ops.call import ADMIN, Call

    request = common_pb2.ResourceListRequest(
        id=common_pb2.NamedEntityIdentifier(project=PROJECT, domain=DOMAIN, name=name), limit=100
    )

    def op() -> Any:
        listing = yield Call(ADMIN, "ListTasks", request, True)
        return listing

    return {t.id.version for t in remote._run(op()).tasks}


def test_inline_workflow_dag_registers_once_and_runs(flyte_conn: str, remote: Any, create_rpcs: Counter[str]) -> None:
    dag, module = load_dag()
    count_task = module.count_words

    dr = dag.test()
    # each root under its own version: count (1 task); report (2 tasks, 2 workflows, its default plan); short
    # (2 tasks, the workflow measure, the plan short_report); one code upload each
    assert registrations(create_rpcs) == {
        "CreateTask": 5, "CreateWorkflow": 3, "CreateLaunchPlan": 2, "CreateUploadLocation": 3
    }
    create_rpcs.clear()
    states = {ti.task_id: str(ti.state) for ti in dr.get_task_instances()}
    assert states == dict.fromkeys(("count", "report", "approve", "outcome", "short", "summary"), "success")
    values = xcoms(dr)
    assert values[("count", -1, "return_value")] == {"o0": 9}
    assert values[("short", -1, "return_value")] == {"words": 9, "verdict": "long"}
    assert values[("summary", -1, "return_value")] == "9 words: long by the short_report standard"
    report = remote.fetch_execution(name=values[("report", -1, "return_value")])
    assert report.phase_name == "SUCCEEDED"
    assert report.outputs.to_dict() == {"words": 9, "verdict": "short"}  # default threshold 10
    launched = remote.fetch_execution(name=values[("count", -1, "flyte_execution_name")]).spec.launch_plan
    assert launched.resource_type == 1 and launched.name == count_task.name  # the task itself
    task = remote.fetch_task(name=launched.name, version=launched.version)
    assert task.proto.closure.compiled_task.template.container.args[2].endswith("/pkl.gz")  # shipped pickled
    versions = task_versions(remote, count_task.name)  # one per registered root: task, workflow, launch plan
    assert len(versions) == 3 and launched.version in versions

    rerun = load_dag()[0].test()  # a fresh parse of the unchanged file: same versions, nothing new registered
    assert registrations(create_rpcs) == {} and create_rpcs["CreateExecution"] == 3
    values = xcoms(rerun)
    assert values[("count", -1, "return_value")] == {"o0": 9}
    assert task_versions(remote, count_task.name) == versions
    first = remote.fetch_execution(name=xcoms(dr)[("short", -1, "flyte_execution_name")])
    second = remote.fetch_execution(name=values[("short", -1, "flyte_execution_name")])
    assert first.spec.launch_plan == second.spec.launch_plan


#: a DAG file defining its Flyte task inline; ``{factor}`` is the code change (its dag_id is the example's:
#: dag.test() needs a dag_id its DAG folder knows, and runs the tasks of the DAG object it is called on)
EDITABLE_DAG = """
import datetime as dt

from airflow.sdk import dag
from flytekit import task

from airflow_provider_flyte.operators.flyte import FlyteExecuteOperator


@task
def count_words(text: str) -> int:
    return {factor} * len(text.split())


@dag(dag_id="{dag_id}", schedule=None, start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
def editable():
    FlyteExecuteOperator(task_id="count", task=count_words, inputs={{"text": "a b c"}}, poll_interval=0.5, timeout=600)


editable()
"""


def test_changing_the_dag_files_code_registers_a_new_version(
    flyte_conn: str, remote: Any, create_rpcs: Counter[str], tmp_path: Path
) -> None:
    dag_file = tmp_path / "editable_flyte_dag.py"  # the same path for every edit: the same module name

    def run_count(factor: int) -> tuple[Any, dict[str, int]]:
        dag_file.write_text(EDITABLE_DAG.format(factor=factor, dag_id=DAG_ID))
        dag, _module = load_dag(dag_file)
        create_rpcs.clear()
        values = xcoms(dag.test())
        execution = remote.fetch_execution(name=values[("count", -1, "flyte_execution_name")])
        assert execution.phase_name == "SUCCEEDED"
        assert execution.spec.launch_plan.name.endswith("editable_flyte_dag.count_words")
        return execution, registrations(create_rpcs)

    first, created = run_count(1)
    assert first.outputs.to_dict() == {"o0": 3} and created == {"CreateTask": 1, "CreateUploadLocation": 1}
    edited, created = run_count(2)
    assert edited.outputs.to_dict() == {"o0": 6} and created == {"CreateTask": 1, "CreateUploadLocation": 1}
    assert edited.spec.launch_plan.name == first.spec.launch_plan.name
    assert edited.spec.launch_plan.version != first.spec.launch_plan.version
    back, created = run_count(1)  # the first code again: its version, nothing registered or uploaded
    assert back.spec.launch_plan == first.spec.launch_plan and created == {}
    assert back.outputs.to_dict() == {"o0": 3}
