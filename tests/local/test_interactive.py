"""Interactive mode: tasks defined in ``__main__`` (a notebook-style script) or in a file loaded under a generated
module name (as Airflow loads DAG files) are shipped pickled and run on the sandbox by flytekit's notebook
resolver; the version is stable across processes, so re-running unchanged code registers nothing."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flyte.remote.local import prepare_local_entity
from tests.local.flyte_sources import NOTEBOOK, SHOWCASE

pytestmark = pytest.mark.flytekit


def run_notebook(script: Path, endpoint: str, mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), endpoint, mode],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=script.parent,
        check=False,
    )


def test_notebook_style_task_runs_pickled(local_sandbox: Any, tmp_path: Path) -> None:
    script = tmp_path / "notebook.py"
    script.write_text(NOTEBOOK)
    first = run_notebook(script, local_sandbox.endpoint, "auto")
    assert first.returncode == 0, first.stderr[-3000:]
    out = json.loads(first.stdout.strip().splitlines()[-1])
    assert out["mode"] == "pickle" and out["phase"] == "SUCCEEDED"
    assert (out["type"], out["left"], out["right"]) == ("Pair", 6, 3)
    assert out["creates"] == 3  # task, workflow, default launch plan

    again = run_notebook(script, local_sandbox.endpoint, "on")  # another process, same code
    assert again.returncode == 0, again.stderr[-3000:]
    out2 = json.loads(again.stdout.strip().splitlines()[-1])
    assert out2["version"] == out["version"] and out2["creates"] == 0 and out2["left"] == 6

    refused = run_notebook(script, local_sandbox.endpoint, "off")
    assert refused.returncode != 0 and "interactive_mode_enabled=True" in refused.stderr


@pytest.fixture
def dag_module(tmp_path: Path) -> Iterator[Any]:
    """SHOWCASE loaded the way Airflow loads a DAG file: from its path, under a generated module name."""
    path = tmp_path / "flyte_in_a_dag.py"
    path.write_text(SHOWCASE)
    name = f"unusual_prefix_{uuid.uuid4().hex}{uuid.uuid4().hex[:8]}_flyte_in_a_dag"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[name]


def test_dag_file_entities_are_pickled_by_value(remote: Any, dag_module: Any) -> None:
    target = prepare_local_entity(remote, dag_module.gated)
    assert target.code_mode == "pickle"
    template = remote.fetch_task(name=dag_module.add.name, version=target.version).proto.closure.compiled_task
    args = list(template.template.container.args)
    assert args[2].endswith("/pkl.gz") and "flytekit.core.python_auto_container.default_notebook_task_resolver" in args
    assert args[-2:] == ["entity-name", dag_module.add.name]
    # the task objects are left with their own resolver
    assert dag_module.add.task_resolver.name() != "DefaultNotebookTaskResolver"

    execution = remote.execute(target.entity, {"a": 1, "b": 2}, type_hints=target.type_hints)
    deadline = time.monotonic() + 120
    while not any(s.id.signal_id == "check" for s in remote.list_signals(execution)):
        assert time.monotonic() < deadline, "gate never reached"
        time.sleep(0.1)
    remote.approve("check", execution)
    execution = remote.wait(execution, timeout=120)
    assert execution.phase_name == "SUCCEEDED", execution.proto.closure.error.message
    assert execution.outputs["o0"] == 5  # inner: 1 + 2 + 1 = 4; add(4, 0) = 5

    # a dataclass defined in the DAG file travels by value too (with builtin-typed fields: see docs)
    target = prepare_local_entity(remote, dag_module.widen)
    span = dag_module.Span(5, 6)
    execution = remote.execute(target.entity, {"span": span, "by": 2}, type_hints=target.type_hints, wait=True)
    assert execution.outputs["o0"] == dag_module.Span(3, 8)


def test_interactive_mode_can_be_forced_for_importable_code(remote: Any, code_root: Any) -> None:
    module = code_root.write("showcase", SHOWCASE)
    fast = prepare_local_entity(remote, module.add)
    pickled = prepare_local_entity(remote, module.add, interactive_mode_enabled=True)
    assert (fast.code_mode, pickled.code_mode) == ("fast", "pickle") and fast.version != pickled.version
    execution = remote.execute(pickled.entity, {"a": 5, "b": 5}, type_hints=pickled.type_hints, wait=True)
    assert execution.outputs["o0"] == 11


def test_dynamic_tasks_are_refused_in_interactive_mode(remote: Any, dag_module: Any) -> None:
    from flytekit import dynamic

    from airflow_provider_flyte.remote.errors import FlyteInvalidInputError

    @dynamic
    def fan(n: int) -> list[int]:
        return [dag_module.add(a=i, b=i) for i in range(n)]

    with pytest.raises(FlyteInvalidInputError, match="dynamic task"):
        prepare_local_entity(remote, fan, interactive_mode_enabled=True)


def test_the_docs_example_runs(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "local-entities.md").read_text()
    code = doc.split("## A runnable example", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    script = tmp_path / "local_example.py"
    script.write_text(code)
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=240, cwd=tmp_path, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "shipped as pickle" in proc.stdout
    assert "6 WORDS, LONGEST: ENTITIES" in proc.stdout
