"""The example DAG that defines its Flyte workflow inline, run with ``dag.test()`` against the sandbox: the DAG
file is loaded the way Airflow loads it (DagBag, generated module name), so its entities are shipped pickled; a
second run of the unchanged DAG registers nothing new."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from tests.airflow.conftest import EXAMPLE_DAGS, airflow_db, conn_uri  # noqa: F401 (airflow_db is a fixture)
from tests.airflow.test_example_dags import xcoms
from tests.local.conftest import DOMAIN, PROJECT

pytestmark = [pytest.mark.flytekit, pytest.mark.usefixtures("airflow_db")]

DAG_FILE = EXAMPLE_DAGS / "example_flyte_inline_workflow.py"


@pytest.fixture
def flyte_conn(local_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AIRFLOW_CONN_FLYTE_DEFAULT", conn_uri(local_sandbox.endpoint))
    return str(local_sandbox.endpoint)


def load_dag() -> tuple[Any, Any]:
    """The DAG and its module, as Airflow's DagBag loads them (module named ``unusual_prefix_<sha1>_<file>``)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags["example_flyte_inline_workflow"]
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


def test_inline_workflow_dag_registers_once_and_runs(flyte_conn: str, remote: Any) -> None:
    dag, module = load_dag()
    count_task = module.count_words

    dr = dag.test()
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
    values = xcoms(rerun)
    assert values[("count", -1, "return_value")] == {"o0": 9}
    assert task_versions(remote, count_task.name) == versions
    first = remote.fetch_execution(name=xcoms(dr)[("short", -1, "flyte_execution_name")])
    second = remote.fetch_execution(name=values[("short", -1, "flyte_execution_name")])
    assert first.spec.launch_plan == second.spec.launch_plan
