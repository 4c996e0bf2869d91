"""The complete DAG of the README ("Your first DAG against the sandbox") runs as written with ``dag.test()``."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
pytestmark = pytest.mark.usefixtures("airflow_db", "flyte_conn")


def readme_dag_source() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    return next(b for b in blocks if 'dag_id="my_flyte_dag"' in b)


def test_readme_dag_runs_as_written(tmp_path: Path, remote: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW__CORE__DAGS_FOLDER", str(tmp_path)
    )  # dag.test() serializes from the DAGs folder
    path = tmp_path / "my_flyte_dag.py"  # copied into a DAG file, as the README says
    path.write_text(readme_dag_source())
    spec = importlib.util.spec_from_file_location("my_flyte_dag", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run = module.dag.test()
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert set(states.values()) <= {"success", "TaskInstanceState.SUCCESS"}, states
    execution = remote.sync(remote.recent_executions(limit=1)[0])
    assert execution.outputs.to_dict() == {"total": 5, "squared": 25}
