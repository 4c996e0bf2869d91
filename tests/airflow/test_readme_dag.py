"""The complete DAG of the README ("Your first DAG against the sandbox") runs as written with ``dag.test()``.

It runs in its own interpreter with the DAG file's folder as the DAGs folder, as a user's would: Airflow 3's
``dag.test()`` serializes the DAG from the DAGs folder, which Airflow reads once per process.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.airflow.conftest import AIRFLOW_ENV, REPO

README = REPO / "README.md"
pytestmark = pytest.mark.usefixtures("airflow_db", "flyte_conn")

_RUN = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("my_flyte_dag", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
run = module.dag.test()
print("TASK-STATES", sorted(str(ti.state) for ti in run.get_task_instances()))
"""


def readme_dag_source() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    return next(b for b in blocks if 'dag_id="my_flyte_dag"' in b)


def test_readme_dag_runs_as_written(tmp_path: Path, remote: Any) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    path = dags / "my_flyte_dag.py"  # copied into a DAG file, as the README says
    path.write_text(readme_dag_source())
    env = {**os.environ, **AIRFLOW_ENV, "AIRFLOW__CORE__DAGS_FOLDER": str(dags), "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", _RUN, str(path)], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    states = next((line for line in done.stdout.splitlines() if line.startswith("TASK-STATES")), None)
    assert states is not None, done.stdout[-3000:] + done.stderr[-3000:]
    assert set(ast.literal_eval(states.removeprefix("TASK-STATES "))) <= {"success", "TaskInstanceState.SUCCESS"}, states
    execution = remote.sync(remote.recent_executions(limit=1)[0])
    assert execution.outputs.to_dict() == {"total": 5, "squared": 25}
